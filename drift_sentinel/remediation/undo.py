"""Undo records: what an action changed and what was in force before, as typed, serialisable values.

Every action that changes something declares the type of its undo record in the action catalog
(:attr:`drift_sentinel.remediation.actions.ActionSpec.undo_record`). The record is written before the change
(so an interrupted change can be undone), carried in the action's outcome and audit event as plain JSON
(``to_dict``: ``{"kind": ..., **fields}``), and read back with :func:`undo_from_dict`. How a record is undone
against the live systems (the ordered, checked steps) lives in the Dagster layer, keyed by the same ``kind``.

>>> record = AliasUndo(name="fraud", alias="champion", previous_version="3")
>>> record.to_dict()
{'kind': 'alias', 'name': 'fraud', 'alias': 'champion', 'previous_version': '3'}
>>> undo_from_dict(record.to_dict()) == record
True
>>> undo_from_dict({"kind": "none"})
NoUndo()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.bounds import ScaleBounds

_KINDS: dict[str, type[UndoRecord]] = {}
UNDO_KINDS: Mapping[str, type[UndoRecord]] = MappingProxyType(_KINDS)
"""Every registered undo-record type, keyed by its ``kind``."""

R = TypeVar("R", bound="type[UndoRecord]")


@dataclass(frozen=True)
class UndoRecord:
    """Base of every undo record: ``kind`` names the type; the fields say what to restore."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON: ``{"kind": ..., **fields}``."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> UndoRecord:
        """The record from its JSON fields (``kind`` already dispatched on)."""
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})

    @property
    def restores_something(self) -> bool:
        """False only for :class:`NoUndo`."""
        return True


def undo_kind(cls: R) -> R:
    """Register an undo-record type under its ``kind`` (a class decorator; built-ins use it too)."""
    if not cls.kind or cls.kind in _KINDS:
        raise ValueError(f"undo kind {cls.kind!r} is empty or already registered")
    _KINDS[cls.kind] = cls
    return cls


@undo_kind
@dataclass(frozen=True)
class NoUndo(UndoRecord):
    """Nothing to undo (a dry run, a notification, an action that changed nothing)."""

    kind: ClassVar[str] = "none"

    @property
    def restores_something(self) -> bool:
        return False


@undo_kind
@dataclass(frozen=True)
class AliasUndo(UndoRecord):
    """Move ``name@alias`` back to ``previous_version`` (``None``: the alias did not exist; delete it)."""

    kind: ClassVar[str] = "alias"
    name: str
    alias: str
    previous_version: str | None


@undo_kind
@dataclass(frozen=True)
class ScaleUndo(UndoRecord):
    """Restore the serving deployment of ``model_id`` to the ``previous`` bounds."""

    kind: ClassVar[str] = "scale"
    model_id: str
    previous: ScaleBounds

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model_id": self.model_id, "previous": self.previous.to_dict()}

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> ScaleUndo:
        return cls(model_id=data["model_id"], previous=ScaleBounds.from_dict(data["previous"]))


@undo_kind
@dataclass(frozen=True)
class ThresholdsUndo(UndoRecord):
    """Revert ``model_id``'s thresholds to ``previous_version`` (a revert is a new version: history is kept)."""

    kind: ClassVar[str] = "thresholds"
    model_id: str
    previous_version: int

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> ThresholdsUndo:
        return cls(model_id=data["model_id"], previous_version=int(data["previous_version"]))


def undo_from_dict(data: Mapping[str, Any] | UndoRecord) -> UndoRecord:
    """The typed record for ``data`` (an action outcome's ``undo``); a missing kind is :class:`NoUndo`.

    >>> undo_from_dict({"kind": "reboot"})
    Traceback (most recent call last):
    ...
    drift_sentinel.errors.UnknownNameError: unknown undo kind 'reboot'; accepted: alias, none, scale, thresholds
    """
    if isinstance(data, UndoRecord):
        return data
    kind = data.get("kind") or "none"
    if kind not in _KINDS:
        raise UnknownNameError(f"unknown undo kind {kind!r}; accepted: {', '.join(sorted(_KINDS))}")
    return _KINDS[kind].from_fields(data)

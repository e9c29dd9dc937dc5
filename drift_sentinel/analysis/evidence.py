"""Evidence from outside the data: the pipeline (filled by the Dagster layer) and external events.

:class:`PipelineEvidence` separates a pipeline bug from a real-world shift: upstream assets whose code
version or data version changed, and checks that failed, in the incident's window. The Dagster layer reads
them from the instance (materialization events, asset check evaluations) and passes them in; the core
never talks to Dagster.

External events are a table with ``timestamp`` (UTC), ``event_type`` (``deploy``, ``upstream_incident``,
``campaign``, ``holiday``), ``source`` and ``description`` — the sample-data generator writes one.

>>> ev = PipelineEvidence(code_version_changes=[PipelineChange(asset="features", old="a1", new="b2")])
>>> PipelineEvidence.from_dict(ev.to_dict()) == ev, ev.is_empty
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from drift_sentinel.errors import DataError
from drift_sentinel.times import utc_times

EVENT_COLUMNS: tuple[str, ...] = ("timestamp", "event_type", "source", "description")


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _unt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class PipelineChange:
    """An upstream asset whose code version or data version changed (``time`` when it was seen)."""

    asset: str
    old: str | None = None
    new: str | None = None
    time: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "old": self.old, "new": self.new, "time": _t(self.time)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PipelineChange:
        return cls(asset=d["asset"], old=d.get("old"), new=d.get("new"), time=_unt(d.get("time")))


@dataclass(frozen=True)
class FailedCheck:
    """An asset check that failed on an upstream asset or on the window itself."""

    asset: str
    check: str
    time: datetime | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "check": self.check,
            "time": _t(self.time),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FailedCheck:
        return cls(
            asset=d["asset"], check=d["check"], time=_unt(d.get("time")), description=d.get("description", "")
        )


@dataclass(frozen=True)
class PipelineEvidence:
    """What changed in the pipeline in the incident's window (see the module docstring).

    ``model_version_changes`` are changes of the served model version (for example the registry's
    ``champion`` alias moving), which make a drift right after them point at our own deploy.
    """

    code_version_changes: tuple[PipelineChange, ...] = ()
    data_version_changes: tuple[PipelineChange, ...] = ()
    failed_checks: tuple[FailedCheck, ...] = ()
    model_version_changes: tuple[PipelineChange, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "code_version_changes",
            "data_version_changes",
            "failed_checks",
            "model_version_changes",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def is_empty(self) -> bool:
        return not (
            self.code_version_changes
            or self.data_version_changes
            or self.failed_checks
            or self.model_version_changes
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "code_version_changes": [c.to_dict() for c in self.code_version_changes],
            "data_version_changes": [c.to_dict() for c in self.data_version_changes],
            "failed_checks": [c.to_dict() for c in self.failed_checks],
            "model_version_changes": [c.to_dict() for c in self.model_version_changes],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PipelineEvidence:
        return cls(
            code_version_changes=tuple(
                PipelineChange.from_dict(c) for c in d.get("code_version_changes", ())
            ),
            data_version_changes=tuple(
                PipelineChange.from_dict(c) for c in d.get("data_version_changes", ())
            ),
            failed_checks=tuple(FailedCheck.from_dict(c) for c in d.get("failed_checks", ())),
            model_version_changes=tuple(
                PipelineChange.from_dict(c) for c in d.get("model_version_changes", ())
            ),
        )


def read_events(path: str | Path) -> pd.DataFrame:
    """Read an events CSV or Parquet file into :func:`normalize_events` form."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"events file {path} not found")
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # foreign parser errors, wrapped
        raise DataError(f"events file {path}: {exc}") from exc
    return normalize_events(frame, source=str(path))


def normalize_events(
    events: pd.DataFrame | Iterable[Mapping[str, Any]] | None, *, source: str = "events"
) -> pd.DataFrame:
    """Events as a frame with UTC ``timestamp``, ``event_type``, ``source``, ``description``, sorted by time.

    >>> row = normalize_events([{"timestamp": "2026-10-10T05:50:00Z", "event_type": "deploy"}]).iloc[0]
    >>> str(row["timestamp"]), row["event_type"], row["source"]
    ('2026-10-10 05:50:00+00:00', 'deploy', '')
    """
    if events is None:
        return pd.DataFrame(
            {c: pd.Series(dtype="datetime64[ns, UTC]" if c == "timestamp" else object) for c in EVENT_COLUMNS}
        )
    frame = events.copy() if isinstance(events, pd.DataFrame) else pd.DataFrame(list(events))
    for column in ("timestamp", "event_type"):
        if column not in frame.columns:
            raise DataError(f"{source}: events need a {column!r} column; have {list(frame.columns)}")
    for column in ("source", "description"):
        if column not in frame.columns:
            frame[column] = ""
    frame["timestamp"] = utc_times(frame["timestamp"])
    frame["source"] = frame["source"].fillna("").astype(str)
    frame["description"] = frame["description"].fillna("").astype(str)
    return frame[list(EVENT_COLUMNS)].sort_values("timestamp", kind="stable").reset_index(drop=True)

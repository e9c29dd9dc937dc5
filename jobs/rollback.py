"""Undoing an action: ordered, checked steps, run from a ``finally``-style path.

Each action that changes something returns an *undo record* (plain JSON: what it changed and what was in
force before). :func:`undo_steps` turns that record into ordered steps; :func:`run_steps` runs them one
after the other, checks each one against the live system, and stops at the first step that fails or does
not check out (a later step must never run on top of a broken earlier one). The action ops call it when
they are interrupted half-way (a terminated run); the verification op calls it when the action made
serving worse, or when verification itself was interrupted (fail closed: an unverified change is undone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.scaling import ScaleBounds
from resources.model_registry import ModelRegistryResource
from resources.scaler import ScalerResource


@dataclass(frozen=True)
class Step:
    """One rollback step: ``run`` changes the system, ``check`` reads it back and says whether it took."""

    name: str
    run: Callable[[], None]
    check: Callable[[], bool]


@dataclass(frozen=True)
class StepOutcome:
    """What happened to one step: ``succeeded``, ``failed`` (run raised or check was false) or ``not_run``."""

    name: str
    status: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "error": self.error}


def run_steps(steps: list[Step]) -> tuple[StepOutcome, ...]:
    """Run ``steps`` in order, checking each; after the first failure the rest are ``not_run``."""
    outcomes: list[StepOutcome] = []
    broken = False
    for step in steps:
        if broken:
            outcomes.append(StepOutcome(step.name, "not_run"))
            continue
        try:
            step.run()
            ok = step.check()
            outcomes.append(StepOutcome(step.name, "succeeded" if ok else "failed", None if ok else "check"))
        except Exception as exc:  # reported, never swallowed: the caller raises on a failed rollback
            outcomes.append(StepOutcome(step.name, "failed", f"{type(exc).__name__}: {exc}"))
            ok = False
        broken = not ok
    return tuple(outcomes)


def rolled_back(outcomes: tuple[StepOutcome, ...]) -> bool:
    """True when every step succeeded (an empty rollback — nothing to undo — counts as done)."""
    return all(o.status == "succeeded" for o in outcomes)


def _alias_steps(registry: ModelRegistryResource, undo: dict[str, Any]) -> list[Step]:
    name, alias, previous = undo["name"], undo["alias"], undo.get("previous_version")

    def current() -> str | None:
        info = registry.champion(name, alias)
        return info.version if info is not None else None

    if previous is None:
        return [
            Step(
                f"delete {name}@{alias}",
                lambda: registry.delete_alias(name, alias),
                lambda: current() is None,
            )
        ]
    return [
        Step(
            f"move {name}@{alias} back to v{previous}",
            lambda: registry.set_alias(name, alias, str(previous)),
            lambda: current() == str(previous),
        )
    ]


def _scale_steps(scaler: ScalerResource, undo: dict[str, Any]) -> list[Step]:
    model_id, previous = undo["model_id"], ScaleBounds.from_dict(undo["previous"])
    return [
        Step(
            f"restore {model_id} to {previous.describe()}",
            lambda: scaler.apply(model_id, previous, reason="rollback: restore the previous bounds"),
            lambda: scaler.current(model_id) == previous,
        )
    ]


def _threshold_steps(store: Any, undo: dict[str, Any], actor: str) -> list[Step]:
    model_id, previous = undo["model_id"], int(undo["previous_version"])
    before = store.store.history(model_id)
    wanted = next((dict(v.thresholds) for v in before if v.version == previous), None)

    def current_matches() -> bool:
        now = store.store.current(model_id)
        return now is not None and wanted is not None and _same(now.thresholds, wanted)

    return [
        Step(
            f"revert {model_id} thresholds to v{previous}",
            lambda: (
                None
                if current_matches()
                else store.store.revert(model_id, actor=actor, reason="rollback", to_version=previous)
            ),
            current_matches,
        )
    ]


def _same(a: Any, b: Any) -> bool:
    return {k: dict(v) for k, v in a.items()} == {k: dict(v) for k, v in b.items()}


def undo_steps(
    undo: dict[str, Any], *, registry: Any, scaler: Any, thresholds: Any, actor: str
) -> list[Step]:
    """The ordered steps that undo ``undo`` (an action's undo record; ``kind`` says what it changed)."""
    kind = undo.get("kind")
    if kind == "alias":
        return _alias_steps(registry, undo)
    if kind == "scale":
        return _scale_steps(scaler, undo)
    if kind == "thresholds":
        return _threshold_steps(thresholds, undo, actor)
    if kind in (None, "none"):
        return []
    raise UnknownNameError(f"unknown undo kind {kind!r}; accepted: alias, scale, thresholds, none")

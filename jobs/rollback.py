"""Undoing an action: ordered, checked, idempotent steps, run from a ``finally``-style path.

Each action that changes something returns a typed *undo record* (:mod:`drift_sentinel.remediation.undo`:
what it changed and what was in force before). :func:`undo_steps` turns that record into ordered steps with
the step builder registered for its ``kind`` (:func:`undoes`); :func:`run_steps` runs them one after the
other. Every step is checked first (a step whose state is already in place is not run again, so undoing
twice, or undoing a change that never took effect, is safe), then run, then checked against the live system;
the first step that fails or does not check out stops the rest (a later step must never run on top of a
broken earlier one). The action op calls it when it is interrupted half-way or its read-back fails; the
verification op when the action made serving worse or verification itself was interrupted (fail closed: an
unverified change is undone); reconciliation when a run died between the change and its verification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.undo import (
    UNDO_KINDS,
    AliasUndo,
    ScaleUndo,
    ThresholdsUndo,
    UndoRecord,
    undo_from_dict,
)


@dataclass(frozen=True)
class Step:
    """One rollback step: ``run`` changes the system, ``check`` reads it back and says whether it is in place."""

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
    """Run ``steps`` in order (each only if its check says it is not in place yet), checking each after;
    after the first failure the rest are ``not_run``."""
    outcomes: list[StepOutcome] = []
    broken = False
    for step in steps:
        if broken:
            outcomes.append(StepOutcome(step.name, "not_run"))
            continue
        try:
            if not step.check():
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


StepBuilder = Callable[[Any, Mapping[str, Any], str], list[Step]]
"""``(record, resources by key, actor) -> steps``: how one kind of undo record is undone."""

_BUILDERS: dict[str, tuple[tuple[str, ...], StepBuilder]] = {}
B = TypeVar("B", bound=StepBuilder)


def undoes(record_type: type[UndoRecord], *, resources: tuple[str, ...]) -> Callable[[B], B]:
    """Register the step builder for ``record_type`` (a decorator); ``resources``: the resource keys it uses."""

    def register(builder: B) -> B:
        if record_type.kind in _BUILDERS:
            raise ValueError(f"undo kind {record_type.kind!r} already has a step builder")
        _BUILDERS[record_type.kind] = (resources, builder)
        return builder

    return register


def undo_resources(record_type: type[UndoRecord] | None = None) -> frozenset[str]:
    """The resource keys the step builder of ``record_type`` uses (``None``: of every registered builder)."""
    if record_type is None:
        return frozenset(key for keys, _ in _BUILDERS.values() for key in keys)
    entry = _BUILDERS.get(record_type.kind)
    return frozenset(entry[0]) if entry else frozenset()


def undo_steps(undo: Mapping[str, Any] | UndoRecord, resources: Mapping[str, Any], actor: str) -> list[Step]:
    """The ordered steps that undo ``undo`` (an action's undo record, typed or as JSON).

    ``resources``: the live systems by resource key (``model_registry``, ``scaler``, ``threshold_store``...).
    """
    record = undo_from_dict(undo)
    if not record.restores_something:
        return []
    if record.kind not in _BUILDERS:
        accepted = ", ".join(sorted(k for k in UNDO_KINDS if k in _BUILDERS or k == "none"))
        raise UnknownNameError(f"no undo steps for kind {record.kind!r}; accepted: {accepted}")
    return _BUILDERS[record.kind][1](record, resources, actor)


# ------------------------------------------------------------------------------------ the built-in kinds


@undoes(AliasUndo, resources=("model_registry",))
def _alias_steps(undo: AliasUndo, resources: Mapping[str, Any], actor: str) -> list[Step]:
    registry = resources["model_registry"]
    name, alias, previous = undo.name, undo.alias, undo.previous_version

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


@undoes(ScaleUndo, resources=("scaler",))
def _scale_steps(undo: ScaleUndo, resources: Mapping[str, Any], actor: str) -> list[Step]:
    scaler, model_id, previous = resources["scaler"], undo.model_id, undo.previous
    return [
        Step(
            f"restore {model_id} to {previous.describe()}",
            lambda: scaler.apply(model_id, previous, reason="rollback: restore the previous bounds"),
            lambda: scaler.current(model_id) == previous,
        )
    ]


@undoes(ThresholdsUndo, resources=("threshold_store",))
def _threshold_steps(undo: ThresholdsUndo, resources: Mapping[str, Any], actor: str) -> list[Step]:
    store, model_id, previous = resources["threshold_store"].store, undo.model_id, undo.previous_version
    wanted = next((dict(v.thresholds) for v in store.history(model_id) if v.version == previous), None)

    def current_matches() -> bool:
        now = store.current(model_id)
        return now is not None and wanted is not None and _same(now.thresholds, wanted)

    def revert() -> None:
        store.revert(model_id, actor=actor, reason="rollback", to_version=previous)

    return [Step(f"revert {model_id} thresholds to v{previous}", revert, current_matches)]


def undo_and_record(
    context: Any, plan: Any, undo: Mapping[str, Any] | UndoRecord, resources: Mapping[str, Any], why: str
) -> tuple[StepOutcome, ...]:
    """Undo ``undo`` with ordered, checked steps and record the rollback on the plan's audit trail
    (``context`` is the op's; nothing to undo: no steps, no record)."""
    from jobs.audit import actor_of, record_plan_event

    record = undo_from_dict(undo)
    if not record.restores_something:
        return ()
    steps = run_steps(undo_steps(record, resources, actor_of(context.run.tags)))
    done = rolled_back(steps)
    record_plan_event(
        context,
        context.resources.audit_trail,
        plan,
        kind="rollback",
        outcome="succeeded" if done else "failed",
        details={"reason": why, "steps": [s.to_dict() for s in steps], "undo": record.to_dict()},
    )
    text = ", ".join(f"{s.name}: {s.status}" for s in steps)
    (context.log.warning if done else context.log.error)(f"undo ({why}): {text}")
    return steps


def _same(a: Any, b: Any) -> bool:
    return {k: dict(v) for k, v in a.items()} == {k: dict(v) for k, v in b.items()}

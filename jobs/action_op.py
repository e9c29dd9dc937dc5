"""The one action op: check → apply → read back → undo on exception, the same for every action.

An action's Dagster half is a subclass of :class:`Action` registered with :func:`action` under the name of
its catalog entry (:mod:`drift_sentinel.remediation.actions`). It says what the action's op needs (its
resource keys) and implements the steps the generic op calls:

- ``prepare`` (in the safety gate): the evidence the gate checks and the details the action will use;
- ``planned``: the outcome fields known from the approved plan;
- ``rehearse``: what a dry run does (default: nothing);
- ``check``: that the live system is still as the gate saw it (raise :class:`~dagster.Failure` if not:
  nothing has changed yet), returning the typed undo record of what is in force;
- ``apply``: make the change; ``read_back``: read the live system and say whether the change took.

:func:`run_action` runs them in that order for every action: if applying or reading back raises (a failure,
or the run being terminated), or the read-back does not match, the undo record is rolled back with the
ordered, checked steps of :mod:`jobs.rollback` before the op fails, and the rollback is recorded. Every
outcome carries the same common fields (``dry_run``, ``changed``, ``undo``, ``acted_at``) and is recorded in
the audit trail as one ``action`` event.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from dagster import DagsterInstance, Failure, OpDefinition, OpExecutionContext, op

from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.actions import ActionSpec, action_spec
from drift_sentinel.remediation.undo import NoUndo, UndoRecord
from jobs.audit import actor_of, record_plan_event
from jobs.plan import RemediationConfig, RemediationPlan
from jobs.reconcile import mark, mark_unverified
from jobs.rollback import StepOutcome, rolled_back, undo_and_record, undo_resources
from resources.safety_gate import ActionRequest

BASE_RESOURCES: tuple[str, ...] = ("catalog", "audit_trail")
"""What every action op needs: the model catalog and the audit trail."""


@dataclass(frozen=True)
class Preparation:
    """What an action's ``prepare`` reads: its catalog entry, the model, the run config, the live systems."""

    action: ActionSpec
    model: ModelSpec
    config: RemediationConfig
    instance: DagsterInstance | None
    resources: Mapping[str, Any]

    def requested(self) -> ActionRequest:
        """The run config's request, or the action's default request from the catalog."""
        default = self.action.default_request
        return ActionRequest(
            cpu=self.config.cpu or default.cpu,
            memory_gb=self.config.memory_gb or default.memory_gb,
            replicas=self.config.replicas,
        )


@dataclass(frozen=True)
class ActionRun:
    """What an action's steps see while its op runs: the op context, the approved plan and the live systems."""

    context: OpExecutionContext
    plan: RemediationPlan
    model: ModelSpec
    catalog: Any
    resources: Mapping[str, Any]
    actor: str


@dataclass(frozen=True)
class Applied:
    """What ``apply`` did: outcome fields, whether it changed anything, its status and a line for the log."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    changed: bool = True
    status: str = "succeeded"
    note: str = ""


@dataclass(frozen=True)
class ReadBack:
    """What ``read_back`` saw: whether the change took, outcome fields, and the problem when it did not."""

    ok: bool = True
    fields: Mapping[str, Any] = field(default_factory=dict)
    problem: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


class Action:
    """The Dagster half of one catalog entry. Subclass, set ``spec`` and ``resources``, register with
    :func:`action`. One instance serves one op execution (steps may keep state on ``self``)."""

    spec: ClassVar[ActionSpec]
    resources: ClassVar[tuple[str, ...]] = ()
    op_description: ClassVar[str] = ""

    def __init__(self, run: ActionRun) -> None:
        self.run = run
        self.plan = run.plan
        self.model = run.model

    @classmethod
    def prepare(cls, ask: Preparation) -> tuple[ActionRequest, dict[str, Any]]:
        """Evidence for the gate and details for the action (default: the requested resources only)."""
        return ask.requested(), {}

    def planned(self) -> dict[str, Any]:
        """Outcome fields known from the plan, before anything is done."""
        return {}

    def rehearse(self) -> dict[str, Any]:
        """A dry run: decide and report, change nothing."""
        return {}

    def check(self) -> UndoRecord:
        """Raise :class:`~dagster.Failure` if the live system moved since the gate; return the undo record."""
        return NoUndo()

    def apply(self) -> Applied:
        raise NotImplementedError(f"{type(self).__name__} does not implement apply()")

    def read_back(self) -> ReadBack:
        """Read the live system after ``apply`` (default: nothing to read back)."""
        return ReadBack()


_RUNNERS: dict[str, type[Action]] = {}
RUNNERS: Mapping[str, type[Action]] = MappingProxyType(_RUNNERS)
"""The Dagster half of every catalog entry, keyed by action name."""

A = TypeVar("A", bound=type[Action])


def action(cls: A) -> A:
    """Register ``cls`` as the Dagster half of the catalog entry ``cls.spec`` (a class decorator)."""
    name = cls.spec.name
    if action_spec(name) is not cls.spec:
        raise ValueError(f"{cls.__name__}.spec is not the catalog's entry for {name!r}")
    if name in _RUNNERS:
        raise ValueError(f"remediation action {name!r} already has a runner ({_RUNNERS[name].__name__})")
    missing = undo_resources(cls.spec.undo_record) - set(cls.resources)
    if missing:
        raise ValueError(
            f"{cls.__name__}: undoing {name!r} needs resource(s) {sorted(missing)} in its resources"
        )
    _RUNNERS[name] = cls
    return cls


def runner_for(name: str) -> type[Action]:
    """The registered :class:`Action` for ``name``; the error lists the registered ones."""
    try:
        return _RUNNERS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown remediation action {name!r}; accepted: {', '.join(sorted(_RUNNERS))}"
        ) from None


def prepare_request(
    name: str,
    *,
    model: ModelSpec,
    config: RemediationConfig,
    instance: DagsterInstance | None,
    resources: Mapping[str, Any],
) -> tuple[ActionRequest, dict[str, Any]]:
    """Evidence the gate needs for action ``name``, read from the live systems, and the details it will use."""
    runner = runner_for(name)
    return runner.prepare(Preparation(runner.spec, model, config, instance, resources))


# ----------------------------------------------------------------------------------------- the generic op


def _now() -> str:
    return datetime.now(UTC).isoformat()


def resources_of(context: OpExecutionContext, keys: tuple[str, ...] | frozenset[str]) -> dict[str, Any]:
    """The op's resources named by ``keys``, by key."""
    return {key: getattr(context.resources, key) for key in keys}


def undo_now(run: ActionRun, undo: UndoRecord, why: str) -> tuple[StepOutcome, ...]:
    """Undo ``undo`` and record the rollback (see :func:`jobs.rollback.undo_and_record`)."""
    return undo_and_record(run.context, run.plan, undo, run.resources, why)


def _done(run: ActionRun, status: str, outcome: dict[str, Any], note: str = "") -> dict[str, Any]:
    record_plan_event(
        run.context,
        run.context.resources.audit_trail,
        run.plan,
        kind="action",
        outcome=status,
        details=outcome,
    )
    run.context.log.info(f"{run.plan.action} on {run.model.id}: {status}" + (f" — {note}" if note else ""))
    return outcome


def run_action(context: OpExecutionContext, plan: RemediationPlan, kind: type[Action]) -> dict[str, Any]:
    """Check → apply → read back, undoing on an exception or a failed read-back; record the outcome."""
    run = ActionRun(
        context=context,
        plan=plan,
        model=context.resources.catalog.model(plan.model_id),
        catalog=context.resources.catalog,
        resources=resources_of(context, kind.resources),
        actor=actor_of(context.run.tags),
    )
    steps = kind(run)
    outcome: dict[str, Any] = {
        **steps.planned(),
        "dry_run": plan.dry_run,
        "changed": False,
        "undo": NoUndo().to_dict(),
        "acted_at": _now(),
    }
    if plan.dry_run:
        outcome.update(steps.rehearse())
        return _done(run, "dry_run", outcome)
    undo = steps.check()
    tracked = kind.spec.rollbackable  # persisted before the change, so a dead worker's change is found
    if tracked:
        mark_unverified(context.instance, context.run_id, undo)
    try:
        applied = steps.apply()
        undo = undo if applied.changed else NoUndo()
        outcome.update(applied.fields, changed=applied.changed, undo=undo.to_dict(), acted_at=_now())
        back = steps.read_back()
        outcome.update(back.fields)
    except BaseException:  # a failure or a terminated run: leave the live systems as they were
        _settle(run, tracked, undo_now(run, undo, "interrupted or failed while applying"))
        raise
    if back.ok:
        if tracked and not applied.changed:
            mark(context.instance, context.run_id, "unchanged")
        return _done(run, applied.status, outcome, applied.note)
    undone = undo_now(run, undo, back.problem)
    _settle(run, tracked, undone)
    outcome["undone"] = [s.to_dict() for s in undone]
    _done(run, "failed", outcome)
    raise Failure(description=back.problem, metadata=dict(back.metadata))


def _settle(run: ActionRun, tracked: bool, undone: tuple[StepOutcome, ...]) -> None:
    if tracked:
        mark(
            run.context.instance,
            run.context.run_id,
            "rolled_back" if rolled_back(undone) else "rollback_failed",
        )


@cache
def action_op(name: str) -> OpDefinition:
    """The op named after action ``name``: :func:`run_action` over the gate's plan (one definition per name)."""
    kind = runner_for(name)

    @op(
        name=kind.spec.name,
        description=kind.op_description or kind.spec.description,
        required_resource_keys={*BASE_RESOURCES, *kind.resources},
    )
    def the_action(context: OpExecutionContext, plan: RemediationPlan) -> dict[str, Any]:
        return run_action(context, plan, kind)

    return the_action

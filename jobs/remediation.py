"""The one remediation job factory: the safety gate is always the first op, and every action op consumes its plan.

There is no other way to build a remediation job in this project: the action ops take the gate's ``plan`` output
as their only input, so they cannot run unless the gate opened (its output is emitted only on PASSED). A test
walks every job in the Definitions and proves it. Actions that can be undone (``ActionSpec.rollbackable``) are
followed by ``verify_recovery``, which takes the plan and the action's outcome and rolls back on a breach.

Dry-run is one mode for every step: ``RemediationConfig.dry_run``, the model's ``SafetyPolicy.dry_run`` or
``REMEDIATION_DRY_RUN=true`` puts ``dry_run`` in the plan, and every op reads it from there.

Run identity comes from tags the sensor sets (``sentinel/model``, ``sentinel/incident``, ``sentinel/action``);
a run launched by hand from the UI gives ``model_id`` and ``incident_id`` in the gate's config instead.
"""

from functools import cache

from dagster import JobDefinition, OpDefinition, OpExecutionContext, Out, Output, job, op

import jobs.actions  # noqa: F401  (registers the Dagster half of every catalog entry)
from drift_sentinel.errors import UnknownNameError
from drift_sentinel.safety import GateDecision
from drift_sentinel.settings import Settings
from jobs.action_op import RUNNERS, action_op, prepare_request, resources_of, runner_for
from jobs.audit import actor_of, record
from jobs.plan import RemediationConfig, RemediationPlan
from jobs.reconcile import reconcile
from jobs.rollback import undo_resources
from jobs.verification import verify_op
from resources.safety_gate import ACTION_TAG, INCIDENT_TAG, MODEL_TAG

REMEDIATION_JOB_PREFIX = "remediate_"


GATE_RESOURCES: tuple[str, ...] = ("catalog", "safety_gate", "audit_trail")
"""What the gate needs besides the resources each action's ``prepare`` reads."""


@cache
def gate_op() -> OpDefinition:
    """The one ``safety_gate`` op (built once, after every action registered, with all their resources)."""
    keys = {*GATE_RESOURCES, *(key for kind in RUNNERS.values() for key in kind.resources)}

    @op(
        name="safety_gate",
        description="Safety gate: cooldown, retry budget, concurrency and the action's own checks; "
        "emits the plan only when every check PASSED.",
        out={"plan": Out(RemediationPlan, is_required=False)},
        tags={"kind": "safety"},
        required_resource_keys=keys,
    )
    def safety_gate(context: OpExecutionContext, config: RemediationConfig):
        yield from _gate(context, config)

    return safety_gate


def _gate(context: OpExecutionContext, config: RemediationConfig):
    catalog, safety_gate, audit_trail = (getattr(context.resources, k) for k in GATE_RESOURCES)
    tags = context.run.tags
    action = context.job_name.removeprefix(REMEDIATION_JOB_PREFIX)
    spec = catalog.model(config.model_id or tags.get(MODEL_TAG, ""))
    incident = config.incident_id or tags.get(INCIDENT_TAG) or f"manual-{context.run_id[:8]}"
    if tags.get(ACTION_TAG, action) != action:
        raise UnknownNameError(
            f"run tag {ACTION_TAG}={tags[ACTION_TAG]!r} does not match job action {action!r}"
        )
    context.instance.add_run_tags(
        context.run_id, {MODEL_TAG: spec.id, INCIDENT_TAG: incident, ACTION_TAG: action}
    )
    for fixed in reconcile(
        context.instance,
        resources_of(context, {"catalog", "audit_trail", *undo_resources()}),
        actor=actor_of(tags),
        model_id=spec.id,
        skip_run_id=context.run_id,
    ):
        (context.log.warning if fixed.done else context.log.error)(
            f"reconciled {fixed.action} of run {fixed.run_id}: {fixed.reason}; undo "
            + ", ".join(f"{s.name}: {s.status}" for s in fixed.steps)
        )
    keys = runner_for(action).resources
    request, details = prepare_request(
        action, model=spec, config=config, instance=context.instance, resources=resources_of(context, keys)
    )
    details["verification"] = {
        "lookback_minutes": config.verify_lookback_minutes,
        "after_minutes": config.verify_after_minutes,
        "delay_seconds": config.verify_delay_seconds,
        "min_rows": config.verify_min_rows,
    }
    dry_run = config.dry_run or spec.safety.dry_run or Settings.from_env().remediation_dry_run
    evidence, decision = safety_gate.decide(
        context.instance,
        run_id=context.run_id,
        policy=spec.safety,
        model_id=spec.id,
        action=action,
        incident_id=incident,
        request=request,
    )
    record(
        context,
        audit_trail,
        kind="gate_decision",
        asset_prefix=spec.asset_prefix,
        model_id=spec.id,
        incident_id=incident,
        action=action,
        outcome=decision.verdict.value,
        details={"decision": decision.to_dict(), "evidence": evidence.to_dict(), "dry_run": dry_run},
    )
    _log_decision(context, decision)
    if decision.opened:
        yield Output(
            RemediationPlan(
                model_id=spec.id,
                asset_prefix=spec.asset_prefix,
                incident_id=incident,
                action=action,
                current_version=request.current_version,
                target_version=request.target_version,
                severity=config.severity,
                message=config.message,
                dry_run=dry_run,
                decision=decision.to_dict(),
                details=details,
            ),
            "plan",
            metadata={"gate": decision.verdict.value, "reasons": "; ".join(decision.reasons)},
        )


def _log_decision(context: OpExecutionContext, decision: GateDecision) -> None:
    lines = "\n".join(f"  {reason}" for reason in decision.reasons)
    if decision.opened:
        context.log.info(f"safety gate PASSED:\n{lines}")
    else:
        context.log.warning(f"safety gate {decision.verdict.value}; the action will not run:\n{lines}")


def build_remediation_job(action: str) -> JobDefinition:
    """The job ``remediate_<action>``: ``safety_gate`` → the action op (which needs the gate's plan), then, for
    actions that can be undone, ``verify_recovery`` (plan + the action's outcome)."""
    kind = runner_for(action)  # the error lists the registered actions
    the_gate, the_action = gate_op(), action_op(action)
    verify = verify_op() if kind.spec.rollbackable else None

    @job(
        name=f"{REMEDIATION_JOB_PREFIX}{action}",
        description=f"Gated remediation: {action}. The safety gate runs first; the action runs only if it passes.",
        tags={"sentinel/kind": "remediation", ACTION_TAG: action},
    )
    def remediation_job() -> None:
        plan = the_gate()
        outcome = the_action(plan)
        if verify is not None:
            verify(plan, outcome)

    return remediation_job


def remediation_jobs() -> list[JobDefinition]:
    """One job per registered action."""
    return [build_remediation_job(action) for action in sorted(RUNNERS)]

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

from collections.abc import Callable

from dagster import (
    JobDefinition,
    OpExecutionContext,
    Out,
    Output,
    job,
    op,
)

from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.actions import action_spec
from drift_sentinel.safety import GateDecision
from drift_sentinel.settings import Settings
from jobs.actions import ACTION_OPS, prepare_request
from jobs.audit import record
from jobs.plan import RemediationConfig, RemediationPlan
from jobs.thresholds import ThresholdStoreResource
from jobs.verification import verify_op
from resources.audit_trail import AuditTrailResource
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from resources.safety_gate import ACTION_TAG, INCIDENT_TAG, MODEL_TAG, SafetyGateResource
from resources.scaler import ScalerResource

REMEDIATION_JOB_PREFIX = "remediate_"


@op(
    name="safety_gate",
    description="Safety gate: cooldown, retry budget, concurrency and the action's own checks; "
    "emits the plan only when every check PASSED.",
    out={"plan": Out(RemediationPlan, is_required=False)},
    tags={"kind": "safety"},
)
def gate_op(
    context: OpExecutionContext,
    config: RemediationConfig,
    catalog: ModelCatalogResource,
    safety_gate: SafetyGateResource,
    model_registry: ModelRegistryResource,
    scaler: ScalerResource,
    threshold_store: ThresholdStoreResource,
    audit_trail: AuditTrailResource,
):
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
    request, details = prepare_request(
        action,
        spec=spec,
        config=config,
        registry=model_registry,
        instance=context.instance,
        scaler=scaler,
        thresholds=threshold_store,
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
    if action not in ACTION_OPS:
        raise UnknownNameError(
            f"unknown remediation action {action!r}; accepted: {', '.join(sorted(ACTION_OPS))}"
        )
    action_op: Callable = ACTION_OPS[action]
    verified = action_spec(action).rollbackable

    @job(
        name=f"{REMEDIATION_JOB_PREFIX}{action}",
        description=f"Gated remediation: {action}. The safety gate runs first; the action runs only if it passes.",
        tags={"sentinel/kind": "remediation", ACTION_TAG: action},
    )
    def remediation_job() -> None:
        plan = gate_op()
        outcome = action_op(plan)
        if verified:
            verify_op(plan, outcome)

    return remediation_job


def remediation_jobs() -> list[JobDefinition]:
    """One job per registered action."""
    return [build_remediation_job(action) for action in sorted(ACTION_OPS)]

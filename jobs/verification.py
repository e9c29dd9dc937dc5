"""Verification after an action, with automatic rollback and escalation in a ``finally`` path.

The op compares serving health (error rate, p95 latency) on the prediction-log rows after the action with
the rows before it (:func:`drift_sentinel.remediation.verification.verify_recovery`, triggers from the
model's ``SafetyPolicy.rollback_triggers``). The change is kept only when verification *finished* without a
breach (PASSED, or INCONCLUSIVE for lack of rows). Anything else — a breach, an error reading the windows,
or the run being terminated while it waits — takes the ``finally`` path: the action's undo record is rolled
back with ordered, checked steps (:mod:`jobs.rollback`), the rollback is recorded, and the incident is
escalated as critical (PagerDuty with the incident id as dedup key, through the model's alert routing).
The run is tagged ``sentinel/escalated`` so the run-failure sensor does not page twice.
"""

import time
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from dagster import Failure, OpDefinition, OpExecutionContext, op

from drift_sentinel.config import ModelSpec
from drift_sentinel.notifications import Notification
from drift_sentinel.remediation.verification import VerificationResult, WindowStats, verify_recovery
from drift_sentinel.windows import read_window
from jobs.audit import record_plan_event
from jobs.plan import RemediationPlan
from jobs.reconcile import mark
from jobs.rollback import StepOutcome, rolled_back, undo_and_record, undo_resources
from resources.catalog import ModelCatalogResource
from resources.notifier import NotifierResource

ESCALATED_TAG = "sentinel/escalated"


def measure(
    spec: ModelSpec, catalog: ModelCatalogResource, acted_at: datetime, settings: dict[str, Any]
) -> VerificationResult:
    """Serving health before and after ``acted_at`` from the model's prediction log, compared by the policy."""
    log = catalog.resolve(spec.data.prediction_log)
    lookback = timedelta(minutes=float(settings.get("lookback_minutes", 60.0)))
    after = timedelta(minutes=float(settings.get("after_minutes", 60.0)))

    def stats(start: datetime, end: datetime) -> WindowStats:
        frame = read_window(log, start=start, end=end, time_column=spec.timestamp_column)
        return WindowStats.from_frame(
            frame, error_column=spec.error_column, latency_column=spec.latency_column
        )

    return verify_recovery(
        stats(acted_at - lookback, acted_at),
        stats(acted_at, acted_at + after),
        spec.safety.rollback_triggers,
        min_rows=int(settings.get("min_rows", 30)),
    )


def escalate(
    notifier: NotifierResource, spec: ModelSpec, plan: RemediationPlan, title: str, text: str, details: dict
) -> list[dict[str, Any]]:
    """A critical notification for the incident (PagerDuty trigger, dedup key = incident id)."""
    notification = Notification(
        severity="critical",
        title=f"[{spec.id}] {title}",
        text=text,
        model_id=spec.id,
        incident_id=plan.incident_id,
        details=details,
    )
    return [d.to_dict() for d in notifier.send(notification, spec.alerts)]


VERIFY_RESOURCES: tuple[str, ...] = ("catalog", "notifier", "audit_trail")
"""What verification needs besides the resources that undo an action (``jobs.rollback.undo_resources``)."""


@cache
def verify_op() -> OpDefinition:
    """The one ``verify_recovery`` op (built once, with the resources every registered undo kind needs)."""

    @op(
        name="verify_recovery",
        description="Compare error rate and p95 latency after the action with before it; on a breach (or an "
        "interruption) roll the action back with ordered, checked steps and escalate to PagerDuty.",
        tags={"kind": "verification"},
        required_resource_keys={*VERIFY_RESOURCES, *undo_resources()},
    )
    def verify_recovery(
        context: OpExecutionContext, plan: RemediationPlan, outcome: dict[str, Any]
    ) -> dict[str, Any]:
        return _verify(context, plan, outcome)

    return verify_recovery


def _verify(context: OpExecutionContext, plan: RemediationPlan, outcome: dict[str, Any]) -> dict[str, Any]:
    catalog, notifier = context.resources.catalog, context.resources.notifier
    spec = catalog.model(plan.model_id)

    def audit(kind: str, status: str, details: dict[str, Any]) -> None:
        record_plan_event(
            context, context.resources.audit_trail, plan, kind=kind, outcome=status, details=details
        )

    if plan.dry_run or not outcome.get("changed"):
        why = "dry run" if plan.dry_run else "the action changed nothing"
        audit("verification", "skipped", {"reason": why})
        context.log.info(f"verification skipped: {why}")
        return {"verdict": "SKIPPED", "reason": why, "rolled_back": False}

    settings = plan.details.get("verification", {})
    result: VerificationResult | None = None
    keep = False
    error: str | None = None
    try:
        delay = float(settings.get("delay_seconds", 0.0))
        if delay > 0:
            context.log.info(f"waiting {delay:g} s for serving data after the action")
            time.sleep(delay)
        result = measure(spec, catalog, datetime.fromisoformat(outcome["acted_at"]), settings)
        keep = not result.should_roll_back
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if keep:
            assert result is not None
            audit("verification", result.verdict.value, result.to_dict())
            mark(context.instance, context.run_id, "verified")
            context.log.info(f"verification {result.verdict.value}: " + "; ".join(result.reasons))
        else:
            why = (
                "; ".join(b.reason for b in result.breaches)
                if result is not None
                else (error or "run interrupted before verification finished")
            )
            if result is not None:
                audit("verification", result.verdict.value, result.to_dict())
            resources = {key: getattr(context.resources, key) for key in undo_resources()}
            steps = undo_and_record(context, plan, outcome["undo"], resources, why)
            mark(context.instance, context.run_id, "rolled_back" if rolled_back(steps) else "rollback_failed")
            _after_rollback(context, notifier, spec, plan, why, steps, audit)
    assert result is not None
    if not keep:
        raise Failure(
            description=f"{plan.action} on {spec.id} made serving worse and was rolled back: "
            + "; ".join(b.reason for b in result.breaches),
            metadata={"verdict": result.verdict.value, "breaches": len(result.breaches)},
        )
    return {**result.to_dict(), "rolled_back": False}


def _after_rollback(
    context: OpExecutionContext,
    notifier: NotifierResource,
    spec: ModelSpec,
    plan: RemediationPlan,
    why: str,
    steps: tuple[StepOutcome, ...],
    audit: Any,
) -> None:
    done = rolled_back(steps)
    text = f"{plan.action} was {'rolled back' if done else 'NOT fully rolled back'}: {why}. Steps: " + (
        ", ".join(f"{s.name} {s.status}" for s in steps) or "none"
    )
    deliveries = escalate(
        notifier,
        spec,
        plan,
        f"{plan.action} rolled back for incident {plan.incident_id}",
        text,
        {"action": plan.action, "run_id": context.run_id, "rolled_back": done},
    )
    audit("escalation", "sent" if all(d["ok"] for d in deliveries) else "failed", {"deliveries": deliveries})
    context.instance.add_run_tags(context.run_id, {ESCALATED_TAG: "true"})
    (context.log.warning if done else context.log.error)(text)

"""``remediation_on_run_failure`` and ``remediation_on_run_canceled``: escalate remediations that did not finish.

Run-status sensors over every remediation job (Dagster keeps their cursor: each failed or canceled run is
seen once, across daemon restarts). For each run they page (a critical notification through the model's
alert routing — PagerDuty first by default — with the incident id as dedup key, so repeated pages for one
incident collapse into one PagerDuty alert) and record an ``escalation`` event in the audit trail and on the
model's ``audit_log`` asset. A run whose verification already rolled back and paged (tagged
``sentinel/escalated``) is recorded but not paged again. A run with no model tag (it failed before the gate
named its model) is skipped with the reason: there is no owner to page and no model to audit it under.
"""

from datetime import UTC, datetime
from typing import Any

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from drift_sentinel.audit import AuditEvent
from drift_sentinel.errors import SentinelError
from drift_sentinel.notifications import Notification
from jobs.audit import actor_of, observe_on_audit_log
from jobs.reconcile import reconcile
from jobs.rollback import undo_resources
from jobs.verification import ESCALATED_TAG
from resources.audit_trail import AuditTrailResource
from resources.catalog import ModelCatalogResource
from resources.notifier import NotifierResource
from resources.safety_gate import ACTION_TAG, INCIDENT_TAG, MODEL_TAG


def _root_cause(error: Any) -> str:
    """The innermost error's message (Dagster wraps an op's exception in a step-execution error)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip()


def escalate_run(
    context: RunStatusSensorContext,
    *,
    event: str,
    catalog: ModelCatalogResource,
    notifier: NotifierResource,
    audit_trail: AuditTrailResource,
) -> SkipReason | None:
    """Page about one failed/canceled remediation run and record it; a ``SkipReason`` says why not."""
    run = context.dagster_run
    tags = run.tags
    model_id = tags.get(MODEL_TAG)
    if not model_id:
        return SkipReason(
            f"run {run.run_id} ({run.job_name}) {event} before it named a model; nobody to page"
        )
    try:
        spec = catalog.model(model_id)
    except SentinelError as exc:
        return SkipReason(f"run {run.run_id}: {exc}")
    incident = tags.get(INCIDENT_TAG) or f"run-{run.run_id[:8]}"
    action = tags.get(ACTION_TAG) or run.job_name
    failure = ""
    if isinstance(context, RunFailureSensorContext):
        steps = [
            f"{e.step_key}: {_root_cause(e.step_failure_data.error)}"
            for e in context.get_step_failure_events()
            if e.step_failure_data.error is not None
        ]
        failure = " ".join([context.failure_event.message or "", *steps]).strip()
    already = tags.get(ESCALATED_TAG) == "true"
    deliveries: list[dict[str, Any]] = []
    if not already:
        notification = Notification(
            severity="critical",
            title=f"[{spec.id}] remediation {action} {event}",
            text=f"Run {run.run_id} of {run.job_name} {event} for incident {incident}. {failure}".strip(),
            model_id=spec.id,
            incident_id=incident,
            details={"run_id": run.run_id, "job": run.job_name, "status": run.status.value},
        )
        deliveries = [d.to_dict() for d in notifier.send(notification, spec.alerts)]
    outcome = "already_escalated" if already else ("sent" if all(d["ok"] for d in deliveries) else "failed")
    entry = audit_trail.append(
        AuditEvent(
            kind="escalation",
            model_id=spec.id,
            incident_id=incident,
            actor=f"sensor:{context.sensor_name}",
            run_id=run.run_id,
            action=action,
            outcome=outcome,
            details={
                "run_status": run.status.value,
                "requested_by": actor_of(tags),
                "failure": failure,
                "deliveries": deliveries,
            },
            at=datetime.now(UTC),
        )
    )
    observe_on_audit_log(
        context.instance,
        spec.asset_prefix,
        entry,
        kind="escalation",
        action=action,
        outcome=outcome,
        incident_id=incident,
        run_id=run.run_id,
        description=f"escalation: {action} {event} → {outcome}",
    )
    if already:
        return SkipReason(f"run {run.run_id}: verification already rolled back and paged; recorded only")
    return None


def build_escalation_sensors(jobs: list[JobDefinition]) -> list[SensorDefinition]:
    """The failure and cancel sensors over ``jobs`` (the remediation jobs)."""

    @run_failure_sensor(
        name="remediation_on_run_failure",
        monitored_jobs=jobs,
        minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING,
        description="Escalates a failed remediation run (PagerDuty, dedup key = incident id) and audits it.",
    )
    def remediation_on_run_failure(
        context: RunFailureSensorContext,
        catalog: ModelCatalogResource,
        notifier: NotifierResource,
        audit_trail: AuditTrailResource,
    ):
        return escalate_run(
            context, event="failed", catalog=catalog, notifier=notifier, audit_trail=audit_trail
        )

    @run_status_sensor(
        run_status=DagsterRunStatus.CANCELED,
        name="remediation_on_run_canceled",
        monitored_jobs=jobs,
        minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING,
        description="Escalates a canceled (terminated) remediation run and audits it.",
    )
    def remediation_on_run_canceled(
        context: RunStatusSensorContext,
        catalog: ModelCatalogResource,
        notifier: NotifierResource,
        audit_trail: AuditTrailResource,
    ):
        return escalate_run(
            context, event="was canceled", catalog=catalog, notifier=notifier, audit_trail=audit_trail
        )

    return [remediation_on_run_failure, remediation_on_run_canceled]


def build_reconcile_sensor() -> SensorDefinition:
    """``remediation_on_unverified_change``: undo changes whose run died before verifying them.

    Each tick reconciles every model (:func:`jobs.reconcile.reconcile`): a change whose run ended or whose
    worker is gone is undone, recorded and its run marked failed (the run-failure sensor then pages). So a
    change applied by a worker that was killed is found as soon as the daemon runs again.
    """

    @sensor(
        name="remediation_on_unverified_change",
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        required_resource_keys={"catalog", "audit_trail", *undo_resources()},
        description="Undoes (and records) a remediation change whose run died before verifying it.",
    )
    def remediation_on_unverified_change(context: SensorEvaluationContext):
        keys = {"catalog", "audit_trail", *undo_resources()}
        resources = {key: getattr(context.resources, key) for key in keys}
        fixed = reconcile(context.instance, resources, actor=f"sensor:{context.sensor_name}")
        if not fixed:
            return SkipReason("no orphaned remediation change")
        return SkipReason(
            "; ".join(
                f"{f.action} of run {f.run_id}: {'undone' if f.done else 'undo FAILED'} ({f.reason})"
                for f in fixed
            )
        )

    return remediation_on_unverified_change

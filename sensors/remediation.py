"""``<model>_remediation_on_rca_report``: a confirmed, *current* incident requests gated remediation.

A reconcile loop: each tick looks at the rca_report materializations since its cursor and, for each, asks the
core rule :func:`drift_sentinel.remediation_scope.remediation_scope` whether its incident is still open in the
newest processed window (the newest window with an rca_report, judged by that window's latest report). Only a
current incident launches anything; a backfill over last month or a late re-materialization of an old window is
recorded on the tick (log and skip message) and launches nothing, least of all a model-changing action. For the
current incident it requests ``notify_team`` and the report's recommended action, each with the run key
``{incident}:{action}``, so the same incident never launches the same action twice — across ticks, re-runs,
early (open-window) and final reports, and daemon restarts.
"""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.incidents import remediation_run_key
from drift_sentinel.remediation.actions import severity_of
from drift_sentinel.remediation_scope import WindowIncident, remediation_scope
from jobs.plan import RemediationConfig
from jobs.remediation import REMEDIATION_JOB_PREFIX
from resources import history
from resources.keys import asset_key
from resources.safety_gate import (
    ACTION_TAG,
    ACTOR_TAG,
    CHANGE_LOCK_TAG,
    INCIDENT_TAG,
    MODEL_TAG,
    NOTIFY_ACTIONS,
)

# Remediation runs jump the run queue (a backfill or a window run waits; the QueuedRunCoordinator honours it).
REMEDIATION_RUN_PRIORITY = "10"

REPORTS_PER_TICK = 100
"""Most rca_report materializations one tick reads after its cursor (a backfill's burst is read over a few
ticks; each tick's cost stays bounded however long the model's history is)."""


def recommended_actions(metadata: dict[str, Any]) -> list[str]:
    """``notify_team`` and the report's recommended action (empty when the report has no incident)."""
    if not metadata.get("incident_id", ""):
        return []
    recommended = metadata.get("recommended_action", "notify_team") or "notify_team"
    return ["notify_team"] + ([recommended] if recommended != "notify_team" else [])


def changes_model(action: str) -> bool:
    """Whether ``action`` changes the model or its serving (the action catalog says; an unknown one does)."""
    return action not in NOTIFY_ACTIONS


def remediation_requests(
    spec: ModelSpec,
    sensor_name: str,
    metadata: dict[str, Any],
    available: set[str],
    actions: list[str] | None = None,
) -> list[RunRequest]:
    """Run requests for one rca_report materialization's metadata (empty when it has no incident).

    ``actions`` restricts the requests to those actions (default: :func:`recommended_actions`).
    """
    incident = metadata.get("incident_id", "")
    if not incident:
        return []
    recommended = metadata.get("recommended_action", "notify_team") or "notify_team"
    actions = recommended_actions(metadata) if actions is None else actions
    severity = severity_of(recommended)
    message = (
        f"{spec.id}: {metadata.get('root_cause', 'unknown')} "
        f"(feature {metadata.get('root_cause_feature', '-') or '-'}, confidence "
        f"{float(metadata.get('confidence', 0.0)):.2f}); recommended action: {recommended}"
    )
    requests = []
    for action in actions:
        if f"{REMEDIATION_JOB_PREFIX}{action}" not in available:
            continue  # an action without a job yet is reported by notify_team's message
        config = RemediationConfig(model_id=spec.id, incident_id=incident, severity=severity, message=message)
        requests.append(
            RunRequest(
                run_key=remediation_run_key(incident, action),
                job_name=f"{REMEDIATION_JOB_PREFIX}{action}",
                run_config={"ops": {"safety_gate": {"config": config.model_dump(exclude_none=True)}}},
                tags={
                    MODEL_TAG: spec.id,
                    INCIDENT_TAG: incident,
                    ACTION_TAG: action,
                    ACTOR_TAG: f"sensor:{sensor_name}",
                    "dagster/priority": REMEDIATION_RUN_PRIORITY,
                    **({} if action in NOTIFY_ACTIONS else {CHANGE_LOCK_TAG: spec.id}),
                },
            )
        )
    return requests


def newest_window_incident(instance: DagsterInstance, rca_key: AssetKey) -> WindowIncident | None:
    """The newest window with an rca_report and the incident its latest report names (``None``: no report yet)."""
    partitions = history.materialized_partitions(instance, rca_key)
    if not partitions:
        return None
    window = max(partitions)
    latest = history.materializations(instance, rca_key, partitions=[window], limit=1)
    return WindowIncident(window, (latest[0].text("incident_id") or "") if latest else "")


def build_remediation_sensor(spec: ModelSpec, jobs: list[Any], *, running: bool = True) -> SensorDefinition:
    """The model's remediation sensor, targeting the remediation jobs it may request.

    ``running`` is its default status (``REMEDIATION_AUTO``); the UI can still start or stop it.
    """
    name = f"{spec.asset_prefix}_remediation_on_rca_report"
    rca_key = asset_key(spec, "rca_report")
    available = {job.name for job in jobs}

    @sensor(
        name=name,
        jobs=jobs,
        minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=f"Requests gated remediation when an rca_report of {spec.id} has a confirmed incident that is "
        "still open in the newest processed window.",
    )
    def remediation_sensor(context: SensorEvaluationContext):
        records = history.materializations_after(
            context.instance, rca_key, int(context.cursor) if context.cursor else None, limit=REPORTS_PER_TICK
        )
        if not records:
            return SkipReason(
                f"no new {rca_key.to_user_string()} materializations after cursor {context.cursor}"
            )
        cursor = str(records[-1].storage_id)
        newest = newest_window_incident(context.instance, rca_key)
        requests: dict[str, RunRequest] = {}
        withheld: dict[str, str] = {}
        for record in records:
            metadata = dict(record.metadata)
            report = WindowIncident(record.partition or "", record.text("incident_id") or "")
            scope = remediation_scope(
                report, recommended_actions(metadata), newest=newest, changes_model=changes_model
            )
            if scope.withheld:
                kind = "superseded" if scope.current else "stale"
                withheld[scope.incident] = f"{kind}: {scope.reason}; withheld: {', '.join(scope.withheld)}"
            for request in remediation_requests(spec, name, metadata, available, list(scope.allowed)):
                requests[request.run_key or ""] = request
        for reason in withheld.values():
            context.log.info(f"not acting: {reason}")
        if not requests:
            newest_text = (
                f"newest window {newest.window} has no incident" if newest and not newest.incident else ""
            )
            why = "; ".join(list(withheld.values()) + ([newest_text] if newest_text else []))
            return SensorResult(
                skip_reason=SkipReason(
                    f"{len(records)} new report(s), nothing to do: {why or 'no incident'}"
                ),
                cursor=cursor,
            )
        return SensorResult(run_requests=list(requests.values()), cursor=cursor)

    return remediation_sensor

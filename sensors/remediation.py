"""``<model>_remediation_on_rca_report``: a confirmed incident in the newest window requests gated remediation.

A reconcile loop: each tick looks at the rca_report materializations since its cursor and acts on the newest
window only (a backfill over last month does not page anyone for last month). For that window's incident it
requests ``notify_team`` and the report's recommended action, each with the run key ``{incident}:{action}``, so
the same incident never launches the same action twice — across ticks, re-runs and daemon restarts.
"""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetKey,
    AssetRecordsFilter,
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
from jobs.plan import RemediationConfig
from jobs.remediation import REMEDIATION_JOB_PREFIX
from resources.safety_gate import (
    ACTION_TAG,
    ACTOR_TAG,
    CHANGE_LOCK_TAG,
    INCIDENT_TAG,
    MODEL_TAG,
    NOTIFY_ACTIONS,
)

REPORTS_PER_TICK = 100
"""Most rca_report materializations one tick reads after its cursor (a backfill's burst is read over a few
ticks; each tick's cost stays bounded however long the model's history is)."""


def _value(metadata: dict[str, Any], key: str, default: Any = None) -> Any:
    entry = metadata.get(key)
    return getattr(entry, "value", default) if entry is not None else default


def remediation_requests(
    spec: ModelSpec, sensor_name: str, metadata: dict[str, Any], available: set[str]
) -> list[RunRequest]:
    """Run requests for one rca_report materialization's metadata (empty when it has no incident)."""
    incident = _value(metadata, "incident_id", "")
    if not incident:
        return []
    recommended = _value(metadata, "recommended_action", "notify_team")
    actions = ["notify_team"] + ([recommended] if recommended != "notify_team" else [])
    severity = severity_of(recommended)
    message = (
        f"{spec.id}: {_value(metadata, 'root_cause', 'unknown')} "
        f"(feature {_value(metadata, 'root_cause_feature', '-') or '-'}, confidence "
        f"{float(_value(metadata, 'confidence', 0.0)):.2f}); recommended action: {recommended}"
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
                    **({} if action in NOTIFY_ACTIONS else {CHANGE_LOCK_TAG: spec.id}),
                },
            )
        )
    return requests


def build_remediation_sensor(spec: ModelSpec, jobs: list[Any], *, running: bool = True) -> SensorDefinition:
    """The model's remediation sensor, targeting the remediation jobs it may request.

    ``running`` is its default status (``REMEDIATION_AUTO``); the UI can still start or stop it.
    """
    name = f"{spec.asset_prefix}_remediation_on_rca_report"
    rca_key = AssetKey([spec.asset_prefix, "rca_report"])
    available = {job.name for job in jobs}

    @sensor(
        name=name,
        jobs=jobs,
        minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=f"Requests gated remediation when {spec.id}'s newest rca_report has a confirmed incident.",
    )
    def remediation_sensor(context: SensorEvaluationContext):
        result = context.instance.fetch_materializations(
            AssetRecordsFilter(
                asset_key=rca_key, after_storage_id=int(context.cursor) if context.cursor else None
            ),
            limit=REPORTS_PER_TICK,
            ascending=True,
        )
        records = result.records
        if not records:
            return SkipReason(
                f"no new {rca_key.to_user_string()} materializations after cursor {context.cursor}"
            )
        cursor = str(records[-1].storage_id)
        newest = max(records, key=lambda r: (r.partition_key or "", r.storage_id))
        materialization = newest.asset_materialization
        metadata = dict(materialization.metadata) if materialization else {}
        requests = remediation_requests(spec, name, metadata, available)
        if not requests:
            return SensorResult(
                skip_reason=SkipReason(
                    f"{len(records)} new report(s); newest window {newest.partition_key} has no incident"
                ),
                cursor=cursor,
            )
        return SensorResult(run_requests=requests, cursor=cursor)

    return remediation_sensor

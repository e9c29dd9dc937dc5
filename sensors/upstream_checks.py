"""``<model>_remediation_on_upstream_check``: a failed drift check on a declared upstream asset opens an incident.

For a model whose ``sentinel.yaml`` entry declares ``upstream_assets``, this sensor reads the evaluations of those
assets' drift checks (built with :func:`sentinel_assets.checks.build_drift_checks`, in any code location of the
instance) since its cursor. For the newest failed one (severity ERROR) it opens the incident
:func:`drift_sentinel.upstream.upstream_incident` and requests the gated ``notify_team`` run through the same
request builder as the model's remediation sensor, with run key ``{incident}:notify_team`` — so a window whose
model drift report opened the same incident is notified once. Without the declaration there is no sensor: the
check stands alone.
"""

from typing import Any

from dagster import (
    AssetCheckSeverity,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from drift_sentinel.analysis.rca.weights import WEIGHTS
from drift_sentinel.config import ModelSpec
from drift_sentinel.upstream import UpstreamIncident, upstream_incident
from resources import history
from sensors.remediation import remediation_requests
from sentinel_assets.checks import upstream_check_keys

HISTORY = 100
"""Evaluations read per check and tick (newest first); older unseen ones only matter for the cursor."""


def incident_metadata(incident: UpstreamIncident, features: str = "") -> dict[str, Any]:
    """The metadata an ``rca_report`` would carry for this incident (what the request builder reads)."""
    return {
        "incident_id": incident.incident_id,
        "recommended_action": incident.action,
        "root_cause": f"{incident.root_cause} {incident.cause}, {incident.check} failed",
        "root_cause_feature": features,
        "confidence": WEIGHTS.failed_check,
    }


def build_upstream_check_sensor(
    spec: ModelSpec, jobs: list[Any], *, running: bool = True
) -> SensorDefinition:
    """The sensor for ``spec``'s ``upstream_assets`` (call only when it declares some)."""
    name = f"{spec.asset_prefix}_remediation_on_upstream_check"
    keys = upstream_check_keys(spec)
    available = {job.name for job in jobs}

    @sensor(
        name=name,
        jobs=jobs,
        minimum_interval_seconds=5,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=f"Opens an incident for {spec.id} when a drift check on an asset it consumes fails: "
        + ", ".join(k.asset_key.to_user_string() for k in keys),
    )
    def upstream_sensor(context: SensorEvaluationContext):
        after = int(context.cursor) if context.cursor else -1
        new = [
            (key, evaluation)
            for key in keys
            for evaluation in history.check_evaluations(context.instance, key, limit=HISTORY)
            if evaluation.id > after
        ]
        if not new:
            return SkipReason(
                f"no new evaluation of {len(keys)} upstream drift check(s) after cursor {context.cursor}"
            )
        cursor = str(max(e.id for _, e in new))
        failed = [(key, e) for key, e in new if e.failed and e.severity == AssetCheckSeverity.ERROR]
        if not failed:
            return SensorResult(
                skip_reason=SkipReason(
                    f"{len(new)} new upstream check evaluation(s), none failed with ERROR"
                ),
                cursor=cursor,
            )
        key, evaluation = max(failed, key=lambda f: (f[1].partition or "", f[1].id))
        incident = upstream_incident(
            spec.id,
            asset=key.asset_key.to_user_string(),
            check=key.name,
            partition=evaluation.partition,
            description=evaluation.description,
            window_key=evaluation.partition or str(evaluation.run_id),
        )
        context.log.info(incident.message())
        affected = evaluation.metadata.get("affected_features")
        features = str(affected) if affected is not None and affected != "none" else ""
        requests = remediation_requests(spec, name, incident_metadata(incident, features), available)
        return SensorResult(run_requests=requests, cursor=cursor)

    return upstream_sensor

"""``build_model_defs(spec)``: every asset, check, job and sensor of one monitored model."""

from __future__ import annotations

from dagster import AssetSpec, Definitions, JobDefinition, define_asset_job

from drift_sentinel.config import ModelSpec
from sensors.late_data import build_late_data_sensor
from sensors.live import build_live_sensor
from sensors.remediation import build_remediation_sensor
from sensors.upstream_checks import build_upstream_check_sensor
from sentinel_assets.automation import build_automation_sensor, with_window_automation
from sentinel_assets.drift import build_drift_assets
from sentinel_assets.keys import asset_key, asset_selection
from sentinel_assets.partitions import window_partitions
from sentinel_assets.performance import build_performance_assets
from sentinel_assets.rca import build_rca_assets
from sentinel_assets.signals import build_signal_assets
from sentinel_assets.windows import build_window_assets

WINDOW_ASSETS = (
    "current_window",
    "drift_report",
    "system_signals",
    "external_events",
    "signal_anomalies",
    "rca_report",
    "performance_report",
)
BASELINE_ASSETS = ("reference_window", "reference_profile", "feature_importance")


def detect_job_name(spec: ModelSpec) -> str:
    return f"{spec.asset_prefix}_detect"


def baseline_job_name(spec: ModelSpec) -> str:
    return f"{spec.asset_prefix}_baseline"


def patterns_job_name(spec: ModelSpec) -> str:
    return f"{spec.asset_prefix}_patterns"


def build_model_defs(
    spec: ModelSpec, remediation_jobs: list[JobDefinition], *, auto_remediation: bool = True
) -> Definitions:
    """Assets (windows, profile, drift, signals, RCA, patterns, audit log), the jobs (per window, baseline,
    patterns) and the sensor.

    The reference side is partitioned like the windows only for a trailing reference; a fixed training snapshot
    is one unpartitioned reference (and profile), computed once for every window.
    """
    partitions = window_partitions(spec.window)
    reference_partitions = partitions if spec.reference.strategy == "trailing" else None
    prefix = spec.asset_prefix
    assets = with_window_automation(
        spec,
        [
            *build_window_assets(spec, partitions, reference_partitions),
            *build_drift_assets(spec, partitions, reference_partitions),
            *build_signal_assets(spec, partitions),
            *build_rca_assets(spec, partitions),
            *build_performance_assets(spec, partitions),
        ],
    )
    audit_log = AssetSpec(
        key=asset_key(spec, "audit_log"),
        group_name=prefix,
        kinds={"s3"},
        owners=list(spec.owners),
        description=f"Hash-chained audit trail of every gate decision and action on {spec.id} (observations).",
    )

    per_window = WINDOW_ASSETS + (("reference_window", "reference_profile") if reference_partitions else ())
    baseline = tuple(n for n in BASELINE_ASSETS if n not in per_window)
    jobs = [
        define_asset_job(
            detect_job_name(spec),
            selection=asset_selection(spec, per_window),
            description=f"Detect and explain drift of {spec.id} for one window (backfill it over many).",
        ),
        define_asset_job(
            baseline_job_name(spec),
            selection=asset_selection(spec, baseline),
            description=f"Refresh {spec.id}'s reference, its profile and the champion's feature importance.",
        ),
        define_asset_job(
            patterns_job_name(spec),
            selection=asset_selection(spec, ("recurring_patterns",)),
            description=f"Rebuild {spec.id}'s library of recurring incident signatures from the stored RCA reports.",
        ),
    ]
    return Definitions(
        assets=[*assets, audit_log],
        jobs=jobs,
        sensors=[
            build_remediation_sensor(spec, remediation_jobs, running=auto_remediation),
            build_automation_sensor(spec, assets),
            build_late_data_sensor(spec, partitions, detect_job_name(spec)),
            *filter(None, [build_live_sensor(spec, partitions, detect_job_name(spec))]),
        ]
        + (
            [build_upstream_check_sensor(spec, remediation_jobs, running=auto_remediation)]
            if spec.upstream_assets
            else []
        ),
    )

"""``reference_profile`` and ``drift_report``: the detection engine run per window.

The reference profile (sorted values, bin edges, category counts) is computed once per reference window and
reused for every current window, so a backfill over hundreds of windows does not re-sort the reference each time.
"""

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    DagsterInstance,
    Output,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    asset,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.detection import (
    DetectionConfig,
    DriftReport,
    ReferenceProfile,
    detect_drift,
    profile_reference,
)
from drift_sentinel.incidents import assign_incident
from drift_sentinel.live import window_state
from drift_sentinel.verdict import Verdict
from resources.thresholds import ThresholdStoreResource
from sentinel_assets import history
from sentinel_assets.keys import asset_ins, asset_key
from sentinel_assets.metadata import drift_metadata
from sentinel_assets.partitions import previous_partition_keys

# Bump when the profile or report logic changes (read by RCA as pipeline evidence).
DRIFT_CODE_VERSION = "1"
NO_DRIFT_CHECK = "drift_report_shows_no_drift"


def detection_config(spec: ModelSpec) -> DetectionConfig:
    """The model's detection settings with its declared feature kinds."""
    features = spec.detection.features or spec.feature_kinds
    return spec.detection.model_copy(update={"features": features})


def previous_incident(
    instance: DagsterInstance, spec: ModelSpec, partitions: PartitionsDefinition, window_start: datetime
) -> str | None:
    """The incident id recorded on the preceding window's latest drift_report materialization, if any.

    ``window_start`` is the start of this window; non-time partitions have no preceding window.
    """
    if not isinstance(partitions, TimeWindowPartitionsDefinition):
        return None
    previous = previous_partition_keys(partitions, window_start, 1)
    if not previous:
        return None
    records = history.materializations(
        instance, asset_key(spec, "drift_report"), partitions=previous, limit=1
    )
    value = records[0].metadata.get("incident_id") if records else None
    return str(value) if value else None


def detect_window(
    spec: ModelSpec,
    config: DetectionConfig,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    profile: ReferenceProfile,
) -> DriftReport:
    """:func:`drift_sentinel.detection.detect_drift` of one window with the model's column names."""
    return detect_drift(
        reference,
        current,
        config,
        profile=profile,
        time_column=spec.timestamp_column,
        prediction_column=spec.prediction_column,
        label_column=spec.label_column,
    )


def no_drift_check(report: DriftReport, incident: str, spec: ModelSpec) -> AssetCheckResult:
    """The drift report's own check: passes when no drift; a warning when inconclusive or in error."""
    return AssetCheckResult(
        check_name=NO_DRIFT_CHECK,
        asset_key=asset_key(spec, "drift_report"),
        passed=report.verdict is Verdict.PASSED,
        severity=AssetCheckSeverity.WARN
        if report.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR)
        else AssetCheckSeverity.ERROR,
        description=f"{report.verdict.value}: "
        + (", ".join(a.name for a in report.affected_features) or "no feature drifted"),
        metadata={"drift_score": float(report.drift_score), "incident_id": incident},
    )


def build_drift_assets(
    spec: ModelSpec,
    partitions: PartitionsDefinition,
    reference_partitions: PartitionsDefinition | None,
) -> list[AssetsDefinition]:
    """``reference_profile`` (partitioned like the reference) and ``drift_report`` (per window)."""
    report_key = asset_key(spec, "drift_report")
    config = detection_config(spec)
    common: dict[str, Any] = {
        "group_name": spec.asset_prefix,
        "kinds": {"python"},
        "owners": list(spec.owners),
        "code_version": DRIFT_CODE_VERSION,
    }

    @asset(
        key=asset_key(spec, "reference_profile"),
        ins=asset_ins(spec, "reference_window"),
        partitions_def=reference_partitions,
        description=f"Sorted values, bin edges and category counts of {spec.id}'s reference, computed once.",
        **common,
    )
    def reference_profile(reference_window: pd.DataFrame) -> Output[ReferenceProfile]:
        # the score column is profiled too when the reference has it (a trailing reference), for prediction drift
        extra = [c for c in (spec.prediction_column,) if c in reference_window.columns]
        profile = profile_reference(reference_window, config, columns=extra)
        return Output(profile, metadata={"dagster/row_count": len(reference_window)})

    @asset(
        key=report_key,
        ins=asset_ins(spec, "current_window", "reference_window", "reference_profile"),
        partitions_def=partitions,
        check_specs=[AssetCheckSpec(NO_DRIFT_CHECK, asset=report_key)],
        description=f"Per-feature drift of {spec.id} in this window: every detector's result and the quorum.",
        **common,
    )
    def drift_report(
        context: AssetExecutionContext,
        threshold_store: ThresholdStoreResource,
        current_window: pd.DataFrame,
        reference_window: pd.DataFrame,
        reference_profile: ReferenceProfile,
    ):
        # thresholds applied by update_thresholds (versioned, revertible) replace the configured ones
        stored = threshold_store.stored(spec.id)
        in_force = config if stored is None else config.model_copy(update={"thresholds": stored})
        report = detect_window(spec, in_force, reference_window, current_window, reference_profile)
        previous = (
            previous_incident(context.instance, spec, partitions, context.partition_time_window.start)
            if report.drift_detected
            else None
        )
        incident = assign_incident(
            spec.id, context.partition_key, drifted=report.drift_detected, previous=previous
        )
        payload = {
            **report.to_dict(),
            "model_id": spec.id,
            "window": context.partition_key,
            "incident_id": incident,
            "window_state": window_state(context.partition_time_window.end, datetime.now(UTC)),
        }
        thresholds = "stored version" if stored else "configured"
        yield Output(payload, metadata={**drift_metadata(payload), "thresholds": thresholds})
        yield no_drift_check(report, incident, spec)

    return [reference_profile, drift_report]

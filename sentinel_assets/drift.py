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
    AssetIn,
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    Output,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    asset,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.detection import DetectionConfig, ReferenceProfile, detect_drift, profile_reference
from drift_sentinel.incidents import assign_incident
from drift_sentinel.live import window_state
from drift_sentinel.verdict import Verdict
from resources.thresholds import ThresholdStoreResource
from sentinel_assets.metadata import drift_metadata

# Bump when the profile or report logic changes (read by RCA as pipeline evidence).
DRIFT_CODE_VERSION = "1"


def detection_config(spec: ModelSpec) -> DetectionConfig:
    """The model's detection settings with its declared feature kinds."""
    features = spec.detection.features or spec.feature_kinds
    return spec.detection.model_copy(update={"features": features})


def _previous_incident(
    context: AssetExecutionContext, partitions: PartitionsDefinition, report_key: AssetKey
) -> str | None:
    """The incident id recorded on the preceding window's latest drift_report materialization, if any."""
    if not isinstance(partitions, TimeWindowPartitionsDefinition):
        return None
    previous = partitions.get_prev_partition_window(context.partition_time_window.start)
    if previous is None:
        return None
    key = partitions.get_partition_key_for_timestamp(previous.start.timestamp())
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=report_key, asset_partitions=[key]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    entry = records[0].asset_materialization.metadata.get("incident_id")
    return str(entry.value) if entry is not None and entry.value else None


def build_drift_assets(
    spec: ModelSpec,
    partitions: PartitionsDefinition,
    reference_partitions: PartitionsDefinition | None,
) -> list[AssetsDefinition]:
    """``reference_profile`` (partitioned like the reference) and ``drift_report`` (per window)."""
    prefix = spec.asset_prefix
    profile_key, report_key = AssetKey([prefix, "reference_profile"]), AssetKey([prefix, "drift_report"])
    check_name = "drift_report_shows_no_drift"
    config = detection_config(spec)

    @asset(
        key=profile_key,
        ins={"reference_window": AssetIn(key=AssetKey([prefix, "reference_window"]))},
        partitions_def=reference_partitions,
        group_name=prefix,
        kinds={"python"},
        owners=list(spec.owners),
        code_version=DRIFT_CODE_VERSION,
        description=f"Sorted values, bin edges and category counts of {spec.id}'s reference, computed once.",
    )
    def reference_profile(reference_window: pd.DataFrame) -> Output[ReferenceProfile]:
        # the score column is profiled too when the reference has it (a trailing reference), for prediction drift
        extra = [c for c in (spec.prediction_column,) if c in reference_window.columns]
        profile = profile_reference(reference_window, config, columns=extra)
        return Output(profile, metadata={"dagster/row_count": len(reference_window)})

    @asset(
        key=report_key,
        ins={
            "current_window": AssetIn(key=AssetKey([prefix, "current_window"])),
            "reference_window": AssetIn(key=AssetKey([prefix, "reference_window"])),
            "reference_profile": AssetIn(key=profile_key),
        },
        partitions_def=partitions,
        group_name=prefix,
        kinds={"python"},
        owners=list(spec.owners),
        check_specs=[AssetCheckSpec(check_name, asset=report_key)],
        code_version=DRIFT_CODE_VERSION,
        description=f"Per-feature drift of {spec.id} in this window: every detector's result and the quorum.",
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
        report = detect_drift(
            reference_window,
            current_window,
            in_force,
            profile=reference_profile,
            time_column=spec.timestamp_column,
            prediction_column=spec.prediction_column,
            label_column=spec.label_column,
        )
        incident = assign_incident(
            spec.id,
            context.partition_key,
            drifted=report.drift_detected,
            previous=_previous_incident(context, partitions, report_key) if report.drift_detected else None,
        )
        payload: dict[str, Any] = {
            **report.to_dict(),
            "model_id": spec.id,
            "window": context.partition_key,
            "incident_id": incident,
            "window_state": window_state(context.partition_time_window.end, datetime.now(UTC)),
        }
        yield Output(
            payload,
            metadata={**drift_metadata(payload), "thresholds": "stored version" if stored else "configured"},
        )
        yield AssetCheckResult(
            check_name=check_name,
            asset_key=report_key,
            passed=report.verdict is Verdict.PASSED,
            severity=AssetCheckSeverity.WARN
            if report.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR)
            else AssetCheckSeverity.ERROR,
            description=f"{report.verdict.value}: "
            + (", ".join(a.name for a in report.affected_features) or "no feature drifted"),
            metadata={"drift_score": float(report.drift_score), "incident_id": incident},
        )

    return [reference_profile, drift_report]

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
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    asset,
)

from drift_sentinel.backfill import chain_incidents
from drift_sentinel.config import ModelSpec
from drift_sentinel.detection import (
    DetectionConfig,
    DriftReport,
    ReferenceProfile,
    detect_drift,
    profile_reference,
)
from drift_sentinel.live import window_state
from drift_sentinel.parallel import map_windows
from drift_sentinel.verdict import Verdict
from resources import history
from resources.keys import asset_ins, asset_key
from resources.thresholds import ThresholdStoreResource
from sentinel_assets.metadata import drift_metadata
from sentinel_assets.partitions import previous_partition_keys
from sentinel_assets.ranges import (
    DATA_QUALITY,
    backfill_policy,
    emit,
    per_window,
    range_check,
    run_windows,
    usable,
    window_quality,
)

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
        backfill_policy=backfill_policy(spec) if reference_partitions else None,
        description=f"Sorted values, bin edges and category counts of {spec.id}'s reference, computed once.",
        **common,
    )
    def reference_profile(context: AssetExecutionContext, reference_window: Any):
        # the score column is profiled too when the reference has it (a trailing reference), for prediction drift
        keys = context.partition_keys if reference_partitions else [""]
        results = {}
        for key, frame in per_window(reference_window, keys).items():
            extra = [c for c in (spec.prediction_column,) if c in frame.columns]
            profile = profile_reference(frame, config, columns=extra)
            results[key] = (profile, {"dagster/row_count": len(frame)})
        return emit(context, results)

    @asset(
        key=report_key,
        ins=asset_ins(spec, "current_window", "reference_window", "reference_profile"),
        partitions_def=partitions,
        backfill_policy=backfill_policy(spec),
        check_specs=[AssetCheckSpec(NO_DRIFT_CHECK, asset=report_key)],
        description=f"Per-feature drift of {spec.id} in this window: every detector's result and the quorum.",
        **common,
    )
    def drift_report(
        context: AssetExecutionContext,
        threshold_store: ThresholdStoreResource,
        current_window: Any,
        reference_window: Any,
        reference_profile: Any,
    ):
        windows = run_windows(context)
        keys = [w.key for w in windows]
        currents, references = per_window(current_window, keys), per_window(reference_window, keys)
        profiles, quality = per_window(reference_profile, keys), window_quality(context.instance, spec, keys)
        # thresholds applied by update_thresholds (versioned, revertible) replace the configured ones
        stored = threshold_store.stored(spec.id)
        in_force = config if stored is None else config.model_copy(update={"thresholds": stored})

        def detect(key: str) -> DriftReport:
            current = usable(currents[key], quality[key])
            return detect_window(spec, in_force, references[key], current, profiles[key])

        reports = dict(zip(keys, map_windows(detect, keys), strict=True))  # every core in a range run
        # incidents chain window after window; the window before the run is read only if the first one drifted
        first = windows[0]
        previous = (
            previous_incident(context.instance, spec, partitions, first.window.start)
            if reports[first.key].drift_detected
            else None
        )
        incidents = chain_incidents(
            spec.id, {k: r.drift_detected for k, r in reports.items()}, previous=previous
        )
        thresholds = "stored version" if stored else "configured"
        results, checks = {}, {}
        for w in windows:
            report, incident = reports[w.key], incidents[w.key]
            payload = {
                **report.to_dict(),
                "model_id": spec.id,
                "window": w.key,
                "incident_id": incident,
                "window_state": window_state(w.window.end, datetime.now(UTC)),
                DATA_QUALITY: quality[w.key],
            }
            results[w.key] = (payload, {**drift_metadata(payload), "thresholds": thresholds})
            checks[w.key] = no_drift_check(report, incident, spec)
        yield emit(context, results)
        yield range_check(NO_DRIFT_CHECK, report_key, checks)

    return [reference_profile, drift_report]

"""``performance_report``: the model's realized and estimated (CBPE) performance in each window.

Realized metrics come from the rows whose labels have arrived; estimates (for the whole window, from the scores
alone) come from a CBPE calibrated on the reference: the reference's own scores when it has them (a trailing
reference), else the champion's scores on it (a training snapshot). It is one of the detect
job's window assets: the window automation materializes it for each closing window, and the late-data sensor's
detect run redoes a window whose labels arrived late.
"""

from collections import OrderedDict
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    PartitionsDefinition,
    asset,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.parallel import map_windows
from drift_sentinel.performance import CBPE, PerformanceReport, calibration_reference, performance_report
from drift_sentinel.verdict import Verdict
from resources.keys import asset_ins, asset_key
from resources.model_registry import ModelRegistryResource
from sentinel_assets.ranges import backfill_policy, emit, per_window, range_check, usable, window_quality

PERFORMANCE_CODE_VERSION = "1"
CHECK_NAME = "performance_report_meets_minimum"


def performance_metadata(report: PerformanceReport) -> dict[str, Any]:
    """Plain floats for the UI's plots (a metric undefined in this window is left out) plus the verdict."""
    out: dict[str, Any] = {
        "labelled_fraction": float(report.realized.labelled_fraction),
        "labelled_rows": int(report.realized.n_labelled),
        "dagster/row_count": int(report.realized.n_rows),
        "verdict": report.verdict.value,
        "breached_by": report.breached_by or "none",
        "reason": report.reason,
        "performance_metric": report.requirement.metric,
        "performance_min": float(report.requirement.min),
        "calibrated": bool(report.estimated.calibrated),
    }
    if report.value is not None:
        out["performance_value"] = float(report.value)
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "calibration_error"):
        value = report.realized.value(name)
        if value is not None:
            out[name] = float(value)
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        estimate = report.estimated.estimate(name)
        if estimate.value is not None:
            out[f"{name}_estimated"] = float(estimate.value)
        if estimate.lower is not None and estimate.upper is not None:
            out[f"{name}_estimated_lower"] = float(estimate.lower)
            out[f"{name}_estimated_upper"] = float(estimate.upper)
    return out


# CBPE fitted per (model, champion version, reference content): a backfill over many windows in one process loads
# and runs the champion on a training-snapshot reference once, not once per window
_FITTED: OrderedDict[tuple[str, str | None, int], tuple[CBPE, str]] = OrderedDict()
_FITTED_MAX = 8


def fitted_estimator(
    spec: ModelSpec, registry: ModelRegistryResource, reference_window: pd.DataFrame
) -> tuple[CBPE, str, str | None]:
    """The CBPE for this reference, where its scores came from, and the champion version that scored it."""
    version = None
    if spec.prediction_column not in reference_window.columns:
        champion = registry.champion(spec.registered_model_name, alias=spec.registry.champion_alias)
        version = champion.version if champion is not None else None
    fingerprint = int(pd.util.hash_pandas_object(reference_window, index=False).sum())
    key = (spec.id, version, fingerprint)
    if key not in _FITTED:
        model = registry.load_model(spec.registered_model_name, version) if version is not None else None
        reference, source = calibration_reference(
            reference_window,
            score_column=spec.prediction_column,
            model=model,
            features=[f.name for f in spec.features],
            categorical=[f.name for f in spec.features if f.kind == "categorical"],
            model_label=f"champion v{version}",
        )
        estimator = CBPE(
            score_column=spec.prediction_column,
            label_column=spec.label_column or "label",
            min_samples=spec.performance.min_samples,
        ).fit(reference)
        _FITTED[key] = (estimator, source)
        while len(_FITTED) > _FITTED_MAX:
            _FITTED.popitem(last=False)
    estimator, source = _FITTED[key]
    return estimator, source, version


def build_performance_assets(spec: ModelSpec, partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    """``performance_report`` of one model, partitioned like its windows."""
    prefix = spec.asset_prefix
    key = asset_key(spec, "performance_report")

    @asset(
        key=key,
        ins=asset_ins(spec, "current_window", "reference_window"),
        partitions_def=partitions,
        backfill_policy=backfill_policy(spec),
        group_name=prefix,
        kinds={"python", "mlflow"},
        owners=list(spec.owners),
        code_version=PERFORMANCE_CODE_VERSION,
        check_specs=[AssetCheckSpec(CHECK_NAME, asset=key)],
        description=f"{spec.id}'s accuracy, precision, recall, F1, ROC AUC per window: realized and CBPE-estimated.",
    )
    def performance_report_asset(
        context: AssetExecutionContext,
        model_registry: ModelRegistryResource,
        current_window: Any,
        reference_window: Any,
    ):
        keys = list(context.partition_keys)
        currents, references = per_window(current_window, keys), per_window(reference_window, keys)
        quality = window_quality(context.instance, spec, keys)
        fitted = {}  # one fit per reference (an unpartitioned one serves every window), here: it reads MLflow
        for reference in references.values():
            if id(reference) not in fitted:
                fitted[id(reference)] = fitted_estimator(spec, model_registry, reference)

        def report_of(window: str) -> PerformanceReport:
            return performance_report(
                usable(currents[window], quality[window]),
                references[window],
                requirement=spec.performance,
                score_column=spec.prediction_column,
                label_column=spec.label_column,
                estimator=fitted[id(references[window])][0],
            )

        results, checks = {}, {}
        for window, report in zip(keys, map_windows(report_of, keys), strict=True):
            _, source, version = fitted[id(references[window])]
            payload = {
                **report.to_dict(),
                "model_id": spec.id,
                "window": window,
                "reference_scores": source,
                "model_version": version,
            }
            metadata = {**performance_metadata(report), "reference_scores": source}
            if version is not None:
                metadata["model_version"] = str(version)
            results[window] = (payload, metadata)
            checks[window] = AssetCheckResult(
                check_name=CHECK_NAME,
                asset_key=key,
                passed=report.verdict is Verdict.PASSED,
                severity=AssetCheckSeverity.WARN
                if report.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR)
                else AssetCheckSeverity.ERROR,
                description=f"{report.verdict.value}: {report.reason}",
                metadata={"labelled_fraction": float(report.realized.labelled_fraction)},
            )
        yield emit(context, results)
        yield range_check(CHECK_NAME, key, checks)

    return [performance_report_asset]

"""``current_window`` and ``reference_window``: partitioned slices of the prediction log, quality-checked.

Both carry a blocking Great Expectations check, so a bad window never reaches drift detection.
"""

from functools import lru_cache

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Output,
    TimeWindowPartitionsDefinition,
    asset,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.quality import QualityResult, QualitySuite, learn_suite, validate_window
from drift_sentinel.windows import read_table, read_window, summarize_window
from resources.catalog import ModelCatalogResource
from sentinel_assets.keys import asset_key
from sentinel_assets.metadata import window_metadata

# Bump when the window logic changes: RCA reads code-version changes as "pipeline, not world" evidence.
WINDOW_CODE_VERSION = "1"


def log_columns(spec: ModelSpec) -> list[str]:
    """Columns read from the prediction log: features, prediction, and whichever optional columns are declared."""
    optional = [spec.label_column, spec.latency_column, spec.error_column]
    return [f.name for f in spec.features] + [spec.prediction_column] + [c for c in optional if c]


def _suite(spec: ModelSpec, baseline_uri: str | None, *, with_prediction: bool = True) -> QualitySuite:
    numeric = [f.name for f in spec.features if f.kind == "numeric"]
    numeric += [spec.prediction_column] if with_prediction else []
    categorical = [f.name for f in spec.features if f.kind == "categorical"]
    return _learned_suite(tuple(numeric), tuple(categorical), baseline_uri)


@lru_cache(maxsize=16)
def _learned_suite(
    numeric: tuple[str, ...], categorical: tuple[str, ...], baseline_uri: str | None
) -> QualitySuite:
    """Learned once per process from the baseline file (the training snapshot)."""
    baseline = read_table(baseline_uri) if baseline_uri else pd.DataFrame()
    return learn_suite(baseline, numeric=numeric, categorical=categorical)


def _check_result(name: str, key: AssetKey, result: QualityResult) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=name,
        asset_key=key,
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={
            "rows": result.n_rows,
            "expectations": result.n_expectations,
            "failed_expectations": len(result.failures),
            "failures": "; ".join(f"{f.expectation}: {f.observed}" for f in result.failures) or "none",
        },
    )


def build_window_assets(
    spec: ModelSpec,
    partitions: TimeWindowPartitionsDefinition,
    reference_partitions: TimeWindowPartitionsDefinition | None,
) -> list[AssetsDefinition]:
    """The two window assets of one model."""
    prefix = spec.asset_prefix
    current_key, reference_key = asset_key(spec, "current_window"), asset_key(spec, "reference_window")
    current_check = "current_window_passes_data_quality"
    reference_check = "reference_window_has_expected_schema"
    common = {
        "partitions_def": partitions,
        "group_name": prefix,
        "kinds": {"pandas", "parquet"},
        "owners": list(spec.owners),
        "code_version": WINDOW_CODE_VERSION,
    }

    @asset(
        key=current_key,
        description=f"Prediction-log rows of {spec.id} in this {spec.window.cadence} window.",
        check_specs=[AssetCheckSpec(current_check, asset=current_key, blocking=True)],
        **common,
    )
    def current_window(context: AssetExecutionContext, catalog: ModelCatalogResource):
        window = context.partition_time_window
        frame = read_window(
            catalog.resolve(spec.data.prediction_log),
            start=window.start,
            end=window.end,
            columns=log_columns(spec),
            time_column=spec.timestamp_column,
        )
        summary = summarize_window(
            frame,
            prediction_column=spec.prediction_column,
            label_column=spec.label_column,
            latency_column=spec.latency_column,
            error_column=spec.error_column,
        )
        baseline = catalog.resolve(spec.data.training_snapshot) if spec.data.training_snapshot else None
        quality = validate_window(frame, _suite(spec, baseline))
        yield Output(frame, metadata={**window_metadata(summary), "window_start": window.start.isoformat()})
        yield _check_result(current_check, current_key, quality)

    @asset(
        key=reference_key,
        description=f"The baseline {spec.id} is compared with ({spec.reference.strategy}).",
        check_specs=[AssetCheckSpec(reference_check, asset=reference_key, blocking=True)],
        **{**common, "partitions_def": reference_partitions},
    )
    def reference_window(context: AssetExecutionContext, catalog: ModelCatalogResource):
        if spec.reference.strategy == "training_snapshot":
            assert spec.data.training_snapshot is not None  # validated in ModelSpec
            frame = read_table(catalog.resolve(spec.data.training_snapshot))
            source = spec.data.training_snapshot
        else:
            window = context.partition_time_window
            span = window.end - window.start
            frame = read_window(
                catalog.resolve(spec.data.prediction_log),
                start=window.start - spec.reference.windows * span,
                end=window.start,
                columns=log_columns(spec),
                time_column=spec.timestamp_column,
            )
            source = f"trailing {spec.reference.windows} windows"
        # schema and row count only: the reference is the baseline the ranges are learned from
        quality = validate_window(frame, _suite(spec, None, with_prediction=False))
        yield Output(frame, metadata={"dagster/row_count": len(frame), "source": source})
        yield _check_result(reference_check, reference_key, quality)

    return [current_window, reference_window]

"""``current_window`` and ``reference_window``: partitioned slices of the prediction log, quality-checked.

Both carry a blocking Great Expectations check, so a bad window never reaches drift detection.
"""

from functools import lru_cache
from typing import Any

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

from drift_sentinel.backfill import range_bounds, split_windows
from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.quality import QualityFailure, QualityResult, QualitySuite, learn_suite, validate_window
from drift_sentinel.verdict import Verdict
from drift_sentinel.windows import read_table, read_window, summarize_window
from resources.catalog import ModelCatalogResource
from resources.keys import asset_key
from sentinel_assets.metadata import window_metadata
from sentinel_assets.ranges import DATA_QUALITY, RunWindow, backfill_policy, emit, range_check, run_windows

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


def _check_result(
    name: str, key: AssetKey, result: QualityResult, *, empty_blocks: bool = False
) -> AssetCheckResult:
    """The check of one window: an ERROR blocks its downstream, except for an empty window (a WARN: the
    downstream assets give it explicit INCONCLUSIVE results, and nothing opens an incident on missing data).
    An empty reference blocks (``empty_blocks``): there is nothing to compare with."""
    return AssetCheckResult(
        check_name=name,
        asset_key=key,
        passed=result.passed,
        severity=AssetCheckSeverity.WARN
        if result.n_rows == 0 and not empty_blocks
        else AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={
            "rows": result.n_rows,
            "expectations": result.n_expectations,
            "failed_expectations": len(result.failures),
            "failures": "; ".join(f"{f.expectation}: {f.observed}" for f in result.failures) or "none",
        },
    )


def read_windows(
    spec: ModelSpec, log_uri: str, windows: list[RunWindow]
) -> dict[str, pd.DataFrame | DataError]:
    """Each window's rows of the log: one read for a range, split per window
    (:func:`drift_sentinel.backfill.split_windows`).

    A file that cannot be read fails a single window's run (the error names it); in a range it fails only the
    windows that need it: the range is read again window by window and those windows get the error.
    """
    columns, time_column = log_columns(spec), spec.timestamp_column

    def one(w: RunWindow) -> pd.DataFrame:
        start, end = w.window.start, w.window.end
        return read_window(log_uri, start=start, end=end, columns=columns, time_column=time_column)

    if len(windows) == 1:
        return {windows[0].key: one(windows[0])}
    bounds = [(w.key, w.window.start, w.window.end) for w in windows]
    start, end = range_bounds(bounds)
    try:
        frame = read_window(log_uri, start=start, end=end, columns=columns, time_column=time_column)
    except DataError:
        out: dict[str, pd.DataFrame | DataError] = {}
        for w in windows:
            try:
                out[w.key] = one(w)
            except DataError as exc:
                out[w.key] = exc
        return out
    return dict(split_windows(frame, bounds, time_column=time_column))


def _checked(frame: pd.DataFrame | DataError, suite: QualitySuite) -> tuple[pd.DataFrame, QualityResult]:
    """The window's rows and their quality; an unreadable window is an empty one that fails with the reason."""
    if isinstance(frame, DataError):
        failure = QualityFailure("readable", None, str(frame))
        return pd.DataFrame(), QualityResult(Verdict.ERROR, n_rows=0, n_expectations=1, failures=(failure,))
    return frame, validate_window(frame, suite)


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
    common: dict[str, Any] = {
        "partitions_def": partitions,
        "group_name": prefix,
        "kinds": {"pandas", "parquet"},
        "owners": list(spec.owners),
        "code_version": WINDOW_CODE_VERSION,
        "backfill_policy": backfill_policy(spec),
    }

    @asset(
        key=current_key,
        description=f"Prediction-log rows of {spec.id} in this {spec.window.cadence} window.",
        check_specs=[AssetCheckSpec(current_check, asset=current_key, blocking=True)],
        **common,
    )
    def current_window(context: AssetExecutionContext, catalog: ModelCatalogResource):
        windows = run_windows(context)
        frames = read_windows(spec, catalog.resolve(spec.data.prediction_log), windows)
        baseline = catalog.resolve(spec.data.training_snapshot) if spec.data.training_snapshot else None
        suite = _suite(spec, baseline)
        results, checks = {}, {}
        for w in windows:
            frame, quality = _checked(frames[w.key], suite)
            summary = summarize_window(
                frame,
                prediction_column=spec.prediction_column,
                label_column=spec.label_column,
                latency_column=spec.latency_column,
                error_column=spec.error_column,
            )
            metadata = {
                **window_metadata(summary),
                "window_start": w.window.start.isoformat(),
                DATA_QUALITY: quality.describe() if not quality.passed else "passed",
            }
            results[w.key] = (frame, metadata)
            checks[w.key] = _check_result(current_check, current_key, quality)
        yield emit(context, results)
        yield range_check(current_check, current_key, checks, severity_of_failure=AssetCheckSeverity.WARN)

    @asset(
        key=reference_key,
        description=f"The baseline {spec.id} is compared with ({spec.reference.strategy}).",
        check_specs=[AssetCheckSpec(reference_check, asset=reference_key, blocking=True)],
        **{
            **common,
            "partitions_def": reference_partitions,
            "backfill_policy": common["backfill_policy"] if reference_partitions else None,
        },
    )
    def reference_window(context: AssetExecutionContext, catalog: ModelCatalogResource):
        suite = _suite(spec, None, with_prediction=False)
        if spec.reference.strategy == "training_snapshot":
            assert spec.data.training_snapshot is not None  # validated in ModelSpec
            frame = read_table(catalog.resolve(spec.data.training_snapshot))
            # schema and row count only: the reference is the baseline the ranges are learned from
            quality = validate_window(frame, suite)
            yield Output(
                frame, metadata={"dagster/row_count": len(frame), "source": spec.data.training_snapshot}
            )
            yield _check_result(reference_check, reference_key, quality, empty_blocks=True)
            return
        results, checks = {}, {}
        for w in run_windows(context):
            span = w.window.end - w.window.start
            frame = read_window(
                catalog.resolve(spec.data.prediction_log),
                start=w.window.start - spec.reference.windows * span,
                end=w.window.start,
                columns=log_columns(spec),
                time_column=spec.timestamp_column,
            )
            source = f"trailing {spec.reference.windows} windows"
            results[w.key] = (frame, {"dagster/row_count": len(frame), "source": source})
            checks[w.key] = _check_result(
                reference_check, reference_key, validate_window(frame, suite), empty_blocks=True
            )
        yield emit(context, results)
        yield range_check(reference_check, reference_key, checks, severity_of_failure=AssetCheckSeverity.WARN)

    return [current_window, reference_window]

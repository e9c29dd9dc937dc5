"""Range runs: one run computes a range of windows, each window exactly as a run of its own would.

The per-window assets carry ``BackfillPolicy.multi_run(window.max_partitions_per_run)``, so a backfill over
720 hourly windows is a handful of runs. Inside a run every asset body works on :func:`run_windows` (one window in
a single-partition run, the whole range otherwise), computes each window in time order, and hands the results to
:func:`emit`: a single window is the plain ``Output(value, metadata)`` it always was; a range is one
:class:`~io_managers.PerPartition` value (the IO manager stores each window where a single run would) with each
window's own metadata attached to its own materialization (``context.add_asset_metadata(..., partition_key=…)``).

An input from an asset partitioned like the windows arrives per window in a range run (a ``PerPartition``) and as
the plain value in a single run; :func:`per_window` gives both as ``{key: value}``. An unpartitioned input (a
training-snapshot reference, the champion's feature importance) is the same value for every window.

Asset checks run once per step, so a range run yields one result per check summarising its windows
(:func:`range_check`). Ranges of one model run one after another (the run queue admits one
``sentinel/backfill_model`` run per model): a window continues the incident of the window before it, and the
first window of a range reads that from the instance, so the previous range must have finished.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    BetaWarning,
    DagsterInstance,
    Output,
    TimeWindow,
)

from drift_sentinel.config import ModelSpec
from io_managers import PerPartition
from resources import history
from resources.keys import asset_key

# `backfill_policy` on @asset is beta in Dagster 1.13; the choice is made here, so its warning is silenced here
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)

BACKFILL_MODEL_TAG = "sentinel/backfill_model"
"""Run tag naming the model of a backfill run; the run queue admits one such run per model at a time."""
DATA_QUALITY = "data_quality"
"""current_window metadata (and a drift report's field): ``passed``, or why the window failed."""


def backfill_policy(spec: ModelSpec) -> BackfillPolicy:
    """At most ``window.max_partitions_per_run`` windows per backfill run (one run per window when 1)."""
    return BackfillPolicy.multi_run(spec.window.partitions_per_run)


@dataclass(frozen=True)
class RunWindow:
    """One window of the run: its partition key and its time window."""

    key: str
    window: TimeWindow


def run_windows(context: AssetExecutionContext) -> list[RunWindow]:
    """The windows this run computes, in time order (one in a single-partition run)."""
    partitions = context.assets_def.partitions_def
    assert partitions is not None, "only per-window assets run ranges"
    keys = list(context.partition_keys)
    return [RunWindow(k, partitions.time_window_for_partition_key(k)) for k in keys]  # type: ignore[attr-defined]


def is_range(context: AssetExecutionContext) -> bool:
    """Whether this run computes more than one window (never for an unpartitioned asset)."""
    return context.assets_def.partitions_def is not None and len(context.partition_keys) > 1


def per_window(value: Any, keys: Sequence[str]) -> dict[str, Any]:
    """An input as ``{key: value}``: a range input as it came, a single or unpartitioned value for every key."""
    if isinstance(value, PerPartition):
        return dict(value)
    return {key: value for key in keys}


def emit(context: AssetExecutionContext, results: Mapping[str, tuple[Any, Mapping[str, Any]]]) -> Output[Any]:
    """The asset's output: ``Output(value, metadata)`` for one window; per-window values and metadata for a range."""
    if not is_range(context):
        ((value, metadata),) = results.values()
        return Output(value, metadata=dict(metadata))
    for key, (_, metadata) in results.items():
        context.add_asset_metadata(dict(metadata), partition_key=key)
    return Output(PerPartition({key: value for key, (value, _) in results.items()}))


def range_check(
    check_name: str,
    asset_key: AssetKey,
    results: Mapping[str, AssetCheckResult],
    *,
    severity_of_failure: AssetCheckSeverity | None = None,
) -> AssetCheckResult:
    """One check result for the run: a single window's own result, or a summary of a range's windows.

    A range passes when every window passed; its severity is the worst of the failed windows' unless
    ``severity_of_failure`` is given (a blocking check uses WARN there, so one bad window does not stop the
    others: the downstream assets give that window an explicit INCONCLUSIVE result with the reason).
    """
    if len(results) == 1:
        return next(iter(results.values()))
    failed = {key: r for key, r in results.items() if not r.passed}
    order = (AssetCheckSeverity.WARN, AssetCheckSeverity.ERROR)
    worst = max((r.severity for r in failed.values()), key=order.index, default=AssetCheckSeverity.ERROR)
    first, last = min(results), max(results)
    listed = ", ".join(f"{k} ({r.description})" for k, r in sorted(failed.items())[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    return AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=not failed,
        severity=severity_of_failure if failed and severity_of_failure else worst,
        description=f"{len(results) - len(failed)} of {len(results)} windows {first}…{last} passed"
        + (f"; failed: {listed}{more}" if failed else ""),
        metadata={"windows": len(results), "failed_windows": len(failed), "first": first, "last": last},
    )


def window_quality(instance: DagsterInstance, spec: ModelSpec, keys: Sequence[str]) -> dict[str, str]:
    """What ``current_window`` recorded about each window's data quality: ``passed`` or why it failed.

    A single run's downstream only ever sees a window that passed or is empty (a failed check blocks it); a
    range's downstream sees every window and gives a failed one an explicit INCONCLUSIVE result with this reason.
    """
    records = history.latest_by_partition(instance, asset_key(spec, "current_window"), list(keys))
    return {
        key: (records[key].text(DATA_QUALITY) or "passed") if key in records else "passed" for key in keys
    }


def usable(frame: pd.DataFrame, quality: str) -> pd.DataFrame:
    """The window's rows when its data quality passed, else none of them (same columns)."""
    return frame if quality == "passed" else frame.iloc[0:0]

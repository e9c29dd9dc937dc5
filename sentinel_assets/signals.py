"""``system_signals``, ``external_events``, ``signal_anomalies`` and ``recurring_patterns`` of one model.

The three window assets are partitioned like the windows:

- ``system_signals``: :func:`drift_sentinel.analysis.compute_signals` over ``current_window`` in 5-minute bins
  (request volume, latency p50/p95, error rate, prediction mean/variance, null rate per feature, accuracy
  where labels arrived), stored with the bin start as a ``timestamp`` column.
- ``external_events``: the rows of the events file the model config names (``data.events``) from
  :data:`EVENT_LOOKBACK` before the window start to its end (an event just before midnight can still cause
  drift in the next daily window).
- ``signal_anomalies``: PyOD (Isolation Forest by default) over the signal vectors, scaled and fitted on the
  trailing history of stored ``system_signals`` (the earlier partitions covering :data:`HISTORY_SPAN`) with
  this window, plus Prophet per signal (:data:`PROPHET_SIGNALS`) fitted on that history, so daily, weekly and
  month-end peaks are not reported. The history is read from the materializations' stored files (the
  IO manager's ``path`` metadata); windows never materialized are skipped, so the first windows run without
  one (PyOD then fits on the window itself, Prophet is skipped below two days of history). The detector,
  its contamination and the history length are run config (:class:`AnomalyConfig`); the detection itself is
  :func:`drift_sentinel.analysis.anomaly_table.window_anomalies`.

``recurring_patterns`` (unpartitioned) is the library of incident signatures across history: the
``signature`` metadata of every stored ``rca_report`` materialization (latest per window), grouped by
:func:`drift_sentinel.analysis.recurring_patterns`. ``rca_report`` reads the same signatures as the
``history`` of :func:`drift_sentinel.analysis.analyze_incident` (see :func:`past_signatures`).

Every read of the instance goes through :mod:`resources.history`.
"""

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    DagsterInstance,
    Output,
    TimeWindowPartitionsDefinition,
    asset,
)

from drift_sentinel.analysis import (
    IncidentSignature,
    compute_signals,
    normalize_events,
    read_events,
    recurring_patterns,
)
from drift_sentinel.analysis.anomaly_table import CONTAMINATION, DETECTOR, window_anomalies
from drift_sentinel.analysis.temporal import incident_history
from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.parallel import map_windows
from drift_sentinel.times import utc_times
from drift_sentinel.windows import read_table
from resources import history
from resources.catalog import ModelCatalogResource
from resources.keys import asset_ins, asset_key
from sentinel_assets.metadata import anomalies_metadata, events_metadata, patterns_metadata, signals_metadata
from sentinel_assets.partitions import previous_partition_keys
from sentinel_assets.ranges import (
    RunWindow,
    backfill_policy,
    emit,
    per_window,
    run_windows,
    usable,
    window_quality,
)

SIGNAL_FREQ = "5min"
EVENT_LOOKBACK = timedelta(hours=6)
HISTORY_SPAN = timedelta(days=7)


class AnomalyConfig(Config):
    """Run config of ``signal_anomalies``: the PyOD detector (a name in ``DETECTORS``) and its contamination."""

    detector: str = DETECTOR
    contamination: float = CONTAMINATION
    history_windows: int | None = None  # None: as many windows as cover HISTORY_SPAN (7 daily, 168 hourly)


def signals_to_frame(signals: pd.DataFrame) -> pd.DataFrame:
    """Signals with their time index as a ``timestamp`` column (the IO manager stores no index)."""
    out = signals.reset_index()
    out["timestamp"] = utc_times(out["timestamp"])
    return out


def signals_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`signals_to_frame`: indexed by the UTC bin start again."""
    if "timestamp" not in frame.columns:
        raise DataError(f"system_signals: no 'timestamp' column; have {list(frame.columns)}")
    out = frame.copy()
    out["timestamp"] = utc_times(out["timestamp"])
    return out.set_index("timestamp").sort_index()


def window_signals(spec: ModelSpec, window: pd.DataFrame) -> pd.DataFrame:
    """:func:`drift_sentinel.analysis.compute_signals` over a non-empty window of ``spec``'s log."""
    return compute_signals(
        window,
        freq=SIGNAL_FREQ,
        features=[f.name for f in spec.features if f.name in window.columns],
        prediction_column=spec.prediction_column,
        label_column=spec.label_column,
        latency_column=spec.latency_column,
        error_column=spec.error_column,
        time_column=spec.timestamp_column,
    )


def events_between(events: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Events (normalised) with ``start <= timestamp < end``."""
    frame = normalize_events(events)
    stamps = frame["timestamp"]
    keep = (stamps >= pd.Timestamp(start)) & (stamps < pd.Timestamp(end))
    return frame[keep].reset_index(drop=True)


def read_model_events(
    spec: ModelSpec, catalog: ModelCatalogResource, start: datetime, end: datetime
) -> pd.DataFrame:
    """The model's events file (``data.events``) cut to ``[start - EVENT_LOOKBACK, end)``; empty without one."""
    if not spec.data.events:
        return normalize_events(None)
    uri = catalog.resolve(spec.data.events)
    events = read_events(uri) if "://" not in uri else normalize_events(read_table(uri), source=uri)
    return events_between(events, start - EVENT_LOOKBACK, end)


def load_stored_frame(record: history.Materialization) -> pd.DataFrame | None:
    """The DataFrame the IO manager stored for a materialization (its ``path`` metadata), if readable."""
    path = record.metadata.get("path")
    if not path or not str(path).endswith(".parquet"):
        return None
    try:
        return read_table(str(path))
    except (DataError, OSError):
        return None


class TrailingSignals:
    """Stored ``system_signals`` of the windows before a window: this run's own windows as computed (a range),
    earlier ones as the instance stored them (read once per run)."""

    def __init__(
        self,
        instance: DagsterInstance,
        signals_key: AssetKey,
        partitions: TimeWindowPartitionsDefinition,
        in_run: Mapping[str, pd.DataFrame] | None = None,
    ) -> None:
        self._instance, self._key, self._partitions = instance, signals_key, partitions
        self._stored: dict[str, pd.DataFrame | None] = dict(in_run or {})
        self._indexed: dict[str, pd.DataFrame | None] = {}

    def _frame(self, key: str) -> pd.DataFrame | None:
        """One window's signals indexed by time (converted once per run), None when it has none."""
        if key not in self._indexed:
            stored = self._stored.get(key)
            self._indexed[key] = signals_from_frame(stored) if stored is not None and len(stored) else None
        return self._indexed[key]

    def before(self, start: datetime, windows: int = 7) -> pd.DataFrame | None:
        """The signals of up to ``windows`` partitions before the window starting at ``start``, in time order."""
        keys = previous_partition_keys(self._partitions, start, windows)
        missing = [k for k in keys if k not in self._stored]
        records = history.latest_by_partition(self._instance, self._key, missing) if missing else {}
        for key in missing:
            self._stored[key] = load_stored_frame(records[key]) if key in records else None
        frames = [f for f in (self._frame(k) for k in reversed(keys)) if f is not None]
        if not frames:
            return None
        trailing = pd.concat(frames).sort_index()
        return trailing[~trailing.index.duplicated(keep="last")]


def trailing_signals(
    instance: DagsterInstance,
    signals_key: AssetKey,
    partitions: TimeWindowPartitionsDefinition,
    start: datetime,
    windows: int = 7,
) -> pd.DataFrame | None:
    """Stored ``system_signals`` of up to ``windows`` earlier partitions, concatenated in time order."""
    return TrailingSignals(instance, signals_key, partitions).before(start, windows)


def forecast_origin(spec: ModelSpec, start: datetime) -> datetime | None:
    """Prophet's forecast origin for a window: the start of its day for hourly windows (one fit a day)."""
    if spec.window.cadence != "hourly":
        return None
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def signatures_before(
    newest_first: list[history.Materialization], *, before: str | None = None
) -> list[IncidentSignature]:
    """One signature per incident (:func:`drift_sentinel.analysis.temporal.incident_history`) from stored
    ``rca_report`` records, newest first (the latest per window counts), of windows before ``before``."""
    by_window: dict[str, Any] = {}
    for record in newest_first:
        by_window.setdefault(record.partition or "", record.metadata.get("signature"))
    return incident_history(by_window, before=before)


def past_signatures(
    instance: DagsterInstance, rca_key: AssetKey, *, before: str | None = None, limit: int = 500
) -> list[IncidentSignature]:
    """Signatures of the newest ``limit`` stored ``rca_report`` materializations (:func:`signatures_before`)."""
    return signatures_before(history.materializations(instance, rca_key, limit=limit), before=before)


def build_signal_assets(
    spec: ModelSpec, partitions: TimeWindowPartitionsDefinition
) -> list[AssetsDefinition]:
    """``system_signals``, ``external_events``, ``signal_anomalies`` (per window) and ``recurring_patterns``."""
    signals_key = asset_key(spec, "system_signals")
    rca_key = asset_key(spec, "rca_report")
    common: dict[str, Any] = {"group_name": spec.asset_prefix, "owners": list(spec.owners)}

    @asset(
        key=signals_key,
        ins=asset_ins(spec, "current_window"),
        partitions_def=partitions,
        backfill_policy=backfill_policy(spec),
        kinds={"pandas", "parquet"},
        description=f"{SIGNAL_FREQ} system signals of {spec.id} in this window: volume, latency, errors, "
        "prediction moments, null rates, accuracy.",
        **common,
    )
    def system_signals(context: AssetExecutionContext, current_window: Any):
        keys = list(context.partition_keys)
        frames, quality = per_window(current_window, keys), window_quality(context.instance, spec, keys)

        def signals_of(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
            if not len(frame):
                empty = pd.DataFrame({"timestamp": pd.Series(dtype="datetime64[ns, UTC]")})
                return empty, {"dagster/row_count": 0, "request_volume": 0}
            signals = window_signals(spec, frame)
            return signals_to_frame(signals), signals_metadata(signals)

        usable_frames = [usable(frames[key], quality[key]) for key in keys]
        return emit(context, dict(zip(keys, map_windows(signals_of, usable_frames), strict=True)))

    @asset(
        key=asset_key(spec, "external_events"),
        partitions_def=partitions,
        backfill_policy=backfill_policy(spec),
        kinds={"pandas", "csv"},
        description=f"External events (deploys, upstream incidents, campaigns, holidays) around {spec.id}'s "
        f"window, from {spec.data.events or 'no events file'}.",
        **common,
    )
    def external_events(context: AssetExecutionContext, catalog: ModelCatalogResource):
        windows = run_windows(context)
        # the events file is read once for the run, then cut per window
        every = read_model_events(spec, catalog, windows[0].window.start, windows[-1].window.end)
        lookback_hours = EVENT_LOOKBACK.total_seconds() / 3600
        results = {}
        for w in windows:
            events = (
                every
                if len(windows) == 1
                else events_between(every, w.window.start - EVENT_LOOKBACK, w.window.end)
            )
            results[w.key] = (events, events_metadata(events, lookback_hours))
        return emit(context, results)

    @asset(
        key=asset_key(spec, "signal_anomalies"),
        ins=asset_ins(spec, "system_signals"),
        partitions_def=partitions,
        backfill_policy=backfill_policy(spec),
        kinds={"pandas", "pyod", "prophet"},
        description=f"Anomalous {spec.id} signal vectors (PyOD, {DETECTOR} by default, fitted on the trailing "
        "history) and "
        "seasonality-aware anomalies per signal (Prophet).",
        **common,
    )
    def signal_anomalies(context: AssetExecutionContext, config: AnomalyConfig, system_signals: Any):
        windows = run_windows(context)
        stored = per_window(system_signals, [w.key for w in windows])
        history_of = TrailingSignals(context.instance, signals_key, partitions, stored)
        inputs = []  # the trailing history comes from the instance, read here; the fits run on every core
        for w in windows:
            span = w.window.end - w.window.start
            count = config.history_windows or max(1, math.ceil(HISTORY_SPAN / span))
            signals = signals_from_frame(stored[w.key]) if len(stored[w.key]) else None
            inputs.append((w, signals, history_of.before(w.window.start, count)))

        def judge(item: tuple[RunWindow, pd.DataFrame | None, pd.DataFrame | None]) -> tuple[Any, dict]:
            w, signals, trailing = item
            found = window_anomalies(
                signals,
                trailing,
                detector=config.detector,
                contamination=config.contamination,
                prophet_origin=forecast_origin(spec, w.window.start),
            )
            table = found.table
            metadata = anomalies_metadata(
                found,
                table,
                window_minutes=int((w.window.end - w.window.start).total_seconds() // 60),
                detector=config.detector,
                history_bins=0 if trailing is None else len(trailing),
            )
            return table, metadata

        return emit(context, dict(zip([w.key for w in windows], map_windows(judge, inputs), strict=True)))

    @asset(
        key=asset_key(spec, "recurring_patterns"),
        deps=[rca_key],
        kinds={"python"},
        description=f"Library of {spec.id}'s incident signatures that recurred (month end, weekday, hour), "
        "with recurrence counts, from every stored rca_report.",
        **common,
    )
    def recurring_patterns_asset(context: AssetExecutionContext) -> Output[list[dict[str, Any]]]:
        signatures = past_signatures(context.instance, rca_key)
        library = sorted(recurring_patterns(signatures), key=lambda p: (-p.count, p.first_seen))
        payload = [p.to_dict() for p in library]
        return Output(payload, metadata=patterns_metadata(payload, len(signatures)))

    return [system_signals, external_events, signal_anomalies, recurring_patterns_asset]

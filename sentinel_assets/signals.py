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
  its contamination and the history length are run config (:class:`AnomalyConfig`).

``recurring_patterns`` (unpartitioned) is the library of incident signatures across history: the
``signature`` metadata of every stored ``rca_report`` materialization (latest per window), grouped by
:func:`drift_sentinel.analysis.recurring_patterns`. ``rca_report`` reads the same signatures as the
``history`` of :func:`drift_sentinel.analysis.analyze_incident` (see :func:`past_signatures`).
"""

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    Config,
    DagsterInstance,
    MetadataValue,
    Output,
    TimeWindowPartitionsDefinition,
    asset,
)

from drift_sentinel.analysis import (
    IncidentSignature,
    compute_signals,
    detect_signal_anomalies,
    normalize_events,
    prophet_anomalies,
    read_events,
    recurring_patterns,
)
from drift_sentinel.analysis.anomalies import anomaly_strength, get_detector
from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.windows import read_table
from resources.catalog import ModelCatalogResource

SIGNAL_FREQ = "5min"
EVENT_LOOKBACK = timedelta(hours=6)
HISTORY_SPAN = timedelta(days=7)
PROPHET_SIGNALS: tuple[str, ...] = ("latency_p95", "error_rate", "request_volume")
PROPHET_MAX_HISTORY = 24 * 14
PROPHET_MIN_HOURS = 48
CONTAMINATION = 0.01
DETECTOR = "iforest"
ANOMALY_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "method",
    "signal",
    "value",
    "score",
    "top_z",
    "yhat",
    "yhat_lower",
    "yhat_upper",
    "is_anomaly",
)


class AnomalyConfig(Config):
    """Run config of ``signal_anomalies``: the PyOD detector (a name in ``DETECTORS``) and its contamination."""

    detector: str = DETECTOR
    contamination: float = CONTAMINATION
    history_windows: int | None = None  # None: as many windows as cover HISTORY_SPAN (7 daily, 168 hourly)


def _finite(value: Any, default: float = 0.0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def _hours(history: pd.DataFrame) -> int:
    """Hourly points a history holds (Prophet's resampling), without fitting anything."""
    return int(history.resample("1h").size().gt(0).sum())


def signals_to_frame(signals: pd.DataFrame) -> pd.DataFrame:
    """Signals with their time index as a ``timestamp`` column (the IO manager stores no index)."""
    out = signals.reset_index()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
    return out


def signals_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`signals_to_frame`: indexed by the UTC bin start again."""
    if "timestamp" not in frame.columns:
        raise DataError(f"system_signals: no 'timestamp' column; have {list(frame.columns)}")
    out = frame.copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
    return out.set_index("timestamp").sort_index()


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


def stored_partitions(
    instance: DagsterInstance, key: AssetKey, partition_keys: Iterable[str]
) -> dict[str, Any]:
    """The latest materialization record of ``key`` for each of ``partition_keys`` that has one."""
    keys = list(partition_keys)
    if not keys:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=keys), limit=len(keys) * 4
    ).records
    latest: dict[str, Any] = {}
    for record in records:  # newest first
        if record.partition_key and record.partition_key not in latest:
            latest[record.partition_key] = record
    return latest


def previous_partition_keys(
    partitions: TimeWindowPartitionsDefinition, start: datetime, count: int
) -> list[str]:
    """Up to ``count`` partition keys before the window starting at ``start``, nearest first."""
    out: list[str] = []
    cursor = start
    for _ in range(count):
        previous = partitions.get_prev_partition_window(cursor)
        if previous is None:
            break
        out.append(partitions.get_partition_key_for_timestamp(previous.start.timestamp()))
        cursor = previous.start
    return out


def load_stored_frame(record: Any) -> pd.DataFrame | None:
    """The DataFrame the IO manager stored for a materialization (its ``path`` metadata), if readable."""
    materialization = record.asset_materialization
    entry = materialization.metadata.get("path") if materialization is not None else None
    path = getattr(entry, "value", None)
    if not path or not str(path).endswith(".parquet"):
        return None
    try:
        return read_table(str(path))
    except (DataError, OSError):
        return None


def trailing_signals(
    instance: DagsterInstance,
    signals_key: AssetKey,
    partitions: TimeWindowPartitionsDefinition,
    start: datetime,
    windows: int = 7,
) -> pd.DataFrame | None:
    """Stored ``system_signals`` of up to ``windows`` earlier partitions, concatenated in time order."""
    keys = previous_partition_keys(partitions, start, windows)
    frames = [load_stored_frame(r) for r in stored_partitions(instance, signals_key, keys).values()]
    frames = [signals_from_frame(f) for f in frames if f is not None and len(f)]
    if not frames:
        return None
    history = pd.concat(frames).sort_index()
    return history[~history.index.duplicated(keep="last")]


def anomalies_long(pyod: pd.DataFrame | None, prophet: pd.DataFrame | None) -> pd.DataFrame:
    """PyOD (wide, one row per bin) and Prophet (long, one row per bin and signal) as one long frame."""
    parts = []
    if pyod is not None and len(pyod):
        parts.append(
            pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(pyod.index, utc=True),
                    "method": pyod["detector"].astype(str).to_numpy(),
                    "signal": pyod["top_signal"].astype(str).to_numpy(),
                    "value": float("nan"),
                    "score": pyod["anomaly_score"].to_numpy(dtype=float),
                    "top_z": pyod["top_z"].to_numpy(dtype=float),
                    "is_anomaly": pyod["is_anomaly"].to_numpy(dtype=bool),
                }
            )
        )
    if prophet is not None and len(prophet):
        parts.append(
            pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(prophet["timestamp"], utc=True),
                    "method": "prophet",
                    "signal": prophet["signal"].astype(str).to_numpy(),
                    "value": prophet["value"].to_numpy(dtype=float),
                    "yhat": prophet["yhat"].to_numpy(dtype=float),
                    "yhat_lower": prophet["yhat_lower"].to_numpy(dtype=float),
                    "yhat_upper": prophet["yhat_upper"].to_numpy(dtype=float),
                    "is_anomaly": prophet["is_anomaly"].to_numpy(dtype=bool),
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in ANOMALY_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out.reindex(columns=list(ANOMALY_COLUMNS))


def pyod_view(anomalies: pd.DataFrame) -> pd.DataFrame | None:
    """The PyOD rows of a stored ``signal_anomalies`` frame in the detector's wide shape (time index)."""
    rows = anomalies[anomalies["method"].astype(str) != "prophet"]
    if not len(rows):
        return None
    return pd.DataFrame(
        {
            "is_anomaly": rows["is_anomaly"].astype(bool).to_numpy(),
            "top_signal": rows["signal"].astype(str).to_numpy(),
            "top_z": rows["top_z"].astype(float).to_numpy(),
        },
        index=pd.DatetimeIndex(pd.to_datetime(rows["timestamp"], utc=True)),
    )


def prophet_view(anomalies: pd.DataFrame) -> pd.DataFrame | None:
    """The Prophet rows of a stored ``signal_anomalies`` frame in :func:`prophet_anomalies`' long shape."""
    rows = anomalies[anomalies["method"].astype(str) == "prophet"]
    if not len(rows):
        return None
    out = rows[["timestamp", "signal", "value", "yhat", "yhat_lower", "yhat_upper", "is_anomaly"]].copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
    out["is_anomaly"] = out["is_anomaly"].astype(bool)
    return out.reset_index(drop=True)


def serving_anomaly(anomalies: pd.DataFrame | None) -> tuple[float, datetime | None, int]:
    """Strength, start and length of the longest latency/error anomaly episode both detectors agree on.

    The PyOD episode counts when Prophet had no history to judge by; when Prophet ran on latency/error
    signals its episode must be there too (so a seasonal peak PyOD flags is not a serving incident): the
    strength is then the smaller of the two.
    """
    if anomalies is None or not len(anomalies):
        return 0.0, None, 0
    pyod = pyod_view(anomalies)
    strength, start, length = anomaly_strength(pyod, ("latency", "error"))
    prophet = prophet_view(anomalies)
    judged = prophet is not None and prophet["signal"].str.startswith(("latency", "error")).any()
    if judged:
        seasonal, _, _ = anomaly_strength(prophet, ("latency", "error"))
        strength = min(strength, seasonal)
    when = None if start is None else pd.Timestamp(start).to_pydatetime(warn=False)
    return float(strength), when, int(length)


def past_signatures(
    instance: DagsterInstance, rca_key: AssetKey, *, before: str | None = None, limit: int = 500
) -> list[IncidentSignature]:
    """Signatures of stored ``rca_report`` materializations (latest per window), one per incident.

    ``before`` (a partition key) keeps only windows before it (time-window keys sort by time). Each
    incident contributes its earliest window's signature (the onset, not every continuing window).
    """
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=rca_key), limit=limit).records
    latest: dict[str, Any] = {}
    for record in records:  # newest first
        key = record.partition_key or ""
        if key not in latest:
            latest[key] = record
    by_incident: dict[str, tuple[str, IncidentSignature]] = {}
    for key, record in latest.items():
        if before is not None and key >= before:
            continue
        materialization = record.asset_materialization
        entry = materialization.metadata.get("signature") if materialization is not None else None
        data = getattr(entry, "value", None)
        if not isinstance(data, dict) or not data.get("incident_id"):
            continue
        signature = IncidentSignature.from_dict(data)
        known = by_incident.get(signature.incident_id)
        if known is None or key < known[0]:
            by_incident[signature.incident_id] = (key, signature)
    return sorted((s for _, s in by_incident.values()), key=lambda s: s.time)


def build_signal_assets(
    spec: ModelSpec, partitions: TimeWindowPartitionsDefinition
) -> list[AssetsDefinition]:
    """``system_signals``, ``external_events``, ``signal_anomalies`` (per window) and ``recurring_patterns``."""
    prefix = spec.asset_prefix
    signals_key = AssetKey([prefix, "system_signals"])
    events_key = AssetKey([prefix, "external_events"])
    anomalies_key = AssetKey([prefix, "signal_anomalies"])
    patterns_key = AssetKey([prefix, "recurring_patterns"])
    rca_key = AssetKey([prefix, "rca_report"])
    features = [f.name for f in spec.features]
    common: dict[str, Any] = {"group_name": prefix, "owners": list(spec.owners)}

    @asset(
        key=signals_key,
        ins={"current_window": AssetIn(key=AssetKey([prefix, "current_window"]))},
        partitions_def=partitions,
        kinds={"pandas", "parquet"},
        description=f"{SIGNAL_FREQ} system signals of {spec.id} in this window: volume, latency, errors, "
        "prediction moments, null rates, accuracy.",
        **common,
    )
    def system_signals(current_window: pd.DataFrame) -> Output[pd.DataFrame]:
        if not len(current_window):
            empty = pd.DataFrame({"timestamp": pd.Series(dtype="datetime64[ns, UTC]")})
            return Output(empty, metadata={"dagster/row_count": 0, "request_volume": 0})
        signals = compute_signals(
            current_window,
            freq=SIGNAL_FREQ,
            features=[f for f in features if f in current_window.columns],
            prediction_column=spec.prediction_column,
            label_column=spec.label_column,
            latency_column=spec.latency_column,
            error_column=spec.error_column,
            time_column=spec.timestamp_column,
        )
        metadata: dict[str, Any] = {
            "dagster/row_count": len(signals),
            "request_volume": int(signals["request_volume"].sum()),
            "latency_p95_max": _finite(signals["latency_p95"].max()),
            "latency_p95_median": _finite(signals["latency_p95"].median()),
            "error_rate_max": _finite(signals["error_rate"].max()),
            "error_rate_mean": _finite(signals["error_rate"].mean()),
            "prediction_mean": _finite(signals["prediction_mean"].mean()),
            "labelled": int(signals["labelled"].sum()),
        }
        if signals["accuracy"].notna().any():
            metadata["accuracy"] = _finite(signals["accuracy"].mean())
        return Output(signals_to_frame(signals), metadata=metadata)

    @asset(
        key=events_key,
        partitions_def=partitions,
        kinds={"pandas", "csv"},
        description=f"External events (deploys, upstream incidents, campaigns, holidays) around {spec.id}'s "
        f"window, from {spec.data.events or 'no events file'}.",
        **common,
    )
    def external_events(
        context: AssetExecutionContext, catalog: ModelCatalogResource
    ) -> Output[pd.DataFrame]:
        window = context.partition_time_window
        events = read_model_events(spec, catalog, window.start, window.end)
        counts = events["event_type"].value_counts()
        return Output(
            events,
            metadata={
                "dagster/row_count": len(events),
                "n_events": len(events),
                "event_types": ", ".join(f"{k}={v}" for k, v in counts.items()) or "none",
                "lookback_hours": EVENT_LOOKBACK.total_seconds() / 3600,
                **{f"events/{k}": int(v) for k, v in counts.items()},
            },
        )

    @asset(
        key=anomalies_key,
        ins={"system_signals": AssetIn(key=signals_key)},
        partitions_def=partitions,
        kinds={"pandas", "pyod", "prophet"},
        description=f"Anomalous {spec.id} signal vectors (PyOD, {DETECTOR} by default, fitted on the trailing "
        "history) and "
        "seasonality-aware anomalies per signal (Prophet).",
        **common,
    )
    def signal_anomalies(
        context: AssetExecutionContext, config: AnomalyConfig, system_signals: pd.DataFrame
    ) -> Output[pd.DataFrame]:
        # an unknown detector name or a contamination outside (0, 0.5) fails the run here, naming the choices
        get_detector(config.detector, contamination=config.contamination)
        window = context.partition_time_window
        minutes = int((window.end - window.start).total_seconds() // 60)
        signals = signals_from_frame(system_signals) if len(system_signals) else None
        span = window.end - window.start
        count = config.history_windows or max(1, math.ceil(HISTORY_SPAN / span))
        history = trailing_signals(context.instance, signals_key, partitions, window.start, windows=count)
        pyod = prophet = None
        notes = []
        if signals is not None and len(signals):
            try:
                pyod = detect_signal_anomalies(
                    signals,
                    detector=config.detector,
                    history=history,
                    contamination=config.contamination,
                    seed=0,
                )
            except DataError as exc:  # too few bins to fit on
                notes.append(f"{config.detector}: {exc}")
            if history is not None and _hours(history) >= PROPHET_MIN_HOURS:
                wanted = [c for c in PROPHET_SIGNALS if c in signals.columns and signals[c].notna().any()]
                prophet = prophet_anomalies(
                    signals,
                    history=history,
                    columns=wanted,
                    max_history=PROPHET_MAX_HISTORY,
                    min_history=PROPHET_MIN_HOURS,
                    seed=0,
                )
        out = anomalies_long(pyod, prophet)
        strength, start, length = serving_anomaly(out)
        n_pyod = int(pyod["is_anomaly"].sum()) if pyod is not None else 0
        n_prophet = int(prophet["is_anomaly"].sum()) if prophet is not None and len(prophet) else 0
        metadata: dict[str, Any] = {
            "n_anomalies": n_pyod + n_prophet,
            "window_minutes": minutes,
            "n_pyod_anomalies": n_pyod,
            "n_prophet_anomalies": n_prophet,
            "detector": config.detector,
            "history_bins": 0 if history is None else len(history),
            "prophet_signals": ", ".join(sorted(set(prophet["signal"])))
            if prophet is not None and len(prophet)
            else "none",
            "serving_anomaly_strength": float(strength),
            "serving_anomaly_bins": length,
            "serving_anomaly_start": start.isoformat() if start is not None else "",
        }
        if notes:
            metadata["notes"] = "; ".join(notes)
        if pyod is not None and pyod["is_anomaly"].any():
            top = pyod.loc[pyod["is_anomaly"], "top_signal"].value_counts()
            metadata["top_signals"] = MetadataValue.json({str(k): int(v) for k, v in top.items()})
        return Output(out, metadata=metadata)

    @asset(
        key=patterns_key,
        deps=[rca_key],
        kinds={"python"},
        description=f"Library of {spec.id}'s incident signatures that recurred (month end, weekday, hour), "
        "with recurrence counts, from every stored rca_report.",
        **common,
    )
    def recurring_patterns_asset(context: AssetExecutionContext) -> Output[list[dict[str, Any]]]:
        signatures = past_signatures(context.instance, rca_key)
        library = recurring_patterns(signatures)
        payload = [p.to_dict() for p in sorted(library, key=lambda p: (-p.count, p.first_seen))]
        lines = [
            "| pattern | features | count | first seen | last seen |",
            "| --- | --- | ---: | --- | --- |",
        ]
        lines += [
            f"| {p['pattern']} | {', '.join(p['features'])} | {p['count']} | {p['first_seen']} | {p['last_seen']} |"
            for p in payload
        ]
        metadata: dict[str, Any] = {
            "n_incidents": len(signatures),
            "n_patterns": len(payload),
            "max_recurrence": max((p["count"] for p in payload), default=0),
            "library": MetadataValue.md("\n".join(lines) if payload else "no recurring pattern yet"),
        }
        for p in payload[:5]:
            metadata[f"count/{p['pattern']}:{'+'.join(p['features'])}"] = int(p["count"])
        return Output(payload, metadata=metadata)

    return [system_signals, external_events, signal_anomalies, recurring_patterns_asset]

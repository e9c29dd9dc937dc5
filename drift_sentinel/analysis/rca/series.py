"""The drift series and the score series against the serving signals and events: Pearson + Granger.

These correlations are evidence for a human reader and are not part of the scores (docs/rca.md explains why).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from drift_sentinel.analysis.correlation import correlate
from drift_sentinel.analysis.rca.drifted import DriftedFeature
from drift_sentinel.times import utc_times

SERVING_SIGNALS = ("latency_p95", "error_rate", "request_volume")
FREQ_SAMPLE = 50
"""Signal bins read to infer the bin width."""
MIN_BINS_BEYOND_LAGS = 25
"""Bins needed besides ``3 × maxlag`` for a Granger test to be worth running."""


def drift_series_correlations(
    signals: pd.DataFrame,
    current: pd.DataFrame | None,
    main: DriftedFeature | None,
    time_column: str,
    maxlag: int,
    events: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Pearson + Granger between the drift series (the main feature per bin: mean, or the new categories'
    share) and the score series (prediction mean), and the serving signals and event indicators (0 before
    the event's bin, 1 from it on; only events inside the window vary)."""
    frame = pd.DataFrame(index=signals.index)
    freq = pd.infer_freq(signals.index[:FREQ_SAMPLE]) if len(signals) >= 3 else None
    if main is not None and current is not None and main.name in current and time_column in current and freq:
        times = utc_times(current[time_column]).dt.floor(freq)
        values = current[main.name]
        if main.new_categories:
            series = values.astype(str).isin(main.new_categories).astype(float)
        elif pd.api.types.is_numeric_dtype(values):
            series = pd.to_numeric(values, errors="coerce")
        else:
            series = None
        if series is not None:
            frame[f"drift:{main.name}"] = series.groupby(times.array).mean().reindex(signals.index)
    if "prediction_mean" in signals:
        frame["score:prediction_mean"] = signals["prediction_mean"]
    candidates = [c for c in SERVING_SIGNALS if c in signals]
    for c in candidates:
        frame[c] = signals[c]
    if events is not None and len(events) and len(signals):
        inside = events[(events["timestamp"] > signals.index[0]) & (events["timestamp"] <= signals.index[-1])]
        for row in inside.itertuples(index=False):
            name = f"event:{row.event_type}:{row.source}" if row.source else f"event:{row.event_type}"
            frame[name] = (signals.index >= row.timestamp).astype(float)
            candidates.append(name)
    frame = frame.dropna()
    targets = [c for c in frame.columns if c.startswith(("drift:", "score:"))]
    if len(frame) < 3 * maxlag + MIN_BINS_BEYOND_LAGS or not targets or not candidates:
        return []
    out = []
    for target in targets:
        columns = [c for c in candidates if frame[c].std() > 0]
        if not columns or frame[target].std() == 0:
            continue
        report = correlate(frame, columns=columns, target=target, maxlag=maxlag)
        out += [p.to_dict() for p in report.pairs]
    return out

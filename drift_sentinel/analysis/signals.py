"""System signals: fine-grained time series of how the model is served and how it behaves.

:func:`compute_signals` cuts a prediction log into bins (5 minutes by default) and returns one row per bin:
request volume, latency p50/p95, error rate, prediction mean and variance, the null rate of each feature,
and accuracy (prediction >= threshold vs label) over the rows whose label has arrived. Empty bins are kept
(volume 0, the rest NaN) so every series has a regular time index for anomaly and causality analysis.

>>> import pandas as pd
>>> log = pd.DataFrame({
...     "timestamp": pd.to_datetime(["2026-10-01 00:01", "2026-10-01 00:02", "2026-10-01 00:12"], utc=True),
...     "amount": [10.0, None, 30.0], "prediction": [0.9, 0.2, 0.6], "label": [1.0, 1.0, None],
...     "latency_ms": [10.0, 30.0, 20.0], "error": [False, True, False]})
>>> s = compute_signals(log, features=["amount"])
>>> s = s[["request_volume", "error_rate", "null_rate_amount", "accuracy"]]
>>> s["request_volume"].tolist(), s["null_rate_amount"].tolist()[::2], s["accuracy"].tolist()[0]
([2, 0, 1], [0.5, 0.0], 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from drift_sentinel.errors import DataError
from drift_sentinel.times import utc_times

SIGNAL_COLUMNS: tuple[str, ...] = (
    "request_volume",
    "latency_p50",
    "latency_p95",
    "error_rate",
    "prediction_mean",
    "prediction_var",
    "labelled",
    "accuracy",
)


def compute_signals(
    window: pd.DataFrame,
    *,
    freq: str = "5min",
    features: Iterable[str] | None = None,
    prediction_column: str | None = "prediction",
    label_column: str | None = "label",
    latency_column: str | None = "latency_ms",
    error_column: str | None = "error",
    time_column: str = "timestamp",
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Per-bin system signals of a prediction log window.

    Parameters
    ----------
    window
        Prediction-log rows; only ``time_column`` is required, every other column is optional (a signal
        whose column is ``None`` or absent is all-NaN).
    freq
        pandas offset alias of the bins (``"5min"``, ``"1h"``).
    features
        Feature columns whose null rate (NaN, None, ±inf) to report as ``null_rate_<feature>``.
    threshold
        Score at or above which a prediction counts as positive for ``accuracy``.

    Returns
    -------
    pandas.DataFrame
        Indexed by bin start (UTC), columns :data:`SIGNAL_COLUMNS` then ``null_rate_<feature>``.
    """
    if time_column not in window.columns:
        raise DataError(f"compute_signals: time column {time_column!r} missing; have {list(window.columns)}")
    features = list(features or ())
    missing = [f for f in features if f not in window.columns]
    if missing:
        raise DataError(f"compute_signals: feature column(s) {missing} missing; have {list(window.columns)}")
    times = utc_times(window[time_column])
    if times.isna().any():
        raise DataError(f"compute_signals: {int(times.isna().sum())} rows have no {time_column!r}")
    bins = times.dt.floor(freq)
    # the array, not to_numpy(): that builds a Timestamp object per row and groups slowly on them
    frame = pd.DataFrame({"bin": bins.array}, index=window.index)

    def col(name: str | None) -> pd.Series | None:
        return window[name] if name and name in window.columns else None

    latency = col(latency_column)
    error = col(error_column)
    prediction = col(prediction_column)
    label = col(label_column)
    frame["latency"] = pd.to_numeric(latency, errors="coerce") if latency is not None else np.nan
    frame["error"] = error.astype(float) if error is not None else np.nan
    frame["prediction"] = pd.to_numeric(prediction, errors="coerce") if prediction is not None else np.nan
    if prediction is not None and label is not None:
        y = pd.to_numeric(label, errors="coerce")
        frame["labelled"] = y.notna().astype(float)
        frame["correct"] = ((frame["prediction"] >= threshold) == (y >= 0.5)).astype(float).where(y.notna())
    else:
        frame["labelled"] = 0.0
        frame["correct"] = np.nan
    for name in features:
        values = window[name]
        if pd.api.types.is_numeric_dtype(values):
            null = ~np.isfinite(pd.to_numeric(values, errors="coerce").astype(float))
        else:
            null = values.isna()
        frame[f"null_{name}"] = null.astype(float)

    grouped = frame.groupby("bin", sort=True)
    out = pd.DataFrame(
        {
            "request_volume": grouped.size(),
            "latency_p50": grouped["latency"].quantile(0.5),
            "latency_p95": grouped["latency"].quantile(0.95),
            "error_rate": grouped["error"].mean(),
            "prediction_mean": grouped["prediction"].mean(),
            "prediction_var": grouped["prediction"].var(ddof=0),
            "labelled": grouped["labelled"].sum(),
            "accuracy": grouped["correct"].mean(),
        }
    )
    for name in features:
        out[f"null_rate_{name}"] = grouped[f"null_{name}"].mean()
    if len(out):
        full = pd.date_range(out.index.min(), out.index.max(), freq=freq, tz="UTC")
        out = out.reindex(full)
        out["request_volume"] = out["request_volume"].fillna(0).astype(int)
        out["labelled"] = out["labelled"].fillna(0).astype(int)
    out.index.name = "timestamp"
    return out

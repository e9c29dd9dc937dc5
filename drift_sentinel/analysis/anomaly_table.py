"""One window's signal anomalies: PyOD over the signal vectors and Prophet per signal, in one long table.

:func:`window_anomalies` runs both detectors on a window's signals against the trailing history: PyOD
(Isolation Forest by default) fitted on history + window, and Prophet per signal when the history holds at
least :data:`PROPHET_MIN_HOURS` hourly points, so daily, weekly and month-end peaks seen before are not
reported. The result is stored as one long table (:data:`ANOMALY_COLUMNS`, :func:`anomalies_long`);
:func:`pyod_view` and :func:`prophet_view` read each detector's rows back in its own shape, and
:func:`serving_anomaly` is the latency/error episode both detectors agree on.

>>> import pandas as pd
>>> empty = anomalies_long(None, None)
>>> list(empty.columns) == list(ANOMALY_COLUMNS), serving_anomaly(empty)
(True, (0.0, None, 0))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from drift_sentinel.analysis.anomalies import (
    anomaly_strength,
    detect_signal_anomalies,
    get_detector,
    prophet_anomalies,
)
from drift_sentinel.errors import DataError
from drift_sentinel.times import utc_times

DETECTOR = "iforest"
CONTAMINATION = 0.01
PROPHET_SIGNALS: tuple[str, ...] = ("latency_p95", "error_rate", "request_volume")
PROPHET_MAX_HISTORY = 24 * 14
"""Hourly points of history Prophet is fitted on, at most (two weeks)."""
PROPHET_MIN_HOURS = 48
"""Hourly points of history Prophet needs before it judges a window."""
SERVING_SIGNALS = ("latency", "error")
"""Signal-name prefixes of a serving anomaly."""
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


@dataclass(frozen=True)
class WindowAnomalies:
    """Both detectors' output for one window (``None``: the detector did not run) and why one did not."""

    pyod: pd.DataFrame | None
    prophet: pd.DataFrame | None
    notes: tuple[str, ...] = ()

    @property
    def table(self) -> pd.DataFrame:
        """The long table that is stored (:func:`anomalies_long`)."""
        return anomalies_long(self.pyod, self.prophet)


def history_hours(history: pd.DataFrame) -> int:
    """Hourly points a history holds (Prophet's resampling), without fitting anything."""
    return int(history.resample("1h").size().gt(0).sum())


def day_horizon(origin: datetime) -> pd.DatetimeIndex:
    """The hourly UTC bins of the day starting at ``origin``: what one daily Prophet forecast covers.

    >>> from zoneinfo import ZoneInfo
    >>> day_horizon(datetime(2026, 10, 25, tzinfo=ZoneInfo("Europe/Berlin")))[[0, -1]].strftime("%d %H:%M").tolist()
    ['24 22:00', '25 22:00']
    """
    day = pd.Timestamp(origin)
    day = day if day.tzinfo else day.tz_localize("UTC")
    end = day + pd.DateOffset(days=1)  # a calendar day where origin is (23 or 25 hours across a DST change)
    return pd.date_range(
        day.tz_convert("UTC").floor("1h"), end.tz_convert("UTC"), freq="1h", inclusive="left"
    )


def window_anomalies(
    signals: pd.DataFrame | None,
    history: pd.DataFrame | None,
    *,
    detector: str = DETECTOR,
    contamination: float = CONTAMINATION,
    prophet_signals: tuple[str, ...] = PROPHET_SIGNALS,
    prophet_origin: datetime | None = None,
) -> WindowAnomalies:
    """PyOD on the window's signals (fitted with ``history``) and Prophet per signal when the history allows.

    Too few bins for PyOD is a note, not an error; Prophet is skipped below :data:`PROPHET_MIN_HOURS` hours of
    history. Both are seeded (0). An unknown detector or a contamination outside (0, 0.5) raises first,
    naming the choices, even for an empty window.

    ``prophet_origin`` is Prophet's forecast origin: it is fitted on the history before it only. Hourly windows
    pass the start of their day, so Prophet is refitted once a day and forecasts the whole day once (the hours
    of a day share one fit and one forecast) rather than every hour; by default the origin is the window's start.
    """
    get_detector(detector, contamination=contamination)
    if signals is None or not len(signals):
        return WindowAnomalies(None, None)
    pyod = prophet = None
    notes = []
    try:
        pyod = detect_signal_anomalies(
            signals, detector=detector, history=history, contamination=contamination, seed=0
        )
    except DataError as exc:  # too few bins to fit on
        notes.append(f"{detector}: {exc}")
    fit_on = history
    if history is not None and prophet_origin is not None:
        fit_on = history[history.index < pd.Timestamp(prophet_origin)]
    if fit_on is not None and history_hours(fit_on) >= PROPHET_MIN_HOURS:
        wanted = [c for c in prophet_signals if c in signals.columns and signals[c].notna().any()]
        prophet = prophet_anomalies(
            signals,
            history=fit_on,
            columns=wanted,
            max_history=PROPHET_MAX_HISTORY,
            min_history=PROPHET_MIN_HOURS,
            seed=0,
            horizon=None if prophet_origin is None else day_horizon(prophet_origin),
        )
    return WindowAnomalies(pyod, prophet, tuple(notes))


def anomalies_long(pyod: pd.DataFrame | None, prophet: pd.DataFrame | None) -> pd.DataFrame:
    """PyOD (wide, one row per bin) and Prophet (long, one row per bin and signal) as one long frame."""
    parts = []
    if pyod is not None and len(pyod):
        parts.append(
            pd.DataFrame(
                {
                    "timestamp": utc_times(pyod.index),
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
                    "timestamp": utc_times(prophet["timestamp"]),
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
    """The PyOD rows of a stored anomaly table in the detector's wide shape (time index)."""
    rows = anomalies[anomalies["method"].astype(str) != "prophet"]
    if not len(rows):
        return None
    return pd.DataFrame(
        {
            "is_anomaly": rows["is_anomaly"].astype(bool).to_numpy(),
            "top_signal": rows["signal"].astype(str).to_numpy(),
            "top_z": rows["top_z"].astype(float).to_numpy(),
        },
        index=pd.DatetimeIndex(utc_times(rows["timestamp"])),
    )


def prophet_view(anomalies: pd.DataFrame) -> pd.DataFrame | None:
    """The Prophet rows of a stored anomaly table in :func:`prophet_anomalies`' long shape."""
    rows = anomalies[anomalies["method"].astype(str) == "prophet"]
    if not len(rows):
        return None
    out = rows[["timestamp", "signal", "value", "yhat", "yhat_lower", "yhat_upper", "is_anomaly"]].copy()
    out["timestamp"] = utc_times(out["timestamp"])
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
    strength, start, length = anomaly_strength(pyod, SERVING_SIGNALS)
    prophet = prophet_view(anomalies)
    judged = prophet is not None and prophet["signal"].str.startswith(SERVING_SIGNALS).any()
    if judged:
        seasonal, _, _ = anomaly_strength(prophet, SERVING_SIGNALS)
        strength = min(strength, seasonal)
    when = None if start is None else pd.Timestamp(start).to_pydatetime(warn=False)
    return float(strength), when, int(length)

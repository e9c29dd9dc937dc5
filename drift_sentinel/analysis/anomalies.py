"""Anomalies in the system signals: multivariate outliers (PyOD) and seasonality-aware ones (Prophet).

:func:`detect_signal_anomalies` scores each signal vector (one row of :func:`compute_signals`) with a PyOD detector
chosen by short name (:data:`DETECTORS`): ``iforest`` (Isolation Forest, Liu, Ting & Zhou 2008, ICDM; PyOD's
``IForest``, built and scored in a third of its time by :class:`IsolationForestScores`) by default, ``knn``
(Ramaswamy, Rastogi & Shim 2000) or ``lof`` (Breunig et al. 2000), after robust scaling (median / MAD). A row is
anomalous when its score exceeds the ``1 - contamination`` quantile of the scores of the rows the detector was
fitted on: the trailing history together with the current rows when a history is given (the history sets the
scale), otherwise the rows themselves. The ``top_signal`` of an anomaly is the signal with the largest robust
z-score.

:func:`prophet_anomalies` fits one Prophet model (Taylor & Letham 2018, "Forecasting at Scale", *The
American Statistician* 72(1)) per signal on the trailing history — daily and weekly seasonality plus a
month-end regressor when the history holds a month end — and flags current points outside its uncertainty
interval, so daily, weekend and month-end peaks are not reported as anomalies (the month end gets a
level regressor and a daily shape of its own, conditional on the day being in the month end). Series are resampled to
hourly and the history is capped (``max_history`` points), which keeps each fit well under a second.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> idx = pd.date_range("2026-10-01", periods=200, freq="5min", tz="UTC")
>>> signals = pd.DataFrame({"latency_p95": rng.normal(80, 3, 200), "error_rate": rng.uniform(0, .01, 200)},
...                        index=idx)
>>> signals.iloc[150:160, 0] = 400.0
>>> found = detect_signal_anomalies(signals, contamination=0.05, seed=0)
>>> bool(found["is_anomaly"].iloc[150:160].all()), found["top_signal"].iloc[155]
(True, 'latency_p95')
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.errors import DataError, UnknownNameError


class IsolationForestScores:
    """PyOD's ``IForest`` (scikit-learn's ``IsolationForest``, 100 trees) with the same trees built without
    scikit-learn's per-tree overhead: ``decision_scores_`` equals PyOD's bit for bit.

    Isolation Forest (Liu, Ting & Zhou 2008, ICDM): each tree isolates a random subsample of ``min(256, n)`` rows
    by random splits (a random feature, a threshold uniform between its extremes) up to depth
    ``ceil(log2(subsample))``; a row's score is ``2 ** (-E[h(x)] / c(subsample))``, where ``h(x)`` is its path length
    plus ``c(leaf size)`` and ``c(m) = 2 H(m - 1) - 2 (m - 1) / m`` is the average path length of an unsuccessful
    binary-search-tree search.

    scikit-learn seeds each tree by creating three ``numpy.random.RandomState`` objects (~0.13 ms each, most of a
    fit), validates its parameters per tree, and PyOD scores the rows a second time. Here one ``RandomState`` is
    re-seeded with the same seeds (``IsolationForest.fit`` → ``BaseBagging._fit``: the forest's seeds, each tree's
    seed and subsample), each ``ExtraTreeRegressor`` is fitted as scikit-learn fits it (``max_features=1``, random
    splitter, the subsample as 0/1 sample weights) and the rows are scored once, summing the trees' path lengths in
    the same order: 42 ms a forest on a week of 5-minute rows of 14 signals, against PyOD's 120 ms
    (``benchmarks/anomaly_fit.py``).

    >>> import numpy as np
    >>> from pyod.models.iforest import IForest
    >>> X = np.random.default_rng(0).normal(size=(300, 4))
    >>> ours = IsolationForestScores(contamination=0.05, random_state=0).fit(X).decision_scores_
    >>> bool((ours == IForest(contamination=0.05, random_state=0, n_estimators=100).fit(X).decision_scores_).all())
    True
    """

    def __init__(self, *, contamination: float, random_state: int, n_estimators: int = 100) -> None:
        self.contamination, self.random_state, self.n_estimators = contamination, random_state, n_estimators

    def fit(self, X: np.ndarray) -> IsolationForestScores:
        import sklearn
        from sklearn.tree import ExtraTreeRegressor
        from sklearn.utils import check_array
        from sklearn.utils.random import sample_without_replacement

        X = np.ascontiguousarray(check_array(X), dtype=np.float32)  # PyOD's check; fitted as float32
        rows = len(X)
        subsample = min(256, rows)
        splits = ExtraTreeRegressor(
            max_features=1, splitter="random", max_depth=math.ceil(math.log2(max(subsample, 2)))
        )
        rng = np.random.RandomState(self.random_state)
        target = rng.uniform(size=rows)  # IsolationForest's random regression target (it only breaks ties)
        rng.seed(self.random_state)
        path = np.zeros(rows)
        with sklearn.config_context(skip_parameter_validation=True):
            for seed in rng.randint(_INT32_MAX, size=self.n_estimators):
                rng.seed(seed)
                tree_seed = rng.randint(_INT32_MAX)
                rng.seed(seed)  # bagging draws all features (no random numbers), then the subsample
                weights = np.bincount(
                    sample_without_replacement(rows, subsample, random_state=rng), minlength=rows
                )
                rng.seed(tree_seed)
                splits.random_state = rng  # the splitter draws its seed from it
                tree = splits.fit(X, target, sample_weight=weights.astype(float), check_input=False).tree_
                node_path = tree.compute_node_depths() + average_path_length(tree.n_node_samples) - 1.0
                path += node_path[tree.apply(X)]  # depth + c(leaf size) - 1: scikit-learn's sum, term by term
        denominator = self.n_estimators * average_path_length(np.array([subsample]))[0]
        # scikit-learn's score_samples (a single row: depth and denominator 0, score -0.5)
        scores = -(2.0 ** -(path / denominator if denominator else np.ones(rows)))
        # scikit-learn's offset_ for this contamination, from the same scores
        offset = np.percentile(scores, 100.0 * self.contamination)
        self.decision_scores_ = (scores - offset) * -1  # PyOD: invert_order(decision_function(X))
        return self


_INT32_MAX = np.iinfo(np.int32).max


def average_path_length(leaf_sizes: np.ndarray) -> np.ndarray:
    """``c(m)``, the average path length of an unsuccessful search in a binary search tree of ``m`` nodes (Liu,
    Ting & Zhou 2008, eq. 1, with the harmonic number ``H(i) ≈ ln(i) + γ``): 0 for ``m <= 1``, 1 for ``m == 2``.

    >>> average_path_length(np.array([1, 2, 256])).round(4).tolist()
    [0.0, 1.0, 10.2448]
    """
    m = np.asarray(leaf_sizes, dtype=float)
    c = np.where(m == 2, 1.0, 0.0)
    big = m > 2
    c[big] = 2.0 * (np.log(m[big] - 1.0) + np.euler_gamma) - 2.0 * (m[big] - 1.0) / m[big]
    return c


def _iforest(contamination: float, seed: int) -> Any:
    return IsolationForestScores(contamination=contamination, random_state=seed)


def _knn(contamination: float, seed: int) -> Any:
    from pyod.models.knn import KNN

    return KNN(contamination=contamination)


def _lof(contamination: float, seed: int) -> Any:
    from pyod.models.lof import LOF

    return LOF(contamination=contamination)


DETECTORS: dict[str, Callable[[float, int], Any]] = {
    "iforest": _iforest,
    "knn": _knn,
    "lof": _lof,
}


def get_detector(name: str, *, contamination: float = 0.01, seed: int = 0) -> Any:
    """A fresh detector by short name (PyOD's; :class:`IsolationForestScores` for ``iforest``).

    :class:`UnknownNameError` lists the accepted names."""
    if name not in DETECTORS:
        raise UnknownNameError(f"unknown anomaly detector {name!r}; accepted: {', '.join(DETECTORS)}")
    if not 0 < contamination < 0.5:
        raise DataError(f"contamination must be in (0, 0.5), got {contamination}")
    return DETECTORS[name](contamination, seed)


def _robust_scale(values: pd.DataFrame, basis: pd.DataFrame) -> pd.DataFrame:
    median = basis.median()
    mad = (basis - median).abs().median() * 1.4826
    std = basis.std(ddof=0)
    scale = mad.where(mad > 0, std).where(lambda s: s > 0, 1.0)
    return (values - median) / scale


def default_signal_columns(signals: pd.DataFrame) -> list[str]:
    """Signals worth scoring: latency, errors, volume and prediction moments (not label-based ones)."""
    wanted = [
        "request_volume",
        "latency_p50",
        "latency_p95",
        "error_rate",
        "prediction_mean",
        "prediction_var",
    ]
    wanted += [c for c in signals.columns if c.startswith("null_rate_")]
    return [c for c in wanted if c in signals.columns and signals[c].notna().any()]


def detect_signal_anomalies(
    signals: pd.DataFrame,
    *,
    detector: str = "iforest",
    columns: Sequence[str] | None = None,
    history: pd.DataFrame | None = None,
    contamination: float = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """Multivariate outliers among signal vectors (see the module docstring).

    Returns a frame on ``signals.index`` with ``anomaly_score``, ``is_anomaly``, ``top_signal`` and
    ``top_z`` (the robust z-score of that signal), plus ``detector``.
    """
    columns = list(columns) if columns is not None else default_signal_columns(signals)
    if not columns:
        raise DataError("detect_signal_anomalies: no signal columns with values")
    missing = [c for c in columns if c not in signals.columns]
    if missing:
        raise DataError(f"detect_signal_anomalies: missing signal column(s) {missing}")
    basis = history[columns] if history is not None and len(history) else signals[columns]
    fill = basis.median()
    current = signals[columns].astype(float).fillna(fill).fillna(0.0)
    basis = basis.astype(float).fillna(fill).fillna(0.0)
    z_current = _robust_scale(current, basis)
    z_basis = _robust_scale(basis, basis)
    if len(basis) < 10:
        raise DataError(f"detect_signal_anomalies: {len(basis)} rows to fit on, need >= 10")
    model = get_detector(detector, contamination=contamination, seed=seed)
    # fit on history and current together: tree and ECDF detectors saturate outside the range they were
    # fitted on, so a spike beyond everything in the history would score no higher than its extremes
    combined = (
        np.vstack([z_basis.to_numpy(), z_current.to_numpy()]) if history is not None else z_current.to_numpy()
    )
    model.fit(combined)
    fitted = np.asarray(model.decision_scores_, dtype=float)
    cutoff = float(np.quantile(fitted, 1 - contamination))
    scores = fitted[len(combined) - len(z_current) :]
    top = z_current.abs().idxmax(axis=1)
    top_z = z_current.to_numpy()[np.arange(len(z_current)), [columns.index(c) for c in top]]
    return pd.DataFrame(
        {
            "anomaly_score": scores,
            "is_anomaly": scores > cutoff,
            "top_signal": top.to_numpy(),
            "top_z": top_z,
            "detector": detector,
        },
        index=signals.index,
    )


def _quiet_prophet() -> None:
    for name in ("prophet", "cmdstanpy", "prophet.plot"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        for handler in logger.handlers:
            handler.setLevel(logging.ERROR)


def _month_end_flag(ds: pd.Series) -> np.ndarray:
    days = ds.dt.day.to_numpy()
    last = np.array([calendar.monthrange(y, m)[1] for y, m in zip(ds.dt.year, ds.dt.month, strict=True)])
    return (days > last - 3).astype(float)


# Fitted models by training series: the hourly windows of one day share their history (the day's forecast
# origin, :func:`drift_sentinel.analysis.anomaly_table.window_anomalies`), so a run over a range fits once a day.
_FITS: OrderedDict[tuple[Any, ...], tuple[Any, bool]] = OrderedDict()
_FITS_MAX = 32


def _fitted_prophet(train: pd.Series, *, interval_width: float, seed: int) -> tuple[Any, bool]:
    """Prophet fitted on one signal's hourly history, and whether it has the month-end regressor (cached)."""
    from prophet import Prophet

    digest = hashlib.blake2b(train.index.asi8.tobytes() + train.to_numpy(dtype=float).tobytes()).hexdigest()
    key = (train.name, interval_width, seed, digest)
    if key in _FITS:
        _FITS.move_to_end(key)
        return _FITS[key]
    frame = pd.DataFrame({"ds": train.index.tz_convert(None), "y": train.to_numpy()})
    model = Prophet(
        daily_seasonality=True,
        weekly_seasonality=len(train) >= 24 * 14,
        yearly_seasonality=False,
        interval_width=interval_width,
        changepoint_prior_scale=0.01,  # weeks of serving signals: a nearly flat trend
        uncertainty_samples=300,
    )
    month_end = bool(_month_end_flag(frame["ds"]).any())
    if month_end:
        # a month-end level shift plus its own daily shape (peaks scale the daily cycle too)
        frame["month_end"] = _month_end_flag(frame["ds"])
        frame["is_month_end"] = frame["month_end"] > 0
        model.add_regressor("month_end")
        model.add_seasonality(
            name="daily_month_end", period=1, fourier_order=3, condition_name="is_month_end"
        )
    np.random.seed(seed)
    model.fit(frame)
    _FITS[key] = (model, month_end)
    while len(_FITS) > _FITS_MAX:
        _FITS.popitem(last=False)
    return model, month_end


def _predict(model: Any, month_end: bool, ds: pd.DatetimeIndex, *, seed: int) -> pd.DataFrame:
    """Prophet's forecast for ``ds`` (naive UTC), seeded, indexed by ``ds``."""
    future = pd.DataFrame({"ds": ds})
    if month_end:
        future["month_end"] = _month_end_flag(future["ds"])
        future["is_month_end"] = future["month_end"] > 0
    np.random.seed(seed)  # Prophet draws its uncertainty samples from numpy's global generator
    return model.predict(future).set_index(ds)


def _horizon_forecast(model: Any, month_end: bool, horizon: pd.DatetimeIndex, *, seed: int) -> pd.DataFrame:
    """The forecast of a whole horizon, once per fitted model (kept on the model, so it lives as long as the fit)."""
    cache = model.__dict__.setdefault("_sentinel_forecasts", {})
    key = (seed, tuple(horizon.asi8.tolist()))
    if key not in cache:
        cache[key] = _predict(model, month_end, horizon, seed=seed)
    return cache[key]


def prophet_anomalies(
    signals: pd.DataFrame,
    *,
    history: pd.DataFrame,
    columns: Sequence[str] | None = None,
    freq: str = "1h",
    interval_width: float = 0.99,
    max_history: int = 24 * 28,
    min_history: int = 48,
    seed: int = 0,
    horizon: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """Points of ``signals`` outside a Prophet interval fitted per signal on ``history`` (module docstring).

    Both frames are indexed by time; they are resampled to ``freq`` (mean), the history is cut to its last
    ``max_history`` points. Signals with fewer than ``min_history`` history points are skipped. With a
    ``horizon`` (UTC bins covering the signals), the forecast is made for the whole horizon once per fitted model
    and the signals' bins are read from it, so every window inside one horizon gets the same forecast.
    Returns long form: ``timestamp, signal, value, yhat, yhat_lower, yhat_upper, is_anomaly``.
    """
    _quiet_prophet()
    columns = list(columns) if columns is not None else default_signal_columns(signals)
    bins = horizon.tz_convert(None) if horizon is not None else None
    rows = []
    hist = history.resample(freq).mean(numeric_only=True).tail(max_history)
    cur = signals.resample(freq).mean(numeric_only=True)
    for name in columns:
        if name not in hist.columns or name not in cur.columns:
            continue
        train = hist[name].dropna()
        target = cur[name].dropna()
        if len(train) < min_history or target.empty or train.std() == 0:
            continue
        model, month_end = _fitted_prophet(train, interval_width=interval_width, seed=seed)
        wanted = target.index.tz_convert(None)
        if bins is not None and wanted.isin(bins).all():
            forecast = _horizon_forecast(model, month_end, bins, seed=seed).loc[wanted]
        else:
            forecast = _predict(model, month_end, wanted, seed=seed)
        values = target.to_numpy()
        lower, upper = forecast["yhat_lower"].to_numpy(), forecast["yhat_upper"].to_numpy()
        for i, ts in enumerate(target.index):
            rows.append(
                (
                    ts,
                    name,
                    float(values[i]),
                    float(forecast["yhat"].iloc[i]),
                    float(lower[i]),
                    float(upper[i]),
                )
            )
    out = pd.DataFrame(rows, columns=["timestamp", "signal", "value", "yhat", "yhat_lower", "yhat_upper"])
    out["is_anomaly"] = (out["value"] < out["yhat_lower"]) | (out["value"] > out["yhat_upper"])
    return out


def anomaly_strength(
    anomalies: pd.DataFrame | None, signal_prefixes: Sequence[str], *, gap: pd.Timedelta | str | None = None
) -> tuple[float, Any, int]:
    """Strength in [0, 1] of the longest episode of anomalies in signals starting with ``signal_prefixes``.

    Anomalous points at most ``gap`` apart (default: twice the frame's median spacing) form one episode
    (isolated blips in a noisy 5-minute error rate do not count for much).
    Returns ``(strength, episode start, episode length)``; strength is
    ``1 - exp(-k / 3)`` for an episode of ``k`` points, scaled by ``|z| / (|z| + 3)`` (median robust z)
    for the PyOD shape. Accepts both the wide output of :func:`detect_signal_anomalies`
    (``top_signal``/``top_z``) and the long output of :func:`prophet_anomalies` (``signal``).

    >>> import pandas as pd
    >>> idx = pd.date_range("2026-10-01", periods=6, freq="5min", tz="UTC")
    >>> a = pd.DataFrame({"is_anomaly": [True, False, False, True, True, True],
    ...                   "top_signal": "latency_p95", "top_z": 30.0}, index=idx)
    >>> strength, start, k = anomaly_strength(a, ["latency"])
    >>> round(strength, 2), str(start), k
    (0.57, '2026-10-01 00:15:00+00:00', 3)
    """
    if anomalies is None or len(anomalies) == 0 or "is_anomaly" not in anomalies.columns:
        return 0.0, None, 0
    hits = anomalies[anomalies["is_anomaly"].astype(bool)]
    all_times = pd.DatetimeIndex(
        anomalies.index if "signal" not in anomalies.columns else anomalies["timestamp"]
    )
    if gap is None:
        spacing = np.diff(np.unique(all_times.asi8))
        gap = pd.Timedelta(int(2 * np.median(spacing)) if len(spacing) else 0)
    if "top_signal" in hits.columns:
        hits = hits[hits["top_signal"].astype(str).str.startswith(tuple(signal_prefixes))]
        times = pd.DatetimeIndex(hits.index)
        z = np.abs(hits["top_z"].to_numpy(dtype=float))
    elif "signal" in hits.columns:
        hits = hits[hits["signal"].astype(str).str.startswith(tuple(signal_prefixes))]
        times = pd.DatetimeIndex(hits["timestamp"])
        z = np.full(len(hits), np.inf)
    else:
        return 0.0, None, 0
    if len(hits) == 0:
        return 0.0, None, 0
    order = np.argsort(times.asi8, kind="stable")
    times, z = times[order], z[order]
    unique_times, first = np.unique(times.asi8, return_index=True)
    z = np.maximum.reduceat(z, first)
    breaks = np.flatnonzero(np.diff(unique_times) > pd.Timedelta(gap).value) + 1  # type: ignore[arg-type]
    episodes = np.split(np.arange(len(unique_times)), breaks)
    best = max(episodes, key=len)
    median_z = float(np.median(z[best]))
    size = 1.0 if math.isinf(median_z) else median_z / (median_z + 3.0)
    strength = (1 - math.exp(-len(best) / 3.0)) * size
    return float(strength), pd.Timestamp(unique_times[best[0]], tz="UTC"), len(best)

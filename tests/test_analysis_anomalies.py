"""Signal anomalies: every PyOD detector in the registry, Prophet's seasonality-aware intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.analysis import DETECTORS, detect_signal_anomalies, prophet_anomalies
from drift_sentinel.analysis.anomalies import (
    IsolationForestScores,
    anomaly_strength,
    average_path_length,
    get_detector,
)
from drift_sentinel.errors import DataError, UnknownNameError


def _signals(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2026-10-01", periods=n, freq="5min", tz="UTC")
    return pd.DataFrame(
        {
            "request_volume": rng.poisson(50, n),
            "latency_p95": rng.normal(80, 4, n),
            "error_rate": rng.uniform(0, 0.01, n),
            "prediction_mean": rng.normal(0.1, 0.01, n),
        },
        index=idx,
    )


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_every_detector_finds_a_latency_spike_deterministically(name):
    history, current = _signals(seed=1), _signals(n=100, seed=2)
    rng = np.random.default_rng(9)  # an incident: latency and errors up together, with some noise
    current.iloc[40:46, current.columns.get_loc("latency_p95")] = 400.0 + rng.normal(0, 20, 6)
    current.iloc[40:46, current.columns.get_loc("error_rate")] = 0.08 + rng.normal(0, 0.01, 6)
    found = detect_signal_anomalies(current, detector=name, history=history, contamination=0.02, seed=3)
    again = detect_signal_anomalies(current, detector=name, history=history, contamination=0.02, seed=3)
    pd.testing.assert_frame_equal(found, again)
    assert found["is_anomaly"].iloc[40:46].all(), name
    assert (found["top_signal"].iloc[40:46] == "latency_p95").all()
    assert found["is_anomaly"].sum() <= 6 + 4  # the incident plus at most a few of the 2 % tail
    strength, start, length = anomaly_strength(found, ["latency"])
    assert start == current.index[40] and length == 6 and strength > 0.8


@pytest.mark.parametrize(("rows", "contamination", "seed"), [(2_028, 0.01, 0), (300, 0.05, 7), (60, 0.2, 3)])
def test_iforest_scores_equal_pyods_iforest(rows, contamination, seed):
    """The default detector builds PyOD's IForest's trees itself and scores the rows once: its decision scores are
    PyOD's, bit for bit, on a week of hourly signal rows (2,028), a short history and a handful of rows, and so is
    every flag."""
    from pyod.models.iforest import IForest

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 9))
    X[-5:] += 10.0  # five rows far from the rest in every column: isolated early
    ours = get_detector("iforest", contamination=contamination, seed=seed).fit(X).decision_scores_
    pyods = IForest(contamination=contamination, random_state=seed, n_estimators=100).fit(X).decision_scores_
    np.testing.assert_array_equal(ours, pyods)
    assert (ours[-5:] > np.quantile(ours, 1 - contamination)).all()


@pytest.mark.parametrize(
    ("rows", "columns", "layout", "trees"),
    [
        (1, 3, "plain", 100),  # one row: depth 0, scikit-learn's score -0.5
        (2, 2, "plain", 100),
        (11, 3, "plain", 37),
        (257, 5, "plain", 100),  # one row more than a tree's subsample
        (2_028, 14, "ties", 100),  # rounded values and 50 identical rows
        (500, 6, "constant", 100),  # a column that never varies
        (400, 4, "fortran", 100),  # column-major input
        (3_000, 3, "plain", 37),
    ],
)
def test_iforest_trees_are_pyods_on_edge_cases(rows, columns, layout, trees):
    """Every tree is scikit-learn's: ties, constant columns, tiny and odd sizes, another tree count, any layout."""
    from pyod.models.iforest import IForest

    X = np.random.default_rng(rows).normal(size=(rows, columns))
    if layout == "ties":
        X = np.round(X, 1)
        X[:50] = X[0]
    elif layout == "constant":
        X[:, 2] = 1.5
    elif layout == "fortran":
        X = np.asfortranarray(X)
    ours = (
        IsolationForestScores(contamination=0.05, random_state=rows, n_estimators=trees)
        .fit(X)
        .decision_scores_
    )
    pyods = IForest(contamination=0.05, random_state=rows, n_estimators=trees).fit(X).decision_scores_
    np.testing.assert_array_equal(ours, pyods)


def test_average_path_length_is_the_papers_c_of_n():
    """c(n) = 2 H(n - 1) - 2 (n - 1) / n (Liu, Ting & Zhou 2008, eq. 1): with H(i) ≈ ln(i) + γ it is within
    1 / (n - 1) of the value with the exact harmonic number (H(i) - ln(i) - γ ≈ 1 / 2i), and 0 and 1 below 3."""
    sizes = np.array([0, 1, 2, 3, 4, 10, 256, 2_028])
    ours = average_path_length(sizes)
    assert ours[:3].tolist() == [0.0, 0.0, 1.0]
    for n, c in zip(sizes[3:], ours[3:], strict=True):
        exact = 2 * sum(1 / i for i in range(1, n)) - 2 * (n - 1) / n
        assert 0 < exact - c < 1 / (n - 1), n


@pytest.mark.parametrize(("contamination", "seed"), [(0.01, 0), (0.05, 7)])
def test_signal_anomalies_are_pyods_iforest_on_robust_scaled_signals(contamination, seed):
    """detect_signal_anomalies fits PyOD's IForest on the robust-scaled history and current rows together."""
    from pyod.models.iforest import IForest

    history, current = _signals(seed=seed), _signals(n=50, seed=seed + 1)
    found = detect_signal_anomalies(current, history=history, contamination=contamination, seed=seed)
    z = pd.concat([history, current]).astype(float)  # the same robust scaling as detect_signal_anomalies
    median = history.astype(float).median()
    scale = ((history.astype(float) - median).abs().median() * 1.4826).where(lambda s: s > 0, 1.0)
    fitted = IForest(contamination=contamination, random_state=seed, n_estimators=100).fit(
        ((z - median) / scale).to_numpy()
    )
    expected = fitted.decision_scores_[-50:]
    np.testing.assert_allclose(found["anomaly_score"].to_numpy(), expected, rtol=0, atol=1e-12)
    cutoff = np.quantile(fitted.decision_scores_, 1 - contamination)
    assert (found["is_anomaly"].to_numpy() == (expected > cutoff)).all()


def test_registry_errors():
    with pytest.raises(UnknownNameError, match="iforest"):
        get_detector("nope")
    with pytest.raises(DataError, match="contamination"):
        get_detector("iforest", contamination=0.7)
    with pytest.raises(DataError, match="missing signal"):
        detect_signal_anomalies(_signals(), columns=["nope"])


@pytest.mark.slow
def test_prophet_ignores_the_daily_peak_but_flags_a_spike():
    """Hourly latency with a strong daily cycle: the peak hour is expected, a spike at night is not."""
    rng = np.random.default_rng(5)
    idx = pd.date_range("2026-09-01", periods=24 * 15, freq="1h", tz="UTC")
    daily = 80 + 40 * np.sin(2 * np.pi * (idx.hour - 9) / 24)
    frame = pd.DataFrame({"latency_p95": daily + rng.normal(0, 2, len(idx))}, index=idx)
    history, current = frame.iloc[: 24 * 14], frame.iloc[24 * 14 :].copy()
    current.iloc[3, 0] += 60  # 03:00, normally the quietest hour
    found = prophet_anomalies(current, history=history, columns=["latency_p95"], seed=0)
    assert list(found["timestamp"][found["is_anomaly"]]) == [current.index[3]]
    peak = found.set_index("timestamp").loc[current.index[15]]
    assert not peak["is_anomaly"] and peak["value"] > frame["latency_p95"].median() + 30
    again = prophet_anomalies(current, history=history, columns=["latency_p95"], seed=0)
    pd.testing.assert_frame_equal(found, again)


@pytest.mark.slow
def test_prophet_expects_the_month_end_peak_it_has_seen():
    """Volume is 40 % higher in the last three days of every month; with a month end in the history the
    next month end is not an anomaly, while the same jump mid-month is."""
    from drift_sentinel.analysis.temporal import is_month_end

    rng = np.random.default_rng(6)
    idx = pd.date_range("2026-08-25", "2026-10-01", freq="1h", tz="UTC", inclusive="left")
    base = 100 + 20 * np.sin(2 * np.pi * (idx.hour - 9) / 24)
    peak = np.array([1.4 if is_month_end(t) else 1.0 for t in idx])
    frame = pd.DataFrame({"request_volume": base * peak + rng.normal(0, 3, len(idx))}, index=idx)
    history = frame[frame.index < "2026-09-20"]  # holds Aug 29-31
    month_end = frame[frame.index >= "2026-09-28"]
    found = prophet_anomalies(month_end, history=history, columns=["request_volume"], seed=0)
    assert found["is_anomaly"].mean() < 0.05
    mid_month = frame[(frame.index >= "2026-09-20") & (frame.index < "2026-09-23")].copy()
    mid_month["request_volume"] *= 1.4
    assert (
        prophet_anomalies(mid_month, history=history, columns=["request_volume"], seed=0)["is_anomaly"].mean()
        > 0.5
    )

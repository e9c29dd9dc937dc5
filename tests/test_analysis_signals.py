"""System signals: hand-checkable bins against numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.analysis import compute_signals
from drift_sentinel.errors import DataError


@pytest.fixture
def log() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    times = pd.Timestamp("2026-10-01", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, 3600, n)), unit="s")
    amount = rng.lognormal(3, 1, n)
    amount[rng.uniform(size=n) < 0.1] = np.nan
    device = rng.choice(["ios", "android", None], n, p=[0.5, 0.45, 0.05])
    return pd.DataFrame(
        {
            "timestamp": times,
            "amount": amount,
            "device_id": device,
            "prediction": rng.uniform(size=n),
            "label": np.where(rng.uniform(size=n) < 0.3, np.nan, (rng.uniform(size=n) < 0.4).astype(float)),
            "latency_ms": rng.lognormal(3.5, 0.3, n),
            "error": rng.uniform(size=n) < 0.02,
        }
    )


def test_each_bin_matches_numpy(log):
    signals = compute_signals(log, freq="10min", features=["amount", "device_id"])
    assert len(signals) == 6
    assert str(signals.index.tz) == "UTC"
    for start, row in signals.iterrows():
        rows = log[(log["timestamp"] >= start) & (log["timestamp"] < start + pd.Timedelta("10min"))]
        assert row["request_volume"] == len(rows)
        assert row["latency_p50"] == pytest.approx(np.quantile(rows["latency_ms"], 0.5))
        assert row["latency_p95"] == pytest.approx(np.quantile(rows["latency_ms"], 0.95))
        assert row["error_rate"] == pytest.approx(rows["error"].mean())
        assert row["prediction_mean"] == pytest.approx(rows["prediction"].mean())
        assert row["prediction_var"] == pytest.approx(rows["prediction"].var(ddof=0))
        labelled = rows.dropna(subset=["label"])
        assert row["labelled"] == len(labelled)
        correct = ((labelled["prediction"] >= 0.5) == (labelled["label"] == 1)).mean()
        assert row["accuracy"] == pytest.approx(correct)
        assert row["null_rate_amount"] == pytest.approx(rows["amount"].isna().mean())
        assert row["null_rate_device_id"] == pytest.approx(rows["device_id"].isna().mean())


def test_empty_bins_are_kept_and_optional_columns_are_nan():
    log = pd.DataFrame(
        {"timestamp": pd.to_datetime(["2026-10-01 00:00:10", "2026-10-01 00:21:00"], utc=True)}
    )
    signals = compute_signals(log, prediction_column=None, latency_column=None, error_column=None)
    assert signals["request_volume"].tolist() == [1, 0, 0, 0, 1]
    assert signals["latency_p95"].isna().all() and signals["accuracy"].isna().all()


def test_errors_name_the_column(log):
    with pytest.raises(DataError, match="'ts'"):
        compute_signals(log, time_column="ts")
    with pytest.raises(DataError, match="nope"):
        compute_signals(log, features=["nope"])

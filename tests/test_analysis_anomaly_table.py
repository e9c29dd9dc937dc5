"""One window's anomaly table: PyOD and Prophet in one long frame, read back per detector, run without Dagster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.analysis.anomaly_table import (
    ANOMALY_COLUMNS,
    PROPHET_MIN_HOURS,
    history_hours,
    pyod_view,
    serving_anomaly,
    window_anomalies,
)
from drift_sentinel.errors import DataError, UnknownNameError


def _signals(start: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range(start, periods=n, freq="5min", tz="UTC")
    return pd.DataFrame(
        {
            "request_volume": rng.poisson(50, n).astype(float),
            "latency_p95": rng.normal(80, 4, n),
            "error_rate": rng.uniform(0, 0.01, n),
            "prediction_mean": rng.normal(0.1, 0.01, n),
        },
        index=idx,
    )


@pytest.mark.slow  # PyOD's first fit in a process takes seconds
def test_a_latency_spike_is_found_and_stored_in_the_long_table() -> None:
    history = _signals("2026-10-09", 288, seed=1)  # one day: too little for Prophet
    window = _signals("2026-10-10", 288, seed=2)
    window.iloc[100:110, window.columns.get_loc("latency_p95")] = 400.0
    found = window_anomalies(window, history, contamination=0.02)
    assert found.prophet is None and found.notes == ()
    assert history_hours(history) == 24 < PROPHET_MIN_HOURS
    table = found.table
    assert list(table.columns) == list(ANOMALY_COLUMNS)
    assert len(table) == len(window) and set(table["method"]) == {"iforest"}
    # the wide PyOD view reads back the flags of the stored table, bin by bin
    view = pyod_view(table)
    assert view is not None and view["is_anomaly"].iloc[100:110].all()
    assert (view["top_signal"].iloc[100:110] == "latency_p95").all()
    strength, start, length = serving_anomaly(table)
    assert strength > 0 and length >= 10 and start == window.index[100].to_pydatetime()
    # seeded: the same inputs give the same table
    pd.testing.assert_frame_equal(window_anomalies(window, history, contamination=0.02).table, table)


def test_too_few_bins_is_a_note_and_a_bad_detector_fails_before_anything_runs() -> None:
    tiny = _signals("2026-10-10", 3, seed=0)
    found = window_anomalies(tiny, None)
    assert found.pyod is None and found.prophet is None and found.table.empty
    assert len(found.notes) == 1 and found.notes[0].startswith("iforest: ")
    empty = window_anomalies(None, None)
    assert empty.table.empty and serving_anomaly(empty.table) == (0.0, None, 0)
    with pytest.raises(UnknownNameError, match="iforest"):
        window_anomalies(None, None, detector="nope")
    with pytest.raises(DataError, match="contamination"):
        window_anomalies(tiny, None, contamination=0.9)

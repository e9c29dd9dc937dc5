"""map_windows: a range's independent windows on several processes, with the serial loop's results and errors."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.analysis.anomaly_table import window_anomalies
from drift_sentinel.errors import ConfigError, DataError
from drift_sentinel.parallel import MIN_ITEMS, WORKERS_ENV, default_workers, map_windows


def test_results_come_back_in_input_order_from_more_than_one_process() -> None:
    offset = 1000  # a closure: children are forked, nothing is pickled but the results

    def window(x: int) -> tuple[int, int]:
        # a window takes time, as real ones do: with instant ones, the pool's first worker could finish its chunk
        # and take the other before the second worker had started (seen once in CI)
        time.sleep(0.03)
        return x + offset, os.getpid()

    out = map_windows(window, list(range(30)), workers=3)
    assert [value for value, _ in out] == [x + offset for x in range(30)]
    pids = [pid for _, pid in out]
    assert pids[0] == os.getpid()  # the calling process computes the first chunk
    assert len(set(pids)) == 3
    assert pids == sorted(pids, key=pids.index)  # each process one contiguous chunk


def test_few_items_or_one_worker_stay_in_the_calling_process() -> None:
    assert {pid for pid in map_windows(lambda _: os.getpid(), list(range(MIN_ITEMS - 1)), workers=4)} == {
        os.getpid()
    }
    assert {pid for pid in map_windows(lambda _: os.getpid(), list(range(40)), workers=1)} == {os.getpid()}


def test_the_first_failing_window_raises_as_in_the_serial_loop() -> None:
    def judge(x: int) -> int:
        if x in (25, 31):
            raise DataError(f"window {x}: no rows")
        return x

    with pytest.raises(DataError, match="window 25: no rows"):
        map_windows(judge, list(range(40)), workers=2)


def test_seeded_anomaly_fits_equal_the_serial_loop() -> None:
    """Isolation Forest and the robust scaling per window, on two processes: identical frames."""
    rng = np.random.default_rng(7)
    idx = pd.date_range("2026-10-01", periods=24 * 12 * 4, freq="5min", tz="UTC")
    signals = pd.DataFrame(
        {"latency_p95": rng.normal(80, 4, len(idx)), "error_rate": rng.uniform(0, 0.02, len(idx))}, index=idx
    )
    signals.iloc[700:705, 0] = 300.0
    windows = [(signals.iloc[i : i + 12], signals.iloc[max(0, i - 288) : i]) for i in range(300, 780, 12)]

    def judge(item: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
        found = window_anomalies(item[0], item[1], prophet_signals=())
        return found.table

    serial = [judge(w) for w in windows]
    parallel = map_windows(judge, windows, workers=2)
    assert len(parallel) == len(serial) == 40
    for a, b in zip(serial, parallel, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert any(t["is_anomaly"].any() for t in parallel if "is_anomaly" in t)


def test_workers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert default_workers() == 3
    monkeypatch.setenv(WORKERS_ENV, "none")
    with pytest.raises(ConfigError, match=f"{WORKERS_ENV}='none'"):
        default_workers()
    monkeypatch.setenv(WORKERS_ENV, "0")
    with pytest.raises(ConfigError, match="whole number"):
        default_workers()
    monkeypatch.delenv(WORKERS_ENV)
    assert 1 <= default_workers() <= len(os.sched_getaffinity(0))

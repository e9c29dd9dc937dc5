"""ADWIN, DDM and Page-Hinkley: exact detection indices against river, streaming and batch shapes agree."""

from __future__ import annotations

import numpy as np
import pytest
from river import drift as river_drift

from drift_sentinel.detection import ADWIN, DDM, PageHinkley


def _river_hits(detector, values) -> tuple[list[int], list[int]]:
    hits, warnings = [], []
    for i, v in enumerate(values):
        detector.update(v)
        if detector.drift_detected:
            hits.append(i)
        if getattr(detector, "warning_detected", False):
            warnings.append(i)
    return hits, warnings


def _ours_hits(detector, values) -> tuple[list[int], list[int]]:
    hits, warnings = [], []
    for i, v in enumerate(values):
        detector.update(v)
        if detector.drift_detected:
            hits.append(i)
        if getattr(detector, "warning_detected", False):
            warnings.append(i)
    return hits, warnings


def _stream(seed: int, n: int = 6000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.normal(0, 1, n), rng.normal(0.6, 1, n), rng.normal(-0.4, 2, n // 2), rng.integers(0, 5, n // 2)]
    ).astype(float)


ADWIN_PARAMS = [
    {},
    {"delta": 0.1, "clock": 1},
    {"delta": 0.01, "clock": 8, "max_buckets": 3, "min_window_length": 10, "grace_period": 50},
]
PH_PARAMS = [
    {},
    {"threshold": 10.0, "mode": "up"},
    {"threshold": 20.0, "delta": 0.05, "mode": "down", "alpha": 0.99},
]
DDM_PARAMS = [{}, {"warm_start": 100, "warning_threshold": 1.5, "drift_threshold": 2.5}]


@pytest.mark.parametrize("params", ADWIN_PARAMS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adwin_matches_river(params: dict, seed: int) -> None:
    values = _stream(seed)
    expected, _ = _river_hits(river_drift.ADWIN(**params), values.tolist())
    assert ADWIN(**params).detect(values) == expected
    assert _ours_hits(ADWIN(**params), values.tolist())[0] == expected
    assert expected  # the stream has changes: the comparison is not vacuous


@pytest.mark.parametrize("params", PH_PARAMS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_page_hinkley_matches_river(params: dict, seed: int) -> None:
    values = _stream(seed)
    expected, _ = _river_hits(river_drift.PageHinkley(**params), values.tolist())
    assert PageHinkley(**params).detect(values) == expected
    assert _ours_hits(PageHinkley(**params), values.tolist())[0] == expected
    assert expected


@pytest.mark.parametrize("params", DDM_PARAMS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ddm_matches_river_including_warnings(params: dict, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rate = np.r_[np.full(4000, 0.1), np.full(4000, 0.25), np.full(4000, 0.05), np.full(4000, 0.4)]
    bits = (rng.random(rate.size) < rate).astype(int).tolist()
    expected, expected_warn = _river_hits(river_drift.binary.DDM(**params), bits)
    hits, warns = _ours_hits(DDM(**params), bits)
    assert (hits, warns) == (expected, expected_warn)
    assert DDM(**params).detect(bits) == expected
    assert expected and expected_warn


def test_river_doc_examples() -> None:
    """The examples from river's docstrings give the same indices."""
    import random

    rng = random.Random(12345)
    stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    assert ADWIN().detect(stream) == [1023]
    assert PageHinkley().detect(stream) == [1006]
    rng = random.Random(42)
    bits = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    assert DDM().detect(bits) == [1334]


def test_reset_after_detection_and_state_carries_between_updates() -> None:
    det = PageHinkley(threshold=5.0)
    values = [0.0] * 100 + [3.0] * 100
    flags = [det.update(v).drift_detected for v in values]
    first = flags.index(True)
    assert flags[first + 1] is False  # the detector reset on the update after the detection
    whole = PageHinkley(threshold=5.0).detect(values)
    halves = PageHinkley(threshold=5.0)
    split = [i for i, v in enumerate(values[:150]) if halves.update(v).drift_detected]
    split += [150 + i for i, v in enumerate(values[150:]) if halves.update(v).drift_detected]
    assert split == whole


def test_detect_is_independent_of_the_instance_state() -> None:
    det = ADWIN()
    for v in [0.0] * 500:
        det.update(v)
    values = np.r_[np.zeros(500), np.ones(500)]
    assert det.detect(values) == ADWIN().detect(values)
    assert det.width == 500


def test_change_start_estimates_point_at_the_change() -> None:
    values = np.r_[np.zeros(3000), np.full(3000, 1.0)] + np.random.default_rng(0).normal(0, 0.3, 6000)
    idx, starts = ADWIN().detect_changes(values)
    assert idx and 2500 <= starts[0] <= 3000 <= idx[0]  # start of the newer sub-window at the cut
    idx, starts = PageHinkley().detect_changes(values)
    assert idx and 2900 <= starts[0] <= 3000 <= idx[0]  # extremum of the cumulative deviation


@pytest.mark.parametrize(
    ("cls", "bad"),
    [
        (ADWIN, {"delta": 0.0}),
        (ADWIN, {"clock": 0}),
        (PageHinkley, {"mode": "sideways"}),
        (PageHinkley, {"threshold": -1.0}),
        (DDM, {"warm_start": -1}),
        (DDM, {"drift_threshold": 0.0}),
    ],
)
def test_bad_parameters_raise(cls, bad: dict) -> None:
    with pytest.raises(ValueError):
        cls(**bad)


def test_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ADWIN(0.01)  # type: ignore[misc]

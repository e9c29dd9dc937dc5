"""The window quality check evaluated by pandas agrees with Great Expectations itself, window for window.

Windows are drawn at random around a learned suite (nulls, values beyond the range, unknown categories, stray
strings in a numeric column, infinities, a missing column, an empty window, rates right at ``mostly``), and each is
validated by both engines: the verdict, the failed expectations and the observed text must be identical.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.quality import learn_suite, validate_window

BASELINE = pd.DataFrame(
    {
        "amount": np.linspace(1.0, 500.0, 400),
        "age": np.tile(np.arange(18, 98), 5).astype(float),
        "device": np.tile(["ios", "android", "web", "kiosk"], 100),
        "flag": np.tile([True, False], 200),
    }
)
BASELINE.loc[::40, "age"] = np.nan  # a 2.5% null rate to learn
SUITE = learn_suite(BASELINE, numeric=["amount", "age"], categorical=["device", "flag"], max_categories=10)


def _window(rng: np.random.Generator) -> pd.DataFrame:
    n = int(rng.choice([0, 1, 7, 100, 250]))
    frame = pd.DataFrame(
        {
            "amount": rng.uniform(-50.0, 700.0 if rng.random() < 0.5 else 520.0, n),
            "age": rng.uniform(18, 100, n),
            "device": rng.choice(
                ["ios", "android", "web", "kiosk", "tv"] if rng.random() < 0.5 else ["ios"], n
            ),
            "flag": rng.choice([True, False], n),
        }
    )
    if n:
        frame.loc[rng.random(n) < rng.choice([0.0, 0.02, 0.1]), "age"] = np.nan
        frame.loc[rng.random(n) < rng.choice([0.0, 0.01]), "amount"] = math.inf
    if n and rng.random() < 0.2:
        frame["amount"] = frame["amount"].astype(object)
        frame.loc[rng.random(n) < 0.05, "amount"] = "N/A?"
    if rng.random() < 0.1:
        frame = frame.drop(columns=[str(rng.choice(["device", "age"]))])
    return frame


@pytest.mark.parametrize("seed", range(6))
def test_pandas_and_gx_give_the_same_result_on_random_windows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    outcomes = set()
    for _ in range(10):
        window = _window(rng)
        native, gx = validate_window(window, SUITE), validate_window(window, SUITE, engine="gx")
        assert native == gx, (window.head(), native, gx)
        outcomes.add(native.passed)
    assert outcomes == {True, False} or seed > 3  # the draws exercise both verdicts


def test_the_boundary_of_mostly_is_the_same_in_both_engines() -> None:
    base = pd.DataFrame({"x": np.arange(100.0)})
    suite = learn_suite(base, numeric=["x"], range_slack=0.0)
    for outside in (0, 1, 2):  # mostly 0.99 of 100 values: one outside passes, two fail
        window = pd.DataFrame({"x": np.r_[np.arange(100.0 - outside), [1e9] * outside]})
        native, gx = validate_window(window, suite), validate_window(window, suite, engine="gx")
        assert native == gx and native.passed is (outside <= 1), outside


def test_an_unknown_engine_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="engine: 'spark'"):
        validate_window(BASELINE, SUITE, engine="spark")

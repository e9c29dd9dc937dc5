"""Correlation and Granger causality: known answers against scipy and statsmodels."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.tsa.stattools import grangercausalitytests
from statsmodels.tsa.tsatools import lagmat

from drift_sentinel.analysis.correlation import correlate, correlate_pair, granger, pearson
from drift_sentinel.cli import main
from drift_sentinel.errors import ConfigError, DataError, UnknownNameError


def _leading_pair(seed: int, lag: int = 3, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = np.r_[np.zeros(lag), 0.8 * x[:-lag]] + rng.normal(scale=0.5, size=n)
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_granger_p_value_is_statsmodels(seed):
    x, y = _leading_pair(seed, lag=2)
    result = granger(x, y, maxlag=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = grangercausalitytests(np.column_stack([y, x]), maxlag=[result.lag])[result.lag][0][
            "ssr_ftest"
        ]
    assert result.f_statistic == expected[0]
    assert result.p_value == expected[1]
    # also in the direction where nothing is going on
    back = granger(y, x, maxlag=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = grangercausalitytests(np.column_stack([x, y]), maxlag=[back.lag])[back.lag][0]["ssr_ftest"]
    assert back.p_value == expected[1]


def test_lag_is_the_bic_minimiser_on_a_common_sample():
    x, y = _leading_pair(5, lag=3)
    maxlag = 6
    result = granger(x, y, maxlag=maxlag, criterion="bic")
    bics = []
    for lag in range(1, maxlag + 1):
        data = np.column_stack([y, x])[maxlag - lag :]
        lagged = lagmat(data, lag, trim="both", original="in")
        design = sm.add_constant(lagged[:, 2:], prepend=False)
        bics.append(sm.OLS(lagged[:, 0], design).fit().bic)
    np.testing.assert_allclose(result.criterion_values, bics, rtol=1e-9)
    assert result.lag == int(np.argmin(bics)) + 1 == 3


@pytest.mark.parametrize("seed", range(5))
def test_x_leads_y_by_3_finds_lag_and_direction(seed):
    x, y = _leading_pair(seed, lag=3)
    pair = correlate_pair(x, y, maxlag=6, names=("x", "y"))
    assert pair.direction == "x->y"
    assert pair.lag == 3
    assert pair.leader == "x"
    assert pair.lagged_r == pytest.approx(stats.pearsonr(x[:-3], y[3:]).statistic)
    # swapping the arguments swaps the direction
    assert correlate_pair(y, x, maxlag=6, names=("y", "x")).direction == "y->x"


def test_independent_series_claim_nothing():
    claims = 0
    for seed in range(20):
        rng = np.random.default_rng(1000 + seed)
        pair = correlate_pair(rng.normal(size=300), rng.normal(size=300), maxlag=6)
        claims += pair.direction != "none"
        if seed == 0:
            assert pair.direction == "none" and pair.lag == 0 and not pair.significant
    assert claims <= 2  # Bonferroni-corrected 5 % per pair


def test_pearson_is_scipys():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=50), rng.normal(size=50)
    expected = stats.pearsonr(a, b)
    assert pearson(a, b) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    r, p = pearson([1, 1, 1, 1], [1, 2, 3, 4])
    assert np.isnan(r) and np.isnan(p)


def test_correlate_frame_with_target_and_bonferroni():
    x, y = _leading_pair(7, lag=2)
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"x": x, "y": y, "noise": rng.normal(size=len(x))})
    report = correlate(frame, target="y", maxlag=4)
    assert [(p.x, p.y) for p in report.pairs] == [("x", "y"), ("noise", "y")]
    assert report.n_tests == 4
    assert [(p.x, p.direction, p.lag) for p in report.significant] == [("x", "x->y", 2)]
    assert json.loads(json.dumps(report.to_dict()))["significant"] == ["x x->y y (lag 2)"]


def test_errors_name_the_problem():
    x, y = _leading_pair(0)
    with pytest.raises(UnknownNameError, match="bic"):
        granger(x, y, criterion="hqic")
    with pytest.raises(DataError, match="need >="):
        granger(x[:10], y[:10], maxlag=4)
    with pytest.raises(DataError, match="missing column"):
        correlate(pd.DataFrame({"a": x}), columns=["a", "b"])
    constant = correlate_pair(np.ones(100), y[:100])
    assert constant.direction == "none" and constant.status.startswith("not tested")


def test_cli_correlate_parquet_on_time(tmp_path, capsys):
    x, y = _leading_pair(2, lag=3)
    times = pd.date_range("2026-10-01", periods=len(x), freq="5min", tz="UTC")
    pd.DataFrame({"timestamp": times, "latency": x}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"timestamp": times, "score": y}).to_csv(tmp_path / "b.csv", index=False)
    argv = [
        "correlate",
        "--series",
        f"{tmp_path / 'a.parquet'}:latency",
        "--series",
        f"{tmp_path / 'b.csv'}:score",
        "--time-column",
        "timestamp",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pairs"][0]["direction"] == "x->y" and out["pairs"][0]["lag"] == 3
    assert main(["correlate", "--series", f"{tmp_path / 'a.parquet'}:nope", "--series", "x.csv:y"]) == 3
    assert "nope" in capsys.readouterr().err


# ------------------------------------------------------------- refused input (issue 15, 5 and 10)


@pytest.mark.parametrize(
    "option",
    [
        ["--alpha", "5"],
        ["--alpha", "0"],
        ["--alpha", "1"],
        ["--alpha", "-0.05"],
        ["--alpha", "nan"],
        ["--maxlag", "0"],
        ["--maxlag", "-2"],
        ["--maxlag", "1000"],
        ["--freq", "banana"],
        ["--freq", "0min"],
        ["--freq", "-5min"],
        ["--criterion", "hqic"],
    ],
)
def test_cli_refuses_numbers_that_make_no_sense(tmp_path, capsys, option):
    x, y = _leading_pair(0)
    pd.DataFrame({"a": x, "b": y}).to_csv(tmp_path / "s.csv", index=False)
    assert main(["correlate", str(tmp_path / "s.csv"), "-c", "a", "-c", "b", *option]) == 64
    out, err = capsys.readouterr()
    assert out == "" and option[0] in err and "Traceback" not in err


def test_core_correlate_refuses_alpha_and_maxlag_out_of_range():
    x, y = _leading_pair(0)
    frame = pd.DataFrame({"a": x, "b": y})
    for kwargs in ({"alpha": 5}, {"alpha": 0}, {"maxlag": 0}, {"maxlag": 2.5}):
        with pytest.raises(ConfigError):
            correlate(frame, **kwargs)


def test_cli_unparseable_timestamps_name_the_file_and_column(tmp_path, capsys):
    x, y = _leading_pair(1)
    frame = pd.DataFrame(
        {"t": pd.date_range("2026-01-01", periods=len(x), freq="5min").astype(str), "a": x, "b": y}
    )
    frame.loc[7, "t"] = "31/02/2026 25:61"
    frame.to_csv(tmp_path / "s.csv", index=False)
    argv = [
        "correlate",
        str(tmp_path / "s.csv"),
        "-c",
        "a",
        "-c",
        "b",
        "--time-column",
        "t",
        "--freq",
        "10min",
    ]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "s.csv: time column 't': 1 value(s) are not timestamps" in err and "Traceback" not in err


def test_values_near_the_float_limit_give_the_same_answer_as_normal_ones(tmp_path, capsys):
    """Pearson and the Granger F test do not depend on a series' scale: 1e307 x gives x's answer."""
    x, y = _leading_pair(2, lag=3)
    normal = correlate_pair(x, y, maxlag=5)
    huge = correlate_pair(x * 1e307, y / np.abs(y).max() * 1.7e308, maxlag=5)
    assert (huge.direction, huge.lag) == (normal.direction, normal.lag) == ("x->y", 3)
    assert huge.pearson_r == pytest.approx(normal.pearson_r, rel=1e-9)
    assert huge.granger_xy.p_value == pytest.approx(normal.granger_xy.p_value, rel=1e-6)
    pd.DataFrame({"a": x * 1e307, "b": y}).to_csv(tmp_path / "h.csv", index=False)
    assert main(["correlate", str(tmp_path / "h.csv"), "-c", "a", "-c", "b"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["pairs"][0]["direction"] == "x->y" and err == ""


def test_an_infeasible_granger_test_is_reported_not_raised():
    """An exact copy shifted by one step fits perfectly: statsmodels raises InfeasibleTestError."""
    x = np.random.default_rng(5).normal(size=200)
    y = np.r_[0.0, x[:-1]]
    with pytest.raises(DataError, match="cannot be tested"):
        granger(x, y, maxlag=3)
    pair = correlate_pair(x, y, maxlag=3)
    assert pair.status.startswith("not tested") and "InfeasibleTestError" in pair.status

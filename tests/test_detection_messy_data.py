"""Messy data must not give a wrong answer (issue 15): stray strings in numeric columns, datetime columns,
bytes versus text, values near 1e308, string predictions, and no RuntimeWarnings on degenerate input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from drift_sentinel import Verdict, detect_drift
from drift_sentinel.detection import profile_reference
from drift_sentinel.detection.profile import feature_kind, mean_std, unparseable
from drift_sentinel.detection.univariate import wasserstein

N = 4000


def _windows(seed: int, shift: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """x (drifted by ``shift`` sd in the current window), y, and a 4-value categorical, as in the issue."""
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=N), "y": rng.normal(size=N), "cat": rng.choice(list("abcd"), N)})
    cur = pd.DataFrame(
        {"x": rng.normal(shift, 1, N), "y": rng.normal(size=N), "cat": rng.choice(list("abcd"), N)}
    )
    return ref, cur


def _with_strays(frame: pd.DataFrame, column: str, strays: list[str], rows: list[int]) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object)
    for row, value in zip(rows, strays, strict=True):
        out.loc[row, column] = value
    return out


# ------------------------------------------------------------------------------ stray strings (defect 1)
@pytest.mark.parametrize(
    ("strays", "where"),
    [
        (["N/A?"] * 5, "current"),
        (["N/A?", "-", "n/a", "?", "missing"], "current"),
        (["oops"] * 40, "current"),  # 1%
        (["N/A?"] * 5, "both"),
        (["#VALUE!"] * 3, "reference"),
    ],
)
def test_stray_strings_count_as_missing_and_never_hide_drift(strays: list[str], where: str) -> None:
    ref, cur = _windows(1)
    rows = list(range(7, 7 + 97 * len(strays), 97))
    if where in ("current", "both"):
        cur = _with_strays(cur, "x", strays, rows)
    if where in ("reference", "both"):
        ref = _with_strays(ref, "x", strays, rows)
    report = detect_drift(ref, cur)
    x = report.features["x"]
    assert x.kind == "numeric" and x.verdict is Verdict.FAILED and report.verdict is Verdict.FAILED
    assert set(x.results) == {"ks", "psi"} and x.votes["ks"]
    assert "are not numbers" in x.status and repr(strays[0]) in x.status
    n_bad = len(strays)
    if where != "reference":
        assert x.n_current == N - n_bad and x.null_rate_current == pytest.approx(n_bad / N)
    if where != "current":
        assert x.n_reference == N - n_bad
    # without drift the same strings do not make a false alarm either
    ref2, cur2 = _windows(2, shift=0.0)
    if where in ("current", "both"):
        cur2 = _with_strays(cur2, "x", strays, rows)
    clean = detect_drift(ref2, cur2).features["x"]
    assert clean.kind == "numeric" and clean.verdict is Verdict.PASSED


def test_declared_kind_wins_over_what_the_values_look_like() -> None:
    ref, cur = _windows(3)
    cur = _with_strays(cur, "x", ["N/A?"] * 2000, list(range(0, 4000, 2)))  # half of them strings
    as_numeric = detect_drift(ref, cur, {"features": {"x": "numeric", "cat": "categorical"}})
    assert as_numeric.features["x"].kind == "numeric"
    assert as_numeric.features["x"].null_rate_drifted and "2000 value(s)" in as_numeric.features["x"].status
    codes = pd.DataFrame({"code": np.random.default_rng(4).integers(0, 3, N)})
    declared = detect_drift(codes, codes.copy(), {"features": {"code": "categorical"}})
    assert declared.features["code"].kind == "categorical"
    assert declared.features["code"].results.keys() == {"chi_square", "psi"}


def test_a_profile_keeps_the_reference_kind() -> None:
    ref, cur = _windows(5)
    profile = profile_reference(ref)
    cur = _with_strays(cur, "x", ["bad"] * 5, [1, 2, 3, 4, 5])
    x = detect_drift(ref, cur, profile=profile).features["x"]
    assert x.kind == "numeric" and x.verdict is Verdict.FAILED


def test_kind_inference_of_text_columns() -> None:
    import datetime as dt

    assert feature_kind(pd.Series([dt.date(2026, 10, 1), None, dt.date(2026, 10, 2)])) is None
    assert feature_kind(pd.Series(["1.5", "2", "3e4"] * 10 + ["N/A?"])) == "numeric"
    assert feature_kind(pd.Series(["1", "2", "x", "y"] * 10)) == "categorical"  # half text
    assert feature_kind(pd.Series([True, False, None], dtype=object)) == "categorical"
    assert feature_kind(pd.Series(["2026-10-01T08:00:00Z", "2026-10-02 09:30"] * 5)) is None
    assert feature_kind(pd.Series(["10/01/2026", "10/02/2026"])) is None
    assert feature_kind(pd.Series(["March", "April"])) == "categorical"
    assert unparseable(pd.Series([1.0, 2.0])) == (0, ())
    assert unparseable(pd.Series(["1", None, "x", "x", "y"])) == (3, ("x", "y"))


# ---------------------------------------------------------------------------------- datetimes (defect 4)
@pytest.mark.parametrize("as_text", [False, True])
def test_datetime_columns_are_left_out_and_said_so(as_text: bool) -> None:
    ref, cur = _windows(6, shift=0.0)
    ref["timestamp"] = pd.date_range("2026-09-01", periods=N, freq="min", tz="UTC")
    cur["timestamp"] = pd.date_range("2026-10-01", periods=N, freq="min", tz="UTC")
    cur["created"] = cur["timestamp"] - pd.Timedelta("1D")
    ref["created"] = ref["timestamp"] - pd.Timedelta("1D")
    if as_text:
        for frame in (ref, cur):
            frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    report = detect_drift(ref, cur)
    assert report.verdict is Verdict.PASSED  # was INCONCLUSIVE: timestamp was an ERROR feature
    assert set(report.features) == {"x", "y", "cat"}
    assert set(report.excluded) == {"timestamp", "created"}
    assert report.to_dict()["excluded_columns"]["timestamp"].startswith("datetime column")
    assert type(report).from_dict(report.to_dict()) == report
    # declared by name, a datetime column is an ERROR that says what to do
    named = detect_drift(ref, cur, {"features": ["x", "timestamp"]})
    assert named.features["timestamp"].verdict is Verdict.ERROR
    assert "declare its kind" in named.features["timestamp"].status
    # nothing excluded: the key stays out of the JSON (reports of declared features are unchanged)
    assert "excluded_columns" not in detect_drift(ref[["x"]], cur[["x"]]).to_dict()


# -------------------------------------------------------------------------------- bytes versus text (2)
def test_bytes_and_text_of_the_same_category_are_one_category() -> None:
    rng = np.random.default_rng(7)
    values = rng.choice(["été", "hiver", "automne"], N)
    ref = pd.DataFrame({"season": values})
    cur = pd.DataFrame({"season": [v.encode("cp1252") if v == "été" else v for v in rng.choice(values, N)]})
    report = detect_drift(ref, cur, {"algorithms": ["chi_square", "psi", "domain_classifier"]})
    feature = report.features["season"]
    assert feature.new_categories == () and feature.verdict is Verdict.PASSED
    assert report.multivariate is not None and not report.multivariate.drifted  # the classifier agrees


# ---------------------------------------------------------------------------------- 1e308 values (12)
@pytest.mark.parametrize("where", ["current", "reference", "both"])
def test_one_huge_value_neither_overflows_nor_blinds_the_detectors(where: str) -> None:
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"x": rng.normal(size=3000)})
    cur = pd.DataFrame(
        {
            "x": np.r_[rng.normal(size=1500), rng.normal(1, 1, 1500)],
            "ts": pd.date_range("2026-10-01", periods=3000, freq="min", tz="UTC"),
        }
    )
    if where in ("current", "both"):
        cur.loc[100, "x"] = 1e308
    if where in ("reference", "both"):
        ref.loc[100, "x"] = 1e308
    cfg = {"algorithms": ["ks", "wasserstein", "adwin", "page_hinkley"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = detect_drift(ref, cur, cfg, time_column="ts")
    x = report.features["x"]
    for name, result in x.results.items():
        assert math.isfinite(result.statistic) and math.isfinite(result.effect_size), name
    # the streaming detectors still see the 1-sd shift half-way, and date it
    for name in ("adwin", "page_hinkley"):
        assert x.votes[name] and 0.8 < x.results[name].effect_size < 1.2, name
    assert x.drift_start is not None
    assert abs((x.drift_start - pd.Timestamp("2026-10-02 01:00", tz="UTC")).total_seconds()) < 3600
    if where == "both":  # the outliers cancel: W is half the current moved by 1 sd, in robust reference sds
        assert x.results["wasserstein"].effect_size == pytest.approx(0.5, abs=0.1)
    if where != "reference":
        assert "left out of the streaming detectors" in x.status


def test_overflow_safe_statistics_against_known_answers() -> None:
    # W between {0, 1} and {0, 1e308} is 1e308 / 2 (one half of the mass moves by ~1e308)
    assert wasserstein([0.0, 1.0], [0.0, 1e308]) == pytest.approx(5e307, rel=1e-12)
    mean, std = mean_std(np.array([-1e308, 1e308]))
    assert mean == 0.0 and std == pytest.approx(math.sqrt(2) * 1e308, rel=1e-12)


# ---------------------------------------------------------------------------------- no RuntimeWarnings
DEGENERATE = {
    "constant": lambda n, r: np.ones(n),
    "one_value": lambda n, r: np.r_[np.full(n - 1, np.nan), 1.0],
    "all_missing": lambda n, r: np.full(n, np.nan),
    "infinities": lambda n, r: np.r_[r.normal(size=n - 2), np.inf, -np.inf],
    "huge": lambda n, r: np.r_[r.normal(size=n - 2), 1e308, -1e308],
    "max_float": lambda n, r: np.full(n, 1.7e308),
    "subnormal": lambda n, r: r.normal(size=n) * 1e-310,
}


@pytest.mark.parametrize("ref_kind", list(DEGENERATE))
def test_degenerate_columns_raise_no_runtime_warnings(ref_kind: str) -> None:
    """Every pair of degenerate columns, every detector: a status or a result, never a numpy warning."""
    for cur_kind, make in DEGENERATE.items():
        r1, r2 = np.random.default_rng(1), np.random.default_rng(2)
        ref = pd.DataFrame(
            {"f": DEGENERATE[ref_kind](200, r1), "p": r1.random(200), "y": r1.random(200) < 0.3}
        )
        cur = pd.DataFrame(
            {
                "f": make(200, r2),
                "p": make(200, r2),
                "y": (r2.random(200) < 0.3).astype(float),
                "t": pd.date_range("2026-10-01", periods=200, freq="min"),
            }
        )
        cfg = {"algorithms": ["ks", "psi", "wasserstein", "adwin", "page_hinkley", "ddm"], "min_samples": 2}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            report = detect_drift(ref, cur, cfg, time_column="t", prediction_column="p", label_column="y")
        assert report.features["f"].verdict in tuple(Verdict), (ref_kind, cur_kind)


@pytest.mark.slow
def test_the_domain_classifier_survives_degenerate_columns_without_warnings() -> None:
    for ref_kind, cur_kind in [
        ("one_value", "one_value"),
        ("huge", "max_float"),
        ("constant", "all_missing"),
    ]:
        r1, r2 = np.random.default_rng(1), np.random.default_rng(2)
        ref = pd.DataFrame({"f": DEGENERATE[ref_kind](200, r1), "g": r1.normal(size=200)})
        cur = pd.DataFrame({"f": DEGENERATE[cur_kind](200, r2), "g": r2.normal(size=200)})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            report = detect_drift(ref, cur, {"algorithms": ["domain_classifier"], "min_samples": 2})
        assert report.multivariate is not None and report.multivariate.verdict in tuple(Verdict)


# ------------------------------------------------------------------------------- string predictions (12)
def _classified(seed: int, p_fraud: float, accuracy: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.random(N) < 0.3
    predicted = np.where(rng.random(N) < p_fraud, True, False)
    label = np.where(rng.random(N) < accuracy, predicted, truth)
    return pd.DataFrame(
        {
            "x": rng.normal(size=N),
            "pred": np.where(predicted, "fraud", "ok"),
            "label": np.where(label, "fraud", "ok"),
            "t": pd.date_range("2026-10-01", periods=N, freq="min", tz="UTC"),
        }
    )


def test_a_string_prediction_column_is_compared_as_classes() -> None:
    ref = _classified(1, 0.3, 0.95)
    same = detect_drift(ref, _classified(2, 0.3, 0.95), prediction_column="pred", label_column="label")
    prediction = same.signals["prediction"]
    assert prediction.kind == "prediction" and prediction.verdict is Verdict.PASSED
    assert "missing" not in prediction.status and prediction.n_current == N
    assert same.signals["error"].verdict is Verdict.PASSED
    # more "fraud" predictions: prediction drift; worse agreement with the labels: error-rate drift
    shifted = detect_drift(ref, _classified(3, 0.5, 0.95), prediction_column="pred", label_column="label")
    assert shifted.signals["prediction"].verdict is Verdict.FAILED
    assert shifted.signals["prediction"].drift_type == "prediction"
    worse = detect_drift(
        ref, _classified(4, 0.3, 0.6), {"algorithms": ["ks", "psi", "chi_square", "ddm"]},
        time_column="t", prediction_column="pred", label_column="label",
    )  # fmt: skip
    error = worse.signals["error"]
    assert error.verdict is Verdict.FAILED and error.drift_type == "error_rate"
    before, after = (
        float(v) for v in error.results["error_rate"].detail.removeprefix("error rate ").split(" → ")
    )
    # a mismatch needs an inaccurate label that differs from the prediction: (1 − accuracy) · 0.42
    assert before == pytest.approx(0.05 * 0.42, abs=0.008) and after == pytest.approx(0.4 * 0.42, abs=0.02)
    # numeric 0/1 labels next to text "1"/"0" predictions are the same classes
    numeric = ref.assign(
        pred=np.where(ref["pred"] == "fraud", "1", "0"), label=(ref["label"] == "fraud") * 1.0
    )
    mixed = detect_drift(numeric, numeric.copy(), prediction_column="pred", label_column="label")
    assert mixed.signals["error"].results["error_rate"].detail.startswith("error rate 0.0")


def test_boolean_predictions_stay_scores_and_boolean_labels_match_text_classes() -> None:
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"x": rng.normal(size=N), "pred": rng.random(N) < 0.3, "label": rng.random(N) < 0.3})
    report = detect_drift(frame, frame.copy(), prediction_column="pred", label_column="label")
    assert set(report.signals["prediction"].results) == {"ks", "psi"}  # as before: 0/1 scores
    text = frame.assign(pred=np.where(frame["pred"], "1", "0"))  # numbers as text are still scores
    scores = detect_drift(text, text.copy(), prediction_column="pred", label_column="label")
    assert set(scores.signals["prediction"].results) == {"ks", "psi"}
    expected = float((frame["pred"] != frame["label"]).mean())
    assert (
        scores.signals["error"].results["error_rate"].detail == f"error rate {expected:.4f} → {expected:.4f}"
    )

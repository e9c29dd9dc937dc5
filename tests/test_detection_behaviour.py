"""What users need from the engine: large and small windows, quorum, categoricals, missing values,
streaming detectors on batch windows, multivariate drift, reference profiles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from drift_sentinel import DriftReport, Verdict, detect_drift
from drift_sentinel.detection import DetectionConfig, benjamini_hochberg, profile_reference
from drift_sentinel.errors import DataError


def _normal_frame(
    rng: np.random.Generator, n: int, k: int, shifts: dict[int, float] | None = None
) -> pd.DataFrame:
    shifts = shifts or {}
    return pd.DataFrame({f"x{i}": rng.normal(shifts.get(i, 0.0), 1.0, n) for i in range(k)})


# ------------------------------------------------------------------------------------------ large windows
@pytest.mark.slow
def test_large_window_nudge_is_not_drift_but_a_quarter_sd_shift_is_found_alone() -> None:
    """200k rows (the behaviour is the same at 1M: p-values are ~0 either way, effect sizes decide)."""
    rng = np.random.default_rng(20)
    n, k = 200_000, 5
    ref = _normal_frame(rng, n, k)
    profile = profile_reference(ref)
    nudged = _normal_frame(rng, n, k, {i: 0.02 for i in range(k)})
    cfg = DetectionConfig(algorithms=["ks", "psi", "wasserstein"], sensitivity="medium")
    quiet = detect_drift(ref, nudged, cfg, profile=profile)
    # the tests are significant — a p-value-only rule would raise five false alarms …
    assert all(quiet.features[f"x{i}"].results["ks"].p_adjusted < 0.05 for i in range(k))
    # … but the effect sizes are far below the medium thresholds
    assert quiet.verdict is Verdict.PASSED and not quiet.drift_detected
    shifted = detect_drift(ref, _normal_frame(rng, n, k, {2: 0.25}), cfg, profile=profile)
    assert shifted.drift_detected and [a.name for a in shifted.affected_features] == ["x2"]
    assert shifted.features["x2"].votes == {"ks": True, "psi": False, "wasserstein": True}
    assert shifted.affected_features[0].magnitude == pytest.approx(
        0.0995, abs=0.01
    )  # KS D of a 0.25 sd shift


def test_sensitivity_changes_what_counts_as_drift() -> None:
    rng = np.random.default_rng(21)
    ref, cur = _normal_frame(rng, 20_000, 1), _normal_frame(rng, 20_000, 1, {0: 0.08})
    found = {
        s: detect_drift(ref, cur, {"sensitivity": s, "algorithms": ["ks"]}).drift_detected
        for s in ("low", "medium", "high")
    }
    assert found == {"low": False, "medium": False, "high": True}


def test_benjamini_hochberg_matches_statsmodels() -> None:
    p = np.random.default_rng(3).uniform(0, 0.2, size=40) ** 2
    assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


# ------------------------------------------------------------------------------------------ small windows
@pytest.mark.parametrize("shift", [0.0, 100.0])
def test_below_min_samples_is_inconclusive_never_pass_or_drift(shift: float) -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1, size=20), "c": rng.choice(["a", "b"], 20)})
    report = detect_drift(ref, cur, {"min_samples": 30})
    assert report.verdict is Verdict.INCONCLUSIVE and not report.drift_detected
    assert {f.verdict for f in report.features.values()} == {Verdict.INCONCLUSIVE}
    assert "only 20 usable values in the current window (min_samples=30)" in report.features["x"].status
    assert report.drift_score == 0.0


def test_empty_current_window_is_inconclusive() -> None:
    ref = pd.DataFrame({"x": np.arange(100.0)})
    report = detect_drift(ref, ref.iloc[:0])
    assert report.verdict is Verdict.INCONCLUSIVE
    assert report.features["x"].status == "all values missing in the current window"


# ------------------------------------------------------------------------------------------------ quorum
@pytest.mark.parametrize(("quorum", "drifted"), [(1, True), (2, True), (3, False)])
def test_quorum_and_who_voted_how(quorum: int, drifted: bool) -> None:
    rng = np.random.default_rng(5)
    ref, cur = _normal_frame(rng, 20_000, 1), _normal_frame(rng, 20_000, 1, {0: 0.25})
    report = detect_drift(ref, cur, {"algorithms": ["ks", "psi", "wasserstein"], "quorum": quorum})
    feature = report.features["x0"]
    assert feature.votes == {"ks": True, "psi": False, "wasserstein": True}
    assert feature.drifted is drifted and report.drift_detected is drifted


def test_per_feature_threshold_override() -> None:
    rng = np.random.default_rng(6)
    ref, cur = _normal_frame(rng, 5000, 2), _normal_frame(rng, 5000, 2, {0: 0.5, 1: 0.5})
    cfg = {"algorithms": ["ks"], "thresholds": {"x1": {"ks": 0.9}}}
    report = detect_drift(ref, cur, cfg)
    assert [a.name for a in report.affected_features] == ["x0"]
    assert report.features["x1"].results["ks"].threshold == 0.9


# ------------------------------------------------------------------------------------------ categoricals
def test_unseen_and_vanished_categories_are_named() -> None:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"device": rng.choice(["ios", "android", "web", "kiosk"], 3000)})
    cur = pd.DataFrame(
        {"device": rng.choice(["ios", "android", "web", "smart_tv"], 3000, p=[0.3, 0.3, 0.1, 0.3])}
    )
    report = detect_drift(ref, cur)
    feature = report.features["device"]
    assert feature.kind == "categorical" and feature.drifted
    assert feature.new_categories == ("smart_tv",) and feature.vanished_categories == ("kiosk",)
    assert feature.drift_type == "new_category"
    assert report.affected_features[0].drift_type == "new_category"


def test_high_cardinality_categorical() -> None:
    rng = np.random.default_rng(8)
    ids = np.array([f"merchant_{i}" for i in range(20_000)], dtype=object)
    ref = pd.DataFrame({"merchant": ids[rng.integers(0, 20_000, 100_000)]})
    same = pd.DataFrame({"merchant": ids[rng.integers(0, 20_000, 100_000)]})
    moved = pd.DataFrame({"merchant": ids[np.minimum(rng.geometric(0.001, 100_000), 19_999)]})
    assert not detect_drift(ref, same).drift_detected
    assert detect_drift(ref, moved).features["merchant"].drifted


def test_categorical_declared_on_integers_and_booleans() -> None:
    rng = np.random.default_rng(9)
    ref = pd.DataFrame({"zip": rng.integers(0, 5, 2000), "flag": rng.random(2000) < 0.5})
    cur = pd.DataFrame({"zip": rng.integers(3, 8, 2000), "flag": rng.random(2000) < 0.5})
    report = detect_drift(ref, cur, {"features": {"zip": "categorical", "flag": "categorical"}})
    assert report.features["zip"].drifted and set(report.features["zip"].new_categories) == {"5", "6", "7"}
    assert report.features["flag"].kind == "categorical" and not report.features["flag"].drifted


# -------------------------------------------------------------------------------------------- missing values
def test_null_rate_change_is_its_own_signal() -> None:
    rng = np.random.default_rng(10)
    ref = pd.DataFrame({"x": rng.normal(size=5000)})
    values = rng.normal(size=5000)
    values[rng.random(5000) < 0.3] = np.nan
    report = detect_drift(ref, pd.DataFrame({"x": values}))
    feature = report.features["x"]
    assert feature.drifted and feature.drift_type == "null_rate" and feature.null_rate_drifted
    assert feature.null_rate_change == pytest.approx(0.3, abs=0.03)
    assert not any(feature.votes.values())  # the values that are present did not move
    assert "missing-value rate changed" in feature.status


def test_nan_inf_all_nan_constant_and_missing_columns_never_crash() -> None:
    rng = np.random.default_rng(11)
    n = 1000
    ref = pd.DataFrame(
        {
            "ok": rng.normal(size=n),
            "infs": np.where(rng.random(n) < 0.05, np.inf, rng.normal(size=n)),
            "all_nan_both": np.full(n, np.nan),
            "all_nan_now": rng.normal(size=n),
            "constant": np.full(n, 3.0),
            "gone": rng.normal(size=n),
            "cat_nan": rng.choice(["a", "b", None], n),
        }
    )
    cur = ref.drop(columns=["gone"]).copy()
    cur["ok"] = rng.normal(size=n)
    cur["infs"] = np.where(rng.random(n) < 0.05, -np.inf, rng.normal(size=n))
    cur["all_nan_now"] = np.nan
    cur["constant"] = 3.0
    features = {c: "numeric" for c in ref.columns if c != "cat_nan"} | {"cat_nan": "categorical"}
    report = detect_drift(ref, cur, {"features": features, "algorithms": "all"})
    f = report.features
    assert f["ok"].verdict is Verdict.PASSED
    assert f["infs"].verdict in (Verdict.PASSED, Verdict.FAILED) and math.isfinite(f["infs"].magnitude)
    assert f["all_nan_both"].verdict is Verdict.INCONCLUSIVE
    assert f["all_nan_both"].status == "all values missing in the reference window"
    assert f["all_nan_now"].verdict is Verdict.FAILED and f["all_nan_now"].drift_type == "null_rate"
    assert "all values missing in the current window" in f["all_nan_now"].status
    assert f["constant"].verdict is Verdict.PASSED and "constant" in f["constant"].status
    assert f["gone"].verdict is Verdict.ERROR and "missing from the current window" in f["gone"].status
    assert f["cat_nan"].verdict is Verdict.PASSED
    assert DriftReport.from_dict(report.to_dict()) == report


def test_no_shared_columns_is_a_data_error() -> None:
    with pytest.raises(DataError, match="share no feature columns"):
        detect_drift(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"b": [1.0]}))


# ---------------------------------------------------------------------------------- streaming in batches
def _stream_frame(rng: np.random.Generator, n: int, change_at: int) -> pd.DataFrame:
    times = pd.date_range("2026-11-01", periods=n, freq="min", tz="UTC")
    x = rng.normal(size=n)
    x[change_at:] += 1.0
    score = np.clip(rng.beta(2, 5, n), 0, 1)
    truth = rng.random(n) < 0.1  # 10 % errors, then 40 %
    truth[change_at:] = rng.random(n - change_at) < 0.4
    label = np.where(truth, (score < 0.5).astype(float), (score >= 0.5).astype(float))
    label[rng.random(n) < 0.3] = np.nan  # delayed labels
    frame = pd.DataFrame(
        {"timestamp": times, "x": x, "steady": rng.normal(size=n), "prediction": score, "label": label}
    )
    return frame.sample(frac=1.0, random_state=1).reset_index(drop=True)  # rows arrive out of order


def test_streaming_detectors_date_the_change_in_a_batch_window() -> None:
    rng = np.random.default_rng(12)
    n, change_at = 6000, 4000
    ref = pd.DataFrame(
        {"x": rng.normal(size=4000), "steady": rng.normal(size=4000), "prediction": rng.beta(2, 5, 4000)}
    )
    cur = _stream_frame(rng, n, change_at)
    report = detect_drift(
        ref, cur, {"algorithms": ["adwin", "page_hinkley", "ddm"]},
        time_column="timestamp", prediction_column="prediction", label_column="label",
    )  # fmt: skip
    x = report.features["x"]
    assert x.votes["adwin"] and x.votes["page_hinkley"] and x.drifted
    assert x.results["adwin"].change_points and x.results["adwin"].statistic >= 1  # detections are kept
    change = pd.Timestamp("2026-11-01", tz="UTC") + pd.Timedelta(minutes=change_at)
    assert abs(pd.Timestamp(x.drift_start) - change) <= pd.Timedelta(minutes=150)
    assert not report.features["steady"].drifted
    assert set(report.features) == {"x", "steady"}  # time, prediction and label columns are not features
    error = report.signals["error"]
    assert error.votes["ddm"] and error.drifted and error.drift_type == "error_rate"
    assert error.drift_start is not None and abs(pd.Timestamp(error.drift_start) - change) <= pd.Timedelta(
        hours=6
    )
    assert report.drift_start == min(x.drift_start, error.drift_start)


def test_error_rate_against_reference_and_delayed_labels() -> None:
    rng = np.random.default_rng(13)
    n = 4000
    score = rng.random(n)
    ref = pd.DataFrame({"x": rng.normal(size=n), "prediction": score, "label": (score >= 0.5).astype(float)})
    flip = rng.random(n) < 0.3
    cur = ref.copy()
    cur["label"] = np.where(flip, 1 - ref["label"], ref["label"])
    cur.loc[: n // 2, "label"] = np.nan
    report = detect_drift(
        ref, cur, {"algorithms": ["ks"]}, prediction_column="prediction", label_column="label"
    )
    error = report.signals["error"]
    assert error.drifted and error.results["error_rate"].effect_size == pytest.approx(0.3, abs=0.04)
    assert error.n_current == n - (n // 2 + 1)
    assert not report.features["x"].drifted and report.drift_detected
    all_delayed = cur.assign(label=np.nan)
    pending = detect_drift(
        ref, all_delayed, {"algorithms": ["ks"]}, prediction_column="prediction", label_column="label"
    )
    assert pending.signals["error"].verdict is Verdict.INCONCLUSIVE


# ------------------------------------------------------------------------------------------ multivariate
def test_domain_classifier_sees_a_correlation_change_univariate_tests_miss() -> None:
    rng = np.random.default_rng(14)
    n = 3000
    a, b = rng.normal(size=n), rng.normal(size=n)
    ref = pd.DataFrame({"a": a, "b": 0.9 * a + math.sqrt(1 - 0.81) * b, "noise": rng.normal(size=n)})
    a2, b2 = rng.normal(size=n), rng.normal(size=n)
    cur = pd.DataFrame({"a": a2, "b": -0.9 * a2 + math.sqrt(1 - 0.81) * b2, "noise": rng.normal(size=n)})
    report = detect_drift(ref, cur, {"algorithms": ["ks", "domain_classifier"]})
    assert not any(f.drifted for f in report.features.values())
    mv = report.multivariate
    assert mv is not None and mv.drifted and mv.auc > 0.8 and mv.p_value < 1e-6
    assert set(list(mv.importances)[:2]) == {"a", "b"} and mv.importances["noise"] < 0.02
    assert report.drift_detected and report.verdict is Verdict.FAILED
    same = detect_drift(ref, ref.sample(frac=1.0, random_state=3), {"algorithms": ["domain_classifier"]})
    assert same.multivariate is not None and not same.multivariate.drifted


# ------------------------------------------------------------------------------------------------ profiles
def test_profile_from_another_reference_is_refused() -> None:
    rng = np.random.default_rng(15)
    ref = _normal_frame(rng, 500, 2)
    with pytest.raises(DataError, match="recompute it"):
        detect_drift(ref, ref, profile=profile_reference(ref.iloc[:100]))


def test_profile_reused_over_many_windows_matches_fresh_reports() -> None:
    rng = np.random.default_rng(16)
    ref = pd.concat([_normal_frame(rng, 3000, 3), pd.DataFrame({"c": rng.choice(list("abc"), 3000)})], axis=1)
    profile = profile_reference(ref)
    for shift in (0.0, 0.3, 1.0):
        cur = pd.concat(
            [_normal_frame(rng, 1000, 3, {1: shift}), pd.DataFrame({"c": rng.choice(list("abd"), 1000)})],
            axis=1,
        )
        a, b = detect_drift(ref, cur, profile=profile).to_dict(), detect_drift(ref, cur).to_dict()
        a.pop("timestamp"), b.pop("timestamp")
        assert a == b

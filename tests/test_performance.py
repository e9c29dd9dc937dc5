"""Known answers for realized and CBPE-estimated performance (drift_sentinel.performance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from drift_sentinel.performance import (
    CBPE,
    PerformanceSpec,
    estimate_performance,
    expected_auc_standard_error,
    expected_calibration_error,
    expected_roc_auc,
    performance_report,
    realized_metrics,
)
from drift_sentinel.verdict import Verdict


def calibrated_log(seed: int, n: int, a: float = 0.6, b: float = 0.6) -> pd.DataFrame:
    """Scores p ~ Beta(a, b) and labels ~ Bernoulli(p): calibrated by construction."""
    rng = np.random.default_rng(seed)
    p = rng.beta(a, b, size=n)
    return pd.DataFrame({"prediction": p, "label": (rng.uniform(size=n) < p).astype(float)})


# ------------------------------------------------------------------------------------------------ realized


def test_realized_metrics_equal_scikit_learn_on_the_labelled_rows() -> None:
    frame = calibrated_log(1, 3000)
    frame.loc[frame.index[::3], "label"] = np.nan  # a third of the labels have not arrived
    result = realized_metrics(frame, min_samples=100)
    labelled = frame.dropna(subset=["label"])
    y, s = labelled["label"].astype(int), labelled["prediction"]
    predicted = (s >= 0.5).astype(int)
    assert result.verdict is Verdict.PASSED
    assert result.n_rows == 3000 and result.n_labelled == 2000
    assert result.labelled_fraction == 2000 / 3000
    assert result.accuracy == accuracy_score(y, predicted)
    assert result.precision == precision_score(y, predicted)
    assert result.recall == recall_score(y, predicted)
    assert result.f1 == f1_score(y, predicted)
    assert result.roc_auc == roc_auc_score(y, s)
    assert result.log_loss == log_loss(y, s)


def test_realized_threshold_moves_the_predicted_class() -> None:
    frame = calibrated_log(2, 2000)
    result = realized_metrics(frame, threshold=0.8)
    predicted = (frame["prediction"] >= 0.8).astype(int)
    assert result.accuracy == accuracy_score(frame["label"].astype(int), predicted)
    assert result.recall == recall_score(frame["label"].astype(int), predicted)


def test_expected_calibration_error_by_hand() -> None:
    # bin [0.1, 0.2): scores 0.15, 0.15, labels 1, 0 -> gap 0.5 - 0.15 = 0.35 over 2 rows;
    # bin [0.9, 1.0]: scores 0.95, 1.0, labels 1, 1 -> gap 1 - 0.975 = 0.025 over 2 rows
    labels = np.array([1.0, 0.0, 1.0, 1.0])
    scores = np.array([0.15, 0.15, 0.95, 1.0])
    assert expected_calibration_error(labels, scores) == pytest.approx((2 * 0.35 + 2 * 0.025) / 4)


def test_calibration_error_is_small_for_calibrated_scores_and_large_for_distorted_ones() -> None:
    frame = calibrated_log(3, 20000)
    distorted = frame.assign(prediction=frame["prediction"] ** 3)
    assert realized_metrics(frame).calibration_error < 0.02
    assert realized_metrics(distorted).calibration_error > 0.1


def test_realized_single_class_leaves_auc_undefined_with_the_reason() -> None:
    frame = calibrated_log(4, 500).assign(label=1.0)
    result = realized_metrics(frame)
    assert result.verdict is Verdict.PASSED
    assert result.roc_auc is None and "single class" in result.reasons["roc_auc"]
    judged = realized_metrics(frame, requirement=PerformanceSpec(metric="roc_auc", min=0.8))
    assert judged.verdict is Verdict.INCONCLUSIVE and "single class" in judged.reason


# ------------------------------------------------------------------------------------------------ estimated


def test_estimated_accuracy_without_calibration_is_mean_max_p_exactly() -> None:
    reference, current = calibrated_log(5, 4000), calibrated_log(6, 3000)
    result = estimate_performance(reference, current.drop(columns="label"), calibration="none")
    p = current["prediction"].to_numpy()
    assert result.calibrated is False
    assert result.accuracy.value == pytest.approx(np.maximum(p, 1 - p).mean(), abs=1e-12)


def test_estimated_accuracy_matches_the_analytic_expectation_within_its_interval() -> None:
    reference, current = calibrated_log(7, 5000), calibrated_log(8, 2000)
    result = estimate_performance(reference, current.drop(columns="label"), calibration="isotonic")
    p = current["prediction"].to_numpy()
    expected = float(np.maximum(p, 1 - p).mean())
    accuracy = result.accuracy
    assert result.calibrated is True
    assert accuracy.lower <= expected <= accuracy.upper
    # the realized accuracy of the same rows is in the interval too (it is about sampling error)
    realized = accuracy_score(current["label"].astype(int), (p >= 0.5).astype(int))
    assert accuracy.lower <= realized <= accuracy.upper
    # the standard error of accuracy is the reference's standard error of the mean for n rows
    ref_p = reference["prediction"].to_numpy()
    correct = ((ref_p >= 0.5) == reference["label"].astype(bool)).astype(float)
    assert accuracy.standard_error == pytest.approx(np.std(correct) / np.sqrt(2000))


def test_expected_roc_auc_is_the_pairwise_expectation() -> None:
    rng = np.random.default_rng(9)
    scores = np.round(rng.uniform(size=60), 1)  # many ties
    p = rng.uniform(size=60)
    # E[# pairs (positive i, negative j) with s_i > s_j, ties half] / (E[#positives] E[#negatives]),
    # the same-row pair included with its tie weight, as the expected curve counts it
    greater = (scores[:, None] > scores[None, :]) + 0.5 * (scores[:, None] == scores[None, :])
    brute = float((p[:, None] * (1 - p)[None, :] * greater).sum() / (p.sum() * (1 - p).sum()))
    assert expected_roc_auc(scores, p) == pytest.approx(brute, abs=1e-12)
    labels = (rng.uniform(size=60) < 0.5).astype(float)
    assert expected_roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


@pytest.mark.slow
def test_estimates_cover_the_realized_values_on_calibrated_windows() -> None:
    """Over 100 windows of 800 rows the 99% intervals hold the realized accuracy and ROC AUC >= 95% of the time."""
    estimator = CBPE(calibration="isotonic").fit(calibrated_log(10, 10000))
    hits = {"accuracy": 0, "roc_auc": 0}
    for seed in range(100):
        window = calibrated_log(1000 + seed, 800)
        result = estimator.estimate(window)
        realized = realized_metrics(window)
        for metric in hits:
            estimate = result.estimate(metric)
            hits[metric] += estimate.lower <= realized.value(metric) <= estimate.upper
    assert hits["accuracy"] >= 95 and hits["roc_auc"] >= 95, hits


def test_isotonic_calibration_repairs_distorted_scores() -> None:
    """Scores p**3 rank like p but are not probabilities: raw CBPE is off, calibrated CBPE is right."""
    reference, current = calibrated_log(11, 8000), calibrated_log(12, 3000)
    distort = {"prediction": lambda f: f["prediction"] ** 3}
    ref, cur = reference.assign(**distort), current.assign(**distort)
    realized = realized_metrics(cur)
    raw = estimate_performance(ref, cur, calibration="none")
    auto = estimate_performance(ref, cur, calibration="auto")
    assert auto.calibrated is True  # the ECE check chose calibration
    assert abs(raw.accuracy.value - realized.accuracy) > 0.05
    assert auto.accuracy.lower <= realized.accuracy <= auto.accuracy.upper
    assert auto.roc_auc.lower <= realized.roc_auc <= auto.roc_auc.upper
    assert auto.precision.lower <= realized.precision <= auto.precision.upper
    assert auto.recall.lower <= realized.recall <= auto.recall.upper
    assert auto.f1.lower <= realized.f1 <= auto.f1.upper


def test_covariate_shift_moves_the_estimate_with_the_realized_value() -> None:
    """Scores crowd around 0.5 (a harder population): accuracy falls, and CBPE sees it without labels."""
    reference = calibrated_log(13, 6000)
    shifted = calibrated_log(14, 3000, a=4.0, b=4.0)
    before = estimate_performance(reference, calibrated_log(15, 3000))
    after = estimate_performance(reference, shifted.drop(columns="label"))
    realized = realized_metrics(shifted)
    assert after.accuracy.value < before.accuracy.value - 0.1
    assert after.accuracy.lower <= realized.accuracy <= after.accuracy.upper
    assert after.roc_auc.lower <= realized.roc_auc <= after.roc_auc.upper


def test_requirement_verdicts_of_the_estimate() -> None:
    reference, current = calibrated_log(16, 4000), calibrated_log(17, 2000)
    low = estimate_performance(reference, current, requirement=PerformanceSpec(metric="roc_auc", min=0.5))
    high = estimate_performance(reference, current, requirement=PerformanceSpec(metric="roc_auc", min=0.99))
    assert low.verdict is Verdict.PASSED and ">= min 0.5" in low.reason
    assert (
        high.verdict is Verdict.FAILED and "estimated roc_auc" in high.reason and "< min 0.99" in high.reason
    )


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (pd.DataFrame({"other": [0.1] * 200}), "no prediction scores: the window has no column 'prediction'"),
        (
            pd.DataFrame({"prediction": [np.nan] * 200}),
            "no prediction scores: column 'prediction' of the window",
        ),
        (
            pd.DataFrame({"prediction": [0.2] * 198 + [1.3, -0.1]}),
            "scores outside [0, 1] in column 'prediction'",
        ),
        (pd.DataFrame({"prediction": [0.2] * 50}), "too few scored rows in the window: 50 < min_samples 100"),
    ],
)
def test_bad_windows_are_inconclusive_with_the_reason(current: pd.DataFrame, expected: str) -> None:
    result = estimate_performance(calibrated_log(18, 1000), current)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert expected in result.reason
    assert result.accuracy.value is None and expected in result.roc_auc.reason
    realized = realized_metrics(current.assign(label=1.0))
    assert realized.verdict is Verdict.INCONCLUSIVE and realized.accuracy is None


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            calibrated_log(19, 1000).assign(label=0.0),
            "reference labels have a single class (0) in column 'label'",
        ),
        (
            calibrated_log(20, 1000).assign(label=np.nan),
            "too few labelled reference rows: 0 < min_samples 100",
        ),
        (calibrated_log(21, 60), "too few labelled reference rows: 60 < min_samples 100"),
        (calibrated_log(22, 1000).assign(label=2.0), "labels in column 'label' of the reference must be 0/1"),
        (calibrated_log(23, 1000).drop(columns="label"), "no labels: the reference has no column 'label'"),
        (calibrated_log(24, 1000).assign(prediction=5.0), "scores outside [0, 1] in column 'prediction'"),
    ],
)
def test_bad_references_are_inconclusive_with_the_reason(reference: pd.DataFrame, expected: str) -> None:
    result = estimate_performance(reference, calibrated_log(25, 500))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert expected in result.reason


def test_too_few_labelled_rows_make_realized_metrics_inconclusive() -> None:
    frame = calibrated_log(26, 1000)
    frame.loc[frame.index[40:], "label"] = np.nan
    result = realized_metrics(frame, min_samples=100)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.reason == "too few labelled rows: 40 < min_samples 100 (labels arrive late)"
    assert result.n_labelled == 40 and result.labelled_fraction == 0.04


def test_bad_parameters_raise() -> None:
    for kwargs in ({"calibration": "platt"}, {"confidence": 1.0}, {"threshold": 0.0}, {"min_samples": 0}):
        with pytest.raises(ValueError):
            CBPE(**kwargs)


# ------------------------------------------------------------------------------------------------ report


def test_report_breached_by_realized_estimated_or_neither() -> None:
    reference = calibrated_log(27, 4000)
    window = calibrated_log(28, 2000)
    strict = PerformanceSpec(metric="accuracy", min=0.99)
    lenient = PerformanceSpec(metric="accuracy", min=0.5)

    unlabelled = window.assign(label=np.nan)
    report = performance_report(unlabelled, reference, requirement=strict)
    assert (report.verdict, report.breached_by) == (Verdict.FAILED, "estimated")
    assert report.value == report.estimated.accuracy.value

    only_realized = performance_report(
        unlabelled, reference, requirement=strict.model_copy(update={"use_estimate": False})
    )
    assert only_realized.verdict is Verdict.INCONCLUSIVE and "too few labelled rows" in only_realized.reason

    labelled = performance_report(window, reference, requirement=strict)
    assert (labelled.verdict, labelled.breached_by) == (Verdict.FAILED, "realized")
    assert labelled.value == labelled.realized.accuracy

    fine = performance_report(window, reference, requirement=lenient)
    assert fine.verdict is Verdict.PASSED and fine.breached_by is None


def test_a_fully_labelled_window_is_judged_on_its_realized_value() -> None:
    """A miscalibrated reference makes the estimate pessimistic; once every label is in, the realized value rules."""
    reference = calibrated_log(29, 4000)
    reference = reference.assign(label=(np.random.default_rng(0).uniform(size=4000) < 0.5).astype(float))
    window = calibrated_log(30, 2000)
    spec = PerformanceSpec(metric="accuracy", min=0.7)
    report = performance_report(window, reference, requirement=spec)
    assert report.estimated.verdict is Verdict.FAILED  # the noise reference says ~0.5
    assert report.realized.verdict is Verdict.PASSED and report.realized.labelled_fraction == 1.0
    assert report.verdict is Verdict.PASSED


# ------------------------------------------------------------------------------------------------ config

MODEL = """
models:
  - id: demo
    features: [{name: amount, kind: numeric}]
    window: {cadence: daily, start: 2026-10-01}
    data: {prediction_log: p, training_snapshot: t.parquet}
"""


def test_config_performance_defaults_and_values() -> None:
    from drift_sentinel.config import parse_config

    assert parse_config(MODEL).models[0].performance == PerformanceSpec(
        metric="roc_auc", min=0.85, use_estimate=True
    )
    spec = parse_config(
        MODEL + "    performance: {metric: accuracy, min: 0.9, use_estimate: false}\n"
    ).models[0]
    assert spec.performance == PerformanceSpec(metric="accuracy", min=0.9, use_estimate=False)


def test_config_rejects_an_unknown_metric_naming_field_and_line() -> None:
    from drift_sentinel.config import parse_config
    from drift_sentinel.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"line 7: models\.0\.performance\.metric: Input should be 'accuracy'"
    ):
        parse_config(MODEL + "    performance: {metric: mcc, min: 0.9}\n")


def test_a_served_decision_column_replaces_the_threshold() -> None:
    """A model that decides at 0.65 and serves that decision: realized and estimated metrics use it."""
    reference, current = calibrated_log(31, 5000), calibrated_log(32, 3000)
    for frame in (reference, current):
        frame["decision"] = (frame["prediction"] >= 0.65).astype(float)
    realized = realized_metrics(current, predicted_column="decision")
    assert realized.accuracy == accuracy_score(current["label"].astype(int), current["decision"].astype(int))
    assert realized.precision == precision_score(
        current["label"].astype(int), current["decision"].astype(int)
    )
    estimated = estimate_performance(reference, current, predicted_column="decision", calibration="none")
    p = current["prediction"].to_numpy()
    assert estimated.accuracy.value == pytest.approx(np.where(p >= 0.65, p, 1 - p).mean(), abs=1e-12)
    bad = estimate_performance(reference, current.assign(decision=0.5), predicted_column="decision")
    assert bad.verdict is Verdict.INCONCLUSIVE
    assert "predicted classes in column 'decision' of the window must be 0/1" in bad.reason


@pytest.mark.slow
@pytest.mark.parametrize("shape", [0.6, 4.0])
def test_roc_auc_standard_error_matches_the_spread_of_realized_auc(shape: float) -> None:
    """DeLong's variance under the window's probabilities vs the spread of realized ROC AUC over 200 windows."""
    realized = [
        roc_auc_score(w["label"], w["prediction"])
        for w in (calibrated_log(2000 + seed, 2000, a=shape, b=shape) for seed in range(200))
    ]
    p = calibrated_log(1, 2000, a=shape, b=shape)["prediction"].to_numpy()
    assert expected_auc_standard_error(p, p) == pytest.approx(np.std(realized), rel=0.15)

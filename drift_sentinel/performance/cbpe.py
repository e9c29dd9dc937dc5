"""Confidence-based performance estimation (CBPE): a classifier's performance on a window before its labels arrive.

The method is NannyML's CBPE (Białek et al., NannyML documentation, "Estimation of Performance of the Monitored
Model"; calibration as in Zadrozny & Elkan 2002, "Transforming classifier scores into accurate multiclass
probability estimates"):

1. **Calibrate** the scores on a labelled reference (a period the model was *not* trained on) with isotonic
   regression. With ``calibration="auto"`` (the default, as NannyML does) the reference is split three times
   (stratified, 70/30) and calibration is kept only when the isotonic map lowers the mean expected calibration
   error on the held-out parts; otherwise the raw scores are taken as probabilities.
2. **Expected confusion matrix.** For a window of ``n`` rows with calibrated probabilities ``p`` and predicted
   classes ``ŷ`` (``score >= threshold``, or the model's served decision): ``TP = Σ p·ŷ``,
   ``FP = Σ (1-p)·ŷ``, ``FN = Σ p·(1-ŷ)``, ``TN = Σ (1-p)·(1-ŷ)``; accuracy, precision, recall and F1 are
   computed from these expectations.
3. **ROC AUC** from the expected TPR and FPR at every distinct *raw* score threshold
   (``TPR(t) = Σ_{s>=t} p / Σ p``, ``FPR(t) = Σ_{s>=t} (1-p) / Σ (1-p)``), integrated by the trapezoid rule —
   the expectation of the curve the realized ROC AUC traces on the same scores (ties count half). NannyML
   thresholds on the calibrated probabilities instead, which merges the flat steps of the isotonic map into ties.
4. **Confidence interval from the reference's sampling error** (NannyML's standard-error approach): each
   confusion-matrix metric is a ratio of row means ``Σa/Σb`` (accuracy: correct/1; precision: TP/ŷ; recall: TP/y;
   F1: 2TP/(ŷ+y)); its standard error for a window of ``n`` rows is the ratio estimator's
   ``sd(a - R·b) / (mean(b)·√n)`` over the reference rows (for accuracy exactly the standard error of the mean).
   ROC AUC uses DeLong et al. (1988)'s variance taken under the window's calibrated probabilities
   (:func:`expected_auc_standard_error`): a variance read off the reference would not follow a shift of the
   score distribution, and ROC AUC's sampling error depends on it strongly. The interval is ``estimate ± z·SE``
   for the two-sided ``confidence`` level, clipped to [0, 1]; it says how far the realized value may fall from
   the estimate by sampling alone.

Assumptions (NannyML's): the calibrated scores stay calibrated on the window — covariate shift is fine, concept
drift (P(y|x) changes) is not detectable without labels, and the realized metrics are the check for it.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(7)
>>> def window(n):
...     p = rng.beta(0.5, 0.5, size=n)
...     return pd.DataFrame({"prediction": p, "label": (rng.uniform(size=n) < p).astype(float)})
>>> reference, current = window(5000), window(2000)
>>> result = estimate_performance(reference, current.drop(columns="label"))
>>> result.verdict.value, result.n_rows
('PASSED', 2000)
>>> acc = result.accuracy
>>> expected = float(np.maximum(current.prediction, 1 - current.prediction).mean())
>>> bool(acc.lower <= expected <= acc.upper), round(acc.value, 2), round(expected, 2)
(True, 0.82, 0.82)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from drift_sentinel.performance._inputs import labels_of, predicted_of, scores_of
from drift_sentinel.performance.realized import expected_calibration_error, judge
from drift_sentinel.performance.spec import ESTIMABLE_METRICS, PerformanceSpec
from drift_sentinel.verdict import Verdict

Calibration = Literal["auto", "isotonic", "none"]


@dataclass(frozen=True)
class MetricEstimate:
    """One estimated metric: the value, its standard error and interval, and the reference's realized value.

    ``value`` is ``None`` when the metric is undefined on the window (``reason`` says why).
    """

    metric: str
    value: float | None
    standard_error: float | None
    lower: float | None
    upper: float | None
    reference_value: float | None
    reason: str = ""


@dataclass(frozen=True)
class EstimatedPerformance:
    """CBPE estimates for one window (see the module docstring for the method).

    ``verdict`` is INCONCLUSIVE with ``reason`` when nothing could be estimated (no scores, scores outside
    [0, 1], a single class or too few labelled rows in the reference, too few scored rows in the window);
    otherwise FAILED when the ``requirement``'s metric is estimated below its minimum, else PASSED.
    """

    accuracy: MetricEstimate
    precision: MetricEstimate
    recall: MetricEstimate
    f1: MetricEstimate
    roc_auc: MetricEstimate
    n_rows: int
    n_missing_scores: int
    n_reference: int
    calibrated: bool
    threshold: float
    confidence: float
    min_samples: int
    verdict: Verdict
    reason: str
    method: str = "CBPE"

    def value(self, metric: str) -> float | None:
        """The estimate of ``metric`` (a name in :data:`ESTIMABLE_METRICS`)."""
        return self.estimate(metric).value

    def estimate(self, metric: str) -> MetricEstimate:
        if metric not in ESTIMABLE_METRICS:
            raise KeyError(f"unknown metric {metric!r}; accepted: {', '.join(ESTIMABLE_METRICS)}")
        return getattr(self, metric)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


def _undefined(metric: str, reason: str) -> MetricEstimate:
    return MetricEstimate(metric, None, None, None, None, None, reason)


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2.0))


def expected_roc_auc(scores: np.ndarray, probabilities: np.ndarray) -> float | None:
    """ROC AUC expected when each row is positive with ``probabilities`` and ranked by ``scores``.

    The trapezoid area under the expected (FPR, TPR) points at every distinct score threshold; ``None`` when
    the expected positives or negatives are zero.

    >>> expected_roc_auc(np.array([0.9, 0.1]), np.array([1.0, 0.0]))
    1.0
    >>> expected_roc_auc(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    0.5
    """
    positives = float(probabilities.sum())
    negatives = float(len(probabilities) - positives)
    if positives <= 0.0 or negatives <= 0.0:
        return None
    order = np.argsort(-scores, kind="mergesort")
    s, p = scores[order], probabilities[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last row of each group of equal scores
    tpr = np.r_[0.0, np.cumsum(p)[ends] / positives]
    fpr = np.r_[0.0, np.cumsum(1.0 - p)[ends] / negatives]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def _ratio_se(a: np.ndarray, b: np.ndarray, n: int) -> float | None:
    """Standard error of ``Σa/Σb`` over ``n`` rows drawn like the reference rows ``a``, ``b``."""
    mean_b = float(b.mean()) if len(b) else 0.0
    if mean_b <= 0.0 or n <= 0:
        return None
    ratio = float(a.sum() / b.sum())
    return float(np.std(a - ratio * b) / (mean_b * np.sqrt(n)))


def expected_auc_standard_error(scores: np.ndarray, probabilities: np.ndarray) -> float | None:
    """DeLong et al. (1988)'s standard error of ROC AUC, with each row positive with ``probabilities``.

    Placement values (per positive: the share of negatives ranked below it; per negative: the share of positives
    ranked above it; ties half) are taken in expectation, and their variances are weighted by ``p`` and ``1-p``:
    ``SE² = var(V10)/n₁ + var(V01)/n₀`` with the expected class counts ``n₁ = Σp``, ``n₀ = Σ(1-p)``.

    >>> round(expected_auc_standard_error(np.linspace(0, 1, 1000), np.linspace(0, 1, 1000)), 4)
    0.0125
    """
    order = np.argsort(scores, kind="mergesort")
    s, p = scores[order], probabilities[order]
    positives, negatives = float(p.sum()), float((1.0 - p).sum())
    if positives <= 0.0 or negatives <= 0.0:
        return None
    starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(s)]))
    negative_in, positive_in = np.bincount(group, weights=1.0 - p), np.bincount(group, weights=p)
    negatives_below = np.r_[0.0, np.cumsum(negative_in)[:-1]] + 0.5 * negative_in
    positives_above = positives - np.cumsum(positive_in) + 0.5 * positive_in
    v10, v01 = negatives_below[group] / negatives, positives_above[group] / positives
    var10 = np.average((v10 - np.average(v10, weights=p)) ** 2, weights=p)
    var01 = np.average((v01 - np.average(v01, weights=1.0 - p)) ** 2, weights=1.0 - p)
    return float(np.sqrt(var10 / positives + var01 / negatives))


@dataclass(frozen=True)
class _Reference:
    """What the reference contributes: the calibration map and the per-row components of the standard errors."""

    calibrate: Callable[[np.ndarray], np.ndarray]
    calibrated: bool
    n: int
    components: dict[str, tuple[np.ndarray, np.ndarray]]
    realized: dict[str, float | None]


def _identity(values: np.ndarray) -> np.ndarray:
    return values


def _isotonic(scores: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
    return lambda values: np.asarray(model.predict(values), dtype=float)


def _calibration_helps(scores: np.ndarray, labels: np.ndarray, seed: int) -> bool:
    """NannyML's check: does isotonic calibration lower the mean ECE on three stratified held-out splits?"""
    from sklearn.model_selection import StratifiedShuffleSplit

    raw, calibrated = [], []
    splits = StratifiedShuffleSplit(n_splits=3, test_size=0.3, random_state=seed)
    for train, test in splits.split(scores.reshape(-1, 1), labels):
        mapped = _isotonic(scores[train], labels[train])(scores[test])
        raw.append(expected_calibration_error(labels[test], scores[test]))
        calibrated.append(expected_calibration_error(labels[test], mapped))
    return float(np.mean(calibrated)) < float(np.mean(raw))


class CBPE:
    """Fit on a labelled reference once, then estimate any number of windows.

    ``CBPE(...).fit(reference).estimate(current)`` is :func:`estimate_performance`; a reference that cannot be
    used (see :class:`EstimatedPerformance`) makes every estimate INCONCLUSIVE with the reason, it never raises.

    Parameters
    ----------
    score_column, label_column
        Probability of the positive class; 0/1 label (NaN rows of the reference are skipped).
    threshold
        Decision threshold of the monitored model: the predicted class is ``score >= threshold``.
    predicted_column
        The model's served class decision (0/1), when it has one; it replaces ``threshold``.
    calibration
        ``"auto"`` (isotonic only where it helps on held-out splits, as NannyML), ``"isotonic"`` or ``"none"``.
    confidence
        Two-sided level of the intervals (0.99: ±2.58 standard errors).
    min_samples
        Fewest labelled reference rows, and fewest scored window rows, to estimate.
    seed
        Seed of the calibration check's splits.
    """

    def __init__(
        self,
        *,
        score_column: str = "prediction",
        label_column: str = "label",
        threshold: float = 0.5,
        predicted_column: str | None = None,
        calibration: Calibration = "auto",
        confidence: float = 0.99,
        min_samples: int = 100,
        seed: int = 0,
    ) -> None:
        if calibration not in ("auto", "isotonic", "none"):
            raise ValueError(f"calibration must be 'auto', 'isotonic' or 'none', got {calibration!r}")
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
        if min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, got {min_samples!r}")
        self.score_column, self.label_column = score_column, label_column
        self.threshold, self.calibration = threshold, calibration
        self.predicted_column = predicted_column
        self.confidence, self.min_samples, self.seed = confidence, min_samples, seed
        self._reference: _Reference | None = None
        self._problem = "not fitted: call fit(reference) first"

    def fit(self, reference: pd.DataFrame) -> CBPE:
        """Learn the calibration and the standard-error components from the labelled rows of ``reference``."""
        self._reference, self._problem = None, ""
        scores, problem = scores_of(reference, self.score_column, "the reference")
        labels, label_problem = labels_of(reference, self.label_column, "the reference")
        if scores is None or labels is None:
            self._problem = problem or label_problem
            return self
        decided, problem = predicted_of(
            reference, scores, threshold=self.threshold, column=self.predicted_column, what="the reference"
        )
        if decided is None:
            self._problem = problem
            return self
        keep = ~np.isnan(scores) & ~np.isnan(labels)
        s, y = scores[keep], labels[keep].astype(int)
        if len(y) < self.min_samples:
            self._problem = f"too few labelled reference rows: {len(y)} < min_samples {self.min_samples}"
            return self
        if len(np.unique(y)) < 2:
            self._problem = (
                f"reference labels have a single class ({y[0]}) in column {self.label_column!r}: "
                "calibration needs both"
            )
            return self
        use = self.calibration == "isotonic" or (
            self.calibration == "auto" and _calibration_helps(s, y, self.seed)
        )
        predicted = decided[keep]
        tp = predicted * y
        components = {
            "accuracy": ((predicted == y).astype(float), np.ones(len(y))),
            "precision": (tp, predicted),
            "recall": (tp, y.astype(float)),
            "f1": (2.0 * tp, predicted + y),
        }
        realized = {
            name: (float(a.sum() / b.sum()) if b.sum() > 0 else None) for name, (a, b) in components.items()
        }
        realized["roc_auc"] = expected_roc_auc(s, y.astype(float))
        self._reference = _Reference(
            calibrate=_isotonic(s, y) if use else _identity,
            calibrated=use,
            n=len(y),
            components=components,
            realized=realized,
        )
        return self

    def estimate(
        self, current: pd.DataFrame, *, requirement: PerformanceSpec | None = None
    ) -> EstimatedPerformance:
        """CBPE estimates for ``current`` (its labels, if any, are not used)."""
        ref = self._reference
        n_all = len(current)
        if ref is None:
            return self._inconclusive(n_all, 0, 0, self._problem)
        scores, problem = scores_of(current, self.score_column, "the window")
        if scores is None:
            return self._inconclusive(n_all, n_all, ref.n, problem)
        decided, problem = predicted_of(
            current, scores, threshold=self.threshold, column=self.predicted_column, what="the window"
        )
        if decided is None:
            return self._inconclusive(n_all, 0, ref.n, problem)
        s, predicted = scores[~np.isnan(scores)], decided[~np.isnan(scores)]
        n, missing = len(s), n_all - len(s)
        if n < self.min_samples:
            return self._inconclusive(
                n, missing, ref.n, f"too few scored rows in the window: {n} < min_samples {self.min_samples}"
            )
        p = np.clip(ref.calibrate(s), 0.0, 1.0)
        tp, fp = float(np.sum(p * predicted)), float(np.sum((1 - p) * predicted))
        fn, tn = float(np.sum(p * (1 - predicted))), float(np.sum((1 - p) * (1 - predicted)))
        z = _z(self.confidence)
        no_predicted = "no row predicted positive"
        values: dict[str, tuple[float | None, str]] = {
            "accuracy": ((tp + tn) / n, ""),
            "precision": (tp / (tp + fp), "") if tp + fp > 0 else (None, no_predicted),
            "recall": (tp / (tp + fn), "")
            if tp + fn > 0
            else (None, "no expected positive: all probabilities 0"),
            "f1": (2 * tp / (2 * tp + fp + fn), "") if 2 * tp + fp + fn > 0 else (None, "no positive at all"),
        }
        auc = expected_roc_auc(s, p)
        values["roc_auc"] = (
            (auc, "") if auc is not None else (None, "calibrated probabilities are all 0 or all 1")
        )
        standard_errors = {name: _ratio_se(a, b, n) for name, (a, b) in ref.components.items()}
        standard_errors["roc_auc"] = expected_auc_standard_error(s, p)
        estimates = {}
        for name, (value, reason) in values.items():
            se = standard_errors[name]
            if value is None:
                estimates[name] = _undefined(name, reason)
                continue
            lower = max(0.0, value - z * se) if se is not None else None
            upper = min(1.0, value + z * se) if se is not None else None
            estimates[name] = MetricEstimate(name, value, se, lower, upper, ref.realized.get(name), reason)
        verdict, reason = Verdict.PASSED, f"estimated on {n} rows from a reference of {ref.n} labelled rows"
        if requirement is not None:
            target = estimates[requirement.metric]
            verdict, reason = judge(
                target.value, requirement, {requirement.metric: target.reason}, "estimated"
            )
        return EstimatedPerformance(
            accuracy=estimates["accuracy"],
            precision=estimates["precision"],
            recall=estimates["recall"],
            f1=estimates["f1"],
            roc_auc=estimates["roc_auc"],
            n_rows=n,
            n_missing_scores=missing,
            n_reference=ref.n,
            calibrated=ref.calibrated,
            threshold=self.threshold,
            confidence=self.confidence,
            min_samples=self.min_samples,
            verdict=verdict,
            reason=reason,
        )

    def _inconclusive(self, n: int, missing: int, n_reference: int, reason: str) -> EstimatedPerformance:
        undefined = {name: _undefined(name, reason) for name in ESTIMABLE_METRICS}
        return EstimatedPerformance(
            accuracy=undefined["accuracy"],
            precision=undefined["precision"],
            recall=undefined["recall"],
            f1=undefined["f1"],
            roc_auc=undefined["roc_auc"],
            n_rows=n,
            n_missing_scores=missing,
            n_reference=n_reference,
            calibrated=False,
            threshold=self.threshold,
            confidence=self.confidence,
            min_samples=self.min_samples,
            verdict=Verdict.INCONCLUSIVE,
            reason=reason,
        )


def estimate_performance(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    score_column: str = "prediction",
    label_column: str = "label",
    threshold: float = 0.5,
    predicted_column: str | None = None,
    calibration: Calibration = "auto",
    confidence: float = 0.99,
    min_samples: int = 100,
    requirement: PerformanceSpec | None = None,
    seed: int = 0,
) -> EstimatedPerformance:
    """CBPE estimates of accuracy, precision, recall, F1 and ROC AUC on ``current`` from its scores alone.

    ``reference`` is a labelled window of the same model's scores (not its training data: a calibration fitted
    on training scores is biased); see :class:`CBPE` for the parameters and the module docstring for the
    method. Bad input never raises: the result is INCONCLUSIVE and ``reason`` names the column and the problem.
    """
    estimator = CBPE(
        score_column=score_column,
        label_column=label_column,
        threshold=threshold,
        predicted_column=predicted_column,
        calibration=calibration,
        confidence=confidence,
        min_samples=min_samples,
        seed=seed,
    )
    return estimator.fit(reference).estimate(current, requirement=requirement)

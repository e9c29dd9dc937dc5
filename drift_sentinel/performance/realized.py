"""Realized performance: the metrics of the rows whose labels have arrived.

Labels arrive late (the demo's fraud labels come ~36 h after the prediction), so a window is scored on its
labelled rows only and reports the labelled fraction next to the metrics. The values are scikit-learn's
(accuracy, precision, recall, F1 at the decision threshold; ROC AUC and log loss on the scores) plus the expected
calibration error of the scores (Naeini, Cooper & Hauskrecht 2015, "Obtaining well calibrated probabilities using
Bayesian binning"; equal-width bins as in Guo et al. 2017).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> p = rng.uniform(size=400)
>>> frame = pd.DataFrame({"prediction": p, "label": (rng.uniform(size=400) < p).astype(float)})
>>> frame.loc[300:, "label"] = np.nan  # the last 100 labels have not arrived
>>> result = realized_metrics(frame, min_samples=100)
>>> result.verdict.value, result.n_labelled, result.labelled_fraction
('PASSED', 300, 0.75)
>>> round(result.accuracy, 3), round(result.roc_auc, 3)
(0.75, 0.834)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.performance._inputs import labels_of, predicted_of, scores_of
from drift_sentinel.performance.spec import PerformanceSpec
from drift_sentinel.verdict import Verdict

REALIZED_METRICS: tuple[str, ...] = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "calibration_error",
)


@dataclass(frozen=True)
class RealizedPerformance:
    """Metrics of one window's labelled rows.

    A metric is ``None`` when it is undefined on these rows (``reasons`` says why: one class only, no
    predicted positive). ``verdict`` is INCONCLUSIVE with ``reason`` when the window cannot be scored at all
    (no scores, scores outside [0, 1], fewer labelled rows than ``min_samples``); otherwise FAILED when the
    ``requirement``'s metric is below its minimum, else PASSED.
    """

    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    roc_auc: float | None
    log_loss: float | None
    calibration_error: float | None
    n_rows: int
    n_labelled: int
    labelled_fraction: float
    threshold: float
    min_samples: int
    verdict: Verdict
    reason: str
    reasons: dict[str, str]
    method: str = "realized"

    def value(self, metric: str) -> float | None:
        """The value of ``metric`` (a name in :data:`REALIZED_METRICS`)."""
        if metric not in REALIZED_METRICS:
            raise KeyError(f"unknown metric {metric!r}; accepted: {', '.join(REALIZED_METRICS)}")
        return getattr(self, metric)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error: the row-weighted mean |mean label - mean score| over equal-width score bins.

    >>> expected_calibration_error(np.array([0.0, 1.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0, 1.0]))
    0.0
    >>> expected_calibration_error(np.array([0.0, 1.0]), np.array([0.5, 0.5]))
    0.0
    >>> expected_calibration_error(np.array([0.0, 0.0]), np.array([0.95, 0.95]))
    0.95
    """
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if len(labels) == 0:
        return float("nan")
    index = np.minimum((scores * bins).astype(int), bins - 1)
    gap = np.bincount(index, weights=labels - scores, minlength=bins)
    return float(np.abs(gap).sum() / len(labels))


def _inconclusive(
    n_rows: int, n_labelled: int, threshold: float, min_samples: int, reason: str
) -> RealizedPerformance:
    return RealizedPerformance(
        accuracy=None,
        precision=None,
        recall=None,
        f1=None,
        roc_auc=None,
        log_loss=None,
        calibration_error=None,
        n_rows=n_rows,
        n_labelled=n_labelled,
        labelled_fraction=n_labelled / n_rows if n_rows else 0.0,
        threshold=threshold,
        min_samples=min_samples,
        verdict=Verdict.INCONCLUSIVE,
        reason=reason,
        reasons={},
    )


def realized_metrics(
    frame: pd.DataFrame,
    *,
    score_column: str = "prediction",
    label_column: str | None = "label",
    threshold: float = 0.5,
    predicted_column: str | None = None,
    min_samples: int = 100,
    requirement: PerformanceSpec | None = None,
) -> RealizedPerformance:
    """Accuracy, precision, recall, F1, ROC AUC, log loss and calibration error of the labelled rows of ``frame``.

    Parameters
    ----------
    frame
        One window of the prediction log: a score column (probability of the positive class) and a label
        column (0/1; NaN while the label has not arrived).
    score_column, label_column
        The columns.
    threshold
        Decision threshold: the predicted class is ``score >= threshold``.
    predicted_column
        The model's served class decision (0/1), when it has one; it replaces ``threshold``.
    min_samples
        Fewest labelled rows to score; fewer gives an INCONCLUSIVE result saying so.
    requirement
        Optional minimum for one metric: FAILED when it is below.

    Returns
    -------
    RealizedPerformance
        Never raises on bad data: the verdict is INCONCLUSIVE and ``reason`` names the column and the problem.
    """
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    n_rows = len(frame)
    scores, problem = scores_of(frame, score_column, "the window")
    if scores is None:
        return _inconclusive(n_rows, 0, threshold, min_samples, problem)
    labels, problem = labels_of(frame, label_column, "the window")
    if labels is None:
        return _inconclusive(n_rows, 0, threshold, min_samples, problem)
    decided, problem = predicted_of(
        frame, scores, threshold=threshold, column=predicted_column, what="the window"
    )
    if decided is None:
        return _inconclusive(n_rows, 0, threshold, min_samples, problem)
    keep = ~np.isnan(labels) & ~np.isnan(scores)
    y, s = labels[keep].astype(int), scores[keep]
    n_labelled = int(keep.sum())
    if n_labelled < min_samples:
        return _inconclusive(
            n_rows,
            n_labelled,
            threshold,
            min_samples,
            f"too few labelled rows: {n_labelled} < min_samples {min_samples} (labels arrive late)",
        )
    predicted = decided[keep].astype(int)
    reasons: dict[str, str] = {}
    single = len(np.unique(y)) < 2
    if single:
        reasons["roc_auc"] = f"labelled rows have a single class ({int(y[0])}) in column {label_column!r}"
    if predicted.sum() == 0:
        reasons["precision"] = "no row predicted positive"
    if y.sum() == 0:
        reasons["recall"] = f"no positive label among {n_labelled} labelled rows"
    if predicted.sum() == 0 and y.sum() == 0:
        reasons["f1"] = "no positive label and no positive prediction"
    values = {
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": None
        if "precision" in reasons
        else float(precision_score(y, predicted, zero_division=0)),
        "recall": None if "recall" in reasons else float(recall_score(y, predicted, zero_division=0)),
        "f1": None if "f1" in reasons else float(f1_score(y, predicted, zero_division=0)),
        "roc_auc": None if single else float(roc_auc_score(y, s)),
        "log_loss": float(log_loss(y, s, labels=[0, 1])),
        "calibration_error": expected_calibration_error(y, s),
    }
    verdict, reason = Verdict.PASSED, f"{n_labelled} labelled rows of {n_rows}"
    if requirement is not None:
        verdict, reason = judge(values.get(requirement.metric), requirement, reasons, "realized")
    return RealizedPerformance(
        accuracy=values["accuracy"],
        precision=values["precision"],
        recall=values["recall"],
        f1=values["f1"],
        roc_auc=values["roc_auc"],
        log_loss=values["log_loss"],
        calibration_error=values["calibration_error"],
        n_rows=n_rows,
        n_labelled=n_labelled,
        labelled_fraction=n_labelled / n_rows if n_rows else 0.0,
        threshold=threshold,
        min_samples=min_samples,
        verdict=verdict,
        reason=reason,
        reasons=reasons,
    )


def judge(
    value: float | None, requirement: PerformanceSpec, reasons: dict[str, str], source: str
) -> tuple[Verdict, str]:
    """PASSED/FAILED for ``value`` against the requirement's minimum; INCONCLUSIVE when there is no value.

    >>> judge(0.8, PerformanceSpec(metric="roc_auc", min=0.85), {}, "estimated")
    (<Verdict.FAILED: 'FAILED'>, 'estimated roc_auc 0.8 < min 0.85')
    """
    metric = requirement.metric
    if value is None:
        return Verdict.INCONCLUSIVE, f"{source} {metric} undefined: {reasons.get(metric, 'not computed')}"
    if value < requirement.min:
        return Verdict.FAILED, f"{source} {metric} {value:.4g} < min {requirement.min:g}"
    return Verdict.PASSED, f"{source} {metric} {value:.4g} >= min {requirement.min:g}"

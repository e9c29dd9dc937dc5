"""Model performance per window: realized when labels arrive, estimated (CBPE) before they do.

- :func:`realized_metrics`: accuracy, precision, recall, F1, ROC AUC, log loss and calibration error of the
  labelled rows, with the labelled fraction.
- :func:`estimate_performance` / :class:`CBPE`: confidence-based performance estimation (NannyML's method) from
  the scores alone, with intervals from the reference's sampling error.
- :func:`performance_report`: both, judged against the model's :class:`PerformanceSpec`.

scikit-learn and scipy load on first use, so importing this package (as the config does) stays cheap.
"""

from drift_sentinel.performance.cbpe import (
    CBPE,
    EstimatedPerformance,
    MetricEstimate,
    estimate_performance,
    expected_auc_standard_error,
    expected_roc_auc,
)
from drift_sentinel.performance.realized import (
    REALIZED_METRICS,
    RealizedPerformance,
    expected_calibration_error,
    realized_metrics,
)
from drift_sentinel.performance.reference import calibration_reference
from drift_sentinel.performance.report import PerformanceReport, judge_report, performance_report
from drift_sentinel.performance.spec import ESTIMABLE_METRICS, PerformanceSpec

__all__ = [
    "CBPE",
    "ESTIMABLE_METRICS",
    "REALIZED_METRICS",
    "EstimatedPerformance",
    "MetricEstimate",
    "PerformanceReport",
    "PerformanceSpec",
    "RealizedPerformance",
    "calibration_reference",
    "estimate_performance",
    "expected_auc_standard_error",
    "expected_calibration_error",
    "expected_roc_auc",
    "judge_report",
    "performance_report",
    "realized_metrics",
]

"""Model performance per window: realized when labels arrive, estimated (CBPE) before they do.

- :func:`realized_metrics`: accuracy, precision, recall, F1, ROC AUC, log loss and calibration error of the
  labelled rows, with the labelled fraction.
- :func:`estimate_performance` / :class:`CBPE`: confidence-based performance estimation (NannyML's method) from
  the scores alone, with intervals from the reference's sampling error.
- :func:`performance_report`: both, judged against the model's :class:`PerformanceSpec`.

Names load on first use (and scikit-learn and scipy with them), so importing this package (as the config
does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from drift_sentinel.performance.spec import ESTIMABLE_METRICS, PerformanceSpec

if TYPE_CHECKING:
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

# Names are imported on first use (PEP 562): the model config needs only the spec, not pandas and numpy.
_LAZY: dict[str, str] = {
    "CBPE": "cbpe",
    "EstimatedPerformance": "cbpe",
    "MetricEstimate": "cbpe",
    "estimate_performance": "cbpe",
    "expected_auc_standard_error": "cbpe",
    "expected_roc_auc": "cbpe",
    "REALIZED_METRICS": "realized",
    "RealizedPerformance": "realized",
    "expected_calibration_error": "realized",
    "realized_metrics": "realized",
    "calibration_reference": "reference",
    "PerformanceReport": "report",
    "judge_report": "report",
    "performance_report": "report",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drift_sentinel.performance' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"drift_sentinel.performance.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

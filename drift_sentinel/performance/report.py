"""One window's performance report: realized and estimated metrics judged against the model's requirement.

A breach is a realized value below the minimum, or (with ``use_estimate``) an estimate below it; a window whose
labels have all arrived is judged on its realized value alone (the estimate is then moot).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> p = rng.beta(0.5, 0.5, size=3000)
>>> log = pd.DataFrame({"prediction": p, "label": (rng.uniform(size=3000) < p).astype(float)})
>>> reference, current = log.iloc[:2000], log.iloc[2000:].assign(label=np.nan)  # no label yet
>>> report = performance_report(current, reference, requirement=PerformanceSpec(metric="accuracy", min=0.9))
>>> report.verdict.value, report.breached_by, report.realized.verdict.value
('FAILED', 'estimated', 'INCONCLUSIVE')
>>> report.reason.startswith("estimated accuracy 0.8")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from drift_sentinel.performance.cbpe import CBPE, EstimatedPerformance
from drift_sentinel.performance.realized import RealizedPerformance, realized_metrics
from drift_sentinel.performance.spec import PerformanceSpec
from drift_sentinel.verdict import Verdict


@dataclass(frozen=True)
class PerformanceReport:
    """Realized and estimated performance of one window and the verdict against ``requirement``.

    ``breached_by`` is ``"realized"`` or ``"estimated"`` when the verdict is FAILED, else ``None``.
    """

    realized: RealizedPerformance
    estimated: EstimatedPerformance
    requirement: PerformanceSpec
    verdict: Verdict
    reason: str
    breached_by: str | None

    @property
    def value(self) -> float | None:
        """The requirement's metric as judged: realized when it failed or is all there is, else the estimate."""
        metric = self.requirement.metric
        if self.breached_by == "estimated":
            return self.estimated.value(metric)
        realized = self.realized.value(metric)
        return realized if realized is not None else self.estimated.value(metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "breached_by": self.breached_by,
            "requirement": self.requirement.model_dump(),
            "realized": self.realized.to_dict(),
            "estimated": self.estimated.to_dict(),
        }


def judge_report(
    realized: RealizedPerformance, estimated: EstimatedPerformance, requirement: PerformanceSpec
) -> tuple[Verdict, str, str | None]:
    """Verdict, reason and breach source from the two results already judged against ``requirement``.

    FAILED when the realized value breaches, or the estimate does (``use_estimate``) while labels are still
    missing; PASSED when either source is conclusive and none breaches; INCONCLUSIVE otherwise, with both reasons.
    """
    if realized.verdict is Verdict.FAILED:
        return Verdict.FAILED, realized.reason, "realized"
    complete = realized.verdict is Verdict.PASSED and realized.labelled_fraction >= 1.0
    if requirement.use_estimate and not complete and estimated.verdict is Verdict.FAILED:
        return Verdict.FAILED, estimated.reason, "estimated"
    conclusive = [r for r in (realized, estimated) if r.verdict is Verdict.PASSED]
    if not requirement.use_estimate:
        conclusive = [r for r in conclusive if r is realized]
    if conclusive:
        return Verdict.PASSED, "; ".join(r.reason for r in conclusive), None
    reasons = [f"realized: {realized.reason}"]
    if requirement.use_estimate:
        reasons.append(f"estimated: {estimated.reason}")
    return Verdict.INCONCLUSIVE, "; ".join(reasons), None


def performance_report(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    requirement: PerformanceSpec | None = None,
    score_column: str = "prediction",
    label_column: str | None = "label",
    threshold: float = 0.5,
    estimator: CBPE | None = None,
) -> PerformanceReport:
    """Realized metrics of ``current``'s labelled rows, CBPE estimates for all its rows, and the verdict.

    ``estimator`` is a CBPE already fitted on ``reference`` (reuse it across windows); otherwise one is fitted
    here. Never raises on bad data (see :func:`~drift_sentinel.performance.realized_metrics` and
    :func:`~drift_sentinel.performance.estimate_performance`).
    """
    requirement = requirement or PerformanceSpec()
    realized = realized_metrics(
        current,
        score_column=score_column,
        label_column=label_column,
        threshold=threshold,
        min_samples=requirement.min_samples,
        requirement=requirement,
    )
    if estimator is None:
        estimator = CBPE(
            score_column=score_column,
            label_column=label_column or "label",
            threshold=threshold,
            min_samples=requirement.min_samples,
        ).fit(reference)
    estimated = estimator.estimate(current, requirement=requirement)
    verdict, reason, breached_by = judge_report(realized, estimated, requirement)
    return PerformanceReport(realized, estimated, requirement, verdict, reason, breached_by)

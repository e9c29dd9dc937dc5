"""Performance in the loop: a breach opens an incident, the RCA cites it, the action follows the policy.

A window whose :class:`~drift_sentinel.performance.PerformanceReport` is FAILED (realized or, with
``use_estimate``, estimated metric below the model's minimum) belongs to an incident under the same rule as drift
(:func:`drift_sentinel.incidents.assign_incident`: it continues the previous window's incident, else opens one named
for this window). The report is evidence for the RCA (:func:`apply_performance`): one line in the root cause's
evidence, and — when the analysis finds no cause of its own in the data (``unknown``) or names concept drift —
the recommended action follows :func:`performance_action`: retrain when enough labels have arrived to retrain on,
otherwise notify the owners (an estimate alone never retrains a model).

>>> evidence = PerformanceEvidence("accuracy", 0.78, 0.85, "realized", "FAILED", 402, 1.0)
>>> evidence.describe()
'realized accuracy 0.78 < min 0.85 (402 labelled rows, 100% of the window)'
>>> performance_action(evidence, min_labels=200)[0]
'retrain_model'
>>> performance_incident("m", "2026-10-10", evidence, previous=None)
'inc-m-20261010-e9a0c519'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from drift_sentinel.analysis.rca import RcaReport, Recommendation
from drift_sentinel.incidents import assign_incident
from drift_sentinel.performance.report import PerformanceReport

# root causes whose action a performance breach decides: the analysis found nothing in the data to act on,
# or it says the labels changed (concept drift) and the performance report counts the labels it has
ACTED_ON = ("unknown", "concept_drift")


@dataclass(frozen=True)
class PerformanceEvidence:
    """What the RCA and the incident rule need from one window's performance report."""

    metric: str
    value: float | None
    minimum: float
    breached_by: str | None
    verdict: str
    n_labelled: int
    labelled_fraction: float

    @property
    def breached(self) -> bool:
        return self.verdict == "FAILED" and self.breached_by is not None

    @classmethod
    def from_report(cls, report: PerformanceReport | Mapping[str, Any]) -> PerformanceEvidence:
        """From a report or its ``to_dict()`` (what the ``performance_report`` asset stores)."""
        data = report.to_dict() if isinstance(report, PerformanceReport) else report
        requirement, realized, estimated = data["requirement"], data["realized"], data["estimated"]
        metric, source = requirement["metric"], data.get("breached_by")
        value = realized.get(metric)
        if source == "estimated" or value is None:
            value = (estimated.get(metric) or {}).get("value")
        return cls(
            metric=metric,
            value=value,
            minimum=float(requirement["min"]),
            breached_by=source,
            verdict=str(data["verdict"]),
            n_labelled=int(realized.get("n_labelled", 0)),
            labelled_fraction=float(realized.get("labelled_fraction", 0.0)),
        )

    def describe(self) -> str:
        """One line for people: which value, against which minimum, on how many labels."""
        labels = f"{self.n_labelled} labelled rows, {self.labelled_fraction:.0%} of the window"
        if self.value is None:
            return f"{self.metric} could not be measured or estimated ({labels})"
        source = self.breached_by or ("realized" if self.n_labelled else "estimated")
        relation = "<" if self.value < self.minimum else ">="
        return f"{source} {self.metric} {self.value:.4g} {relation} min {self.minimum:g} ({labels})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "breached": self.breached, "description": self.describe()}


def performance_incident(
    model_id: str, window_key: str, evidence: PerformanceEvidence, *, previous: str | None
) -> str:
    """The incident a breached window belongs to (``""`` without a breach), by the drift incidents' rule."""
    return assign_incident(model_id, window_key, drifted=evidence.breached, previous=previous)


def performance_action(evidence: PerformanceEvidence, *, min_labels: int) -> tuple[str, str]:
    """``retrain_model`` when the breach is realized on at least ``min_labels`` labels, else ``notify_team``.

    >>> estimated = PerformanceEvidence("roc_auc", 0.8, 0.85, "estimated", "FAILED", 0, 0.0)
    >>> action, reason = performance_action(estimated, min_labels=200)
    >>> action, reason.endswith("only 0 labels (< 200) to retrain on: confirm when labels arrive")
    ('notify_team', True)
    """
    what = evidence.describe()
    if evidence.breached_by == "realized" and evidence.n_labelled >= min_labels:
        return "retrain_model", f"{what}; {evidence.n_labelled} labels to retrain on"
    return (
        "notify_team",
        f"{what}; only {evidence.n_labelled} labels (< {min_labels}) to retrain on: confirm when labels arrive",
    )


def apply_performance(rca: RcaReport, evidence: PerformanceEvidence, *, min_labels: int) -> RcaReport:
    """``rca`` with the performance evidence cited, and its action decided by it for a breach it cannot explain.

    The evidence line is added whenever the report is conclusive. For a breach with an ``unknown`` or
    ``concept_drift`` root cause the recommended action becomes :func:`performance_action`'s (and leads the
    recommendations); a cause found in the data keeps the RCA policy's action.
    """
    if evidence.verdict not in ("PASSED", "FAILED"):
        return rca
    root = replace(rca.root_cause, evidence=(*rca.root_cause.evidence, f"performance: {evidence.describe()}"))
    rca = replace(rca, root_cause=root)
    if not evidence.breached or root.type not in ACTED_ON:
        return rca
    action, reason = performance_action(evidence, min_labels=min_labels)
    rest = [r for r in rca.recommendations[1:] if r.action != action]
    if action != "notify_team" and not any(r.action == "notify_team" for r in rest):
        rest.append(Recommendation(0, f"tell the model owners: {evidence.describe()}", "notify_team"))
    items = [Recommendation(0, f"{action.replace('_', ' ')}: {reason}", action), *rest]
    ranked = tuple(replace(r, priority=i + 1) for i, r in enumerate(items))
    return replace(rca, recommended_action=action, action_reason=reason, recommendations=ranked)

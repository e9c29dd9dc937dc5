"""A performance breach in the loop: the incident rule, the RCA evidence and the action policy (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.analysis.rca import RcaReport, Recommendation, RootCause
from drift_sentinel.incidents import incident_id
from drift_sentinel.performance import PerformanceSpec, performance_report
from drift_sentinel.performance.incident import (
    PerformanceEvidence,
    apply_performance,
    performance_action,
    performance_incident,
)


def _log(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(0.6, 0.6, size=n)
    return pd.DataFrame({"prediction": p, "label": (rng.uniform(size=n) < p).astype(float)})


REFERENCE = _log(1, 4000)
STRICT = PerformanceSpec(metric="accuracy", min=0.99)


def _evidence(window: pd.DataFrame, spec: PerformanceSpec = STRICT) -> PerformanceEvidence:
    return PerformanceEvidence.from_report(performance_report(window, REFERENCE, requirement=spec).to_dict())


def _rca(root_type: str, action: str = "notify_team") -> RcaReport:
    return RcaReport(
        incident_id="inc-m-20261010-e9a0c519",
        model_id="m",
        root_cause=RootCause(root_type, None, 0.3, (), cause="why", evidence=("drift: none",)),
        drift_start=None,
        detection_time=datetime(2026, 10, 11, tzinfo=UTC),
        recommendations=(
            Recommendation(1, f"{action}: the analysis' reason", action),
            Recommendation(2, "inspect amount first", None),
        ),
        recommended_action=action,
        action_reason="the analysis' reason",
    )


def test_evidence_from_stored_reports() -> None:
    window = _log(2, 2000)
    realized = _evidence(window)
    assert realized.breached and realized.breached_by == "realized"
    assert realized.n_labelled == 2000 and realized.labelled_fraction == 1.0
    assert realized.value == performance_report(window, REFERENCE, requirement=STRICT).realized.accuracy
    assert (
        realized.describe().startswith("realized accuracy 0.8")
        and "< min 0.99 (2000 labelled rows" in realized.describe()
    )

    estimated = _evidence(window.assign(label=np.nan))
    assert estimated.breached and estimated.breached_by == "estimated" and estimated.n_labelled == 0

    fine = _evidence(window, PerformanceSpec(metric="accuracy", min=0.5))
    assert not fine.breached and fine.verdict == "PASSED" and ">= min 0.5" in fine.describe()

    nothing = _evidence(window.assign(label=np.nan), STRICT.model_copy(update={"use_estimate": False}))
    assert not nothing.breached and nothing.verdict == "INCONCLUSIVE"


def test_a_breach_opens_or_continues_an_incident_by_the_drift_rule() -> None:
    breach, fine = (
        _evidence(_log(3, 1000)),
        _evidence(_log(3, 1000), PerformanceSpec(metric="accuracy", min=0.5)),
    )
    assert performance_incident("m", "2026-10-10", breach, previous=None) == incident_id("m", "2026-10-10")
    assert performance_incident("m", "2026-10-11", breach, previous="inc-open") == "inc-open"
    assert performance_incident("m", "2026-10-11", fine, previous="inc-open") == ""


@pytest.mark.parametrize(
    ("labels", "source", "action"),
    [(500, "realized", "retrain_model"), (150, "realized", "notify_team"), (0, "estimated", "notify_team")],
)
def test_action_retrains_only_on_enough_realized_labels(labels: int, source: str, action: str) -> None:
    evidence = PerformanceEvidence("accuracy", 0.7, 0.85, source, "FAILED", labels, labels / 500)
    chosen, reason = performance_action(evidence, min_labels=200)
    assert chosen == action and evidence.describe() in reason


def test_rca_cites_the_evidence_and_takes_its_action_for_an_unexplained_breach() -> None:
    evidence = PerformanceEvidence("accuracy", 0.7, 0.85, "realized", "FAILED", 500, 1.0)
    updated = apply_performance(_rca("unknown"), evidence, min_labels=200)
    assert updated.recommended_action == "retrain_model"
    assert updated.root_cause.evidence[-1] == f"performance: {evidence.describe()}"
    assert [r.action for r in updated.recommendations] == ["retrain_model", None, "notify_team"]
    assert [r.priority for r in updated.recommendations] == [1, 2, 3]
    assert RcaReport.from_dict(updated.to_dict()) == updated  # still a valid, serializable report


def test_a_cause_found_in_the_data_keeps_its_action() -> None:
    evidence = PerformanceEvidence("accuracy", 0.7, 0.85, "realized", "FAILED", 500, 1.0)
    rca = _rca("upstream_pipeline_change", action="rollback_model")
    updated = apply_performance(rca, evidence, min_labels=200)
    assert updated.recommended_action == "rollback_model" and updated.recommendations == rca.recommendations
    assert "performance: realized accuracy 0.7 < min 0.85" in updated.root_cause.evidence[-1]


def test_inconclusive_performance_leaves_the_report_alone() -> None:
    evidence = PerformanceEvidence("accuracy", None, 0.85, None, "INCONCLUSIVE", 0, 0.0)
    rca = _rca("unknown")
    assert apply_performance(rca, evidence, min_labels=200) == rca

"""The champion/challenger promotion rule and the action registry."""

from __future__ import annotations

import math

import pytest

from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.actions import ACTION_CHECKS, ACTIONS, ActionSpec, action_spec
from drift_sentinel.remediation.retrain import retrain_decision
from drift_sentinel.verdict import Verdict


@pytest.mark.parametrize(
    ("champion", "challenger", "margin", "promote"),
    [
        (0.80, 0.83, 0.02, True),
        (0.80, 0.82, 0.02, True),  # exactly the margin
        (0.80, 0.81, 0.02, False),
        (0.80, 0.80, 0.0, False),  # equal is not better
        (0.80, 0.79, 0.0, False),
        (0.80, 0.8001, 0.0, True),
    ],
)
def test_auc_margin(champion: float, challenger: float, margin: float, promote: bool) -> None:
    decision = retrain_decision({"auc": champion}, {"auc": challenger}, margin=margin)
    assert decision.promote is promote
    assert decision.verdict is (Verdict.PASSED if promote else Verdict.FAILED)
    assert decision.improvement == pytest.approx(challenger - champion)


def test_log_loss_lower_is_better() -> None:
    better = retrain_decision({"log_loss": 0.40}, {"log_loss": 0.35}, margin=0.01, metric="log_loss")
    worse = retrain_decision({"log_loss": 0.40}, {"log_loss": 0.45}, margin=0.0, metric="log_loss")
    assert better.promote and better.improvement == pytest.approx(0.05)
    assert not worse.promote and worse.improvement == pytest.approx(-0.05)
    assert worse.reason.endswith("keep the champion")


@pytest.mark.parametrize(
    ("champion", "challenger"),
    [
        (None, {"auc": 0.9}),
        ({"auc": 0.8}, {}),
        ({"auc": 0.8}, {"auc": math.nan}),
        ({"accuracy": 0.9}, {"auc": 0.9}),
    ],
)
def test_missing_metrics_are_inconclusive_and_never_promote(champion, challenger) -> None:  # type: ignore[no-untyped-def]
    decision = retrain_decision(champion, challenger, margin=0.0)
    assert decision.verdict is Verdict.INCONCLUSIVE and not decision.promote
    assert decision.reason.startswith("retrain: no auc for the")


def test_negative_margin_is_rejected() -> None:
    with pytest.raises(ValueError, match="margin"):
        retrain_decision({"auc": 0.8}, {"auc": 0.9}, margin=-0.1)


def test_decision_serialises() -> None:
    data = retrain_decision({"auc": 0.8}, {"auc": 0.9}, margin=0.05).to_dict()
    assert data["verdict"] == "PASSED" and data["promote"] is True and data["metric"] == "auc"


def test_action_registry() -> None:
    assert set(ACTIONS) == {
        "retrain_model",
        "rollback_model",
        "scale_resources",
        "update_thresholds",
        "notify_team",
    }
    assert action_spec("rollback_model").checks == ("version",)
    assert action_spec("update_thresholds").checks == ("dry_run",)
    assert set(action_spec("scale_resources").checks) == {"resource_limits", "headroom"}
    assert set(action_spec("retrain_model").checks) == {"resource_limits", "headroom"}
    assert not action_spec("notify_team").rollbackable
    assert all(set(spec.checks) <= set(ACTION_CHECKS) for spec in ACTIONS.values())
    with pytest.raises(UnknownNameError, match="'restart'.*accepted: notify_team, retrain_model"):
        action_spec("restart")
    with pytest.raises(TypeError):
        ACTIONS["x"] = ACTIONS["notify_team"]  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown check"):
        ActionSpec(name="x", checks=("vibes",), rollbackable=False, description="")

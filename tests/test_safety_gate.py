"""The pure safety gate: every check blocks with its reason, missing evidence fails closed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.actions import ACTIONS, ALWAYS_CHECKS, action_spec
from drift_sentinel.remediation.thresholds import replay_thresholds
from drift_sentinel.safety import (
    GateEvidence,
    ResourceLimits,
    SafetyPolicy,
    evaluate_gate,
    format_duration,
)
from drift_sentinel.verdict import Verdict

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = SafetyPolicy(
    max_retries=2,
    cooldown_period="5m",
    resource_limits=ResourceLimits(cpu=4, memory_gb=8, max_replicas=6),
)


def evidence(action: str = "notify_team", **overrides: object) -> GateEvidence:
    """Evidence that passes every check of ``action`` unless overridden."""
    base: dict[str, object] = dict(
        model_id="fraud",
        action=action,
        incident_id="inc-7",
        last_action_at=NOW - timedelta(hours=1),
        attempts_for_incident=0,
        running_on_model=0,
        requested_cpu=1.0,
        requested_memory_gb=2.0,
        requested_replicas=3,
        available_cpu=2.0,
        available_memory_gb=4.0,
        current_version="3",
        target_version="2",
        target_version_status="READY",
        replay=replay_thresholds(
            [{"partition": f"p{i}", "scores": {"x": {"psi": 0.1 * i}}} for i in range(6)],
            {"*": {"psi": 0.2}},
            {"*": {"psi": 0.3}},
        ),
    )
    base.update(overrides)
    return GateEvidence(**base)  # type: ignore[arg-type]


def check(decision, name):  # type: ignore[no-untyped-def]
    (outcome,) = [c for c in decision.checks if c.name == name]
    return outcome


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_passes_with_complete_good_evidence(action: str) -> None:
    decision = evaluate_gate(POLICY, evidence(action), NOW)
    assert decision.verdict is Verdict.PASSED, decision.reasons
    assert decision.opened
    assert decision.blockers == ()
    assert [c.name for c in decision.checks] == list(ALWAYS_CHECKS + action_spec(action).checks)
    assert all(
        reason.startswith(f"{c.name}: ") for c, reason in zip(decision.checks, decision.reasons, strict=True)
    )


def test_cooldown_blocks_with_argo_style_reason() -> None:
    decision = evaluate_gate(POLICY, evidence(last_action_at=NOW - timedelta(minutes=3)), NOW)
    assert decision.verdict is Verdict.FAILED and not decision.opened
    assert decision.blockers == ("cooldown: last action 3m ago < 5m",)


def test_cooldown_boundary_is_open_at_exactly_the_period() -> None:
    at_edge = evaluate_gate(POLICY, evidence(last_action_at=NOW - timedelta(minutes=5)), NOW)
    just_inside = evaluate_gate(
        POLICY, evidence(last_action_at=NOW - timedelta(minutes=5) + timedelta(seconds=1)), NOW
    )
    assert check(at_edge, "cooldown").verdict is Verdict.PASSED
    assert check(just_inside, "cooldown").reason == "cooldown: last action 4m59s ago < 5m"


def test_cooldown_passes_without_previous_action_and_fails_on_future_timestamp() -> None:
    assert (
        check(evaluate_gate(POLICY, evidence(last_action_at=None), NOW), "cooldown").verdict is Verdict.PASSED
    )
    future = evaluate_gate(POLICY, evidence(last_action_at=NOW + timedelta(minutes=2)), NOW)
    assert check(future, "cooldown").verdict is Verdict.FAILED
    assert "in the future" in check(future, "cooldown").reason


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive_now = NOW.replace(tzinfo=None)
    decision = evaluate_gate(POLICY, evidence(last_action_at=naive_now - timedelta(minutes=1)), naive_now)
    assert check(decision, "cooldown").reason == "cooldown: last action 1m ago < 5m"


@pytest.mark.parametrize(
    ("attempts", "verdict"), [(0, Verdict.PASSED), (1, Verdict.PASSED), (2, Verdict.FAILED)]
)
def test_retry_budget(attempts: int, verdict: Verdict) -> None:
    outcome = check(evaluate_gate(POLICY, evidence(attempts_for_incident=attempts), NOW), "retry_budget")
    assert outcome.verdict is verdict
    if verdict is Verdict.FAILED:
        assert outcome.reason == "retry_budget: 2 notify_team attempt(s) for incident inc-7 >= max 2"


def test_zero_retry_budget_blocks_everything() -> None:
    decision = evaluate_gate(SafetyPolicy(max_retries=0), evidence(), NOW)
    assert decision.verdict is Verdict.FAILED


def test_concurrency_blocks_a_second_remediation_on_the_model() -> None:
    decision = evaluate_gate(POLICY, evidence(running_on_model=1), NOW)
    assert decision.blockers == ("concurrency: 1 other remediation(s) running on fraud > 0",)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"requested_cpu": 6.0}, "resource_limits: cpu 6 > cap 4"),
        ({"requested_memory_gb": 16.0}, "resource_limits: memory 16GB > cap 8GB"),
        ({"requested_replicas": 7}, "resource_limits: replicas 7 > cap 6"),
        (
            {"requested_cpu": 4.5, "requested_replicas": 10},
            "resource_limits: cpu 4.5 > cap 4; replicas 10 > cap 6",
        ),
    ],
)
def test_resource_limits_block(overrides: dict[str, object], expected: str) -> None:
    big = {"available_cpu": 100.0, "available_memory_gb": 100.0, **overrides}
    decision = evaluate_gate(POLICY, evidence("scale_resources", **big), NOW)
    assert decision.verdict is Verdict.FAILED
    assert decision.blockers == (expected,)


def test_resource_limits_at_the_cap_pass() -> None:
    at_cap = evidence(
        "retrain_model",
        requested_cpu=4.0,
        requested_memory_gb=8.0,
        available_cpu=4.0,
        available_memory_gb=8.0,
    )
    assert evaluate_gate(POLICY, at_cap, NOW).opened


def test_headroom_blocks_when_capacity_is_short() -> None:
    decision = evaluate_gate(POLICY, evidence("retrain_model", requested_cpu=3.0, available_cpu=1.5), NOW)
    assert decision.blockers == ("headroom: requested cpu 3 > available 1.5",)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"available_cpu": None}, "headroom: available cpu unknown"),
        ({"available_memory_gb": None}, "headroom: available memory unknown"),
        ({"requested_cpu": 0.0, "requested_memory_gb": 0.0}, "headroom: no cpu or memory request given"),
    ],
)
def test_headroom_unknown_is_inconclusive_and_keeps_the_gate_closed(
    overrides: dict[str, object], expected: str
) -> None:
    decision = evaluate_gate(POLICY, evidence("retrain_model", **overrides), NOW)
    assert decision.verdict is Verdict.INCONCLUSIVE and not decision.opened
    assert decision.blockers[0].startswith(expected)


def test_headroom_ignores_unknown_capacity_for_a_resource_not_requested() -> None:
    decision = evaluate_gate(
        POLICY, evidence("retrain_model", requested_memory_gb=0.0, available_memory_gb=None), NOW
    )
    assert decision.opened


@pytest.mark.parametrize(
    ("overrides", "verdict", "expected"),
    [
        ({"target_version": None}, Verdict.FAILED, "version: no target version of fraud to move to"),
        (
            {"target_version": "9", "target_version_status": "MISSING"},
            Verdict.FAILED,
            "version: v9 of fraud does not exist",
        ),
        (
            {"target_version_status": "FAILED_REGISTRATION"},
            Verdict.FAILED,
            "version: v2 is FAILED_REGISTRATION, not READY",
        ),
        ({"target_version": "3"}, Verdict.FAILED, "version: v3 is already the current version"),
        ({"target_version_status": None}, Verdict.INCONCLUSIVE, "version: status of v2 not looked up"),
        ({"current_version": None}, Verdict.INCONCLUSIVE, "version: current version of fraud unknown"),
    ],
)
def test_version_check(overrides: dict[str, object], verdict: Verdict, expected: str) -> None:
    decision = evaluate_gate(POLICY, evidence("rollback_model", **overrides), NOW)
    assert decision.verdict is verdict
    assert decision.blockers == (expected,)


def test_version_check_passes_and_says_the_move() -> None:
    decision = evaluate_gate(POLICY, evidence("rollback_model"), NOW)
    assert check(decision, "version").reason == "version: v3 -> v2 (READY)"


def test_dry_run_blocks_a_threshold_change_that_would_miss_an_incident() -> None:
    history = [{"partition": f"p{i}", "scores": {"x": {"psi": 0.1}}} for i in range(6)]
    history[3] = {"partition": "p3", "scores": {"x": {"psi": 0.4}}, "incident_id": "inc-3"}
    replay = replay_thresholds(history, {"*": {"psi": 0.2}}, {"*": {"psi": 0.5}})
    decision = evaluate_gate(POLICY, evidence("update_thresholds", replay=replay), NOW)
    assert decision.verdict is Verdict.FAILED
    assert decision.blockers == ("dry_run: replay over 6 windows would miss 1 confirmed incident(s): inc-3",)


def test_dry_run_without_replay_or_with_short_history_is_inconclusive() -> None:
    missing = evaluate_gate(POLICY, evidence("update_thresholds", replay=None), NOW)
    assert missing.verdict is Verdict.INCONCLUSIVE
    assert missing.blockers == ("dry_run: no replay of the proposed thresholds",)
    short = replay_thresholds([{"scores": {}}], {}, {})
    decision = evaluate_gate(POLICY, evidence("update_thresholds", replay=short), NOW)
    assert decision.verdict is Verdict.INCONCLUSIVE


def test_every_failing_check_is_reported_and_failed_dominates_inconclusive() -> None:
    bad = evidence(
        "rollback_model",
        last_action_at=NOW - timedelta(seconds=30),
        attempts_for_incident=5,
        running_on_model=2,
        target_version_status=None,
    )
    decision = evaluate_gate(POLICY, bad, NOW)
    assert decision.verdict is Verdict.FAILED
    assert [c.name for c in decision.checks if c.verdict is not Verdict.PASSED] == [
        "cooldown",
        "retry_budget",
        "concurrency",
        "version",
    ]
    assert check(decision, "version").verdict is Verdict.INCONCLUSIVE


def test_notify_team_ignores_resource_and_version_evidence() -> None:
    decision = evaluate_gate(POLICY, evidence("notify_team", target_version=None, available_cpu=None), NOW)
    assert decision.opened


def test_gate_is_pure_and_serialisable() -> None:
    ev = evidence("update_thresholds")
    first, second = evaluate_gate(POLICY, ev, NOW), evaluate_gate(POLICY, ev, NOW)
    assert first == second
    data = first.to_dict()
    assert data["verdict"] == "PASSED" and data["opened"] is True
    assert data["evaluated_at"] == NOW.isoformat()
    assert [c["name"] for c in data["checks"]] == ["cooldown", "retry_budget", "concurrency", "dry_run"]
    assert ev.to_dict()["replay"]["verdict"] == "PASSED"


def test_unknown_action_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownNameError, match="accepted: notify_team, retrain_model, rollback_model"):
        evaluate_gate(POLICY, evidence("reboot"), NOW)


def test_evidence_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="attempts_for_incident"):
        evidence(attempts_for_incident=-1)
    with pytest.raises(ValueError, match="requested_cpu"):
        evidence(requested_cpu=-1.0)


def test_evidence_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        evidence().running_on_model = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=59), "59s"),
        (timedelta(hours=1, minutes=5, seconds=9), "1h5m"),
        (timedelta(days=1), "1d"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text

"""Recovery verification: breaches of the rollback triggers, too little data, unmeasured metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.errors import DataError
from drift_sentinel.remediation.verification import WindowStats, verify_recovery
from drift_sentinel.safety import RollbackTriggers
from drift_sentinel.verdict import Verdict

DEFAULT = RollbackTriggers()  # error rate +20%, p95 latency +50%


def frame(n: int, error_rate: float, latency_scale: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    errors = np.zeros(n, dtype=int)
    errors[: round(n * error_rate)] = 1
    rng.shuffle(errors)
    return pd.DataFrame({"error": errors, "latency_ms": rng.exponential(latency_scale, n)})


def test_window_stats_known_answer() -> None:
    df = pd.DataFrame({"error": [True, False, False, False, True], "latency_ms": [1.0, 2.0, 3.0, 4.0, 100.0]})
    stats = WindowStats.from_frame(df)
    assert stats.rows == 5
    assert stats.error_rate == pytest.approx(0.4)
    # linear interpolation between the 4th and 5th order statistics: 4 + 0.8 * (100 - 4)
    assert stats.latency_p95 == pytest.approx(4 + 0.8 * 96)


def test_window_stats_custom_and_missing_columns() -> None:
    df = pd.DataFrame({"failed": [0, 1], "ms": [5.0, 7.0]})
    stats = WindowStats.from_frame(df, error_column="failed", latency_column="ms")
    assert stats.error_rate == 0.5 and stats.latency_p95 == pytest.approx(6.9)
    assert WindowStats.from_frame(df) == WindowStats(rows=2, error_rate=None, latency_p95=None)


def test_window_stats_rejects_non_binary_error_column() -> None:
    with pytest.raises(DataError, match="'error'"):
        WindowStats.from_frame(pd.DataFrame({"error": [0, 2, 1]}))


def test_worse_error_rate_fails_and_asks_for_rollback() -> None:
    before = WindowStats.from_frame(frame(2000, 0.02, 50.0, seed=1))
    after = WindowStats.from_frame(frame(2000, 0.05, 50.0, seed=2))
    result = verify_recovery(before, after, DEFAULT)
    assert result.verdict is Verdict.FAILED and result.should_roll_back
    (breach,) = result.breaches
    assert breach.metric == "error_rate"
    assert breach.increase == pytest.approx((0.05 - 0.02) / 0.02)
    assert breach.reason == "error_rate: 2.00% -> 5.00% (+150%) > +20% trigger"


def test_latency_breach_and_boundary() -> None:
    before = WindowStats(rows=100, error_rate=0.01, latency_p95=100.0)
    at_limit = verify_recovery(before, WindowStats(rows=100, error_rate=0.01, latency_p95=150.0), DEFAULT)
    over = verify_recovery(before, WindowStats(rows=100, error_rate=0.01, latency_p95=151.0), DEFAULT)
    assert at_limit.verdict is Verdict.PASSED
    assert over.verdict is Verdict.FAILED
    assert [b.metric for b in over.breaches] == ["latency_p95"]


def test_improvement_passes() -> None:
    before = WindowStats.from_frame(frame(1000, 0.05, 80.0, seed=3))
    after = WindowStats.from_frame(frame(1000, 0.01, 40.0, seed=4))
    result = verify_recovery(before, after, DEFAULT)
    assert result.verdict is Verdict.PASSED and not result.should_roll_back
    assert all("within" in reason for reason in result.reasons)


def test_zero_baseline_any_error_breaches() -> None:
    result = verify_recovery(WindowStats(100, 0.0, 10.0), WindowStats(100, 0.01, 10.0), DEFAULT)
    assert result.verdict is Verdict.FAILED
    assert math.isinf(result.breaches[0].increase)
    assert "+inf%" in result.breaches[0].reason


def test_too_few_rows_is_inconclusive_even_with_a_breach() -> None:
    result = verify_recovery(WindowStats(500, 0.01, 10.0), WindowStats(12, 0.5, 10.0), DEFAULT, min_rows=30)
    assert result.verdict is Verdict.INCONCLUSIVE and not result.should_roll_back
    assert "rows: after window has 12 rows < 30" in result.reasons
    assert result.breaches  # still reported


def test_unmeasured_metric_is_inconclusive_unless_another_breaches() -> None:
    no_latency = verify_recovery(WindowStats(100, 0.01, None), WindowStats(100, 0.01, None), DEFAULT)
    assert no_latency.verdict is Verdict.INCONCLUSIVE
    breach = verify_recovery(WindowStats(100, 0.01, None), WindowStats(100, 0.5, None), DEFAULT)
    assert breach.verdict is Verdict.FAILED


def test_custom_triggers() -> None:
    strict = RollbackTriggers(error_rate_increase=0.0, latency_p95_increase=0.0)
    result = verify_recovery(WindowStats(100, 0.01, 10.0), WindowStats(100, 0.011, 10.0), strict)
    assert result.verdict is Verdict.FAILED
    assert result.to_dict()["breaches"][0]["metric"] == "error_rate"


def test_escalation_and_recovery_notifications_route_to_pagerduty() -> None:
    from drift_sentinel.config import AlertRouting
    from drift_sentinel.notifications import pagerduty_payload, route
    from drift_sentinel.remediation.verification import escalation_notification, recovery_notification

    bad = verify_recovery(WindowStats(500, 0.02, 100.0), WindowStats(500, 0.05, 100.0), DEFAULT)
    trigger = escalation_notification(
        bad, model_id="fraud", incident_id="inc-5", action="retrain_model", rolled_back=True
    )
    assert "error_rate: 2.00% -> 5.00%" in trigger.text
    assert route(trigger, AlertRouting())[0] == "pagerduty"
    good = verify_recovery(WindowStats(500, 0.05, 100.0), WindowStats(500, 0.02, 90.0), DEFAULT)
    resolve = recovery_notification(good, model_id="fraud", incident_id="inc-5", action="rollback_model")
    assert pagerduty_payload(resolve, "k3y1")["event_action"] == "resolve"
    assert pagerduty_payload(resolve, "k3y1")["dedup_key"] == pagerduty_payload(trigger, "k3y1")["dedup_key"]

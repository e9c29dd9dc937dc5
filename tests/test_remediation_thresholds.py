"""Threshold replay (dry run) and the versioned threshold store."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.detection import detect_drift
from drift_sentinel.detection.config import DetectionConfig
from drift_sentinel.errors import DataError
from drift_sentinel.remediation.thresholds import (
    LOWER_IS_DRIFT,
    ThresholdStore,
    effective_thresholds,
    replay_thresholds,
    replay_window,
    window_alerts,
)
from drift_sentinel.verdict import Verdict


def history() -> list[dict]:
    """Ten windows: PSI effect size and KS p-value on 'amount', two confirmed incidents."""
    psi = [0.05, 0.12, 0.22, 0.08, 0.45, 0.15, 0.25, 0.11, 0.60, 0.09]
    ks_p = [0.40, 0.20, 0.04, 0.50, 0.001, 0.30, 0.03, 0.60, 0.0001, 0.70]
    incidents = {4: "inc-a", 8: "inc-b"}
    return [
        {
            "partition": f"2026-01-{i + 1:02d}",
            "scores": {"amount": {"psi": p, "ks": k}},
            "incident_id": incidents.get(i),
        }
        for i, (p, k) in enumerate(zip(psi, ks_p, strict=True))
    ]


def test_window_alerts_effect_sizes_quorum_and_overrides() -> None:
    scores = {"amount": {"psi": 0.25, "ks": 0.04}, "device": {"chi_square": 0.3}}
    thresholds = {"*": {"psi": 0.2, "ks": 0.05, "chi_square": 0.1}, "amount": {"psi": 0.3}}
    assert window_alerts(scores, thresholds) == ("device",)  # amount's override 0.3 silences its PSI
    assert window_alerts(scores, {"*": {"psi": 0.2, "ks": 0.05}}) == ("amount",)  # no chi_square threshold
    assert window_alerts(scores, {"*": {"psi": 0.2, "ks": 0.01}}, quorum=2) == ("amount",)
    assert window_alerts(scores, {"*": {"psi": 0.2, "ks": 0.05}}, quorum=2) == ()
    # quorum is capped by the applicable detectors, as in the engine: device has one
    assert window_alerts(scores, thresholds, quorum=3) == ("device",)
    with pytest.raises(ValueError, match="quorum"):
        window_alerts(scores, thresholds, quorum=0)


def test_insignificant_detectors_cannot_vote_but_count_as_applicable() -> None:
    scores = {"amount": {"psi": None, "ks": 0.4}}
    assert window_alerts(scores, {"*": {"psi": 0.0, "ks": 0.05}}) == ("amount",)
    assert window_alerts(scores, {"*": {"psi": 0.0, "ks": 0.05}}, quorum=2) == ()


def test_p_value_inputs_vote_below_the_threshold() -> None:
    scores = {"amount": {"ks": 0.01}}
    assert window_alerts(scores, {"*": {"ks": 0.05}}, lower_is_drift=LOWER_IS_DRIFT) == ("amount",)
    assert window_alerts(scores, {"*": {"ks": 0.05}}) == ()


def test_replay_window_from_a_real_drift_report() -> None:
    rng = np.random.default_rng(3)
    n = 600
    reference = pd.DataFrame({"amount": rng.normal(0, 1, n), "age": rng.normal(0, 1, n)})
    current = pd.DataFrame({"amount": rng.normal(0.8, 1, n), "age": rng.normal(0, 1, n)})
    config = DetectionConfig(algorithms=["ks", "psi", "wasserstein"], quorum=2)
    report = detect_drift(reference, current, config=config).to_dict()
    window = replay_window(report, partition="2026-01-05", incident_id="inc-1")
    assert window["quorum"] == 2 and window["incident_id"] == "inc-1"
    amount = window["scores"]["amount"]
    assert amount["ks"] == pytest.approx(report["features"]["amount"]["results"]["ks"]["effect_size"])
    current_thresholds = effective_thresholds(config)
    # replaying the report under the thresholds it was computed with reproduces its decision
    assert window_alerts(window["scores"], current_thresholds, quorum=2) == tuple(
        name for name, feature in report["features"].items() if feature["verdict"] == "FAILED"
    )
    assert "amount" in window_alerts(window["scores"], current_thresholds, quorum=2)
    silenced = {"*": {k: 10.0 for k in current_thresholds["*"]}}
    result = replay_thresholds([window] * 5, current_thresholds, silenced)
    assert result.verdict is Verdict.FAILED and result.missed_incidents == ("inc-1",) * 5


def test_effective_thresholds_merge_overrides() -> None:
    merged = effective_thresholds(
        DetectionConfig(sensitivity="low", thresholds={"amount": {"psi": 0.5, "alpha": 0.2}})
    )
    assert merged["*"]["psi"] == 0.20 and merged["amount"] == {"psi": 0.5}


def test_replay_counts_alerts_before_and_after() -> None:
    current = {"*": {"psi": 0.2}}
    proposed = {"*": {"psi": 0.3}}
    result = replay_thresholds(history(), current, proposed)
    # PSI >= 0.2 in windows 2, 4, 6, 8; >= 0.3 in windows 4, 8 (both incidents kept)
    assert (result.alerts_before, result.alerts_after) == (4, 2)
    assert result.verdict is Verdict.PASSED
    assert result.silenced_partitions == ("2026-01-03", "2026-01-07")
    assert result.incidents == 2 and result.missed_incidents == ()


def test_replay_fails_when_a_confirmed_incident_would_be_missed() -> None:
    result = replay_thresholds(history(), {"*": {"psi": 0.2}}, {"*": {"psi": 0.5}})
    assert result.verdict is Verdict.FAILED
    assert result.missed_incidents == ("inc-a",)
    assert result.reason == "dry_run: replay over 10 windows would miss 1 confirmed incident(s): inc-a"


def test_replay_with_p_values_and_new_alerts() -> None:
    result = replay_thresholds(
        history(), {"*": {"ks": 0.01}}, {"*": {"ks": 0.05}}, lower_is_drift=LOWER_IS_DRIFT
    )
    assert (result.alerts_before, result.alerts_after) == (2, 4)
    assert result.new_alert_partitions == ("2026-01-03", "2026-01-07")


def test_replay_short_history_is_inconclusive() -> None:
    result = replay_thresholds(history()[:3], {"*": {"psi": 0.2}}, {"*": {"psi": 0.3}}, min_windows=5)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "only 3 historical windows < 5" in result.reason


def test_replay_rejects_windows_without_scores() -> None:
    with pytest.raises(DataError, match="'2026-02-01'"):
        replay_thresholds([{"partition": "2026-02-01"}], {}, {})


def test_store_versions_revert_and_history(tmp_path) -> None:
    store = ThresholdStore(tmp_path)
    replay = replay_thresholds(history(), {"*": {"psi": 0.2}}, {"*": {"psi": 0.3}})
    v1 = store.apply("fraud", {"*": {"psi": 0.2}}, actor="user:ana", reason="initial")
    v2 = store.apply("fraud", {"*": {"psi": 0.3}}, actor="sensor:x", reason="fewer alerts", replay=replay)
    assert (v1.version, v2.version) == (1, 2)
    assert store.current("fraud").replay["alerts_after"] == 2
    v3 = store.revert("fraud", actor="job", reason="verification failed")
    assert (v3.version, v3.reverts_to, v3.thresholds) == (3, 1, {"*": {"psi": 0.2}})
    assert [v.version for v in store.history("fraud")] == [1, 2, 3]
    assert store.revert("fraud", actor="job", reason="again", to_version=2).thresholds == {"*": {"psi": 0.3}}
    with pytest.raises(DataError, match="no threshold version 9; known: 1, 2, 3, 4"):
        store.revert("fraud", actor="job", reason="x", to_version=9)
    with pytest.raises(DataError, match="'other'"):
        store.revert("other", actor="job", reason="x")


def test_store_concurrent_writers_never_share_a_version(tmp_path) -> None:
    store = ThresholdStore(tmp_path)
    barrier = threading.Barrier(8)

    def write(i: int) -> None:
        barrier.wait()
        store.apply("m", {"*": {"psi": i / 10}}, actor=f"w{i}", reason="race")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = store.history("m")
    assert [v.version for v in versions] == list(range(1, 9))
    assert sorted(v.actor for v in versions) == sorted(f"w{i}" for i in range(8))

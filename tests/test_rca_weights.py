"""The RCA weights are one frozen dataclass that analyze_incident really scores with."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest

from drift_sentinel.analysis import WEIGHTS, RcaWeights, analyze_incident
from drift_sentinel.detection.results import AffectedFeature, DriftReport, FeatureDrift
from drift_sentinel.verdict import Verdict

T0 = datetime(2026, 10, 10, 6, tzinfo=UTC)


def _drift(p_value: float = 1e-12) -> DriftReport:
    feature = FeatureDrift(
        "amount",
        "numeric",
        Verdict.FAILED,
        magnitude=0.2,
        p_value=p_value,
        drift_start=T0,
        drift_type="distribution",
    )
    return DriftReport(
        drift_detected=True,
        drift_score=0.5,
        verdict=Verdict.FAILED,
        features={"amount": feature},
        affected_features=(AffectedFeature("amount", "distribution", p_value, 0.2),),
        n_reference=1000,
        n_current=1000,
        timestamp=T0 + timedelta(hours=18),
        drift_start=T0,
    )


def _analyze(drift: DriftReport, **kwargs):
    return analyze_incident(
        drift, incident_id="inc-1", detection_time=T0 + timedelta(hours=18), model_id="m", **kwargs
    )


def test_weights_are_frozen_and_every_field_has_a_default():
    with pytest.raises(dataclasses.FrozenInstanceError):
        WEIGHTS.data_drift = 0.9  # type: ignore[misc]
    assert RcaWeights() == WEIGHTS
    for f in dataclasses.fields(RcaWeights):
        assert f.name in (RcaWeights.__doc__ or ""), f"{f.name} is not documented"


def test_the_fallback_score_is_its_weight_times_the_drift_strength():
    # s_drift = 1 - p; the plain real-world shift scores data_drift × s_drift (hand-computed)
    drift = _drift(p_value=0.2)
    default = {c.name: c.score for c in _analyze(drift).candidates}
    assert default["data_drift"] == pytest.approx(0.4 * 0.8, abs=1e-4)
    heavier = {
        c.name: c.score
        for c in _analyze(drift, weights=dataclasses.replace(WEIGHTS, data_drift=0.5)).candidates
    }
    assert heavier["data_drift"] == pytest.approx(0.5 * 0.8, abs=1e-4)


def test_the_unknown_threshold_and_event_decay_come_from_the_weights():
    drift = _drift(p_value=0.2)  # data_drift scores 0.32: above the default 0.2, below 0.5
    assert _analyze(drift).root_cause.type == "data_drift"
    strict = _analyze(drift, weights=dataclasses.replace(WEIGHTS, unknown_below=0.5))
    assert strict.root_cause.type == "unknown" and strict.recommended_action == "notify_team"
    events = [{"timestamp": (T0 - timedelta(hours=1)).isoformat(), "event_type": "deploy", "source": "app"}]
    score = {c.name: c.score for c in _analyze(_drift(), events=events).candidates}["deploy:app"]
    assert score == pytest.approx(math.exp(-0.5) * 1.0 * 0.95, abs=1e-4)  # exp(-1 h / 2 h) × s_drift × 0.95
    slow = dataclasses.replace(WEIGHTS, event_decay=timedelta(hours=4))
    score = {c.name: c.score for c in _analyze(_drift(), events=events, weights=slow).candidates}[
        "deploy:app"
    ]
    assert score == pytest.approx(math.exp(-0.25) * 0.95, abs=1e-4)

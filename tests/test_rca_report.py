"""analyze_incident on hand-built drift reports: each evidence path, the confidence formula, JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.analysis import (
    ACTIONS,
    FailedCheck,
    IncidentSignature,
    PipelineChange,
    PipelineEvidence,
    RcaReport,
    analyze_incident,
)
from drift_sentinel.detection.results import AffectedFeature, DriftReport, FeatureDrift
from drift_sentinel.errors import DataError
from drift_sentinel.verdict import Verdict

T0 = datetime(2026, 10, 10, 6, tzinfo=UTC)
DETECTED = T0 + timedelta(hours=18)


def _report(*features: tuple[str, str, float, float], start: datetime | None = T0, new=()) -> DriftReport:
    """features: (name, kind, magnitude, p_value)."""
    drifts = {
        name: FeatureDrift(
            name,
            kind,
            Verdict.FAILED,
            magnitude=magnitude,
            p_value=p,
            drift_start=start,
            drift_type="new_category" if name in new else "distribution",
            new_categories=tuple(new) if name in new else (),
        )
        for name, kind, magnitude, p in features
    }
    affected = tuple(
        sorted(
            (AffectedFeature(n, d.drift_type, d.p_value, d.magnitude) for n, d in drifts.items()),
            key=lambda a: -a.magnitude,
        )
    )
    return DriftReport(
        drift_detected=bool(drifts),
        drift_score=0.5 if drifts else 0.0,
        verdict=Verdict.FAILED if drifts else Verdict.PASSED,
        features=drifts,
        affected_features=affected,
        n_reference=5000,
        n_current=5000,
        timestamp=DETECTED,
        drift_start=start if drifts else None,
    )


def _events(*rows: tuple[datetime, str, str]) -> list[dict]:
    return [{"timestamp": t.isoformat(), "event_type": e, "source": s, "description": ""} for t, e, s in rows]


def _analyze(drift, **kwargs) -> RcaReport:
    kwargs.setdefault("incident_id", "inc-1")
    kwargs.setdefault("detection_time", DETECTED)
    kwargs.setdefault("model_id", "fraud-detector-v1")
    return analyze_incident(drift, **kwargs)


def test_minimal_call_and_json_shape():
    rca = _analyze(_report(("amount", "numeric", 0.2, 1e-12)))
    d = json.loads(json.dumps(rca.to_dict()))
    assert set(d) >= {
        "incident_id",
        "root_cause",
        "timeline",
        "recommendations",
        "recommended_action",
        "action_reason",
    }
    assert set(d["root_cause"]) >= {"type", "feature", "confidence", "contributing_factors"}
    assert d["timeline"]["drift_start"] == T0.isoformat()
    assert d["timeline"]["detection_time"] == DETECTED.isoformat()
    assert d["recommended_action"] in ACTIONS
    assert d["root_cause"]["type"] == "data_drift" and d["root_cause"]["feature"] == "amount"
    assert RcaReport.from_dict(d) == rca
    assert RcaReport.from_dict(rca.to_dict()).to_markdown() == rca.to_markdown()


def test_deploy_before_the_onset_is_named_and_its_distance_matters():
    drift = _report(("amount", "numeric", 0.2, 1e-12))
    near = _analyze(drift, events=_events((T0 - timedelta(minutes=10), "deploy", "mobile-app")))
    far = _analyze(drift, events=_events((T0 - timedelta(minutes=90), "deploy", "mobile-app")))
    faint = _analyze(drift, events=_events((T0 - timedelta(hours=4), "deploy", "mobile-app")))
    outside = _analyze(drift, events=_events((T0 - timedelta(hours=7), "deploy", "mobile-app")))
    after = _analyze(drift, events=_events((T0 + timedelta(hours=2), "deploy", "mobile-app")))
    assert near.root_cause.cause == far.root_cause.cause == "deploy:mobile-app"
    assert near.root_cause.confidence > far.root_cause.confidence
    assert outside.root_cause.cause == after.root_cause.cause == "data_drift"
    # 4 h before: still a candidate, but weaker than the plain real-world shift
    assert faint.root_cause.cause == "data_drift"
    assert "deploy:mobile-app" in {c.name for c in faint.candidates}
    assert "deploy:mobile-app" not in {c.name for c in outside.candidates} | {
        c.name for c in after.candidates
    }
    assert near.to_dict()["timeline"]["events"][0]["source"] == "mobile-app"


def test_confidence_formula_against_the_candidates():
    drift = _report(("amount", "numeric", 0.2, 1e-12))
    events = _events(
        (T0 - timedelta(minutes=30), "deploy", "mobile-app"),
        (T0 - timedelta(minutes=20), "campaign", "marketing"),
    )
    rca = _analyze(drift, events=events)
    scores = {c.name: c.score for c in rca.candidates}
    e1 = scores["deploy:mobile-app"]
    assert e1 == pytest.approx(np.exp(-30 * 60 / 7200) * 0.95, abs=1e-4)
    e2 = scores["campaign:marketing"]  # a specific rival; the generic data_drift fallback is not one
    assert e2 == pytest.approx(np.exp(-20 * 60 / 7200) * 0.6, abs=1e-4)
    assert rca.root_cause.confidence == pytest.approx(e1 * e1 / (e1 + e2), abs=1e-4)
    weights = [f.weight for f in rca.root_cause.contributing_factors]
    assert sum(weights) == pytest.approx(1.0) and weights == sorted(weights, reverse=True)
    assert rca.root_cause.contributing_factors[0].factor == "deploy:mobile-app"


def test_no_evidence_is_unknown_never_a_made_up_cause():
    rca = _analyze(_report(), events=_events((T0, "deploy", "mobile-app")))
    assert rca.root_cause.type == "unknown" and rca.root_cause.cause is None
    assert rca.root_cause.confidence == 0.0
    assert rca.recommended_action == "notify_team"
    # weak evidence: a drifted feature with a large p-value and nothing else
    weak = _analyze(_report(("amount", "numeric", 0.01, 0.6)))
    assert weak.root_cause.type == "unknown" and weak.root_cause.confidence < 0.2


def test_our_own_deploy_rolls_back():
    drift = _report(("amount", "numeric", 0.3, 1e-9))
    by_event = _analyze(drift, events=_events((T0 - timedelta(minutes=5), "deploy", "fraud-detector-v1")))
    assert by_event.root_cause.type == "upstream_pipeline_change"
    assert by_event.recommended_action == "rollback_model"
    by_registry = _analyze(
        drift,
        pipeline=PipelineEvidence(
            model_version_changes=[PipelineChange("fraud-detector-v1", "1", "2", T0 - timedelta(minutes=5))]
        ),
    )
    assert by_registry.root_cause.cause == "deploy:fraud-detector-v1"
    assert by_registry.recommended_action == "rollback_model"


def test_pipeline_change_beats_world_shift_and_notifies():
    drift = _report(("amount", "numeric", 0.3, 1e-9))
    evidence = PipelineEvidence(
        code_version_changes=[PipelineChange("raw_transactions", "a1", "b2", T0 - timedelta(minutes=30))],
        failed_checks=[FailedCheck("raw_transactions", "amount_in_range", T0)],
    )
    rca = _analyze(drift, pipeline=evidence)
    assert rca.root_cause.cause == "pipeline:raw_transactions"
    assert rca.root_cause.type == "upstream_pipeline_change"
    assert rca.recommended_action == "notify_team"
    assert any("a1 → b2" in e for e in rca.root_cause.evidence)
    # the same change days earlier is no evidence
    old = PipelineEvidence(
        code_version_changes=[PipelineChange("raw_transactions", "a1", "b2", T0 - timedelta(days=3))]
    )
    assert _analyze(drift, pipeline=old).root_cause.cause == "data_drift"
    assert PipelineEvidence.from_dict(evidence.to_dict()) == evidence


def test_feature_importance_decides_the_main_feature():
    drift = _report(("amount", "numeric", 0.20, 1e-9), ("location", "categorical", 0.25, 1e-9))
    plain = _analyze(drift)
    assert plain.root_cause.feature == "location"
    weighted = _analyze(drift, feature_importance={"amount": 0.7, "location": 0.02, "device_id": 0.28})
    assert weighted.root_cause.feature == "amount"
    attribution = {fa.feature: fa for fa in weighted.feature_attribution}
    assert sum(fa.weight for fa in weighted.feature_attribution) == pytest.approx(1.0, abs=1e-3)
    assert attribution["amount"].weight == pytest.approx(
        0.2 * 0.75 / (0.2 * 0.75 + 0.25 * (0.02 / 1.0 + 0.05)), abs=1e-3
    )


def test_month_end_history_names_seasonality_with_recurrence():
    start = datetime(2026, 9, 29, 1, tzinfo=UTC)
    drift = _report(("amount", "numeric", 0.2, 1e-12), start=start)
    # directions unknown without windows: "shifted" on both sides
    past = IncidentSignature(
        "inc-aug", "fraud-detector-v1", datetime(2026, 8, 30, tzinfo=UTC), ("amount",), {"amount": "shifted"}
    )
    rca = _analyze(drift, detection_time=start + timedelta(hours=20), history=[past])
    assert rca.root_cause.cause == "end_of_month_seasonality"
    assert rca.recurrence is not None and rca.recurrence.recurrences == 1
    assert rca.recommended_action == "update_thresholds"
    first = _analyze(drift, detection_time=start + timedelta(hours=20))
    assert first.root_cause.cause == "end_of_month_seasonality" and first.recurrence is None
    assert first.recommended_action == "notify_team"
    mid_month = _analyze(_report(("amount", "numeric", 0.2, 1e-12), start=datetime(2026, 9, 15, tzinfo=UTC)))
    assert mid_month.root_cause.cause == "data_drift"


def test_latency_episode_from_signals_and_given_anomalies():
    idx = pd.date_range(T0 - timedelta(hours=6), periods=12 * 12, freq="5min", tz="UTC")
    rng = np.random.default_rng(0)
    signals = pd.DataFrame(
        {
            "request_volume": 50,
            "latency_p95": rng.normal(80, 4, len(idx)),
            "error_rate": 0.0,
            "prediction_mean": rng.normal(0.1, 0.005, len(idx)),
        },
        index=idx,
    )
    incident = (idx >= T0) & (idx < T0 + timedelta(hours=2))
    signals.loc[incident, "latency_p95"] *= 5
    rca = _analyze(
        _report(),
        signals=signals,
        events=_events((T0 - timedelta(minutes=3), "upstream_incident", "payments")),
    )
    assert rca.root_cause.cause == "upstream_incident:payments"
    assert rca.root_cause.type == "infrastructure" and rca.recommended_action == "scale_resources"
    assert rca.onset == T0
    without_event = _analyze(_report(), signals=signals)
    assert without_event.root_cause.cause == "latency_p95_spike"
    assert without_event.root_cause.confidence < rca.root_cause.confidence
    assert rca.correlations  # the score series was correlated with the serving signals


def test_concept_drift_from_labels():
    rng = np.random.default_rng(4)
    n = 3000
    times = pd.date_range(T0 - timedelta(hours=6), periods=n, freq="10s", tz="UTC")
    p = rng.uniform(0.02, 0.3, n)
    y = (rng.uniform(size=n) < np.where(times >= T0, np.minimum(p * 2.5, 1), p)).astype(float)
    current = pd.DataFrame({"timestamp": times, "prediction": p, "label": y})
    rca = _analyze(_report(), current=current)
    assert rca.root_cause.cause == "concept_drift" and rca.recommended_action == "retrain_model"
    calibrated = current.assign(label=(rng.uniform(size=n) < p).astype(float))
    assert _analyze(_report(), current=calibrated).root_cause.type == "unknown"


def test_dict_input_and_validation():
    drift = _report(("amount", "numeric", 0.2, 1e-12))
    assert _analyze(drift.to_dict()) == _analyze(drift)
    rca = _analyze(drift)
    bad = rca.to_dict()
    bad["recommended_action"] = "reboot"
    with pytest.raises(DataError, match="notify_team"):
        RcaReport.from_dict(bad)
    md = rca.to_markdown()
    assert "inc-1" in md and "data_drift" in md and "| factor | weight |" in md
    meta = rca.metadata()
    assert isinstance(meta["confidence"], float) and meta["root_cause_type"] == "data_drift"
    assert any(k.startswith("factor_weight/") for k in meta)


def test_a_drift_that_outlives_its_window_keeps_its_cause():
    first = _analyze(
        _report(("amount", "numeric", 0.2, 1e-12)),
        events=_events((T0 - timedelta(minutes=10), "deploy", "app")),
    )
    assert first.signature.cause == "deploy:app" and first.signature.cause_type == "data_drift"
    next_day = T0.replace(hour=0) + timedelta(days=1)
    second = _analyze(
        _report(("amount", "numeric", 0.2, 1e-12), start=next_day),
        incident_id="inc-2",
        detection_time=next_day + timedelta(hours=20),
        events=_events((T0 - timedelta(minutes=10), "deploy", "app")),
        history=[first.signature],
    )
    assert second.root_cause.cause == "deploy:app"
    assert any("continues incident inc-1" in e for e in second.root_cause.evidence)
    alone = _analyze(_report(("amount", "numeric", 0.2, 1e-12), start=next_day), incident_id="inc-2")
    assert alone.root_cause.cause == "data_drift"


def test_thin_or_empty_inputs_do_not_break_the_report():
    drift = _report(("amount", "numeric", 0.2, 1e-9))
    empty = pd.DataFrame({"timestamp": pd.to_datetime([], utc=True), "amount": []})
    no_time = pd.DataFrame({"amount": [1.0, 2.0, 3.0]})
    tiny = pd.DataFrame(
        {"timestamp": pd.date_range(T0, periods=50, freq="1min", tz="UTC"), "amount": np.arange(50.0)}
    )
    no_events = pd.DataFrame(columns=["timestamp", "event_type", "source", "description"])
    for kwargs in (
        {"current": empty},
        {"current": no_time},
        {"current": tiny, "reference": tiny, "signals": pd.DataFrame()},
        {"events": no_events},
    ):
        rca = _analyze(drift, **kwargs)
        assert rca.root_cause.cause == "data_drift", kwargs
        assert RcaReport.from_dict(json.loads(json.dumps(rca.to_dict()))) == rca

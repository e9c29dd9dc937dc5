""":func:`analyze_incident`: evidence → candidates → decision → action policy → :class:`RcaReport`.

>>> from datetime import datetime, UTC
>>> from drift_sentinel.detection.results import AffectedFeature, DriftReport, FeatureDrift
>>> from drift_sentinel.verdict import Verdict
>>> t0 = datetime(2026, 10, 10, 6, tzinfo=UTC)
>>> drift = DriftReport(drift_detected=True, drift_score=0.5, verdict=Verdict.FAILED,
...     features={"amount": FeatureDrift("amount", "numeric", Verdict.FAILED, magnitude=0.2, p_value=1e-9,
...                                      drift_start=t0, drift_type="distribution")},
...     affected_features=(AffectedFeature("amount", "distribution", 1e-9, 0.2),),
...     n_reference=1000, n_current=1000, timestamp=t0, drift_start=t0)
>>> events = [{"timestamp": "2026-10-10T05:50:00Z", "event_type": "deploy", "source": "mobile-app"}]
>>> rca = analyze_incident(drift, incident_id="inc-1", detection_time=t0, model_id="m", events=events)
>>> rca.root_cause.cause, rca.root_cause.type, rca.root_cause.feature, rca.root_cause.confidence > 0.5
('deploy:mobile-app', 'data_drift', 'amount', True)
>>> RcaReport.from_dict(rca.to_dict()) == rca
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from drift_sentinel.analysis.evidence import PipelineEvidence, normalize_events
from drift_sentinel.analysis.rca.attribution import attribute
from drift_sentinel.analysis.rca.candidates import (
    event_candidates,
    fallback_candidates,
    merge,
    pipeline_candidates,
    seasonality_candidates,
)
from drift_sentinel.analysis.rca.decision import decide
from drift_sentinel.analysis.rca.drifted import drifted_features
from drift_sentinel.analysis.rca.evidence import gather_evidence, labels_after
from drift_sentinel.analysis.rca.policy import recommend_action, recommendations
from drift_sentinel.analysis.rca.report import RcaReport
from drift_sentinel.analysis.rca.series import drift_series_correlations
from drift_sentinel.analysis.rca.weights import WEIGHTS, RcaWeights
from drift_sentinel.analysis.signals import compute_signals
from drift_sentinel.analysis.temporal import IncidentSignature
from drift_sentinel.detection.results import DriftReport
from drift_sentinel.errors import DataError


def analyze_incident(
    drift: DriftReport | Mapping[str, Any],
    *,
    incident_id: str,
    detection_time: datetime,
    model_id: str,
    feature_importance: Mapping[str, float] | None = None,
    signals: pd.DataFrame | None = None,
    events: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
    anomalies: pd.DataFrame | None = None,
    pipeline: PipelineEvidence | None = None,
    history: Sequence[IncidentSignature] = (),
    current: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    time_column: str = "timestamp",
    prediction_column: str = "prediction",
    label_column: str = "label",
    latency_column: str | None = "latency_ms",
    error_column: str | None = "error",
    signal_freq: str = "5min",
    lookback: timedelta = timedelta(hours=6),
    min_labels: int = 200,
    correlation_maxlag: int = 6,
    weights: RcaWeights = WEIGHTS,
) -> RcaReport:
    """Explain one incident; docs/rca.md gives the scoring, confidence and action rules.

    Parameters
    ----------
    drift
        The :class:`~drift_sentinel.detection.results.DriftReport` (or its ``to_dict()``).
    incident_id, detection_time, model_id
        Identify the incident; ``detection_time`` is when the drift report was made.
    feature_importance
        The champion model's permutation importance per feature (blended with the multivariate
        detector's importances when the report has them).
    signals
        :func:`~drift_sentinel.analysis.signals.compute_signals` over the window (latency/error evidence
        and correlations); computed from ``current`` (bins of ``signal_freq``) when omitted.
    events
        External events (``timestamp, event_type, source, description``).
    anomalies
        Output of :func:`~drift_sentinel.analysis.anomalies.detect_signal_anomalies` or
        :func:`~drift_sentinel.analysis.anomalies.prophet_anomalies`.
    pipeline
        :class:`PipelineEvidence` from the Dagster layer.
    history
        Signatures of past incidents, for recurring patterns.
    current, reference
        The windows themselves: onset within the window, directions, label-based evidence.
    time_column, prediction_column, label_column, latency_column, error_column
        Column names in the windows.
    lookback
        How long before the onset an event or pipeline change can still be its cause.
    min_labels
        Labels needed after the onset to recommend retraining on real-world drift.
    correlation_maxlag
        Largest Granger lag (in signal bins) tried.
    weights
        The scoring weights and thresholds (:class:`~drift_sentinel.analysis.rca.weights.RcaWeights`).

    Returns
    -------
    RcaReport
        ``to_dict()`` is the JSON the issue specifies; ``to_markdown()`` and ``metadata()`` feed Dagster.
    """
    report = drift if isinstance(drift, DriftReport) else DriftReport.from_dict(drift)
    detection_time = pd.Timestamp(detection_time).to_pydatetime(warn=False)
    drifted = drifted_features(report)
    if signals is None and current is not None and time_column in current.columns and len(current):
        signals = compute_signals(
            current,
            freq=signal_freq,
            features=[d.name for d in drifted if d.name in current.columns],
            prediction_column=prediction_column,
            label_column=label_column,
            latency_column=latency_column,
            error_column=error_column,
            time_column=time_column,
        )
    attribution = attribute(drifted, feature_importance, report.multivariate, current, reference, weights)
    main = next((d for d in drifted if attribution and d.name == attribution[0].feature), None)
    main_name = main.name if main else None
    ev = gather_evidence(
        report,
        drifted,
        signals=signals,
        anomalies=anomalies,
        current=current,
        reference=reference,
        time_column=time_column,
        prediction_column=prediction_column,
        label_column=label_column,
        weights=weights,
    )
    event_frame = normalize_events(events)
    candidates, timeline_events = event_candidates(event_frame, ev, model_id, main_name, lookback, weights)
    signature, recurrence, seasonal = seasonality_candidates(
        ev,
        attribution,
        main,
        history,
        incident_id=incident_id,
        model_id=model_id,
        detection_time=detection_time,
        weights=weights,
    )
    candidates += seasonal
    candidates += pipeline_candidates(
        pipeline or PipelineEvidence(), ev, drifted, model_id, main_name, lookback, weights
    )
    candidates += fallback_candidates(ev, attribution, main_name, weights)
    ranked = merge(candidates)
    root, top = decide(ranked, ev, main_name, weights)

    labels = labels_after(current, label_column, time_column, ev.onset)
    action, reason = recommend_action(
        root, top, model_id, labels=labels, min_labels=min_labels, recurrence=recurrence
    )
    correlations: list[dict[str, Any]] = []
    if signals is not None and len(signals):
        try:
            correlations = drift_series_correlations(
                signals, current, main, time_column, correlation_maxlag, event_frame
            )
        except DataError:
            correlations = []
    if signature is not None:
        signature = replace(signature, cause=root.cause, cause_type=root.type)
    return RcaReport(
        incident_id=incident_id,
        model_id=model_id,
        root_cause=root,
        drift_start=ev.drift_start,
        detection_time=detection_time,
        recommendations=recommendations(root, action, reason, attribution, timeline_events, drifted),
        recommended_action=action,
        action_reason=reason,
        onset=ev.onset,
        feature_attribution=attribution,
        candidates=tuple(ranked),
        correlations=tuple(correlations),
        signature=signature,
        recurrence=recurrence,
        events=tuple(timeline_events),
    )

"""Candidate causes and their scores ``e_c``: events, seasonality, the pipeline, and the fallbacks.

Each scorer turns the evidence (:class:`~drift_sentinel.analysis.rca.evidence.Evidence`) into candidates;
:func:`merge` keeps one per name, best first. The formulas are in docs/rca.md and the weights in
:class:`~drift_sentinel.analysis.rca.weights.RcaWeights`.

>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 10, 10, 6, tzinfo=UTC)
>>> round(proximity(pd.Timestamp(t0 - timedelta(hours=2)), t0, timedelta(hours=6)), 4)
0.3679
>>> [c.name for c in merge([Candidate("a", "data_drift", 0.2), Candidate("b", "data_drift", 0.5)])]
['b', 'a']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from drift_sentinel.analysis.evidence import PipelineEvidence
from drift_sentinel.analysis.rca.drifted import DriftedFeature, noisy_or
from drift_sentinel.analysis.rca.evidence import Evidence
from drift_sentinel.analysis.rca.model import (
    ROOT_CAUSE_TYPES,
    Candidate,
    FeatureAttribution,
    iso,
    rounded,
)
from drift_sentinel.analysis.rca.weights import WEIGHTS, RcaWeights
from drift_sentinel.analysis.temporal import (
    IncidentSignature,
    PatternMatch,
    is_month_end,
    match_history,
    ongoing_incident,
)


def proximity(
    event_time: pd.Timestamp, onset: datetime, lookback: timedelta, weights: RcaWeights = WEIGHTS
) -> float:
    """``exp(-(t0 - te) / event_decay)`` up to ``lookback`` before the onset ``t0``, a constant just after it."""
    delta = (pd.Timestamp(onset) - event_time).total_seconds()
    if delta < -weights.clock_skew.total_seconds():
        return 0.0
    if delta < 0:
        return weights.after_onset_proximity
    if delta > lookback.total_seconds():
        return 0.0
    return math.exp(-delta / weights.event_decay.total_seconds())


def event_candidates(
    events: pd.DataFrame,
    ev: Evidence,
    model_id: str,
    feature: str | None,
    lookback: timedelta,
    weights: RcaWeights = WEIGHTS,
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """One candidate per external event near the onset, scored by proximity × the symptom it can cause."""
    w = weights
    candidates: list[Candidate] = []
    timeline: list[dict[str, Any]] = []
    if ev.onset is None or not len(events):
        return candidates, timeline
    onset = pd.Timestamp(ev.onset)
    for row in events.itertuples(index=False):
        prox = proximity(row.timestamp, ev.onset, lookback, w)
        if row.event_type == "holiday" and row.timestamp.date() == onset.date():
            prox = max(prox, w.same_day_holiday_proximity)
        if prox <= 0:
            continue
        timeline.append(
            {
                "timestamp": row.timestamp.isoformat(),
                "event_type": row.event_type,
                "source": row.source,
                "description": row.description,
            }
        )
        if row.event_type == "deploy":
            base = max(ev.s_drift, ev.s_prediction)
            score = prox * (base if base > 0 else w.deploy_infra_only * ev.s_infra) * w.deploy
            ours = row.source in (model_id, f"model:{model_id}")
            kind = "upstream_pipeline_change" if ours else ("data_drift" if base > 0 else "infrastructure")
        elif row.event_type == "upstream_incident":
            drift_share = w.upstream_incident_drift_share * ev.s_drift
            score = prox * max(ev.s_infra, drift_share) * w.upstream_incident
            kind = "infrastructure" if ev.s_infra >= drift_share else "upstream_pipeline_change"
        else:
            score = prox * ev.s_drift * w.other_event
            kind = "seasonality" if row.event_type == "holiday" else "data_drift"
        if score <= 0:
            continue
        minutes = (onset - row.timestamp).total_seconds() / 60
        when = f"{abs(minutes):.0f} min {'before' if minutes >= 0 else 'after'} the onset"
        note = f"{row.event_type} of {row.source or '?'} {when}: {row.description}".strip()
        name = f"{row.event_type}:{row.source}" if row.source else row.event_type
        candidates.append(
            Candidate(name=name, type=kind, score=rounded(score), evidence=(note,), feature=feature)
        )
    return candidates, timeline


def seasonality_candidates(
    ev: Evidence,
    attribution: Sequence[FeatureAttribution],
    main: DriftedFeature | None,
    history: Sequence[IncidentSignature],
    *,
    incident_id: str,
    model_id: str,
    detection_time: datetime,
    weights: RcaWeights = WEIGHTS,
) -> tuple[IncidentSignature | None, PatternMatch | None, list[Candidate]]:
    """The incident's signature, its best recurrence in ``history``, and the seasonal candidates."""
    w = weights
    if not attribution:
        return None, None, []
    when = ev.onset or ev.drift_start or detection_time
    signature = IncidentSignature(
        incident_id=incident_id,
        model_id=model_id,
        time=pd.Timestamp(when).to_pydatetime(warn=False),
        features=tuple(fa.feature for fa in attribution[:3]),
        directions={fa.feature: fa.direction for fa in attribution[:3]},
    )
    by_pattern = {m.pattern: m for m in match_history(signature, history)}
    feature = main.name if main else None
    candidates = []
    recurrence = None
    month_end = by_pattern.get("end_of_month_seasonality")
    in_phase = is_month_end(signature.time) and main is not None and main.kind == "numeric"
    phase_prior = w.month_end_prior if in_phase else 0.0
    r_month_end = 1 - w.recurrence_base ** (month_end.recurrences if month_end else 0)
    score = ev.s_drift * noisy_or([phase_prior, r_month_end])
    if score > 0:
        notes = []
        if phase_prior:
            notes.append(f"onset {signature.time:%Y-%m-%d} falls in the last 3 days of the month")
        if month_end:
            ids = ", ".join(month_end.incident_ids)
            notes.append(f"same signature recurred {month_end.recurrences}x at month end ({ids})")
            recurrence = month_end
        candidates.append(
            Candidate("end_of_month_seasonality", "seasonality", rounded(score), tuple(notes), feature)
        )
    for pattern in ("weekly_seasonality", "time_of_day_seasonality"):
        match = by_pattern.get(pattern)
        if match is None or not ev.in_window:  # a window-start "onset" has no phase of its own
            continue
        score = ev.s_drift * (1 - w.recurrence_base**match.recurrences) * w.periodic_seasonality
        note = f"same signature recurred {match.recurrences}x ({', '.join(match.incident_ids)})"
        candidates.append(Candidate(pattern, "seasonality", rounded(score), (note,), feature))
        if recurrence is None or match.recurrences > recurrence.recurrences:
            recurrence = match
    ongoing = ongoing_incident(signature, history)
    if ongoing is not None and ongoing[0].cause not in ("data_drift", None):
        past, similarity = ongoing
        note = f"continues incident {past.incident_id} ({past.cause}, onset {past.time.isoformat()})"
        score = w.continuation * similarity * ev.s_drift
        kind = past.cause_type if past.cause_type in ROOT_CAUSE_TYPES else "data_drift"
        candidates.append(Candidate(past.cause or "", kind, rounded(score), (note,), feature))
    return signature, recurrence, candidates


def pipeline_candidates(
    pipeline: PipelineEvidence,
    ev: Evidence,
    drifted: Sequence[DriftedFeature],
    model_id: str,
    feature: str | None,
    lookback: timedelta,
    weights: RcaWeights = WEIGHTS,
) -> list[Candidate]:
    """Upstream code/data-version changes and failed checks near the onset; our own model's deploys."""
    w = weights

    def near(t: datetime | None) -> bool:
        if t is None or ev.onset is None:
            return True
        delta = (pd.Timestamp(ev.onset) - pd.Timestamp(t)).total_seconds()
        return -w.clock_skew.total_seconds() <= delta <= lookback.total_seconds()

    per_asset: dict[str, list[tuple[float, str]]] = {}
    for change in pipeline.code_version_changes:
        if near(change.time):
            note = f"code version of {change.asset}: {change.old} → {change.new}"
            per_asset.setdefault(change.asset, []).append((w.code_version_change, note))
    for check in pipeline.failed_checks:
        if near(check.time):
            note = f"check {check.check} failed on {check.asset} {check.description}".strip()
            per_asset.setdefault(check.asset, []).append((w.failed_check, note))
    for change in pipeline.data_version_changes:
        if near(change.time):
            note = f"data version of {change.asset}: {change.old} → {change.new}"
            per_asset.setdefault(change.asset, []).append((w.data_version_change, note))
    candidates = []
    for asset, items in per_asset.items():
        score = noisy_or(v for v, _ in items) * ev.symptom
        if score > 0:
            notes = tuple(n for _, n in items)
            candidates.append(
                Candidate(f"pipeline:{asset}", "upstream_pipeline_change", rounded(score), notes, feature)
            )
    for change in pipeline.model_version_changes:
        if not near(change.time):
            continue
        prox = (
            proximity(pd.Timestamp(change.time), ev.onset, lookback, w)
            if change.time and ev.onset
            else w.after_onset_proximity
        )
        score = prox * max(ev.s_drift, ev.s_prediction) * w.deploy
        if score > 0:
            note = f"served model version {change.old} → {change.new}"
            candidates.append(
                Candidate(f"deploy:{model_id}", "upstream_pipeline_change", rounded(score), (note,), feature)
            )
    null_drifted = [d for d in drifted if d.null_rate_drifted]
    if null_drifted:
        notes = tuple(f"missing-value rate of {d.name} drifted" for d in null_drifted)
        score = rounded(w.null_rate * ev.s_drift)
        candidates.append(
            Candidate("null_rate_increase", "upstream_pipeline_change", score, notes, null_drifted[0].name)
        )
    return candidates


def fallback_candidates(
    ev: Evidence,
    attribution: Sequence[FeatureAttribution],
    feature: str | None,
    weights: RcaWeights = WEIGHTS,
) -> list[Candidate]:
    """Label-only concept drift, a serving anomaly, and a plain real-world shift when nothing else fits."""
    w = weights
    candidates = []
    if ev.s_concept > 0:
        candidates.append(
            Candidate("concept_drift", "concept_drift", rounded(w.concept * ev.s_concept), ev.concept_notes)
        )
    if ev.s_infra > 0:
        name = f"{ev.infra_signal}_spike" if ev.infra_signal else "serving_anomaly"
        note = f"serving anomaly episode from {iso(ev.infra_start)} ({ev.infra_signal or 'anomalies'})"
        candidates.append(Candidate(name, "infrastructure", rounded(w.infrastructure * ev.s_infra), (note,)))
    if ev.s_drift > 0:
        notes = tuple(
            f"{fa.feature}: {fa.drift_type}, {fa.direction}, magnitude {fa.magnitude:.3f}"
            for fa in attribution[:3]
        )
        candidates.append(
            Candidate("data_drift", "data_drift", rounded(w.data_drift * ev.s_drift), notes, feature)
        )
    return candidates


def merge(candidates: Sequence[Candidate]) -> list[Candidate]:
    """One candidate per name (the best score, evidence pooled), best first."""
    merged: dict[str, Candidate] = {}
    for c in candidates:
        old = merged.get(c.name)
        if old is None:
            merged[c.name] = c
        elif c.score > old.score:
            merged[c.name] = replace(c, evidence=c.evidence + old.evidence)
        else:
            merged[c.name] = replace(old, evidence=old.evidence + c.evidence)
    return sorted(merged.values(), key=lambda c: (-c.score, c.name))

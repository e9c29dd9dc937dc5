"""Root-cause analysis: from a drift report and its evidence to a ranked, confidence-scored cause.

:func:`analyze_incident` gathers evidence, scores *candidate causes*, and picks the best one.

Evidence strengths (each in [0, 1])
-----------------------------------
- ``s_drift`` — data drift: ``max(1 - p)`` over drifted features (0 when no feature drifted; 0.9 when a
  drifted feature has no p-value).
- ``s_infra`` — serving trouble: the longest episode of latency/error anomalies, ``1 - exp(-k/3)`` for ``k``
  consecutive anomalous bins (robust z >= 5 on ``latency_p95``, binomial z >= 5 on ``error_rate``), combined
  by noisy-OR with the PyOD/Prophet anomalies passed in.
- ``s_concept`` — the label relationship changed: the error-rate signal of the drift report (DDM /
  error-rate test) and a calibration test on the labelled current rows,
  ``z = (Σy - Σp) / sqrt(Σp(1-p))`` (Spiegelhalter 1986), against the same gap on the reference when it
  has predictions; strength ``min(1, -log10(p) / 6)`` (1 at p = 1e-6) when the gap is at least 0.01 and
  ``p <= 0.01``, 0 otherwise.
- proximity of an event at time ``t_e`` to the onset ``t_0``: ``exp(-(t_0 - t_e) / 2h)`` for events up to
  ``lookback`` (6 h) before the onset, 0.8 for events up to 30 min after it (clock skew), 0 otherwise.

Candidate scores ``e_c``
------------------------
- ``deploy:<source>`` = proximity × max(s_drift, s_prediction) × 0.95 (× 0.5 with only ``s_infra``);
  a deploy of the monitored model itself is typed ``upstream_pipeline_change`` and rolls back.
- ``upstream_incident:<source>`` = proximity × max(s_infra, 0.7 s_drift) × 0.95.
- ``campaign:<source>`` / ``holiday:<source>`` = proximity × s_drift × 0.6.
- ``end_of_month_seasonality`` = s_drift × (1 - (1 - 0.5·[onset in month end]) (1 - r)), where
  ``r = 1 - 0.5^k`` for ``k`` past incidents in other months with the same signature;
  ``weekly_seasonality`` / ``time_of_day_seasonality`` = s_drift × r × 0.8 (history only).
- the cause of an incident this one continues (a similar signature at most 3 days earlier, see
  :func:`~drift_sentinel.analysis.temporal.ongoing_incident`) = 0.85 × similarity × s_drift.
- ``pipeline:<asset>`` = noisy-OR(0.9 per code-version change, 0.8 per failed check, 0.3 per data-version
  change) × max(s_drift, s_infra, s_concept); ``null_rate_increase`` = 0.7 × s_drift when a feature's missing
  rate drifted.
- ``concept_drift`` = s_concept × 0.95; ``infrastructure`` = s_infra × 0.6; ``data_drift`` (a real-world
  shift with no better explanation) = s_drift × 0.4.

Confidence
----------
With ``e1`` the best score and ``e2`` the best *rival* score, ``confidence = e1 × e1 / (e1 + e2)``
(``e2 = 0`` gives ``e1``): strong evidence for the winner and a clear margin over the runner-up are both
needed. A generic fallback (``data_drift``, ``*_spike``) of the winner's own type is not a rival — it
restates the symptom the winner explains (a deploy explains the data drift it precedes). When ``e1 < 0.2`` the
root cause is ``unknown`` (with that low confidence), never a made-up cause. Contributing factors are the
candidates' scores normalised to sum to 1 (top 5).

Recommended action
------------------
``upstream_pipeline_change`` → ``rollback_model`` when our own model was deployed, else ``notify_team``;
``data_drift`` → ``retrain_model`` when enough labels arrived after the onset (``min_labels``), else
``notify_team``; ``concept_drift`` → ``retrain_model``; ``infrastructure`` → ``scale_resources``;
``seasonality`` → ``update_thresholds`` when the pattern recurred, else ``notify_team``; ``unknown`` →
``notify_team``.

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

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.analysis.anomalies import anomaly_strength
from drift_sentinel.analysis.evidence import PipelineEvidence, normalize_events
from drift_sentinel.analysis.signals import compute_signals
from drift_sentinel.analysis.temporal import (
    IncidentSignature,
    PatternMatch,
    feature_direction,
    is_month_end,
    match_history,
    ongoing_incident,
)
from drift_sentinel.errors import DataError

ROOT_CAUSE_TYPES: tuple[str, ...] = (
    "data_drift",
    "concept_drift",
    "upstream_pipeline_change",
    "seasonality",
    "infrastructure",
    "unknown",
)
ACTIONS: tuple[str, ...] = (
    "retrain_model",
    "rollback_model",
    "scale_resources",
    "update_thresholds",
    "notify_team",
)
UNKNOWN_BELOW = 0.2
MODEL_SIGNALS = ("prediction", "error")


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _unt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _r(value: float) -> float:
    return round(float(value), 4)


@dataclass(frozen=True)
class Factor:
    """A contributing factor and its weight (weights of a report sum to 1)."""

    factor: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "weight": self.weight}


@dataclass(frozen=True)
class Candidate:
    """A possible cause, its score ``e_c`` and the evidence behind it."""

    name: str
    type: str
    score: float
    evidence: tuple[str, ...] = ()
    feature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "score": self.score,
            "evidence": list(self.evidence),
            "feature": self.feature,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Candidate:
        return cls(d["name"], d["type"], float(d["score"]), tuple(d.get("evidence", ())), d.get("feature"))


@dataclass(frozen=True)
class FeatureAttribution:
    """A drifted feature's share of the blame: drift magnitude × importance, normalised."""

    feature: str
    weight: float
    magnitude: float
    importance: float | None
    drift_type: str
    direction: str = "shifted"

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "weight": self.weight,
            "magnitude": self.magnitude,
            "importance": self.importance,
            "drift_type": self.drift_type,
            "direction": self.direction,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureAttribution:
        return cls(
            d["feature"],
            float(d["weight"]),
            float(d["magnitude"]),
            None if d.get("importance") is None else float(d["importance"]),
            d.get("drift_type", ""),
            d.get("direction", "shifted"),
        )


@dataclass(frozen=True)
class RootCause:
    """The answer: a cause type, the main feature, a confidence, and the weighted factors."""

    type: str
    feature: str | None
    confidence: float
    contributing_factors: tuple[Factor, ...]
    cause: str | None = None
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in ROOT_CAUSE_TYPES:
            raise DataError(f"root cause type {self.type!r} is not one of {', '.join(ROOT_CAUSE_TYPES)}")
        if not 0.0 <= self.confidence <= 1.0:
            raise DataError(f"confidence must be in [0, 1], got {self.confidence}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "feature": self.feature,
            "confidence": self.confidence,
            "cause": self.cause,
            "contributing_factors": [f.to_dict() for f in self.contributing_factors],
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RootCause:
        return cls(
            type=d["type"],
            feature=d.get("feature"),
            confidence=float(d["confidence"]),
            contributing_factors=tuple(
                Factor(f["factor"], float(f["weight"])) for f in d["contributing_factors"]
            ),
            cause=d.get("cause"),
            evidence=tuple(d.get("evidence", ())),
        )


@dataclass(frozen=True)
class Recommendation:
    """One prioritised recommendation (``priority`` 1 first); ``action`` when it maps to a remediation."""

    priority: int
    text: str
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"priority": self.priority, "action": self.action, "text": self.text}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recommendation:
        return cls(priority=int(d["priority"]), text=d["text"], action=d.get("action"))


@dataclass(frozen=True)
class RcaReport:
    """The root-cause analysis of one incident; ``to_dict`` is the issue's JSON shape (plus detail)."""

    incident_id: str
    model_id: str
    root_cause: RootCause
    drift_start: datetime | None
    detection_time: datetime
    recommendations: tuple[Recommendation, ...]
    recommended_action: str
    action_reason: str
    onset: datetime | None = None
    feature_attribution: tuple[FeatureAttribution, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    correlations: tuple[Mapping[str, Any], ...] = ()
    signature: IncidentSignature | None = None
    recurrence: PatternMatch | None = None
    events: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.recommended_action not in ACTIONS:
            raise DataError(
                f"recommended_action {self.recommended_action!r} is not one of {', '.join(ACTIONS)}"
            )

    @property
    def confidence(self) -> float:
        return self.root_cause.confidence

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "model_id": self.model_id,
            "root_cause": self.root_cause.to_dict(),
            "timeline": {
                "drift_start": _t(self.drift_start),
                "onset": _t(self.onset),
                "detection_time": _t(self.detection_time),
                "events": [dict(e) for e in self.events],
            },
            "recommendations": [r.to_dict() for r in self.recommendations],
            "recommended_action": self.recommended_action,
            "action_reason": self.action_reason,
            "feature_attribution": [f.to_dict() for f in self.feature_attribution],
            "candidates": [c.to_dict() for c in self.candidates],
            "correlations": [dict(c) for c in self.correlations],
            "signature": None if self.signature is None else self.signature.to_dict(),
            "recurrence": None if self.recurrence is None else self.recurrence.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RcaReport:
        timeline = d.get("timeline", {})
        rec = d.get("recurrence")
        sig = d.get("signature")
        return cls(
            incident_id=d["incident_id"],
            model_id=d.get("model_id", ""),
            root_cause=RootCause.from_dict(d["root_cause"]),
            drift_start=_unt(timeline.get("drift_start")),
            detection_time=datetime.fromisoformat(timeline["detection_time"]),
            recommendations=tuple(Recommendation.from_dict(r) for r in d.get("recommendations", ())),
            recommended_action=d["recommended_action"],
            action_reason=d.get("action_reason", ""),
            onset=_unt(timeline.get("onset")),
            feature_attribution=tuple(
                FeatureAttribution.from_dict(f) for f in d.get("feature_attribution", ())
            ),
            candidates=tuple(Candidate.from_dict(c) for c in d.get("candidates", ())),
            correlations=tuple(dict(c) for c in d.get("correlations", ())),
            signature=None if sig is None else IncidentSignature.from_dict(sig),
            recurrence=None
            if rec is None
            else PatternMatch(
                rec["pattern"], int(rec["recurrences"]), tuple(rec["incident_ids"]), rec["similarity"]
            ),
            events=tuple(dict(e) for e in timeline.get("events", ())),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RcaReport):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.incident_id, self.model_id))

    def metadata(self) -> dict[str, float | int | str]:
        """Plain numbers and strings for Dagster metadata (plottable confidence and top factor weights)."""
        out: dict[str, float | int | str] = {
            "confidence": float(self.confidence),
            "root_cause_type": self.root_cause.type,
            "root_cause": self.root_cause.cause or "unknown",
            "recommended_action": self.recommended_action,
            "n_candidates": len(self.candidates),
        }
        for factor in self.root_cause.contributing_factors[:3]:
            out[f"factor_weight/{factor.factor}"] = float(factor.weight)
        return out

    def to_markdown(self) -> str:
        """A short Markdown report for the Dagster UI."""
        rc = self.root_cause
        lines = [
            f"## Root cause for incident `{self.incident_id}` ({self.model_id})",
            "",
            f"**{rc.type}**"
            + (f" — `{rc.cause}`" if rc.cause else "")
            + (f" on `{rc.feature}`" if rc.feature else ""),
            f"confidence **{rc.confidence:.2f}**",
            "",
            f"**Recommended action:** `{self.recommended_action}` — {self.action_reason}",
            "",
            "| factor | weight |",
            "| --- | ---: |",
            *[f"| {f.factor} | {f.weight:.2f} |" for f in rc.contributing_factors],
            "",
            "**Timeline**",
            "",
            f"- drift start: {_t(self.drift_start) or 'unknown'}",
            f"- onset estimate: {_t(self.onset) or 'unknown'}",
            f"- detected: {_t(self.detection_time)}",
        ]
        lines += [
            f"- event {e['timestamp']}: {e['event_type']} {e['source']} {e['description']}"
            for e in self.events
        ]
        if rc.evidence:
            lines += ["", "**Evidence**", "", *[f"- {e}" for e in rc.evidence]]
        if self.feature_attribution:
            lines += [
                "",
                "| feature | weight | drift | direction | importance |",
                "| --- | ---: | --- | --- | ---: |",
            ]
            for fa in self.feature_attribution:
                imp = "" if fa.importance is None else f"{fa.importance:.2f}"
                lines.append(f"| {fa.feature} | {fa.weight:.2f} | {fa.drift_type} | {fa.direction} | {imp} |")
        lines += ["", "**Recommendations**", ""]
        lines += [
            f"{r.priority}. {r.text}" + (f" (`{r.action}`)" if r.action else "") for r in self.recommendations
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Reading the drift report (the engine's DriftReport, or its dict form)


@dataclass(frozen=True)
class _Drifted:
    name: str
    drift_type: str
    p_value: float
    magnitude: float
    kind: str
    drift_start: datetime | None
    new_categories: tuple[str, ...]
    null_rate_drifted: bool


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _as_report(drift: Any) -> Any:
    if isinstance(drift, Mapping):
        from drift_sentinel.detection.results import DriftReport

        return DriftReport.from_dict(drift)
    return drift


def _drifted_features(drift: Any) -> tuple[list[_Drifted], dict[str, Any]]:
    features = dict(_get(drift, "features", {}) or {})
    signals = dict(_get(drift, "signals", {}) or {})
    out = []
    for item in _get(drift, "affected_features", ()) or ():
        if isinstance(item, tuple):
            name, drift_type, p_value, magnitude = item
        else:
            name, drift_type, p_value, magnitude = item.name, item.drift_type, item.p_value, item.magnitude
        if name in signals and name not in features:
            continue
        fd = features.get(name)
        out.append(
            _Drifted(
                name=name,
                drift_type=str(drift_type),
                p_value=float(p_value) if p_value is not None else math.nan,
                magnitude=float(magnitude) if magnitude is not None and math.isfinite(magnitude) else 0.0,
                kind=str(_get(fd, "kind", "numeric")),
                drift_start=_get(fd, "drift_start"),
                new_categories=tuple(_get(fd, "new_categories", ()) or ()),
                null_rate_drifted=bool(_get(fd, "null_rate_drifted", False)) or drift_type == "null_rate",
            )
        )
    return out, signals


def _noisy_or(values: Iterable[float]) -> float:
    prod = 1.0
    for v in values:
        prod *= 1.0 - min(1.0, max(0.0, v))
    return 1.0 - prod


# ---------------------------------------------------------------------------------------------------------
# Evidence


def _onset_from_indicator(times: pd.Series, indicator: np.ndarray) -> tuple[datetime | None, bool, float]:
    """Change point of a 0/1 indicator by CUSUM (Page 1954): the split maximising ``|S_k - k p̂|``.

    Returns ``(onset, in_window, z)``: ``z`` is the two-proportion z of the rates before/after the split.
    Below ``z = 4`` the window holds no change of its own, so the onset is the window start and
    ``in_window`` is False (the whole window already sits on one side of the change).
    """
    n = len(indicator)
    if n < 20:
        return None, False, 0.0
    x = indicator.astype(float)
    p = x.mean()
    if p in (0.0, 1.0):
        return times.iloc[0].to_pydatetime(warn=False), False, 0.0
    cusum = np.cumsum(x - p)
    k = int(np.argmax(np.abs(cusum[:-1]))) + 1
    before, after = x[:k], x[k:]
    se = math.sqrt(p * (1 - p) * (1 / len(before) + 1 / len(after)))
    z = abs(before.mean() - after.mean()) / se if se > 0 else 0.0
    if z < 4.0:
        return times.iloc[0].to_pydatetime(warn=False), False, z
    return times.iloc[k].to_pydatetime(warn=False), True, z


def _feature_onset(
    feature: _Drifted,
    current: pd.DataFrame,
    reference: pd.DataFrame | None,
    time_column: str,
) -> tuple[datetime | None, bool, float]:
    """When one drifted feature started to drift inside the current window: ``(onset, in_window, z)``."""
    frame = current[[time_column, feature.name]].dropna(subset=[time_column]).sort_values(time_column)
    times = pd.to_datetime(frame[time_column], utc=True)
    values = frame[feature.name]
    if feature.new_categories:
        indicator = values.astype(str).isin(feature.new_categories).to_numpy()
        hits = np.flatnonzero(indicator)
        if not len(hits):
            return None, False, 0.0
        first = times.iloc[int(hits[0])].to_pydatetime(warn=False)
        # a new category is dated by its first appearance; in the window when rows without it came first
        inside = bool(hits[0] > 0.02 * len(indicator))
        return first, inside, math.inf if inside else 0.0
    if pd.api.types.is_numeric_dtype(values):
        numeric = pd.to_numeric(values, errors="coerce")
        basis = reference[feature.name] if reference is not None and feature.name in reference else numeric
        median = float(pd.to_numeric(basis, errors="coerce").median())
        ok = numeric.notna().to_numpy()
        return _onset_from_indicator(times[ok], (numeric[ok] > median).to_numpy())
    ref_counts = (
        reference[feature.name].astype(str).value_counts(normalize=True)
        if reference is not None and feature.name in reference
        else values.astype(str).value_counts(normalize=True)
    )
    cur_counts = values.astype(str).value_counts(normalize=True)
    grown = (cur_counts - ref_counts.reindex(cur_counts.index).fillna(0)).idxmax()
    return _onset_from_indicator(times, (values.astype(str) == grown).to_numpy())


def _estimate_onset(
    drifted: Sequence[_Drifted],
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    time_column: str,
) -> tuple[datetime | None, bool]:
    """The best-supported onset among the drifted features (an in-window change with the largest z)."""
    if current is None or time_column not in current.columns:
        return None, False
    found = [_feature_onset(d, current, reference, time_column) for d in drifted if d.name in current.columns]
    found = [f for f in found if f[0] is not None]
    if not found:
        return None, False
    inside = [f for f in found if f[1]]
    if inside:
        best = max(inside, key=lambda f: f[2])
        return best[0], True
    return min(f[0] for f in found), False  # type: ignore[type-var]


def _infra_from_signals(
    signals: pd.DataFrame | None, z_min: float = 5.0, max_gap: int = 3
) -> tuple[float, datetime | None, str]:
    """Largest episode of bins with latency p95 (robust z) or error count (binomial tail) beyond ``z_min``.

    Flagged bins at most ``max_gap`` non-empty bins apart form an episode. Strength
    ``1 - exp(-(k - 1) / 3)`` for an episode of ``k`` flagged bins: a single-bin blip counts for nothing.
    """
    if signals is None or len(signals) < 12:
        return 0.0, None, ""
    flags: dict[str, pd.Series] = {}  # per signal, a boolean series over its non-empty bins only
    if "latency_p95" in signals and signals["latency_p95"].notna().sum() >= 12:
        lat = signals["latency_p95"].dropna().astype(float)
        med = lat.median()
        mad = 1.4826 * (lat - med).abs().median()
        scale = mad if mad > 0 else lat.std(ddof=0) or 1.0
        flags["latency_p95"] = (lat - med) / scale >= z_min
    if "error_rate" in signals and "request_volume" in signals:
        from scipy import stats

        busy = signals[signals["request_volume"].fillna(0) > 0]
        vol = busy["request_volume"].astype(int).to_numpy()
        errors = np.rint(busy["error_rate"].fillna(0).to_numpy() * vol).astype(int)
        p0 = min(max(errors.sum() / max(vol.sum(), 1), 1e-4), 0.5)
        # exact binomial tail: P(X >= errors | n = volume, p = window error rate) below the z = 5 tail
        tail = stats.binom.sf(errors - 1, vol, p0)
        flags["error_rate"] = pd.Series((tail <= stats.norm.sf(z_min)) & (errors > 0), index=busy.index)
    best: tuple[int, Any, str] = (0, None, "")
    for name, flag in flags.items():
        hits = np.flatnonzero(flag.to_numpy())
        if not len(hits):
            continue
        # flagged bins at most ``max_gap`` bins apart form one episode (noisy bins inside it do not end it)
        episodes = np.split(hits, np.flatnonzero(np.diff(hits) > max_gap) + 1)
        episode = max(episodes, key=len)
        if len(episode) > best[0]:
            best = (len(episode), flag.index[episode[0]], name)
    if best[0] == 0:
        return 0.0, None, ""
    start = best[1].to_pydatetime(warn=False) if hasattr(best[1], "to_pydatetime") else best[1]
    return 1.0 - math.exp(-(best[0] - 1) / 3.0), start, best[2]


def _calibration_z(frame: pd.DataFrame, prediction: str, label: str) -> tuple[float, float, int]:
    rows = frame[[prediction, label]].dropna()
    if len(rows) < 50:
        return math.nan, math.nan, len(rows)
    p = rows[prediction].to_numpy(dtype=float).clip(1e-6, 1 - 1e-6)
    y = rows[label].to_numpy(dtype=float)
    gap = float(np.mean(y - p))
    se = math.sqrt(float(np.sum(p * (1 - p)))) / len(p)
    return gap, se, len(rows)


def _concept_evidence(
    signals_drift: Mapping[str, Any],
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    prediction: str,
    label: str,
) -> tuple[float, list[str]]:
    from scipy import stats

    strengths, notes = [], []
    error_signal = signals_drift.get("error")
    if error_signal is not None and str(_get(error_signal, "verdict", "")).endswith("FAILED"):
        strengths.append(0.8)
        notes.append(f"error-rate signal drifted ({_get(error_signal, 'status', '')})")
    if current is not None and prediction in current and label in current:
        gap, se, n = _calibration_z(current, prediction, label)
        if math.isfinite(gap) and se > 0:
            ref_gap, ref_se = 0.0, 0.0
            if reference is not None and prediction in reference and label in reference:
                rg, rse, _ = _calibration_z(reference, prediction, label)
                if math.isfinite(rg):
                    ref_gap, ref_se = rg, rse
            diff = gap - ref_gap
            z = diff / math.sqrt(se**2 + ref_se**2)
            p_value = float(2 * stats.norm.sf(abs(z)))
            if abs(diff) >= 0.01 and p_value <= 0.01:
                strengths.append(min(1.0, -math.log10(max(p_value, 1e-300)) / 6.0))
                notes.append(
                    f"labels vs scores: observed-minus-predicted positive rate {diff:+.3f} "
                    f"over {n} labelled rows "
                    f"(z={z:.1f}, p={p_value:.2g})"
                )
    return _noisy_or(strengths), notes


def _proximity(event_time: pd.Timestamp, onset: datetime, lookback: timedelta) -> float:
    delta = (pd.Timestamp(onset) - event_time).total_seconds()
    if delta < -1800:
        return 0.0
    if delta < 0:
        return 0.8
    if delta > lookback.total_seconds():
        return 0.0
    return math.exp(-delta / 7200.0)


def _importance(feature_importance: Mapping[str, float] | None, multivariate: Any) -> dict[str, float]:
    parts = []
    for source in (
        feature_importance,
        _get(multivariate, "importances") if multivariate is not None else None,
    ):
        if not source:
            continue
        clean = {
            k: max(0.0, float(v)) for k, v in source.items() if v is not None and math.isfinite(float(v))
        }
        total = sum(clean.values())
        if total > 0:
            parts.append({k: v / total for k, v in clean.items()})
    if not parts:
        return {}
    names = set().union(*parts)
    return {n: sum(p.get(n, 0.0) for p in parts) / len(parts) for n in names}


def _labels_after(
    current: pd.DataFrame | None, label: str, time_column: str, onset: datetime | None
) -> int | None:
    if current is None or label not in current.columns:
        return None
    rows = current
    if onset is not None and time_column in current.columns:
        rows = current[pd.to_datetime(current[time_column], utc=True) >= pd.Timestamp(onset)]
    return int(rows[label].notna().sum())


def _drift_series_correlations(
    signals: pd.DataFrame,
    current: pd.DataFrame | None,
    main: _Drifted | None,
    time_column: str,
    maxlag: int,
    events: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Pearson + Granger between the drift series (the main feature per bin: mean, or the new categories'
    share) and the score series (prediction mean), and the serving signals and event indicators (0 before
    the event's bin, 1 from it on; only events inside the window vary)."""
    from drift_sentinel.analysis.correlation import correlate

    frame = pd.DataFrame(index=signals.index)
    freq = pd.infer_freq(signals.index[:50]) if len(signals) >= 3 else None
    if main is not None and current is not None and main.name in current and time_column in current and freq:
        times = pd.to_datetime(current[time_column], utc=True).dt.floor(freq)
        values = current[main.name]
        if main.new_categories:
            series = values.astype(str).isin(main.new_categories).astype(float)
        elif pd.api.types.is_numeric_dtype(values):
            series = pd.to_numeric(values, errors="coerce")
        else:
            series = None
        if series is not None:
            frame[f"drift:{main.name}"] = series.groupby(times.to_numpy()).mean().reindex(signals.index)
    if "prediction_mean" in signals:
        frame["score:prediction_mean"] = signals["prediction_mean"]
    candidates = [c for c in ("latency_p95", "error_rate", "request_volume") if c in signals]
    for c in candidates:
        frame[c] = signals[c]
    if events is not None and len(events) and len(signals):
        inside = events[(events["timestamp"] > signals.index[0]) & (events["timestamp"] <= signals.index[-1])]
        for row in inside.itertuples(index=False):
            name = f"event:{row.event_type}:{row.source}" if row.source else f"event:{row.event_type}"
            frame[name] = (signals.index >= row.timestamp).astype(float)
            candidates.append(name)
    frame = frame.dropna()
    targets = [c for c in frame.columns if c.startswith(("drift:", "score:"))]
    if len(frame) < 3 * maxlag + 25 or not targets or not candidates:
        return []
    out = []
    for target in targets:
        columns = [c for c in candidates if frame[c].std() > 0]
        if not columns or frame[target].std() == 0:
            continue
        report = correlate(frame, columns=columns, target=target, maxlag=maxlag)
        out += [p.to_dict() for p in report.pairs]
    return out


# ---------------------------------------------------------------------------------------------------------


def analyze_incident(
    drift: Any,
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
) -> RcaReport:
    """Explain one incident; see the module docstring for the scoring, confidence and action rules.

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

    Returns
    -------
    RcaReport
        ``to_dict()`` is the JSON the issue specifies; ``to_markdown()`` and ``metadata()`` feed Dagster.
    """
    drift = _as_report(drift)
    detection_time = pd.Timestamp(detection_time).to_pydatetime(warn=False)
    drifted, signals_drift = _drifted_features(drift)
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
    attribution = _attribute(drifted, feature_importance, _get(drift, "multivariate"), current, reference)
    main = next((d for d in drifted if attribution and d.name == attribution[0].feature), None)
    ev = _gather_evidence(
        drift,
        drifted,
        signals_drift,
        signals=signals,
        anomalies=anomalies,
        current=current,
        reference=reference,
        time_column=time_column,
        prediction_column=prediction_column,
        label_column=label_column,
    )
    main_name = main.name if main else None

    candidates, timeline_events = _event_candidates(
        normalize_events(events), ev, model_id, main_name, lookback
    )
    signature, recurrence, seasonal = _seasonality_candidates(
        ev,
        attribution,
        main,
        history,
        incident_id=incident_id,
        model_id=model_id,
        detection_time=detection_time,
    )
    candidates += seasonal
    candidates += _pipeline_candidates(
        pipeline or PipelineEvidence(), ev, drifted, model_id, main_name, lookback
    )
    candidates += _fallback_candidates(ev, attribution, main_name)
    ranked = _merge(candidates)
    root, top = _decide(ranked, ev, main_name)

    labels = _labels_after(current, label_column, time_column, ev.onset)
    action, reason = _action(root, top, model_id, labels, min_labels, recurrence)
    recommendations = _recommendations(root, action, reason, attribution, timeline_events, drifted)
    correlations: list[dict[str, Any]] = []
    if signals is not None and len(signals):
        try:
            correlations = _drift_series_correlations(
                signals, current, main, time_column, correlation_maxlag, normalize_events(events)
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
        recommendations=recommendations,
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


@dataclass(frozen=True)
class _Evidence:
    """The strengths in [0, 1] and the timeline the candidates are scored from (module docstring)."""

    s_drift: float
    s_prediction: float
    s_infra: float
    infra_start: datetime | None
    infra_signal: str
    s_concept: float
    concept_notes: tuple[str, ...]
    drift_start: datetime | None
    onset: datetime | None
    in_window: bool
    drifted: tuple[str, ...]

    @property
    def symptom(self) -> float:
        """How strongly something is wrong at all: the largest of the data, serving and label strengths."""
        return max(self.s_drift, self.s_infra, self.s_concept)

    def notes(self) -> tuple[str, ...]:
        out = [
            f"data drift strength {self.s_drift:.2f}"
            + (f" ({', '.join(self.drifted)})" if self.drifted else "")
        ]
        if self.s_infra:
            out.append(f"serving anomaly strength {self.s_infra:.2f} ({self.infra_signal or 'anomalies'})")
        if self.s_concept:
            out.append(f"label evidence strength {self.s_concept:.2f}")
        return tuple(out)


def _attribute(
    drifted: Sequence[_Drifted],
    feature_importance: Mapping[str, float] | None,
    multivariate: Any,
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
) -> tuple[FeatureAttribution, ...]:
    """Drift magnitude × (importance + 0.05), normalised; plain magnitude when no importance is known."""
    importance = _importance(feature_importance, multivariate)
    raw = {}
    for d in drifted:
        weight = (importance.get(d.name, 0.0) + 0.05) if importance else 1.0
        raw[d.name] = max(d.magnitude, 1e-6) * weight
    total = sum(raw.values())
    out = []
    for d in drifted:
        ref_col = reference[d.name] if reference is not None and d.name in reference else None
        cur_col = current[d.name] if current is not None and d.name in current else None
        out.append(
            FeatureAttribution(
                feature=d.name,
                weight=_r(raw[d.name] / total),
                magnitude=_r(d.magnitude),
                importance=None if d.name not in importance else _r(importance[d.name]),
                drift_type=d.drift_type,
                direction=feature_direction(ref_col, cur_col, d.kind, d.new_categories),
            )
        )
    return tuple(sorted(out, key=lambda fa: (-fa.weight, fa.feature)))


def _gather_evidence(
    drift: Any,
    drifted: Sequence[_Drifted],
    signals_drift: Mapping[str, Any],
    *,
    signals: pd.DataFrame | None,
    anomalies: pd.DataFrame | None,
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    time_column: str,
    prediction_column: str,
    label_column: str,
) -> _Evidence:
    s_drift = max((0.9 if not math.isfinite(d.p_value) else 1.0 - d.p_value for d in drifted), default=0.0)
    prediction_signal = signals_drift.get("prediction")
    s_prediction = 0.8 if prediction_signal is not None and _get(prediction_signal, "drifted", False) else 0.0
    s_infra_own, infra_start, infra_signal = _infra_from_signals(signals)
    s_infra_given, given_start, _ = anomaly_strength(anomalies, ("latency", "error"))
    s_infra = _noisy_or([s_infra_own, 0.5 * s_infra_given])
    if infra_start is None and given_start is not None and s_infra_given > 0.5:
        infra_start = pd.Timestamp(given_start).to_pydatetime(warn=False)
    s_concept, concept_notes = _concept_evidence(
        signals_drift, current, reference, prediction_column, label_column
    )

    # timeline: the in-window change point of the drifted features, else the streaming detectors' start,
    # else the start of the serving anomaly or of the label change
    drift_start = _get(drift, "drift_start")
    onset, in_window = _estimate_onset(drifted, current, reference, time_column)
    if onset is None or (not in_window and drift_start is not None):
        onset = drift_start or onset
        in_window = in_window or drift_start is not None
    if infra_start is not None and (not drifted and s_infra >= 0.3 or onset is None):
        onset, in_window = infra_start, True
    if (
        onset is None
        and s_concept > 0
        and current is not None
        and {time_column, label_column} <= set(current)
    ):
        rows = current[[time_column, label_column]].dropna().sort_values(time_column)
        times = pd.to_datetime(rows[time_column], utc=True)
        onset, in_window, _ = _onset_from_indicator(times, (rows[label_column] >= 0.5).to_numpy())
    return _Evidence(
        s_drift=s_drift,
        s_prediction=s_prediction,
        s_infra=s_infra,
        infra_start=infra_start,
        infra_signal=infra_signal,
        s_concept=s_concept,
        concept_notes=tuple(concept_notes),
        drift_start=drift_start,
        onset=onset,
        in_window=in_window,
        drifted=tuple(f"{d.name}: {d.drift_type}" for d in drifted),
    )


def _event_candidates(
    events: pd.DataFrame, ev: _Evidence, model_id: str, feature: str | None, lookback: timedelta
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """One candidate per external event near the onset, scored by proximity × the symptom it can cause."""
    candidates: list[Candidate] = []
    timeline: list[dict[str, Any]] = []
    if ev.onset is None or not len(events):
        return candidates, timeline
    onset = pd.Timestamp(ev.onset)
    for row in events.itertuples(index=False):
        prox = _proximity(row.timestamp, ev.onset, lookback)
        if row.event_type == "holiday" and row.timestamp.date() == onset.date():
            prox = max(prox, 0.8)
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
            score = prox * (base if base > 0 else 0.5 * ev.s_infra) * 0.95
            ours = row.source in (model_id, f"model:{model_id}")
            kind = "upstream_pipeline_change" if ours else ("data_drift" if base > 0 else "infrastructure")
        elif row.event_type == "upstream_incident":
            score = prox * max(ev.s_infra, 0.7 * ev.s_drift) * 0.95
            kind = "infrastructure" if ev.s_infra >= 0.7 * ev.s_drift else "upstream_pipeline_change"
        else:
            score = prox * ev.s_drift * 0.6
            kind = "seasonality" if row.event_type == "holiday" else "data_drift"
        if score <= 0:
            continue
        minutes = (onset - row.timestamp).total_seconds() / 60
        when = f"{abs(minutes):.0f} min {'before' if minutes >= 0 else 'after'} the onset"
        note = f"{row.event_type} of {row.source or '?'} {when}: {row.description}".strip()
        name = f"{row.event_type}:{row.source}" if row.source else row.event_type
        candidates.append(Candidate(name=name, type=kind, score=_r(score), evidence=(note,), feature=feature))
    return candidates, timeline


def _seasonality_candidates(
    ev: _Evidence,
    attribution: Sequence[FeatureAttribution],
    main: _Drifted | None,
    history: Sequence[IncidentSignature],
    *,
    incident_id: str,
    model_id: str,
    detection_time: datetime,
) -> tuple[IncidentSignature | None, PatternMatch | None, list[Candidate]]:
    """The incident's signature, its best recurrence in ``history``, and the seasonal candidates."""
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
    phase_prior = 0.5 if is_month_end(signature.time) and main is not None and main.kind == "numeric" else 0.0
    r_month_end = 1 - 0.5 ** (month_end.recurrences if month_end else 0)
    score = ev.s_drift * _noisy_or([phase_prior, r_month_end])
    if score > 0:
        notes = []
        if phase_prior:
            notes.append(f"onset {signature.time:%Y-%m-%d} falls in the last 3 days of the month")
        if month_end:
            ids = ", ".join(month_end.incident_ids)
            notes.append(f"same signature recurred {month_end.recurrences}x at month end ({ids})")
            recurrence = month_end
        candidates.append(
            Candidate("end_of_month_seasonality", "seasonality", _r(score), tuple(notes), feature)
        )
    for pattern in ("weekly_seasonality", "time_of_day_seasonality"):
        match = by_pattern.get(pattern)
        if match is None or not ev.in_window:  # a window-start "onset" has no phase of its own
            continue
        score = ev.s_drift * (1 - 0.5**match.recurrences) * 0.8
        note = f"same signature recurred {match.recurrences}x ({', '.join(match.incident_ids)})"
        candidates.append(Candidate(pattern, "seasonality", _r(score), (note,), feature))
        if recurrence is None or match.recurrences > recurrence.recurrences:
            recurrence = match
    ongoing = ongoing_incident(signature, history)
    if ongoing is not None and ongoing[0].cause not in ("data_drift", None):
        past, similarity = ongoing
        note = f"continues incident {past.incident_id} ({past.cause}, onset {past.time.isoformat()})"
        score = 0.85 * similarity * ev.s_drift
        kind = past.cause_type if past.cause_type in ROOT_CAUSE_TYPES else "data_drift"
        candidates.append(Candidate(past.cause or "", kind, _r(score), (note,), feature))
    return signature, recurrence, candidates


def _pipeline_candidates(
    pipeline: PipelineEvidence,
    ev: _Evidence,
    drifted: Sequence[_Drifted],
    model_id: str,
    feature: str | None,
    lookback: timedelta,
) -> list[Candidate]:
    """Upstream code/data-version changes and failed checks near the onset; our own model's deploys."""

    def near(t: datetime | None) -> bool:
        if t is None or ev.onset is None:
            return True
        delta = (pd.Timestamp(ev.onset) - pd.Timestamp(t)).total_seconds()
        return -1800 <= delta <= lookback.total_seconds()

    per_asset: dict[str, list[tuple[float, str]]] = {}
    for change in pipeline.code_version_changes:
        if near(change.time):
            note = f"code version of {change.asset}: {change.old} → {change.new}"
            per_asset.setdefault(change.asset, []).append((0.9, note))
    for check in pipeline.failed_checks:
        if near(check.time):
            note = f"check {check.check} failed on {check.asset} {check.description}".strip()
            per_asset.setdefault(check.asset, []).append((0.8, note))
    for change in pipeline.data_version_changes:
        if near(change.time):
            note = f"data version of {change.asset}: {change.old} → {change.new}"
            per_asset.setdefault(change.asset, []).append((0.3, note))
    candidates = []
    for asset, items in per_asset.items():
        score = _noisy_or(v for v, _ in items) * ev.symptom
        if score > 0:
            notes = tuple(n for _, n in items)
            candidates.append(
                Candidate(f"pipeline:{asset}", "upstream_pipeline_change", _r(score), notes, feature)
            )
    for change in pipeline.model_version_changes:
        if not near(change.time):
            continue
        prox = _proximity(pd.Timestamp(change.time), ev.onset, lookback) if change.time and ev.onset else 0.8
        score = prox * max(ev.s_drift, ev.s_prediction) * 0.95
        if score > 0:
            note = f"served model version {change.old} → {change.new}"
            candidates.append(
                Candidate(f"deploy:{model_id}", "upstream_pipeline_change", _r(score), (note,), feature)
            )
    null_drifted = [d for d in drifted if d.null_rate_drifted]
    if null_drifted:
        notes = tuple(f"missing-value rate of {d.name} drifted" for d in null_drifted)
        score = _r(0.7 * ev.s_drift)
        candidates.append(
            Candidate("null_rate_increase", "upstream_pipeline_change", score, notes, null_drifted[0].name)
        )
    return candidates


def _fallback_candidates(
    ev: _Evidence, attribution: Sequence[FeatureAttribution], feature: str | None
) -> list[Candidate]:
    """Label-only concept drift, a serving anomaly, and a plain real-world shift when nothing else fits."""
    candidates = []
    if ev.s_concept > 0:
        candidates.append(
            Candidate("concept_drift", "concept_drift", _r(0.95 * ev.s_concept), ev.concept_notes)
        )
    if ev.s_infra > 0:
        name = f"{ev.infra_signal}_spike" if ev.infra_signal else "serving_anomaly"
        note = f"serving anomaly episode from {_t(ev.infra_start)} ({ev.infra_signal or 'anomalies'})"
        candidates.append(Candidate(name, "infrastructure", _r(0.6 * ev.s_infra), (note,)))
    if ev.s_drift > 0:
        notes = tuple(
            f"{fa.feature}: {fa.drift_type}, {fa.direction}, magnitude {fa.magnitude:.3f}"
            for fa in attribution[:3]
        )
        candidates.append(Candidate("data_drift", "data_drift", _r(0.4 * ev.s_drift), notes, feature))
    return candidates


def _merge(candidates: Sequence[Candidate]) -> list[Candidate]:
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


def _decide(
    ranked: Sequence[Candidate], ev: _Evidence, main: str | None
) -> tuple[RootCause, Candidate | None]:
    """The root cause, its confidence ``e1² / (e1 + e2)`` and the normalised top-5 factors."""
    e1 = ranked[0].score if ranked else 0.0
    e2 = _rival_score(ranked)
    confidence = _r(e1 * e1 / (e1 + e2)) if e1 > 0 else 0.0
    positive = [c for c in ranked if c.score > 0][:5]
    total = sum(c.score for c in positive)
    factors = tuple(Factor(c.name, _r(c.score / total)) for c in positive) if total else ()
    if factors:  # make the rounded weights sum to exactly 1
        factors = (Factor(factors[0].factor, _r(1.0 - sum(f.weight for f in factors[1:]))), *factors[1:])
    if e1 < UNKNOWN_BELOW:
        note = f"no candidate cause reached a score of {UNKNOWN_BELOW}"
        root = RootCause("unknown", main, confidence, factors, None, (*ev.notes(), note))
        return root, None
    top = ranked[0]
    root = RootCause(top.type, top.feature or main, confidence, factors, top.name, top.evidence + ev.notes())
    return root, top


GENERIC = ("data_drift", "serving_anomaly")


def _is_generic(candidate: Candidate) -> bool:
    return candidate.name in GENERIC or candidate.name.endswith("_spike")


def _rival_score(ranked: Sequence[Candidate]) -> float:
    """The best score among candidates that are real alternatives to the winner.

    A generic fallback (``data_drift``, ``*_spike``) of the winner's own type restates the symptom the
    winner explains, so it is not a rival; specific causes and fallbacks of another type are.
    """
    if len(ranked) < 2:
        return 0.0
    top = ranked[0]
    rivals = [c.score for c in ranked[1:] if not (_is_generic(c) and c.type == top.type)]
    return max(rivals, default=0.0)


def _action(
    root: RootCause,
    top: Candidate | None,
    model_id: str,
    labels: int | None,
    min_labels: int,
    recurrence: PatternMatch | None,
) -> tuple[str, str]:
    where = f" on {root.feature}" if root.feature else ""
    if root.type == "upstream_pipeline_change":
        if top is not None and top.name == f"deploy:{model_id}":
            return (
                "rollback_model",
                f"drift{where} began right after a deploy of {model_id}; roll back to the previous version",
            )
        return (
            "notify_team",
            f"an upstream pipeline change explains the drift{where}; fix upstream rather than retrain on it",
        )
    if root.type == "concept_drift":
        return (
            "retrain_model",
            "the relation between features and labels changed; retrain on recent labelled data",
        )
    if root.type == "infrastructure":
        return (
            "scale_resources",
            "latency/error anomalies without data drift point at serving capacity or a dependency",
        )
    if root.type == "seasonality":
        if recurrence is not None and recurrence.recurrences >= 1:
            return (
                "update_thresholds",
                f"{root.cause} recurred {recurrence.recurrences}x; adjust thresholds/reference for the phase",
            )
        return (
            "notify_team",
            f"{root.cause} is likely but has not recurred yet; confirm before changing thresholds",
        )
    if root.type == "data_drift":
        if labels is None or labels >= min_labels:
            have = "labels" if labels is None else f"{labels} labels"
            return (
                "retrain_model",
                f"a real-world shift{where} ({root.cause}); {have} available after the onset to retrain on",
            )
        return (
            "notify_team",
            f"a real-world shift{where} but only {labels} labels after the onset (< {min_labels}) to retrain",
        )
    return "notify_team", "no cause explains the drift with enough evidence; a human needs to look"


def _recommendations(
    root: RootCause,
    action: str,
    reason: str,
    attribution: Sequence[FeatureAttribution],
    events: Sequence[Mapping[str, Any]],
    drifted: Sequence[_Drifted],
) -> tuple[Recommendation, ...]:
    items: list[tuple[str | None, str]] = [(action, f"{action.replace('_', ' ')}: {reason}")]
    for d in drifted:
        if d.new_categories:
            items.append(
                (
                    None,
                    f"{d.name} has new categories {list(d.new_categories)} unseen in training; "
                    "include them in the next training set",
                )
            )
    if root.type == "seasonality":
        items.append((None, "use a same-phase reference (e.g. last month end) for windows in this phase"))
    if root.type == "infrastructure" and events:
        items.append(
            (
                None,
                f"check the status of {events[0]['source'] or 'the upstream dependency'} "
                f"({events[0]['event_type']})",
            )
        )
    if root.type == "upstream_pipeline_change":
        items.append(
            (None, "compare upstream code/data versions before and after the onset; add a blocking check")
        )
    if attribution and root.type in ("data_drift", "unknown"):
        top = attribution[0]
        items.append(
            (
                None,
                f"inspect {top.feature} ({top.drift_type}, {top.direction}) first: "
                f"it carries {top.weight:.0%} of the attribution",
            )
        )
    if action != "notify_team":
        items.append(
            (
                "notify_team",
                f"tell the model owners: {root.type} ({root.cause or 'unknown cause'}), "
                f"confidence {root.confidence:.2f}",
            )
        )
    return tuple(Recommendation(priority=i + 1, text=text, action=act) for i, (act, text) in enumerate(items))

"""The root-cause analysis of one incident: :class:`RcaReport`, its JSON, Markdown and Dagster metadata.

``to_dict()`` is the report's JSON (docs/rca.md shows it) and ``from_dict`` reads it back;
``to_markdown()`` and ``metadata()`` feed the Dagster UI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drift_sentinel.analysis.rca.model import (
    Candidate,
    FeatureAttribution,
    Recommendation,
    RootCause,
    from_iso,
    iso,
)
from drift_sentinel.analysis.rca.policy import ACTIONS
from drift_sentinel.analysis.temporal import IncidentSignature, PatternMatch
from drift_sentinel.errors import DataError

TOP_FACTORS_IN_METADATA = 3


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
                "drift_start": iso(self.drift_start),
                "onset": iso(self.onset),
                "detection_time": iso(self.detection_time),
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
            drift_start=from_iso(timeline.get("drift_start")),
            detection_time=datetime.fromisoformat(timeline["detection_time"]),
            recommendations=tuple(Recommendation.from_dict(r) for r in d.get("recommendations", ())),
            recommended_action=d["recommended_action"],
            action_reason=d.get("action_reason", ""),
            onset=from_iso(timeline.get("onset")),
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
        for factor in self.root_cause.contributing_factors[:TOP_FACTORS_IN_METADATA]:
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
            f"- drift start: {iso(self.drift_start) or 'unknown'}",
            f"- onset estimate: {iso(self.onset) or 'unknown'}",
            f"- detected: {iso(self.detection_time)}",
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

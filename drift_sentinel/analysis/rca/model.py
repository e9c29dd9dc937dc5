"""The parts of a root-cause answer: candidate causes, factors, feature attribution, the root cause, a recommendation.

All frozen, each with ``to_dict``/``from_dict`` for the report's JSON;
:class:`~drift_sentinel.analysis.rca.report.RcaReport` puts them together.

>>> root = RootCause("data_drift", "amount", 0.8, (Factor("deploy:app", 0.7), Factor("data_drift", 0.3)), "deploy:app")
>>> RootCause.from_dict(root.to_dict()) == root
True
>>> RootCause("bad_luck", None, 0.5, ())
Traceback (most recent call last):
...
drift_sentinel.errors.DataError: root cause type 'bad_luck' is not one of data_drift, ...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drift_sentinel.errors import DataError

ROOT_CAUSE_TYPES: tuple[str, ...] = (
    "data_drift",
    "concept_drift",
    "upstream_pipeline_change",
    "seasonality",
    "infrastructure",
    "unknown",
)
DIGITS = 4
"""Scores, weights and confidences in a report are rounded to this many decimals."""


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of a time (``None`` stays ``None``)."""
    return None if value is None else value.isoformat()


def from_iso(value: str | None) -> datetime | None:
    """The inverse of :func:`iso`."""
    return None if value is None else datetime.fromisoformat(value)


def rounded(value: float) -> float:
    """A score as it appears in a report (:data:`DIGITS` decimals)."""
    return round(float(value), DIGITS)


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

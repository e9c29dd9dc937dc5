"""Frozen result types of the detection engine, and their JSON form.

A :class:`DriftReport` is stored as JSON between Dagster assets, so ``DriftReport.from_dict(r.to_dict())``
round-trips every field (floats that are NaN or infinite are written as ``null`` / ``"inf"`` strings).

>>> r = TestResult(method="ks", statistic=0.5, p_value=0.01, threshold=0.05, drifted=True,
...                n_reference=10, n_current=10)
>>> TestResult.from_dict(r.to_dict()) == r
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drift_sentinel.detection._frozen import FrozenMap
from drift_sentinel.verdict import Verdict

__all__ = [
    "AffectedFeature",
    "DriftReport",
    "FeatureDrift",
    "MultivariateDrift",
    "TestResult",
]


def _num(value: float | None) -> float | str | None:
    """A JSON-safe float: NaN → None, ±inf → "inf"/"-inf"."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _unnum(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _untime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return FrozenMap(value)


@dataclass(frozen=True)
class TestResult:
    """One detector's answer on one feature.

    ``statistic`` is the test statistic (KS D, PSI, Wasserstein distance, chi-square …); ``p_value`` its
    raw p-value (NaN when the method has none); ``p_adjusted`` the Benjamini–Hochberg adjusted p-value
    across features; ``effect_size`` the scale-free magnitude compared with ``threshold`` (KS D,
    Wasserstein / reference standard deviation, PSI, Cramér's V); ``drifted`` is the detector's vote.
    """

    __test__ = False  # not a pytest test class

    method: str
    statistic: float
    p_value: float
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    effect_size: float = math.nan
    p_adjusted: float = math.nan
    alpha: float = math.nan
    detail: str = ""
    change_points: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "statistic": _num(self.statistic),
            "p_value": _num(self.p_value),
            "p_adjusted": _num(self.p_adjusted),
            "alpha": _num(self.alpha),
            "effect_size": _num(self.effect_size),
            "threshold": _num(self.threshold),
            "drifted": bool(self.drifted),
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "detail": self.detail,
            "change_points": list(self.change_points),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TestResult:
        return cls(
            method=d["method"],
            statistic=_unnum(d.get("statistic")),
            p_value=_unnum(d.get("p_value")),
            threshold=_unnum(d.get("threshold")),
            drifted=bool(d["drifted"]),
            n_reference=int(d["n_reference"]),
            n_current=int(d["n_current"]),
            effect_size=_unnum(d.get("effect_size")),
            p_adjusted=_unnum(d.get("p_adjusted")),
            alpha=_unnum(d.get("alpha")),
            detail=d.get("detail", ""),
            change_points=tuple(int(i) for i in d.get("change_points", ())),
        )

    def __eq__(self, other: object) -> bool:  # NaN-aware equality (round-trips compare equal)
        if not isinstance(other, TestResult):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.method, self.drifted, self.n_reference, self.n_current))


@dataclass(frozen=True)
class FeatureDrift:
    """Everything the engine found about one feature (or model signal: prediction score, error stream).

    ``votes`` maps each applicable detector to its vote (``True`` = drift); ``verdict`` is FAILED when at
    least ``quorum`` detectors voted drift or the null rate changed, INCONCLUSIVE below ``min_samples``,
    ERROR when the column could not be tested (missing); ``status`` says why in words.
    """

    name: str
    kind: str
    verdict: Verdict
    results: Mapping[str, TestResult] = field(default_factory=dict)
    votes: Mapping[str, bool] = field(default_factory=dict)
    magnitude: float = 0.0
    drift_type: str = ""
    p_value: float = math.nan
    drift_start: datetime | None = None
    status: str = "ok"
    n_reference: int = 0
    n_current: int = 0
    null_rate_reference: float = math.nan
    null_rate_current: float = math.nan
    null_rate_drifted: bool = False
    new_categories: tuple[str, ...] = ()
    vanished_categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", _frozen_map(self.results))
        object.__setattr__(self, "votes", _frozen_map(self.votes))

    @property
    def drifted(self) -> bool:
        return self.verdict is Verdict.FAILED

    @property
    def null_rate_change(self) -> float:
        """Current minus reference share of missing (NaN / ±inf / None) values."""
        return self.null_rate_current - self.null_rate_reference

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "verdict": self.verdict.value,
            "status": self.status,
            "drift_type": self.drift_type,
            "magnitude": _num(self.magnitude),
            "p_value": _num(self.p_value),
            "drift_start": _time(self.drift_start),
            "votes": {k: bool(v) for k, v in self.votes.items()},
            "results": {k: v.to_dict() for k, v in self.results.items()},
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "null_rate_reference": _num(self.null_rate_reference),
            "null_rate_current": _num(self.null_rate_current),
            "null_rate_change": _num(self.null_rate_change),  # derived; ignored by from_dict
            "null_rate_drifted": bool(self.null_rate_drifted),
            "new_categories": list(self.new_categories),
            "vanished_categories": list(self.vanished_categories),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureDrift:
        return cls(
            name=d["name"],
            kind=d["kind"],
            verdict=Verdict(d["verdict"]),
            results={k: TestResult.from_dict(v) for k, v in d.get("results", {}).items()},
            votes={k: bool(v) for k, v in d.get("votes", {}).items()},
            magnitude=_unnum(d.get("magnitude")),
            drift_type=d.get("drift_type", ""),
            p_value=_unnum(d.get("p_value")),
            drift_start=_untime(d.get("drift_start")),
            status=d.get("status", "ok"),
            n_reference=int(d.get("n_reference", 0)),
            n_current=int(d.get("n_current", 0)),
            null_rate_reference=_unnum(d.get("null_rate_reference")),
            null_rate_current=_unnum(d.get("null_rate_current")),
            null_rate_drifted=bool(d.get("null_rate_drifted", False)),
            new_categories=tuple(d.get("new_categories", ())),
            vanished_categories=tuple(d.get("vanished_categories", ())),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureDrift):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.kind, self.verdict))


@dataclass(frozen=True)
class AffectedFeature:
    """A drifted feature as the issue's JSON lists it: name, drift type, p-value, magnitude."""

    name: str
    drift_type: str
    p_value: float
    magnitude: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "drift_type": self.drift_type,
            "p_value": _num(self.p_value),
            "magnitude": _num(self.magnitude),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AffectedFeature:
        return cls(
            name=d["name"],
            drift_type=d["drift_type"],
            p_value=_unnum(d.get("p_value")),
            magnitude=_unnum(d.get("magnitude")),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AffectedFeature):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.drift_type))


@dataclass(frozen=True)
class MultivariateDrift:
    """The domain-classifier two-sample test: can a classifier tell reference rows from current rows?

    ``auc`` is the out-of-fold ROC AUC, ``p_value`` the one-sided Mann–Whitney p-value of that AUC
    against 0.5, ``importances`` the permutation importance of each feature (drop in AUC), which RCA
    uses to rank contributing features.
    """

    method: str
    auc: float
    p_value: float
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    importances: Mapping[str, float] = field(default_factory=dict)
    verdict: Verdict = Verdict.PASSED
    status: str = "ok"

    def __post_init__(self) -> None:
        object.__setattr__(self, "importances", _frozen_map(self.importances))

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "auc": _num(self.auc),
            "p_value": _num(self.p_value),
            "threshold": _num(self.threshold),
            "drifted": bool(self.drifted),
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "importances": {k: _num(v) for k, v in self.importances.items()},
            "verdict": self.verdict.value,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MultivariateDrift:
        return cls(
            method=d["method"],
            auc=_unnum(d.get("auc")),
            p_value=_unnum(d.get("p_value")),
            threshold=_unnum(d.get("threshold")),
            drifted=bool(d["drifted"]),
            n_reference=int(d["n_reference"]),
            n_current=int(d["n_current"]),
            importances={k: _unnum(v) for k, v in d.get("importances", {}).items()},
            verdict=Verdict(d.get("verdict", "PASSED")),
            status=d.get("status", "ok"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultivariateDrift):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.method, self.drifted))


@dataclass(frozen=True)
class DriftReport:
    """The engine's answer for one reference/current pair.

    ``verdict`` is FAILED when drift was detected, INCONCLUSIVE when no drift was found but some feature
    had too little data (or could not be tested), PASSED otherwise. ``drift_score`` is the share of
    assessed signals that drifted (0 when none could be assessed). ``affected_features`` are sorted by
    magnitude, largest first. ``drift_start`` is the earliest change point found by a streaming detector
    among affected features. ``excluded`` names the shared columns that were not compared and why (datetime
    columns, unless declared as features).
    """

    drift_detected: bool
    drift_score: float
    verdict: Verdict
    features: Mapping[str, FeatureDrift]
    affected_features: tuple[AffectedFeature, ...]
    n_reference: int
    n_current: int
    timestamp: datetime
    config: Mapping[str, Any] = field(default_factory=dict)
    drift_start: datetime | None = None
    signals: Mapping[str, FeatureDrift] = field(default_factory=dict)
    multivariate: MultivariateDrift | None = None
    excluded: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "excluded", _frozen_map(self.excluded))
        object.__setattr__(self, "features", _frozen_map(self.features))
        object.__setattr__(self, "signals", _frozen_map(self.signals))
        object.__setattr__(self, "config", _frozen_map(self.config))
        object.__setattr__(self, "affected_features", tuple(self.affected_features))

    @property
    def n_drifted(self) -> int:
        return len(self.affected_features)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``json.dumps`` works on it) with the issue's keys plus the per-feature detail
        (``excluded_columns`` only when a column was left out)."""
        out = {
            "drift_detected": bool(self.drift_detected),
            "drift_score": _num(self.drift_score),
            "verdict": self.verdict.value,
            "affected_features": [a.to_dict() for a in self.affected_features],
            "drift_start": _time(self.drift_start),
            "timestamp": _time(self.timestamp),
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "features": {k: v.to_dict() for k, v in self.features.items()},
            "signals": {k: v.to_dict() for k, v in self.signals.items()},
            "multivariate": None if self.multivariate is None else self.multivariate.to_dict(),
            "config": _jsonable(dict(self.config)),
        }
        if self.excluded:
            out["excluded_columns"] = dict(self.excluded)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DriftReport:
        mv = d.get("multivariate")
        return cls(
            drift_detected=bool(d["drift_detected"]),
            drift_score=_unnum(d.get("drift_score")),
            verdict=Verdict(d["verdict"]),
            features={k: FeatureDrift.from_dict(v) for k, v in d.get("features", {}).items()},
            affected_features=tuple(AffectedFeature.from_dict(a) for a in d.get("affected_features", ())),
            n_reference=int(d.get("n_reference", 0)),
            n_current=int(d.get("n_current", 0)),
            timestamp=datetime.fromisoformat(d["timestamp"]),
            config=dict(d.get("config", {})),
            drift_start=_untime(d.get("drift_start")),
            signals={k: FeatureDrift.from_dict(v) for k, v in d.get("signals", {}).items()},
            multivariate=None if mv is None else MultivariateDrift.from_dict(mv),
            excluded=dict(d.get("excluded_columns", {})),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DriftReport):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.drift_detected, self.verdict, self.timestamp))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return _num(value)
    return value

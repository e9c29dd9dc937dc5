"""Detection thresholds: a dry-run replay over past drift reports, and a versioned, revertible store.

A threshold change is judged the way a backtest is: replay the model's historical drift-report
partitions under the current and the proposed thresholds, count the alerts each would have raised,
and list every *confirmed* incident the proposal would have missed. A proposal that misses a
confirmed incident FAILS; too little history is INCONCLUSIVE (the gate fails closed on both).

Replay input (one dict per historical window; :func:`replay_window` builds it from a stored
``DriftReport.to_dict()``)::

    {"partition": "2026-01-05",
     "scores": {"amount": {"ks": 0.21, "psi": 0.31, "wasserstein": None}, "device_id": {"chi_square": 0.4}},
     "quorum": 2,                      # optional, else the replay's quorum
     "incident_id": "inc-42"}          # set when drift was confirmed in this window, else None/absent

Scores are the detectors' effect sizes (KS D, PSI, Wasserstein / sd, Cramér's V …), the quantity
``DetectionConfig.thresholds`` overrides in the detection engine; ``None`` marks a detector that ran
but was not significant (its adjusted p-value above alpha), so it cannot vote whatever the threshold.
Thresholds (current and proposed) are keyed by feature, then detector, with ``"*"`` for every
feature — the shape of ``DetectionConfig.thresholds``; :func:`effective_thresholds` gives the ones in
force for a config (sensitivity defaults plus overrides).

A detector votes when its score reaches its threshold (``score >= threshold``; for inputs that are
p-values, name those detectors in ``lower_is_drift`` and they vote when ``score < threshold``). As in
the engine, a feature drifts when at least ``min(quorum, applicable detectors)`` vote, and a window
alerts when any feature drifts. A detector with no threshold is not applicable. (Null-rate drift,
which the engine reports separately, is not replayed.)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drift_sentinel.audit import write_once
from drift_sentinel.detection.config import DetectionConfig
from drift_sentinel.errors import DataError
from drift_sentinel.verdict import Verdict

Thresholds = Mapping[str, Mapping[str, float]]

LOWER_IS_DRIFT: frozenset[str] = frozenset({"ks", "chi_square"})
"""Detectors whose score is a p-value when replaying p-values instead of effect sizes (not the default)."""


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of replaying past windows under current and proposed thresholds."""

    verdict: Verdict
    windows: int
    alerts_before: int
    alerts_after: int
    missed_incidents: tuple[str, ...]
    incidents: int
    reason: str
    silenced_partitions: tuple[str, ...] = ()
    new_alert_partitions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "windows": self.windows,
            "alerts_before": self.alerts_before,
            "alerts_after": self.alerts_after,
            "incidents": self.incidents,
            "missed_incidents": list(self.missed_incidents),
            "silenced_partitions": list(self.silenced_partitions),
            "new_alert_partitions": list(self.new_alert_partitions),
            "reason": self.reason,
        }


def _threshold(thresholds: Thresholds, feature: str, algorithm: str) -> float | None:
    for key in (feature, "*"):
        value = thresholds.get(key, {}).get(algorithm)
        if value is not None:
            return float(value)
    return None


def window_alerts(
    scores: Mapping[str, Mapping[str, float | None]],
    thresholds: Thresholds,
    *,
    quorum: int = 1,
    lower_is_drift: Collection[str] = (),
) -> tuple[str, ...]:
    """The features that drift in one window under ``thresholds`` (empty: the window raises no alert).

    >>> window_alerts({"amount": {"ks": 0.3, "psi": 0.1}}, {"*": {"ks": 0.05, "psi": 0.2}})
    ('amount',)
    >>> window_alerts({"amount": {"ks": 0.3, "psi": 0.1}}, {"*": {"ks": 0.05, "psi": 0.2}}, quorum=2)
    ()
    >>> window_alerts({"amount": {"ks": 0.3, "psi": 0.1}}, {"*": {"ks": 0.05}}, quorum=2)  # one applicable
    ('amount',)
    """
    if quorum < 1:
        raise ValueError(f"quorum must be >= 1, got {quorum}")
    drifted = []
    for feature, by_algorithm in scores.items():
        votes = applicable = 0
        for algorithm, score in by_algorithm.items():
            limit = _threshold(thresholds, feature, algorithm)
            if limit is None:
                continue
            applicable += 1
            if score is None or (isinstance(score, float) and math.isnan(score)):
                continue
            fired = score < limit if algorithm in lower_is_drift else score >= limit
            votes += int(fired)
        if applicable and votes >= min(quorum, applicable):
            drifted.append(feature)
    return tuple(drifted)


def replay_window(
    report: Mapping[str, Any], *, partition: str, incident_id: str | None = None
) -> dict[str, Any]:
    """Turn a stored ``DriftReport.to_dict()`` into a replay window (effect sizes of significant detectors).

    >>> report = {"config": {"quorum": 1}, "features": {"amount": {"results": {
    ...     "ks": {"effect_size": 0.31, "p_adjusted": 0.001, "alpha": 0.05},
    ...     "psi": {"effect_size": 0.02, "p_adjusted": 0.4, "alpha": 0.05}}}}}
    >>> replay_window(report, partition="2026-01-05")["scores"]
    {'amount': {'ks': 0.31, 'psi': None}}
    """
    scores: dict[str, dict[str, float | None]] = {}
    for name, feature in (report.get("features") or {}).items():
        by: dict[str, float | None] = {}
        for detector, result in (feature.get("results") or {}).items():
            effect, p_adjusted, alpha = (
                result.get("effect_size"),
                result.get("p_adjusted"),
                result.get("alpha"),
            )
            significant = p_adjusted is None or alpha is None or float(p_adjusted) <= float(alpha)
            by[detector] = float(effect) if significant and effect is not None else None
        scores[name] = by
    window: dict[str, Any] = {"partition": partition, "scores": scores, "incident_id": incident_id}
    quorum = (report.get("config") or {}).get("quorum")
    if quorum is not None:
        window["quorum"] = int(quorum)
    return window


def effective_thresholds(config: DetectionConfig) -> dict[str, dict[str, float]]:
    """The effect-size thresholds in force for ``config``: its sensitivity's defaults under ``"*"``,
    then the per-feature (or ``"*"``) overrides from ``config.thresholds``.

    >>> effective_thresholds(DetectionConfig(sensitivity="medium", thresholds={"amount": {"psi": 0.3}}))["amount"]
    {'psi': 0.3}
    """
    from drift_sentinel.detection.sensitivity import thresholds_for

    merged: dict[str, dict[str, float]] = {"*": dict(thresholds_for(config.sensitivity).effect)}
    for feature, overrides in config.thresholds.items():
        merged.setdefault(feature, {}).update({k: float(v) for k, v in overrides.items() if k != "alpha"})
    return merged


def replay_thresholds(
    history: Sequence[Mapping[str, Any]],
    current: Thresholds,
    proposed: Thresholds,
    *,
    quorum: int = 1,
    min_windows: int = 5,
    lower_is_drift: Collection[str] = (),
) -> ReplayResult:
    """Dry-run ``proposed`` thresholds over past windows and compare them with ``current``.

    FAILED when a window with a confirmed incident would raise no alert under ``proposed``;
    INCONCLUSIVE with fewer than ``min_windows`` windows; PASSED otherwise.

    >>> history = [{"partition": f"d{i}", "scores": {"x": {"psi": s}}, "incident_id": inc}
    ...            for i, (s, inc) in enumerate([(0.1, None), (0.25, None), (0.5, "inc-1"), (0.05, None),
    ...                                          (0.12, None)])]
    >>> r = replay_thresholds(history, {"*": {"psi": 0.2}}, {"*": {"psi": 0.3}})
    >>> r.verdict.value, r.alerts_before, r.alerts_after, r.missed_incidents
    ('PASSED', 2, 1, ())
    >>> replay_thresholds(history, {"*": {"psi": 0.2}}, {"*": {"psi": 0.6}}).reason
    'dry_run: replay over 5 windows would miss 1 confirmed incident(s): inc-1'
    """
    alerts_before = alerts_after = 0
    missed: list[str] = []
    incidents: list[str] = []
    silenced: list[str] = []
    new_alerts: list[str] = []
    for index, window in enumerate(history):
        if "scores" not in window:
            raise DataError(f"replay history window {index} ({window.get('partition')!r}) has no 'scores'")
        partition = str(window.get("partition", index))
        q = int(window.get("quorum", quorum))
        before = bool(window_alerts(window["scores"], current, quorum=q, lower_is_drift=lower_is_drift))
        after = bool(window_alerts(window["scores"], proposed, quorum=q, lower_is_drift=lower_is_drift))
        alerts_before += before
        alerts_after += after
        if before and not after:
            silenced.append(partition)
        if after and not before:
            new_alerts.append(partition)
        incident = window.get("incident_id")
        if incident:
            incidents.append(str(incident))
            if not after:
                missed.append(str(incident))
    n = len(history)
    counts = f"alerts {alerts_before} -> {alerts_after}"
    if missed:
        verdict = Verdict.FAILED
        reason = (
            f"dry_run: replay over {n} windows would miss {len(missed)} confirmed incident(s): "
            + ", ".join(missed)
        )
    elif n < min_windows:
        verdict = Verdict.INCONCLUSIVE
        reason = f"dry_run: only {n} historical windows < {min_windows} needed to replay"
    else:
        verdict = Verdict.PASSED
        reason = (
            f"dry_run: replay over {n} windows, {counts}, "
            f"no confirmed incident missed ({len(incidents)} seen)"
        )
    return ReplayResult(
        verdict=verdict,
        windows=n,
        alerts_before=alerts_before,
        alerts_after=alerts_after,
        missed_incidents=tuple(missed),
        incidents=len(incidents),
        reason=reason,
        silenced_partitions=tuple(silenced),
        new_alert_partitions=tuple(new_alerts),
    )


# ------------------------------------------------------------------------------------------- versions


@dataclass(frozen=True)
class ThresholdVersion:
    """One applied set of thresholds for a model; versions only ever grow (a revert is a new version)."""

    model_id: str
    version: int
    thresholds: Mapping[str, Mapping[str, float]]
    created_at: datetime
    actor: str
    reason: str
    replay: Mapping[str, Any] | None = None
    reverts_to: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "version": self.version,
            "thresholds": {k: dict(v) for k, v in self.thresholds.items()},
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
            "reason": self.reason,
            "replay": dict(self.replay) if self.replay is not None else None,
            "reverts_to": self.reverts_to,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThresholdVersion:
        return cls(
            model_id=data["model_id"],
            version=int(data["version"]),
            thresholds=data["thresholds"],
            created_at=datetime.fromisoformat(data["created_at"]),
            actor=data["actor"],
            reason=data["reason"],
            replay=data.get("replay"),
            reverts_to=data.get("reverts_to"),
            extra=data.get("extra") or {},
        )


class ThresholdStore:
    """Versioned thresholds per model in a local folder: ``<root>/<model_id>/v000001.json``.

    Each version is written once (an atomic create-if-absent), so two writers racing for the same
    version number cannot overwrite each other: the loser retries with the next number. ``current``
    is the highest version; ``revert`` appends a copy of an older version, so history is never rewritten.

    >>> import tempfile
    >>> store = ThresholdStore(tempfile.mkdtemp())
    >>> store.current("m") is None
    True
    >>> store.apply("m", {"*": {"psi": 0.3}}, actor="user:ana", reason="fewer false alarms").version
    1
    >>> store.apply("m", {"*": {"psi": 0.4}}, actor="user:ana", reason="even fewer").version
    2
    >>> v = store.revert("m", actor="sensor", reason="verification failed")
    >>> v.version, v.reverts_to, dict(v.thresholds["*"])
    (3, 1, {'psi': 0.3})
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _dir(self, model_id: str) -> Path:
        if not model_id or "/" in model_id or model_id.startswith("."):
            raise DataError(f"invalid model id {model_id!r} for the threshold store")
        return self.root / model_id

    def history(self, model_id: str) -> list[ThresholdVersion]:
        """Every version for ``model_id``, oldest first."""
        folder = self._dir(model_id)
        if not folder.exists():
            return []
        versions = []
        for path in sorted(folder.glob("v*.json")):
            try:
                versions.append(ThresholdVersion.from_dict(json.loads(path.read_text())))
            except (ValueError, KeyError) as exc:
                raise DataError(f"threshold version file {path} is corrupt: {exc}") from exc
        return versions

    def current(self, model_id: str) -> ThresholdVersion | None:
        """The version in force (the highest), or ``None`` when thresholds were never changed."""
        history = self.history(model_id)
        return history[-1] if history else None

    def apply(
        self,
        model_id: str,
        thresholds: Thresholds,
        *,
        actor: str,
        reason: str,
        replay: ReplayResult | Mapping[str, Any] | None = None,
        reverts_to: int | None = None,
        now: datetime | None = None,
    ) -> ThresholdVersion:
        """Write ``thresholds`` as the next version and return it."""
        folder = self._dir(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        replay_dict = replay.to_dict() if isinstance(replay, ReplayResult) else replay
        while True:
            latest = self.current(model_id)
            number = (latest.version if latest else 0) + 1
            version = ThresholdVersion(
                model_id=model_id,
                version=number,
                thresholds={k: {a: float(x) for a, x in v.items()} for k, v in thresholds.items()},
                created_at=now or datetime.now(UTC),
                actor=actor,
                reason=reason,
                replay=replay_dict,
                reverts_to=reverts_to,
            )
            path = folder / f"v{number:06d}.json"
            payload = json.dumps(version.to_dict(), indent=2, sort_keys=True).encode()
            if write_once(path, payload):
                return version
            # another writer took this number; take the next

    def revert(
        self, model_id: str, *, actor: str, reason: str, to_version: int | None = None
    ) -> ThresholdVersion:
        """Re-apply ``to_version`` (default: the one before the current) as a new version."""
        history = self.history(model_id)
        if not history:
            raise DataError(f"model {model_id!r} has no threshold versions to revert")
        if to_version is None:
            if len(history) < 2:
                raise DataError(f"model {model_id!r} has only threshold version 1; nothing to revert to")
            target = history[-2]
        else:
            matches = [v for v in history if v.version == to_version]
            if not matches:
                known = ", ".join(str(v.version) for v in history)
                raise DataError(f"model {model_id!r} has no threshold version {to_version}; known: {known}")
            target = matches[0]
        return self.apply(model_id, target.thresholds, actor=actor, reason=reason, reverts_to=target.version)

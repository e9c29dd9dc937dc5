"""Retraining: train a challenger on recent labeled windows; promote it only if it beats the champion.

The comparison is champion/challenger evaluation on the *same* held-out recent window (the usual
model-registry promotion rule, e.g. MLflow's champion/challenger aliases): the challenger is promoted
when it beats the champion on ``metric`` by at least ``margin`` (absolute; for ``log_loss`` lower is
better). Missing or non-finite metrics are INCONCLUSIVE and never promote.
:func:`retrain_decision` is the pure rule; :func:`retrain` runs the steps against a registry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from drift_sentinel.detection.config import FeatureKind
from drift_sentinel.errors import DataError
from drift_sentinel.verdict import Verdict

LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "brier", "mse", "mae"})
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to promote the challenger, on which metric, by how much, and why."""

    verdict: Verdict
    promote: bool
    metric: str
    champion: float | None
    challenger: float | None
    improvement: float | None
    margin: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "promote": self.promote,
            "metric": self.metric,
            "champion": self.champion,
            "challenger": self.challenger,
            "improvement": self.improvement,
            "margin": self.margin,
            "reason": self.reason,
        }


def _value(metrics: Mapping[str, float] | None, metric: str) -> float | None:
    if metrics is None or metric not in metrics or metrics[metric] is None:
        return None
    value = float(metrics[metric])
    return value if math.isfinite(value) else None


def retrain_decision(
    champion_metrics: Mapping[str, float] | None,
    challenger_metrics: Mapping[str, float] | None,
    *,
    margin: float,
    metric: str = "auc",
) -> RetrainDecision:
    """Promote the challenger only if it beats the champion by at least ``margin`` on ``metric``.

    >>> retrain_decision({"auc": 0.80}, {"auc": 0.86}, margin=0.02).reason
    'retrain: challenger auc 0.8600 vs champion 0.8000 (+0.0600 >= margin 0.02): promote'
    >>> d = retrain_decision({"log_loss": 0.40}, {"log_loss": 0.41}, margin=0.0, metric="log_loss")
    >>> d.verdict.value, d.promote
    ('FAILED', False)
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    champion, challenger = _value(champion_metrics, metric), _value(challenger_metrics, metric)
    if champion is None or challenger is None:
        side = "champion" if champion is None else "challenger"
        return RetrainDecision(
            verdict=Verdict.INCONCLUSIVE,
            promote=False,
            metric=metric,
            champion=champion,
            challenger=challenger,
            improvement=None,
            margin=margin,
            reason=f"retrain: no {metric} for the {side}: keep the champion",
        )
    improvement = champion - challenger if metric in LOWER_IS_BETTER else challenger - champion
    promote = improvement > 0 and improvement >= margin - _TOLERANCE  # 0.82 - 0.80 is 0.01999…
    comparison = ">=" if promote else "<"
    verb = "promote" if promote else "keep the champion"
    return RetrainDecision(
        verdict=Verdict.PASSED if promote else Verdict.FAILED,
        promote=promote,
        metric=metric,
        champion=champion,
        challenger=challenger,
        improvement=improvement,
        margin=margin,
        reason=(
            f"retrain: challenger {metric} {challenger:.4f} vs champion {champion:.4f} "
            f"({improvement:+.4f} {comparison} margin {margin:g}): {verb}"
        ),
    )


class Registry(Protocol):
    """What :func:`retrain` needs from a registry (``resources.model_registry.ModelRegistryResource``)."""

    def champion(self, name: str, alias: str = ...) -> Any: ...

    def register_sklearn(
        self,
        name: str,
        model: Any,
        *,
        metrics: Mapping[str, float] = ...,
        params: Mapping[str, Any] = ...,
        alias: str | None = ...,
        tags: Mapping[str, str] | None = ...,
    ) -> str: ...

    def set_alias(self, name: str, alias: str, version: str) -> None: ...

    def load_model(self, name: str, version: str) -> Any: ...


@dataclass(frozen=True)
class RetrainOutcome:
    """What :func:`retrain` did: the decision, the versions involved, and whether the alias moved."""

    decision: RetrainDecision
    champion_version: str | None
    challenger_version: str | None
    promoted: bool
    champion_metrics: Mapping[str, float] | None
    challenger_metrics: Mapping[str, float]
    dry_run: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.to_dict(),
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "promoted": self.promoted,
            "champion_metrics": dict(self.champion_metrics) if self.champion_metrics is not None else None,
            "challenger_metrics": dict(self.challenger_metrics),
            "dry_run": self.dry_run,
            "params": dict(self.params),
        }


def retrain(
    registry: Registry,
    name: str,
    *,
    train_frame: pd.DataFrame,
    holdout_frame: pd.DataFrame,
    features: Mapping[str, FeatureKind],
    label: str = "label",
    seed: int = 0,
    kind: str = "gradient_boosting",
    margin: float = 0.01,
    metric: str = "auc",
    champion_alias: str = "champion",
    challenger_alias: str = "challenger",
    dry_run: bool = False,
    trainer: Callable[..., Any] | None = None,
    evaluator: Callable[..., Mapping[str, float]] | None = None,
    tags: Mapping[str, str] | None = None,
) -> RetrainOutcome:
    """Train a challenger, register it as ``challenger_alias``, promote it to ``champion_alias`` if better.

    Steps: train on ``train_frame`` (``drift_sentinel.training.train_model`` unless ``trainer`` is given),
    evaluate challenger and champion on ``holdout_frame``, decide with :func:`retrain_decision`,
    register the challenger (skipped with ``dry_run``) and move the champion alias only on PASSED.
    The previous champion version is in the outcome, so the move can be rolled back. ``tags`` go on the
    MLflow run that registers the challenger (the Dagster run, incident and action: lineage).
    """
    if len(train_frame) == 0 or len(holdout_frame) == 0:
        raise DataError(f"retraining {name}: the training and holdout windows must both have rows")
    if trainer is None or evaluator is None:
        from drift_sentinel import training

        trainer = trainer or training.train_model
        evaluator = evaluator or training.evaluate_model
    params = {"kind": kind, "seed": seed, "rows": len(train_frame), "holdout_rows": len(holdout_frame)}
    challenger_model = trainer(train_frame, features=dict(features), label=label, seed=seed, kind=kind)
    challenger_metrics = dict(evaluator(challenger_model, holdout_frame, label=label))
    current = registry.champion(name, champion_alias)
    champion_version = current.version if current is not None else None
    champion_metrics = None
    if champion_version is not None:
        champion_metrics = dict(
            evaluator(registry.load_model(name, champion_version), holdout_frame, label=label)
        )
    decision = retrain_decision(champion_metrics, challenger_metrics, margin=margin, metric=metric)
    challenger_version = None
    promoted = False
    if not dry_run:
        challenger_version = registry.register_sklearn(
            name,
            challenger_model,
            metrics=challenger_metrics,
            params=params,
            alias=challenger_alias,
            tags=dict(tags or {}),
        )
        if decision.promote:
            registry.set_alias(name, champion_alias, challenger_version)
            promoted = True
    return RetrainOutcome(
        decision=decision,
        champion_version=champion_version,
        challenger_version=challenger_version,
        promoted=promoted,
        champion_metrics=champion_metrics,
        challenger_metrics=challenger_metrics,
        dry_run=dry_run,
        params=params,
    )


def evaluate_challenger(
    registry: Registry,
    name: str,
    challenger_version: str,
    *,
    holdout_frame: pd.DataFrame,
    label: str = "label",
    margin: float = 0.01,
    metric: str = "auc",
    champion_alias: str = "champion",
    challenger_alias: str = "challenger",
    evaluator: Callable[..., Mapping[str, float]] | None = None,
    params: Mapping[str, Any] | None = None,
) -> RetrainOutcome:
    """Judge an already registered ``challenger_version`` (trained elsewhere) against the champion.

    The same rule as :func:`retrain` on the same held-out window: the version is aliased
    ``challenger_alias`` and moved to ``champion_alias`` only on PASSED. A version that cannot be loaded
    raises (nothing was moved).
    """
    if len(holdout_frame) == 0:
        raise DataError(f"retraining {name}: the holdout window has no rows")
    if evaluator is None:
        from drift_sentinel import training

        evaluator = training.evaluate_model
    challenger_metrics = dict(
        evaluator(registry.load_model(name, challenger_version), holdout_frame, label=label)
    )
    current = registry.champion(name, champion_alias)
    champion_version = current.version if current is not None else None
    champion_metrics = None
    if champion_version is not None:
        champion_metrics = dict(
            evaluator(registry.load_model(name, champion_version), holdout_frame, label=label)
        )
    decision = retrain_decision(champion_metrics, challenger_metrics, margin=margin, metric=metric)
    registry.set_alias(name, challenger_alias, challenger_version)
    if decision.promote:
        registry.set_alias(name, champion_alias, challenger_version)
    return RetrainOutcome(
        decision=decision,
        champion_version=champion_version,
        challenger_version=challenger_version,
        promoted=decision.promote,
        champion_metrics=champion_metrics,
        challenger_metrics=challenger_metrics,
        params=dict(params or {}),
    )

"""Which drifted feature carries the blame: drift magnitude × importance, normalised.

Importance blends the champion model's permutation importance with the multivariate detector's importances
(each normalised to sum to 1, then averaged); a feature weighs magnitude × (importance + importance_floor).

>>> from drift_sentinel.analysis.rca.drifted import DriftedFeature
>>> d = [DriftedFeature("a", "distribution", 1e-9, 0.2, "numeric", None, (), False),
...      DriftedFeature("b", "distribution", 1e-9, 0.2, "numeric", None, (), False)]
>>> [(fa.feature, fa.weight) for fa in attribute(d, {"a": 3.0, "b": 1.0}, None, None, None)]
[('a', 0.7273), ('b', 0.2727)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from drift_sentinel.analysis.rca.drifted import DriftedFeature
from drift_sentinel.analysis.rca.model import FeatureAttribution, rounded
from drift_sentinel.analysis.rca.weights import WEIGHTS, RcaWeights
from drift_sentinel.analysis.temporal import feature_direction
from drift_sentinel.detection.results import MultivariateDrift

MIN_MAGNITUDE = 1e-6
"""A drifted feature's magnitude counts as at least this (a zero magnitude still gets some blame)."""


def blended_importance(
    feature_importance: Mapping[str, float] | None, multivariate: MultivariateDrift | None
) -> dict[str, float]:
    """The mean of the normalised importances that are known (``{}`` when none is)."""
    parts = []
    for source in (
        feature_importance,
        multivariate.importances if multivariate is not None else None,
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


def attribute(
    drifted: Sequence[DriftedFeature],
    feature_importance: Mapping[str, float] | None,
    multivariate: MultivariateDrift | None,
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    weights: RcaWeights = WEIGHTS,
) -> tuple[FeatureAttribution, ...]:
    """Drift magnitude × (importance + ``importance_floor``), normalised; plain magnitude without importance."""
    importance = blended_importance(feature_importance, multivariate)
    raw = {}
    for d in drifted:
        weight = (importance.get(d.name, 0.0) + weights.importance_floor) if importance else 1.0
        raw[d.name] = max(d.magnitude, MIN_MAGNITUDE) * weight
    total = sum(raw.values())
    out = []
    for d in drifted:
        ref_col = reference[d.name] if reference is not None and d.name in reference else None
        cur_col = current[d.name] if current is not None and d.name in current else None
        out.append(
            FeatureAttribution(
                feature=d.name,
                weight=rounded(raw[d.name] / total),
                magnitude=rounded(d.magnitude),
                importance=None if d.name not in importance else rounded(importance[d.name]),
                drift_type=d.drift_type,
                direction=feature_direction(ref_col, cur_col, d.kind, d.new_categories),
            )
        )
    return tuple(sorted(out, key=lambda fa: (-fa.weight, fa.feature)))

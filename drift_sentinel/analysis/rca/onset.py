"""When the drift began inside the current window: a change point per drifted feature, the best one kept.

A numeric feature is turned into "above the reference median" and a categorical one into "is the category
that grew most"; the change point of that 0/1 indicator is found by CUSUM (Page 1954). A new category is dated
by its first appearance.

>>> import numpy as np, pandas as pd
>>> times = pd.Series(pd.date_range("2026-10-10", periods=100, freq="1min", tz="UTC"))
>>> onset, inside, z = onset_from_indicator(times, np.r_[np.zeros(60), np.ones(40)])
>>> str(onset), inside
('2026-10-10 01:00:00+00:00', True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from drift_sentinel.analysis.rca.drifted import DriftedFeature
from drift_sentinel.analysis.rca.weights import WEIGHTS, RcaWeights
from drift_sentinel.times import utc_times


def onset_from_indicator(
    times: pd.Series, indicator: np.ndarray, weights: RcaWeights = WEIGHTS
) -> tuple[datetime | None, bool, float]:
    """Change point of a 0/1 indicator by CUSUM (Page 1954): the split maximising ``|S_k - k p̂|``.

    Returns ``(onset, in_window, z)``: ``z`` is the two-proportion z of the rates before/after the split.
    Below ``z = weights.onset_min_z`` (4) the window holds no change of its own, so the onset is the window start and
    ``in_window`` is False (the whole window already sits on one side of the change).
    """
    n = len(indicator)
    if n < weights.onset_min_rows:
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
    if z < weights.onset_min_z:
        return times.iloc[0].to_pydatetime(warn=False), False, z
    return times.iloc[k].to_pydatetime(warn=False), True, z


def feature_onset(
    feature: DriftedFeature,
    current: pd.DataFrame,
    reference: pd.DataFrame | None,
    time_column: str,
    weights: RcaWeights = WEIGHTS,
) -> tuple[datetime | None, bool, float]:
    """When one drifted feature started to drift inside the current window: ``(onset, in_window, z)``."""
    frame = current[[time_column, feature.name]].dropna(subset=[time_column]).sort_values(time_column)
    times = utc_times(frame[time_column])
    values = frame[feature.name]
    if feature.new_categories:
        indicator = values.astype(str).isin(feature.new_categories).to_numpy()
        hits = np.flatnonzero(indicator)
        if not len(hits):
            return None, False, 0.0
        first = times.iloc[int(hits[0])].to_pydatetime(warn=False)
        # a new category is dated by its first appearance; in the window when rows without it came first
        inside = bool(hits[0] > weights.new_category_in_window_share * len(indicator))
        return first, inside, math.inf if inside else 0.0
    if pd.api.types.is_numeric_dtype(values):
        numeric = pd.to_numeric(values, errors="coerce")
        basis = reference[feature.name] if reference is not None and feature.name in reference else numeric
        median = float(pd.to_numeric(basis, errors="coerce").median())
        ok = numeric.notna().to_numpy()
        return onset_from_indicator(times[ok], (numeric[ok] > median).to_numpy(), weights)
    ref_counts = (
        reference[feature.name].astype(str).value_counts(normalize=True)
        if reference is not None and feature.name in reference
        else values.astype(str).value_counts(normalize=True)
    )
    cur_counts = values.astype(str).value_counts(normalize=True)
    grown = (cur_counts - ref_counts.reindex(cur_counts.index).fillna(0)).idxmax()
    return onset_from_indicator(times, (values.astype(str) == grown).to_numpy(), weights)


def estimate_onset(
    drifted: Sequence[DriftedFeature],
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    time_column: str,
    weights: RcaWeights = WEIGHTS,
) -> tuple[datetime | None, bool]:
    """The best-supported onset among the drifted features (an in-window change with the largest z)."""
    if current is None or time_column not in current.columns:
        return None, False
    found = [
        feature_onset(d, current, reference, time_column, weights)
        for d in drifted
        if d.name in current.columns
    ]
    found = [f for f in found if f[0] is not None]
    if not found:
        return None, False
    inside = [f for f in found if f[1]]
    if inside:
        best = max(inside, key=lambda f: f[2])
        return best[0], True
    return min(f[0] for f in found), False  # type: ignore[type-var]

"""Multivariate drift: the domain-classifier (classifier two-sample) test.

A gradient-boosted classifier learns to tell reference rows from current rows; its out-of-fold ROC AUC
is 0.5 when the joint distributions agree. The p-value is the one-sided Mann–Whitney U test of the
out-of-fold scores of current rows against reference rows (the AUC *is* the normalised U statistic), so
the test is exact in the sense of Lopez-Paz & Oquab 2017 ("Revisiting classifier two-sample tests",
ICLR). Drift needs the p-value at most ``alpha`` **and** ``AUC − 0.5`` at least ``threshold``. Permutation
importances (AUC lost when a feature is shuffled in the held-out fold) tell RCA which features separate
the windows — including drift in correlations that no univariate test sees.

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=1500)
>>> ref = pd.DataFrame({"a": x[:750], "b": x[:750] + rng.normal(0, 0.1, 750)})
>>> cur = pd.DataFrame({"a": x[750:], "b": -x[750:] + rng.normal(0, 0.1, 750)})
>>> r = domain_classifier_test(ref, cur, {"a": "numeric", "b": "numeric"})
>>> r.drifted, r.auc > 0.9
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from drift_sentinel.detection.profile import category_text, infer_kind
from drift_sentinel.detection.results import MultivariateDrift
from drift_sentinel.verdict import Verdict

__all__ = ["DomainClassifier", "domain_classifier_test"]

_MAX_CODES = 250  # HistGradientBoosting's native categorical support takes at most 255 levels


def _design(
    ref: pd.DataFrame, cur: pd.DataFrame, kinds: Mapping[str, str | None]
) -> tuple[np.ndarray, list[bool]]:
    cols: list[np.ndarray] = []
    cat_mask: list[bool] = []
    for name, kind in kinds.items():
        both = pd.concat([ref[name], cur[name]], ignore_index=True)
        if kind == "numeric":
            arr = pd.to_numeric(both, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            arr[~np.isfinite(arr)] = np.nan
            big = float(np.nanmax(np.abs(arr))) if not np.isnan(arr).all() else 0.0
            if big > 1e150:  # trees only see the order: rescale so bin midpoints cannot overflow
                arr = arr / big
            cols.append(_with_missing_indicator(arr))
            cat_mask.append(False)
            continue
        if both.dtype == object:  # bytes and text of one category are one category
            both = both.map(lambda v: category_text(v) if isinstance(v, bytes) else v)
        as_str = both.astype("string")
        ref_freq = as_str.iloc[: len(ref)].value_counts(normalize=True)
        if ref_freq.size + as_str.iloc[len(ref) :].nunique() <= _MAX_CODES:
            codes, _ = pd.factorize(as_str, use_na_sentinel=True)
            arr = codes.astype(np.float64)
            arr[codes < 0] = np.nan
            cat_mask.append(True)
        else:  # high cardinality: the category's reference frequency (0 for unseen categories)
            arr = as_str.map(ref_freq).astype("Float64").fillna(0.0).to_numpy(dtype=np.float64)
            arr[as_str.isna().to_numpy()] = np.nan
            cat_mask.append(False)
        single = _with_missing_indicator(arr)
        if single is not arr:
            cat_mask[-1] = False
        cols.append(single)
    return np.column_stack(cols) if cols else np.empty((len(ref) + len(cur), 0)), cat_mask


def _with_missing_indicator(arr: np.ndarray) -> np.ndarray:
    """A column with one distinct value plus missing ones carries only its missingness: it becomes that
    indicator (scikit-learn's binning fails on a single value next to NaNs)."""
    missing = np.isnan(arr)
    if missing.any() and not missing.all():
        present = arr[~missing]
        if (present == present[0]).all():
            return (~missing).astype(np.float64)
    return arr


class _Base:
    """The fields every :class:`MultivariateDrift` of one call shares."""

    def __init__(self, threshold: float, n_reference: int, n_current: int) -> None:
        self.threshold, self.n_reference, self.n_current = threshold, n_reference, n_current

    def fields(self) -> dict[str, Any]:
        return {
            "method": "domain_classifier",
            "threshold": self.threshold,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
        }


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


class DomainClassifier:
    """Batch detector shape of :func:`domain_classifier_test`: ``fit(reference)`` then ``test(current)``.

    >>> rng = np.random.default_rng(1)
    >>> det = DomainClassifier(seed=1).fit(pd.DataFrame({"a": rng.normal(size=400)}))
    >>> det.test(pd.DataFrame({"a": rng.normal(size=400)})).drifted
    False
    """

    name = "domain_classifier"

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        threshold: float = 0.05,
        max_rows: int = 2_000,
        n_folds: int = 2,
        seed: int = 0,
        min_samples: int = 30,
    ) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"domain_classifier alpha must be in (0, 1), got {alpha}")
        if not 0 <= threshold <= 0.5:
            raise ValueError(f"domain_classifier threshold is AUC − 0.5, in [0, 0.5], got {threshold}")
        if max_rows < 10 or n_folds < 2 or min_samples < 1:
            raise ValueError("domain_classifier needs max_rows ≥ 10, n_folds ≥ 2, min_samples ≥ 1")
        self.alpha, self.threshold, self.max_rows = alpha, threshold, max_rows
        self.n_folds, self.seed, self.min_samples = n_folds, seed, min_samples
        self._reference: pd.DataFrame | None = None

    def fit(self, reference: pd.DataFrame) -> DomainClassifier:
        self._reference = reference
        return self

    def test(self, current: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> MultivariateDrift:
        if self._reference is None:
            raise ValueError("call fit(reference) before test(current)")
        if kinds is None:
            kinds = {
                c: k
                for c in current.columns
                if c in self._reference.columns and (k := infer_kind(current[c])) is not None
            }
        return domain_classifier_test(
            self._reference,
            current,
            kinds,
            alpha=self.alpha,
            threshold=self.threshold,
            max_rows=self.max_rows,
            n_folds=self.n_folds,
            seed=self.seed,
            min_samples=self.min_samples,
        )


def _fit_folds(
    x: np.ndarray,
    y: np.ndarray,
    cat_mask: list[bool],
    splits: Any,
    seed: int,
    rng: np.random.Generator,
    oof: np.ndarray,
    drops: np.ndarray,
) -> None:
    """Out-of-fold scores into ``oof`` and summed permutation AUC drops into ``drops``."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    for train, test in splits:
        model = HistGradientBoostingClassifier(
            max_iter=40,
            learning_rate=0.1,
            max_leaf_nodes=15,
            categorical_features=np.array(cat_mask, dtype=bool),
            random_state=seed,
            early_stopping=False,
        )
        model.fit(x[train], y[train])
        oof[test] = model.predict_proba(x[test])[:, 1]
        fold_auc = _auc(y[test], oof[test])
        for j in range(x.shape[1]):
            shuffled = x[test].copy()
            shuffled[:, j] = shuffled[rng.permutation(test.size), j]
            drops[j] += fold_auc - _auc(y[test], model.predict_proba(shuffled)[:, 1])


def domain_classifier_test(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: Mapping[str, str | None],
    *,
    alpha: float = 0.05,
    threshold: float = 0.05,
    max_rows: int = 2_000,
    n_folds: int = 2,
    seed: int = 0,
    min_samples: int = 30,
) -> MultivariateDrift:
    """Classifier two-sample test on up to ``max_rows`` seeded rows of each window (see module doc)."""
    from sklearn.model_selection import StratifiedKFold

    kinds = {
        k: v for k, v in kinds.items() if v is not None and k in reference.columns and k in current.columns
    }
    rng = np.random.default_rng(seed)
    ref = (
        reference
        if len(reference) <= max_rows
        else reference.iloc[np.sort(rng.choice(len(reference), max_rows, replace=False))]
    )
    cur = (
        current
        if len(current) <= max_rows
        else current.iloc[np.sort(rng.choice(len(current), max_rows, replace=False))]
    )
    n_ref, n_cur = len(ref), len(cur)
    base = _Base(threshold, n_ref, n_cur)
    if not kinds:
        return MultivariateDrift(
            auc=math.nan,
            p_value=math.nan,
            drifted=False,
            verdict=Verdict.ERROR,
            status="no features to compare",
            **base.fields(),
        )
    if n_ref < max(min_samples, n_folds) or n_cur < max(min_samples, n_folds):
        return MultivariateDrift(
            auc=math.nan,
            p_value=math.nan,
            drifted=False,
            verdict=Verdict.INCONCLUSIVE,
            status=f"too few rows (reference {n_ref}, current {n_cur}; min_samples={min_samples})",
            **base.fields(),
        )
    x, cat_mask = _design(ref[list(kinds)], cur[list(kinds)], kinds)
    usable = ~np.isnan(x).all(axis=0)  # an all-missing column carries no information (and breaks binning)
    skipped = [n for n, ok in zip(kinds, usable, strict=True) if not ok]
    if not usable.any():
        return MultivariateDrift(
            auc=math.nan, p_value=math.nan, drifted=False, verdict=Verdict.INCONCLUSIVE,
            status="every feature is entirely missing", **base.fields(),
        )  # fmt: skip
    x = x[:, usable]
    cat_mask = [c for c, ok in zip(cat_mask, usable, strict=True) if ok]
    kinds = {n: k for (n, k), ok in zip(kinds.items(), usable, strict=True) if ok}
    y = np.r_[np.zeros(n_ref, dtype=np.int64), np.ones(n_cur, dtype=np.int64)]
    oof = np.empty(y.size)
    names = list(kinds)
    drops = np.zeros(len(names))
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    # one OpenMP thread: on a busy 2-core host, spinning OpenMP workers make this many times slower
    try:
        with threadpool_limits(limits=1, user_api="openmp"):
            _fit_folds(x, y, cat_mask, folds.split(x, y), seed, rng, oof, drops)
    except ValueError as exc:  # scikit-learn refuses degenerate folds (a handful of rows, one value)
        return MultivariateDrift(
            auc=math.nan, p_value=math.nan, drifted=False, verdict=Verdict.INCONCLUSIVE,
            status=f"the classifier could not be trained on these rows: {exc}", **base.fields(),
        )  # fmt: skip
    auc = _auc(y, oof)
    p_value = float(stats.mannwhitneyu(oof[y == 1], oof[y == 0], alternative="greater").pvalue)
    drifted = bool(p_value <= alpha and auc - 0.5 >= threshold)
    importances = {n: float(max(d / n_folds, 0.0)) for n, d in zip(names, drops, strict=True)}
    importances.update({n: 0.0 for n in skipped})
    return MultivariateDrift(
        auc=auc,
        p_value=p_value,
        drifted=drifted,
        importances=dict(sorted(importances.items(), key=lambda kv: -kv[1])),
        verdict=Verdict.FAILED if drifted else Verdict.PASSED,
        status="ok" if not skipped else f"entirely missing, left out: {', '.join(skipped)}",
        **base.fields(),
    )

"""Batch detectors in the ``fit(reference)`` / ``test(current) -> TestResult`` shape (NannyML, alibi-detect).

Each wraps one two-sample test from :mod:`drift_sentinel.detection.univariate`, sorting or counting the
reference once in ``fit`` so repeated ``test`` calls are cheap. ``test_sample`` is the same test on a
prepared :mod:`~drift_sentinel.detection.samples` sample (a cached reference profile and the current
window already sorted or counted): :func:`~drift_sentinel.detect_drift` uses it when a detector has one,
and ``fit``/``test`` otherwise. A detector votes drift when the p-value is
at most ``alpha`` **and** the effect size reaches ``threshold`` (see
:mod:`drift_sentinel.detection.sensitivity`); inside :func:`~drift_sentinel.detect_drift` the p-values are
additionally adjusted across features (Benjamini–Hochberg).

>>> rng = np.random.default_rng(0)
>>> det = KSDetector(alpha=0.05, threshold=0.05).fit(rng.normal(size=2000))
>>> det.test(rng.normal(0.5, 1, size=2000)).drifted, det.test(rng.normal(size=2000)).drifted
(True, False)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from drift_sentinel.detection.profile import mean_std, robust_scale
from drift_sentinel.detection.results import TestResult
from drift_sentinel.detection.univariate import (
    chi_square_from_counts,
    cramers_v,
    finite_values,
    ks_sorted,
    psi_from_counts,
    psi_pvalue,
)

if TYPE_CHECKING:
    from drift_sentinel.detection.samples import CategoricalSample, NumericSample

__all__ = ["BatchDetector", "ChiSquareDetector", "KSDetector", "PSIDetector", "WassersteinDetector"]


def _check_alpha_threshold(name: str, alpha: float, threshold: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"{name}: alpha must be in (0, 1), got {alpha!r}")
    if not threshold >= 0 or math.isinf(threshold):
        raise ValueError(f"{name}: threshold must be a finite number ≥ 0, got {threshold!r}")


class BatchDetector:
    """Base of the batch detectors: keyword-only ``alpha`` and effect ``threshold``, validated."""

    name = ""
    kinds: tuple[str, ...] = ("numeric",)

    def __init__(self, *, alpha: float = 0.05, threshold: float = 0.0) -> None:
        _check_alpha_threshold(self.name, alpha, threshold)
        self.alpha = float(alpha)
        self.threshold = float(threshold)
        self._fitted = False

    @property
    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "threshold": self.threshold}

    def _require_fit(self) -> None:
        if not self._fitted:
            raise ValueError(f"{self.name}: call fit(reference) before test(current)")

    def _result(
        self, stat: float, p: float, effect: float, n_ref: int, n_cur: int, detail: str = ""
    ) -> TestResult:
        drifted = bool(p <= self.alpha and effect >= self.threshold) if not math.isnan(p) else False
        return TestResult(
            method=self.name,
            statistic=float(stat),
            p_value=float(p),
            threshold=self.threshold,
            drifted=drifted,
            n_reference=n_ref,
            n_current=n_cur,
            effect_size=float(effect),
            alpha=self.alpha,
            detail=detail,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


class _SortedReference(BatchDetector):
    def fit(self, reference: ArrayLike) -> _SortedReference:
        self._ref = np.sort(finite_values(reference))
        self._std = mean_std(self._ref)[1] if self._ref.size > 1 else 0.0
        self._fitted = True
        return self

    def _compare(self, current: ArrayLike) -> tuple[np.ndarray, float, float, float]:
        self._require_fit()
        cur = np.sort(finite_values(current))
        d, p, w = ks_sorted(self._ref, cur)
        return cur, d, p, w


class KSDetector(_SortedReference):
    """Two-sample Kolmogorov–Smirnov (see :func:`~drift_sentinel.detection.ks_test`); effect = D."""

    name = "ks"

    def __init__(self, *, alpha: float = 0.05, threshold: float = 0.05) -> None:
        super().__init__(alpha=alpha, threshold=threshold)

    def test(self, current: ArrayLike) -> TestResult:
        cur, d, p, _ = self._compare(current)
        return self._result(d, p, d, self._ref.size, cur.size)

    def test_sample(self, sample: NumericSample) -> TestResult:
        d, p, _ = sample.ks
        return self._result(d, p, d, sample.n_reference, sample.n_current)


class WassersteinDetector(_SortedReference):
    """1-Wasserstein distance; effect = distance / reference std; significance from KS on the same samples."""

    name = "wasserstein"

    def __init__(self, *, alpha: float = 0.05, threshold: float = 0.1) -> None:
        super().__init__(alpha=alpha, threshold=threshold)

    def test(self, current: ArrayLike) -> TestResult:
        cur, _, p, w = self._compare(current)
        return self._result(w, p, _scaled(w, self._ref, self._std, cur), self._ref.size, cur.size, _W_DETAIL)

    def test_sample(self, sample: NumericSample) -> TestResult:
        _, p, w = sample.ks
        effect = _scaled(w, sample.profile.sorted_values, sample.profile.std, sample.current)
        return self._result(w, p, effect, sample.n_reference, sample.n_current, _W_DETAIL)


_W_DETAIL = "significance from the KS test on the same samples"


def _scaled(
    distance: float, reference: np.ndarray, reference_std: float, current_sorted: np.ndarray
) -> float:
    """Wasserstein distance in reference standard deviations (the robust scale when a few extreme values
    dominate that deviation; the current one's when the reference is constant; 0 or ∞ when both are)."""
    robust = robust_scale(reference, reference_std)
    scale = reference_std if robust is None else robust[1]
    if not scale > 0:
        scale = mean_std(current_sorted)[1] if current_sorted.size > 1 else 0.0
    return distance / scale if scale > 0 else (0.0 if distance == 0 else math.inf)


class PSIDetector(BatchDetector):
    """Population Stability Index over reference-quantile bins (numeric) or categories (categorical).

    The p-value is the χ² approximation of Yurdakul (2018); effect = PSI.
    """

    name = "psi"
    kinds = ("numeric", "categorical")

    def __init__(
        self, *, alpha: float = 0.05, threshold: float = 0.1, bins: int = 10, epsilon: float = 1e-4
    ) -> None:
        super().__init__(alpha=alpha, threshold=threshold)
        if int(bins) != bins or bins < 2:
            raise ValueError(f"psi: bins must be an integer ≥ 2, got {bins!r}")
        if not 0 < epsilon < 1:
            raise ValueError(f"psi: epsilon must be in (0, 1), got {epsilon!r}")
        self.bins = int(bins)
        self.epsilon = float(epsilon)

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "bins": self.bins, "epsilon": self.epsilon}

    def fit(self, reference: ArrayLike) -> PSIDetector:
        series = pd.Series(reference, copy=False)
        self._categorical = not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
            series.dtype
        )
        if self._categorical:
            self._ref_counts = series.dropna().astype(str).value_counts(sort=False)
        else:
            ref = np.sort(finite_values(series))
            self._edges = (
                np.unique(np.quantile(ref, np.arange(1, self.bins) / self.bins)) if ref.size else ref
            )
            self._ref_bins = np.diff(
                np.searchsorted(ref, self._edges, side="left"), prepend=0, append=ref.size
            )
        self._fitted = True
        return self

    def test(self, current: ArrayLike) -> TestResult:
        self._require_fit()
        if self._categorical:
            cc = pd.Series(current, copy=False).dropna().astype(str).value_counts(sort=False)
            cats = self._ref_counts.index.union(cc.index)
            rc = self._ref_counts.reindex(cats, fill_value=0).to_numpy()
            cur = cc.reindex(cats, fill_value=0).to_numpy()
            n_bins = len(cats)
        else:
            values = np.sort(finite_values(current))
            rc = self._ref_bins
            cur = np.diff(np.searchsorted(values, self._edges, side="left"), prepend=0, append=values.size)
            n_bins = rc.size
        n_ref, n_cur = int(rc.sum()), int(cur.sum())
        if n_ref == 0 or n_cur == 0:
            return self._result(math.nan, math.nan, math.nan, n_ref, n_cur)
        value = psi_from_counts(rc, cur, self.epsilon)
        return self._result(value, psi_pvalue(value, n_ref, n_cur, n_bins), value, n_ref, n_cur)

    def test_sample(self, sample: NumericSample | CategoricalSample) -> TestResult:
        """PSI over the profile's quantile bins (numeric) or the union of categories (categorical)."""
        ref_counts, cur_counts = sample.binned
        value = psi_from_counts(ref_counts, cur_counts, self.epsilon)
        p = psi_pvalue(value, sample.n_reference, sample.n_current, ref_counts.size)
        return self._result(value, p, value, sample.n_reference, sample.n_current)


class ChiSquareDetector(BatchDetector):
    """Chi-square test of homogeneity on category counts (see :func:`~drift_sentinel.detection.chi_square`);
    effect = Cramér's V."""

    name = "chi_square"
    kinds = ("categorical",)

    def __init__(self, *, alpha: float = 0.05, threshold: float = 0.1) -> None:
        super().__init__(alpha=alpha, threshold=threshold)

    def fit(self, reference: ArrayLike) -> ChiSquareDetector:
        self._ref_counts = pd.Series(reference, copy=False).dropna().astype(str).value_counts(sort=False)
        self._fitted = True
        return self

    def test(self, current: ArrayLike) -> TestResult:
        self._require_fit()
        cc = pd.Series(current, copy=False).dropna().astype(str).value_counts(sort=False)
        cats = self._ref_counts.index.union(cc.index)
        res = chi_square_from_counts(
            self._ref_counts.reindex(cats, fill_value=0).to_numpy(), cc.reindex(cats, fill_value=0).to_numpy()
        )
        return self._result(res.statistic, res.p_value, res.effect_size, res.n_reference, res.n_current)

    def test_sample(self, sample: CategoricalSample) -> TestResult:
        """Chi-square on the 2×K table over the union of categories (no test with a single category)."""
        rc, cc = sample.binned
        if rc.size < 2:
            stat, p = 0.0, 1.0
        else:
            from scipy import stats

            res = stats.chi2_contingency(np.vstack([rc, cc]))
            stat, p = float(res.statistic), float(res.pvalue)
        v = cramers_v(stat, sample.n_reference + sample.n_current, rc.size)
        return self._result(stat, p, v, sample.n_reference, sample.n_current)

"""Prepared samples: one feature's reference profile and current window, sorted or counted once.

:func:`~drift_sentinel.detect_drift` builds one sample per feature and hands it to every applicable batch
detector's ``test_sample``, so KS and Wasserstein share one merge pass (:func:`ks_sorted`) and PSI and
chi-square share one table of counts. A detector without ``test_sample`` gets ``fit(sample.reference_values())``
and ``test(current column)`` instead.

>>> import pandas as pd
>>> from drift_sentinel.detection.profile import profile_column, sorted_finite
>>> prof = profile_column("x", pd.Series([0.0, 1.0, 2.0]), "numeric")
>>> s = NumericSample(prof, sorted_finite(pd.Series([1.0, 2.0, 3.0]))[0])
>>> [round(v, 3) for v in s.ks]
[0.333, 1.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from drift_sentinel.detection.profile import CategoricalProfile, NumericProfile
from drift_sentinel.detection.univariate import ks_sorted

__all__ = ["CategoricalSample", "NumericSample"]


@dataclass(eq=False)
class NumericSample:
    """A numeric feature: its reference profile and the current window's sorted finite values."""

    profile: NumericProfile
    current: np.ndarray

    @property
    def n_reference(self) -> int:
        return self.profile.n

    @property
    def n_current(self) -> int:
        return int(self.current.size)

    @cached_property
    def ks(self) -> tuple[float, float, float]:
        """(KS D, p-value, 1-Wasserstein distance), computed once for every detector that needs them."""
        return ks_sorted(self.profile.sorted_values, self.current)

    @cached_property
    def binned(self) -> tuple[np.ndarray, np.ndarray]:
        """(reference, current) counts over the profile's PSI bins (reference quantiles)."""
        edges = self.profile.psi_edges
        cur = np.diff(np.searchsorted(self.current, edges, side="left"), prepend=0, append=self.current.size)
        return self.profile.psi_counts, cur

    def reference_values(self) -> np.ndarray:
        return self.profile.sorted_values


@dataclass(eq=False)
class CategoricalSample:
    """A categorical feature: reference and current counts over the union of their categories."""

    profile: CategoricalProfile
    categories: tuple[str, ...]
    reference_counts: np.ndarray
    current_counts: np.ndarray

    @property
    def n_reference(self) -> int:
        return int(self.reference_counts.sum())

    @property
    def n_current(self) -> int:
        return int(self.current_counts.sum())

    @property
    def binned(self) -> tuple[np.ndarray, np.ndarray]:
        return self.reference_counts, self.current_counts

    def reference_values(self) -> np.ndarray:
        """The reference's category values (missing dropped), rebuilt from its counts."""
        return np.repeat(
            np.asarray(self.profile.categories, dtype=object), self.profile.category_count_values
        )

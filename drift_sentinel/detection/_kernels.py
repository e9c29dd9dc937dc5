"""Compiled inner loops (numba, IEEE arithmetic: no fast-math) shared by the batch tests.

``sorted_ks_wasserstein`` walks two sorted samples once and returns the two-sample KS statistic and the
1-Wasserstein distance, with the same floating-point CDF values that scipy forms (``count / n``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def sorted_ks_wasserstein(u: np.ndarray, v: np.ndarray) -> tuple[float, float]:  # pragma: no cover - jitted
    n = u.shape[0]
    m = v.shape[0]
    i = 0
    j = 0
    d = 0.0
    w = 0.0
    prev = 0.0
    started = False
    while i < n or j < m:
        x = u[i] if i < n and (j >= m or u[i] <= v[j]) else v[j]
        if started:
            w += abs(i / n - j / m) * (x - prev)
        while i < n and u[i] <= x:
            i += 1
        while j < m and v[j] <= x:
            j += 1
        diff = abs(i / n - j / m)
        if diff > d:
            d = diff
        prev = x
        started = True
    return d, w

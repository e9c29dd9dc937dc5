"""Compiled inner loops (numba, IEEE arithmetic: no fast-math) shared by the batch tests.

``sorted_ks_wasserstein`` walks two sorted samples once (a merge) and returns the two-sample KS statistic
and the 1-Wasserstein distance. The ECDF difference at each distinct value is tracked exactly as the
integer ``|i·m − j·n|``; the KS statistic is then formed from the maximising counts as
``|i/n − j/m|`` — the same floating-point operations scipy's ``ks_2samp`` uses, so the statistic is
bit-identical — and the Wasserstein integral as ``Σ |i·m − j·n| Δx / (n·m)``.
"""

from __future__ import annotations

import numpy as np

from drift_sentinel.detection._jit import lazy_njit


@lazy_njit(cache=True, nogil=True)
def sorted_ks_wasserstein(u: np.ndarray, v: np.ndarray) -> tuple[float, float]:  # pragma: no cover - jitted
    n = u.shape[0]
    m = v.shape[0]
    if n == 0 or m == 0:
        return np.nan, np.nan
    inf = np.inf
    i = 0
    j = 0
    best = 0
    d = 0.0
    acc = 0.0
    prev = u[0] if u[0] <= v[0] else v[0]
    while i < n or j < m:
        a = u[i] if i < n else inf
        b = v[j] if j < m else inf
        x = a if a <= b else b
        if x != prev:
            # every value <= prev is consumed: i, j are the ECDF counts at prev
            gap = i * m - j * n
            if gap < 0:
                gap = -gap
            acc += gap * (x - prev)
            if gap >= best:
                cand = abs(i / n - j / m)
                if gap > best or cand > d:
                    d = cand
                best = gap
            prev = x
        if a <= b:
            i += 1
        else:
            j += 1
    return d, acc / (float(n) * float(m))

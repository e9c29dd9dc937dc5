"""Correlation and Granger causality between time series, with the lag and the direction.

Pearson's r (scipy's ``pearsonr``) measures co-movement. Granger causality (Granger 1969, "Investigating
Causal Relations by Econometric Models and Cross-spectral Methods", *Econometrica* 37(3)) asks whether past
values of ``x`` improve the prediction of ``y`` beyond ``y``'s own past. The lag is chosen by an information
criterion (BIC by default, AIC optional) of the unrestricted model ``y_t ~ y_{t-1..L} + x_{t-1..L}`` fitted
for ``L = 1..maxlag`` on the same trimmed sample; the p-value is the SSR F-test that statsmodels'
``grangercausalitytests`` reports for that lag, unchanged.

Both directions are tested; a direction is claimed only when its p-value is below ``alpha`` divided by the
number of tests made (Bonferroni), so independent series claim nothing.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=300)
>>> y = np.r_[np.zeros(3), 0.8 * x[:-3]] + rng.normal(scale=0.5, size=300)
>>> pair = correlate_pair(x, y, maxlag=6, names=("x", "y"))
>>> pair.direction, pair.lag
('x->y', 3)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from drift_sentinel.errors import ConfigError, DataError, UnknownNameError

Criterion = Literal["aic", "bic"]
CRITERIA: tuple[str, ...] = ("aic", "bic")
MIN_OBSERVATIONS = 20


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class GrangerResult:
    """Does ``cause`` Granger-cause ``effect``? The SSR F-test at the lag the criterion chose."""

    cause: str
    effect: str
    lag: int
    p_value: float
    f_statistic: float
    criterion: str
    criterion_values: tuple[float, ...]
    n_observations: int
    significant: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "effect": self.effect,
            "lag": self.lag,
            "p_value": _num(self.p_value),
            "f_statistic": _num(self.f_statistic),
            "test": "ssr_ftest",
            "criterion": self.criterion,
            "criterion_values": [_num(v) for v in self.criterion_values],
            "n_observations": self.n_observations,
            "significant": self.significant,
        }


@dataclass(frozen=True)
class PairCorrelation:
    """Pearson and Granger (both directions) for one pair; ``direction`` is ``"x->y"``, ``"y->x"``,
    ``"both"`` or ``"none"``, ``lag`` the lag of the claimed direction (0 when none)."""

    x: str
    y: str
    pearson_r: float
    pearson_p: float
    lagged_r: float
    granger_xy: GrangerResult | None
    granger_yx: GrangerResult | None
    direction: str
    lag: int
    alpha: float
    n: int
    status: str = "ok"

    @property
    def significant(self) -> bool:
        return self.direction != "none"

    @property
    def leader(self) -> str | None:
        """The series that leads, when exactly one direction was found."""
        return {"x->y": self.x, "y->x": self.y}.get(self.direction)

    def to_dict(self) -> dict[str, Any]:
        return {
            "x": self.x,
            "y": self.y,
            "pearson_r": _num(self.pearson_r),
            "pearson_p": _num(self.pearson_p),
            "lagged_r": _num(self.lagged_r),
            "direction": self.direction,
            "lag": self.lag,
            "alpha": self.alpha,
            "n": self.n,
            "status": self.status,
            "granger_xy": None if self.granger_xy is None else self.granger_xy.to_dict(),
            "granger_yx": None if self.granger_yx is None else self.granger_yx.to_dict(),
        }


@dataclass(frozen=True)
class CorrelationReport:
    """Every pair tested, with the Bonferroni-corrected threshold used."""

    pairs: tuple[PairCorrelation, ...]
    alpha: float
    n_tests: int
    maxlag: int
    criterion: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def significant(self) -> tuple[PairCorrelation, ...]:
        return tuple(p for p in self.pairs if p.significant)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "n_tests": self.n_tests,
            "corrected_alpha": self.alpha / max(1, self.n_tests),
            "maxlag": self.maxlag,
            "criterion": self.criterion,
            "pairs": [p.to_dict() for p in self.pairs],
            "significant": [f"{p.x} {p.direction} {p.y} (lag {p.lag})" for p in self.significant],
        }


_HUGE = 1e100


def _rescaled(values: np.ndarray) -> np.ndarray:
    """``values`` divided by their largest finite magnitude when it is huge (near 1e308 sums overflow).

    Pearson's r and the Granger F test are invariant to scaling a series, so this changes no result.

    >>> _rescaled(np.array([1e308, -1e308, 5e307])).tolist()
    [1.0, -1.0, 0.5]
    """
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return values / top if top > _HUGE else values


def pearson(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Pearson's r and its two-sided p-value (scipy), NaN when either series is constant or too short.

    >>> r, p = pearson([1, 2, 3, 4], [2, 4, 6, 8.5])
    >>> round(r, 3)
    0.998
    """
    from scipy import stats

    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = _rescaled(a[ok]), _rescaled(b[ok])
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan, math.nan
    result = stats.pearsonr(a, b)
    return float(result.statistic), float(result.pvalue)


def _criterion(model: Any, criterion: str) -> float:
    return float(model.aic if criterion == "aic" else model.bic)


def granger(
    cause: Sequence[float] | np.ndarray,
    effect: Sequence[float] | np.ndarray,
    *,
    maxlag: int = 6,
    criterion: Criterion = "bic",
    alpha: float = 0.05,
    names: tuple[str, str] = ("cause", "effect"),
) -> GrangerResult:
    """Granger test of ``cause`` → ``effect`` at the lag chosen by ``criterion`` (see the module docstring).

    The p-value and F statistic are ``grangercausalitytests(np.column_stack([effect, cause]),
    maxlag=[lag])[lag][0]["ssr_ftest"]`` on the full series; ``significant`` compares it with ``alpha``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=300)
    >>> y = np.r_[0, 0, 0.8 * x[:-2]] + rng.normal(scale=0.5, size=300)
    >>> result = granger(x, y, maxlag=5)
    >>> result.lag, result.p_value < 1e-6
    (2, True)
    """
    from statsmodels.tools.sm_exceptions import InfeasibleTestError
    from statsmodels.tsa.stattools import grangercausalitytests

    if criterion not in CRITERIA:
        raise UnknownNameError(
            f"unknown information criterion {criterion!r}; accepted: {', '.join(CRITERIA)}"
        )
    if maxlag < 1:
        raise DataError(f"maxlag must be >= 1, got {maxlag}")
    x = np.asarray(cause, dtype=float)
    y = np.asarray(effect, dtype=float)
    if x.shape != y.shape:
        raise DataError(f"series {names[0]!r} and {names[1]!r} differ in length: {len(x)} vs {len(y)}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = _rescaled(x[ok]), _rescaled(y[ok])
    n = len(x)
    if n < max(MIN_OBSERVATIONS, 3 * maxlag + 5):
        raise DataError(
            f"granger {names[0]!r} -> {names[1]!r}: {n} complete observations, need >= {3 * maxlag + 5}"
        )
    data = np.column_stack([y, x])
    values = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            for lag in range(1, maxlag + 1):
                trimmed = data[maxlag - lag :]  # every lag fitted on the same n - maxlag rows
                fitted = grangercausalitytests(trimmed, maxlag=[lag])
                values.append(_criterion(fitted[lag][1][1], criterion))
            if not np.isfinite(values).any():
                raise ValueError("no lag has a finite information criterion")
            best = int(np.nanargmin(values)) + 1
            test = grangercausalitytests(data, maxlag=[best])[best][0]["ssr_ftest"]
        except (InfeasibleTestError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            # e.g. values near 1e308 overflow the fit and statsmodels refuses the F test
            raise DataError(
                f"granger {names[0]!r} -> {names[1]!r}: cannot be tested ({type(exc).__name__}: {exc})"
            ) from None
    f_stat, p_value = float(test[0]), float(test[1])
    if not (math.isfinite(f_stat) and math.isfinite(p_value)):
        raise DataError(f"granger {names[0]!r} -> {names[1]!r}: the test is not finite (extreme values?)")
    return GrangerResult(
        cause=names[0],
        effect=names[1],
        lag=best,
        p_value=p_value,
        f_statistic=f_stat,
        criterion=criterion,
        criterion_values=tuple(values),
        n_observations=n,
        significant=bool(p_value < alpha),
    )


def _lagged_r(x: np.ndarray, y: np.ndarray, lag: int) -> float:
    if lag <= 0:
        return pearson(x, y)[0]
    return pearson(x[:-lag], y[lag:])[0]


def correlate_pair(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    maxlag: int = 6,
    criterion: Criterion = "bic",
    alpha: float = 0.05,
    n_tests: int = 2,
    names: tuple[str, str] = ("x", "y"),
) -> PairCorrelation:
    """Pearson plus Granger in both directions; a direction is claimed when its p < ``alpha / n_tests``.

    ``lagged_r`` is Pearson's r between the leader and the follower shifted by the claimed lag.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    a, b = _rescaled(a), _rescaled(b)
    r, p = pearson(a, b)
    corrected = alpha / max(1, n_tests)
    status = "ok"
    xy: GrangerResult | None
    yx: GrangerResult | None
    try:
        if np.nanstd(a) == 0 or np.nanstd(b) == 0:
            raise DataError(f"{names[0]!r} or {names[1]!r} is constant")
        xy = granger(a, b, maxlag=maxlag, criterion=criterion, alpha=corrected, names=names)
        yx = granger(b, a, maxlag=maxlag, criterion=criterion, alpha=corrected, names=(names[1], names[0]))
    except DataError as exc:
        xy = yx = None
        status = f"not tested: {exc}"
    xy_sig = bool(xy and xy.significant)
    yx_sig = bool(yx and yx.significant)
    if xy_sig and yx_sig:
        direction = "both"
        lag = xy.lag if xy.p_value <= yx.p_value else yx.lag  # type: ignore[union-attr]
    elif xy_sig:
        direction, lag = "x->y", xy.lag  # type: ignore[union-attr]
    elif yx_sig:
        direction, lag = "y->x", yx.lag  # type: ignore[union-attr]
    else:
        direction, lag = "none", 0
    lagged = _lagged_r(b, a, lag) if direction == "y->x" else _lagged_r(a, b, lag)
    return PairCorrelation(
        x=names[0],
        y=names[1],
        pearson_r=r,
        pearson_p=p,
        lagged_r=lagged,
        granger_xy=xy,
        granger_yx=yx,
        direction=direction,
        lag=lag,
        alpha=alpha,
        n=int((np.isfinite(a) & np.isfinite(b)).sum()),
        status=status,
    )


def correlate(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    maxlag: int = 6,
    criterion: Criterion = "bic",
    alpha: float = 0.05,
) -> CorrelationReport:
    """Correlate two or more series (the columns of ``frame``, in row order).

    With ``target``, each other column is paired with it (``x`` = the other column, ``y`` = target);
    otherwise every pair is tested. The Bonferroni correction counts two Granger tests per pair.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> a = rng.normal(size=120)
    >>> frame = pd.DataFrame({"a": a, "b": np.r_[0, a[:-1]] + rng.normal(scale=0.2, size=120),
    ...                       "c": rng.normal(size=120)})
    >>> [(p.x, p.y, p.direction, p.lag) for p in correlate(frame, maxlag=3).significant]
    [('a', 'b', 'x->y', 1)]
    """
    if isinstance(maxlag, bool) or not isinstance(maxlag, int | np.integer) or maxlag < 1:
        raise ConfigError(f"correlate: maxlag must be an integer >= 1, got {maxlag!r}")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ConfigError(f"correlate: alpha must be in (0, 1), got {alpha!r}")
    names = list(columns) if columns is not None else [c for c in frame.columns]
    missing = [c for c in names + ([target] if target else []) if c not in frame.columns]
    if missing:
        raise DataError(f"correlate: missing column(s) {missing}; have {list(frame.columns)}")
    numeric = frame[names + ([target] if target and target not in names else [])].apply(
        pd.to_numeric, errors="coerce"
    )
    for column in numeric.columns:
        given = int(frame[column].notna().sum())
        if given and not numeric[column].notna().any():
            sample = frame[column].dropna().iloc[0]
            raise DataError(
                f"correlate: column {column!r} is not numeric (e.g. {sample!r}); pick a numeric column"
            )
    if target is not None:
        pairs = [(c, target) for c in names if c != target]
    else:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if not pairs:
        raise DataError(f"correlate: need at least two series, got {names}")
    n_tests = 2 * len(pairs)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN or constant slices: reported per pair
        results = _pairs(numeric, pairs, maxlag=maxlag, criterion=criterion, alpha=alpha, n_tests=n_tests)
    return CorrelationReport(
        pairs=results,
        alpha=alpha,
        n_tests=n_tests,
        maxlag=maxlag,
        criterion=criterion,
        params={"target": target, "columns": names},
    )


def _pairs(
    numeric: pd.DataFrame,
    pairs: list[tuple[str, str]],
    *,
    maxlag: int,
    criterion: Criterion,
    alpha: float,
    n_tests: int,
) -> tuple[PairCorrelation, ...]:
    return tuple(
        correlate_pair(
            numeric[a].to_numpy(),
            numeric[b].to_numpy(),
            maxlag=maxlag,
            criterion=criterion,
            alpha=alpha,
            n_tests=n_tests,
            names=(a, b),
        )
        for a, b in pairs
    )

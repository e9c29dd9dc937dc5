"""Reference profiles: the reference side of every test, computed once per reference window.

A :class:`ReferenceProfile` holds, per feature, what the tests need from the reference — sorted finite
values, PSI bin edges and counts, mean and standard deviation, missing-value counts for numeric features;
category counts for categorical ones — plus a small seeded row sample for the domain classifier. It is
picklable, so a ``reference_profile`` asset can store it and a backfill over hundreds of windows never
re-sorts the reference.

>>> import pandas as pd
>>> ref = pd.DataFrame({"x": [3.0, 1.0, 2.0, float("nan")], "c": ["a", "b", "a", None]})
>>> p = profile_reference(ref)
>>> p.features["x"].sorted_values.tolist(), p.features["x"].n_missing, p.features["c"].counts().to_dict()
([1.0, 2.0, 3.0], 1, {'a': 2, 'b': 1})
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.detection._frozen import FrozenMap
from drift_sentinel.detection.config import DetectionConfig

__all__ = [
    "CategoricalProfile",
    "NumericProfile",
    "ReferenceProfile",
    "as_config",
    "category_counts",
    "infer_kind",
    "numeric_values",
    "sorted_finite",
    "profile_column",
    "profile_reference",
]

SAMPLE_ROWS = 5_000


def as_config(config: DetectionConfig | Mapping[str, Any] | None) -> DetectionConfig:
    """A :class:`DetectionConfig` from a config, a plain dict or ``None`` (defaults)."""
    from drift_sentinel.errors import ConfigError

    if config is None:
        return DetectionConfig()
    if isinstance(config, DetectionConfig):
        return config
    try:
        return DetectionConfig.model_validate(dict(config))
    except Exception as exc:  # pydantic.ValidationError
        raise ConfigError(f"detection config: {exc}") from None


def infer_kind(series: pd.Series) -> str | None:
    """``"numeric"`` for numeric dtypes, ``"categorical"`` for strings/categories/booleans, ``None`` for
    datetimes and timedeltas (not a feature).

    >>> infer_kind(pd.Series([1.5])), infer_kind(pd.Series(["a"])), infer_kind(pd.Series([True]))
    ('numeric', 'categorical', 'categorical')
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "categorical"


def _as_float_array(series: pd.Series) -> np.ndarray:
    dtype = series.dtype
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) or not (
        pd.api.types.is_float_dtype(dtype)
        or pd.api.types.is_integer_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    ):
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return series.to_numpy(dtype=np.float64, copy=False)


def numeric_values(series: pd.Series) -> tuple[np.ndarray, int]:
    """(finite values as float64, number of missing values) of a column.

    NaN, None, ±inf and strings that do not parse as numbers count as missing.

    >>> numeric_values(pd.Series([1.0, None, float("inf"), "x", 2], dtype=object))
    (array([1., 2.]), 3)
    """
    arr = _as_float_array(series)
    finite = np.isfinite(arr)
    n_bad = int(arr.size - np.count_nonzero(finite))
    return (arr if n_bad == 0 else arr[finite]), n_bad


def sorted_finite(series: pd.Series) -> tuple[np.ndarray, int]:
    """(sorted finite values, number of missing values) with a single sort and no masking copy.

    numpy sorts ``-inf`` first and ``+inf`` then NaN last, so the finite values are one contiguous slice.

    >>> sorted_finite(pd.Series([3.0, float("nan"), -float("inf"), 1.0]))
    (array([1., 3.]), 2)
    """
    arr = np.sort(_as_float_array(series))
    lo = int(np.searchsorted(arr, -np.inf, side="right"))
    hi = int(np.searchsorted(arr, np.inf, side="left"))
    return arr[lo:hi], int(arr.size - (hi - lo))


def category_counts(series: pd.Series) -> tuple[pd.Series, int]:
    """(counts per category as strings, number of missing values) of a column, in one pass.

    >>> counts, missing = category_counts(pd.Series(["a", None, "b", "a", 1]))
    >>> counts.sort_index().to_dict(), missing
    ({'1': 1, 'a': 2, 'b': 1}, 1)
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        valid = codes >= 0
        n_missing = int(codes.size - np.count_nonzero(valid))
        cats = series.cat.categories
        counts = pd.Series(np.bincount(codes[valid], minlength=len(cats)), index=cats)
        counts = counts[counts > 0]
    else:
        counts = series.value_counts(sort=False, dropna=False)
        missing = counts.index.isna()
        n_missing = int(counts[missing].sum()) if missing.any() else 0
        counts = counts[~missing] if missing.any() else counts
    if counts.index.inferred_type != "string":
        counts.index = counts.index.map(str)
        if not counts.index.is_unique:
            counts = counts.groupby(level=0, sort=False).sum()
    return counts.astype(np.int64), n_missing


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """Reference side of one numeric feature."""

    name: str
    sorted_values: np.ndarray
    n_total: int
    n_missing: int
    mean: float
    std: float
    psi_edges: np.ndarray
    psi_counts: np.ndarray
    kind: str = "numeric"

    @property
    def n(self) -> int:
        return int(self.sorted_values.size)

    @property
    def null_rate(self) -> float:
        return self.n_missing / self.n_total if self.n_total else math.nan


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """Reference side of one categorical feature (categories as strings, missing values dropped)."""

    name: str
    categories: tuple[str, ...]
    category_count_values: np.ndarray
    n_total: int
    n_missing: int
    kind: str = "categorical"

    @property
    def n(self) -> int:
        return int(self.category_count_values.sum())

    @property
    def null_rate(self) -> float:
        return self.n_missing / self.n_total if self.n_total else math.nan

    def counts(self) -> pd.Series:
        return pd.Series(self.category_count_values, index=pd.Index(self.categories, dtype=object))


FeatureProfile = NumericProfile | CategoricalProfile


def profile_column(name: str, series: pd.Series, kind: str, *, psi_bins: int = 10) -> FeatureProfile:
    """Profile one reference column as ``kind`` (``"numeric"`` or ``"categorical"``)."""
    if kind == "numeric":
        values, n_missing = sorted_finite(series)
        if values.size:
            edges = np.unique(np.quantile(values, np.arange(1, psi_bins) / psi_bins))
            counts = np.diff(np.searchsorted(values, edges, side="left"), prepend=0, append=values.size)
            mean = float(values.mean())
            std = float(values.std(ddof=1)) if values.size > 1 else 0.0
        else:
            edges, counts, mean, std = np.empty(0), np.zeros(1, dtype=np.int64), math.nan, math.nan
        return NumericProfile(
            name, values, int(series.size), n_missing, mean, std, edges, counts.astype(np.int64)
        )
    counts, n_missing = category_counts(series)
    return CategoricalProfile(
        name,
        tuple(str(c) for c in counts.index),
        counts.to_numpy(dtype=np.int64),
        int(series.size),
        n_missing,
    )


def _feature_kinds(
    frame: pd.DataFrame, config: DetectionConfig, exclude: Iterable[str] = ()
) -> dict[str, str | None]:
    """Declared or inferred kind of every configured feature present in ``frame`` (None: not a feature)."""
    exclude = set(exclude)
    features = config.features
    if isinstance(features, dict):
        return {name: kind for name, kind in features.items()}
    names = list(features) if features is not None else [c for c in frame.columns if c not in exclude]
    return {name: (infer_kind(frame[name]) if name in frame.columns else None) for name in names}


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Everything the engine needs from a reference window, computed once (picklable)."""

    features: Mapping[str, FeatureProfile]
    n_rows: int
    psi_bins: int = 10
    sample: pd.DataFrame | None = field(default=None, repr=False)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", FrozenMap(self.features))

    def get(self, name: str, kind: str) -> FeatureProfile | None:
        prof = self.features.get(name)
        return prof if prof is not None and prof.kind == kind else None


def profile_reference(
    reference: pd.DataFrame,
    config: DetectionConfig | Mapping[str, Any] | None = None,
    *,
    columns: Iterable[str] = (),
    exclude: Iterable[str] = (),
    psi_bins: int = 10,
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 0,
) -> ReferenceProfile:
    """Profile the reference window once for every configured feature (plus ``columns``).

    Parameters
    ----------
    reference
        The reference window.
    config
        Which features and kinds (``config.features``); all columns with inferred kinds when ``None``.
    columns
        Extra numeric columns to profile (e.g. the prediction score).
    exclude
        Columns never profiled when features are inferred (time, label columns).
    psi_bins
        Number of quantile bins for PSI.
    sample_rows, seed
        Size and seed of the row sample kept for the domain classifier.
    """
    cfg = as_config(config)
    kinds = _feature_kinds(reference, cfg, exclude)
    for name in columns:
        if name in reference.columns and name not in kinds:
            kinds[name] = infer_kind(reference[name])
    feats: dict[str, FeatureProfile] = {}
    for name, kind in kinds.items():
        if kind is None or name not in reference.columns:
            continue
        feats[name] = profile_column(name, reference[name], kind, psi_bins=psi_bins)
    present = [n for n in feats if n in reference.columns]
    if len(reference) > sample_rows:
        idx = np.sort(np.random.default_rng(seed).choice(len(reference), size=sample_rows, replace=False))
        sample = reference[present].iloc[idx].reset_index(drop=True)
    else:
        sample = reference[present].reset_index(drop=True)
    return ReferenceProfile(feats, int(len(reference)), psi_bins, sample, seed)

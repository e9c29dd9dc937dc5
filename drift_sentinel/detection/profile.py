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
import re
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
    "category_text",
    "feature_kind",
    "infer_kind",
    "mean_std",
    "numeric_values",
    "unparseable",
    "sorted_finite",
    "profile_column",
    "profile_reference",
    "robust_scale",
]

SAMPLE_ROWS = 5_000
NUMERIC_TEXT_SHARE = 0.9  # a text column whose values are at least this share numbers is numeric
_KIND_SAMPLE = 10_000  # values looked at to infer the kind of a text column
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2})?")


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
    """The kind a column's dtype says: ``"numeric"`` for numeric dtypes, ``"categorical"`` for
    strings/categories/booleans, ``None`` for datetimes and timedeltas (not a feature).
    :func:`feature_kind` also looks at the values of text columns.

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


def feature_kind(series: pd.Series) -> str | None:
    """A column's kind as a feature: :func:`infer_kind`, and for a text (object) column its values decide.

    Text whose values are at least 90% numbers is numeric — the rest (``"N/A?"``) then count as missing
    instead of turning every number into its own category — and text that nearly all looks like dates
    (``2026-10-01``, ``10/01/2026 08:00``, ``datetime.date`` objects) is ``None``, not a feature. Declare a
    column's kind to override this.

    >>> feature_kind(pd.Series(["0.5", "1.25", "N/A?"] + ["2"] * 30)), feature_kind(pd.Series(["2026-10-01"]))
    ('numeric', None)
    >>> feature_kind(pd.Series(["a", "b"])), feature_kind(pd.Series([1.5]))
    ('categorical', 'numeric')
    """
    kind = infer_kind(series)
    dtype = series.dtype
    text_dtype = pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
    if kind != "categorical" or not text_dtype or isinstance(dtype, pd.CategoricalDtype):
        return kind
    values = series.dropna()
    if values.empty:
        return kind
    if len(values) > _KIND_SAMPLE:
        values = values.iloc[:: len(values) // _KIND_SAMPLE + 1]
    if values.map(lambda v: isinstance(v, bool)).any():
        return kind
    text = values.astype(str)
    if float(pd.to_numeric(text, errors="coerce").notna().mean()) >= NUMERIC_TEXT_SHARE:
        return "numeric"
    if float(text.str.match(_DATE_LIKE).mean()) >= NUMERIC_TEXT_SHARE:
        return None
    return kind


def unparseable(series: pd.Series, limit: int = 3) -> tuple[int, tuple[str, ...]]:
    """(how many present values of a column are not numbers, up to ``limit`` distinct examples).

    Numeric dtypes have none; in a text column, strings such as ``"N/A?"`` are counted (they are treated
    as missing values by the numeric tests).

    >>> unparseable(pd.Series([1.0, "2", "N/A?", None, "x", "N/A?"], dtype=object))
    (3, ('N/A?', 'x'))
    """
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return 0, ()
    present = series[series.notna()]
    bad = present[pd.to_numeric(present.astype(str), errors="coerce").isna()]
    return int(bad.size), tuple(str(v) for v in pd.unique(bad.astype(str))[:limit])


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """(mean, sample standard deviation) of finite values without overflow: values as large as 1e308 are
    rescaled first, so one extreme value gives a large but finite answer instead of ``inf``/``nan``.

    >>> mean_std(np.array([1.0, 2.0, 3.0]))
    (2.0, 1.0)
    >>> [f"{v:.3g}" for v in mean_std(np.array([0.0, 1e308]))]
    ['5e+307', '7.07e+307']
    """
    if values.size == 0:
        return math.nan, math.nan
    big = float(np.max(np.abs(values)))
    if big <= 1e150 or not math.isfinite(big):
        mean = float(values.mean())
        return mean, float(values.std(ddof=1)) if values.size > 1 else 0.0
    scaled = values / big
    mean = float(scaled.mean()) * big
    return mean, (float(scaled.std(ddof=1)) * big if values.size > 1 else 0.0)


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
        counts.index = counts.index.map(category_text)
        if not counts.index.is_unique:
            counts = counts.groupby(level=0, sort=False).sum()
    return counts.astype(np.int64), n_missing


OUTLIER_SCALE_RATIO = 1e4  # a std this many times its robust estimate is dominated by a few extreme values


def robust_scale(sorted_values: np.ndarray, std: float) -> tuple[float, float] | None:
    """(median, IQR / 1.349) of sorted finite values when a few extreme values (a 1e308) inflate their
    standard deviation ``std`` more than :data:`OUTLIER_SCALE_RATIO` times over that robust estimate (or make it
    non-finite); ``None`` otherwise — ordinary data, however skewed, keeps its standard deviation.

    >>> values = np.sort(np.r_[np.linspace(-2.0, 2.0, 101), 1e308])
    >>> [round(v, 2) for v in robust_scale(values, mean_std(values)[1])]
    [0.0, 1.48]
    >>> robust_scale(np.linspace(-2.0, 2.0, 101), 1.17) is None
    True
    """
    n = sorted_values.size
    if n < 4:
        return None
    robust = (
        float(sorted_values[(3 * (n - 1)) // 4] - sorted_values[(n - 1) // 4]) / 1.349
    )  # quartiles by rank
    if robust > 0 and (not math.isfinite(std) or std > OUTLIER_SCALE_RATIO * robust):
        return float(sorted_values[(n - 1) // 2]), robust
    return None


def category_text(value: Any) -> str:
    """A category as text; bytes are decoded (UTF-8, else Windows-1252) so ``b"caf\xe9"`` and ``"café"``
    are one category, never a bytes-versus-string mismatch."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("cp1252", errors="replace")
    return str(value)


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
            with np.errstate(all="ignore"):  # quantiles between ±1e308 neighbours overflow to ±inf
                edges = np.unique(np.quantile(values, np.arange(1, psi_bins) / psi_bins))
            counts = np.diff(np.searchsorted(values, edges, side="left"), prepend=0, append=values.size)
            mean, std = mean_std(values)
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
    return {name: (feature_kind(frame[name]) if name in frame.columns else None) for name in names}


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
            kinds[name] = feature_kind(reference[name])
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

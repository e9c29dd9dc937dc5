"""``detect_drift``: every enabled detector on every feature, the quorum decision and the report.

Decision rule (see :mod:`drift_sentinel.detection.sensitivity` for the numbers):

1. Per feature, each applicable detector computes its statistic, a p-value and a scale-free effect size
   (KS D; Wasserstein distance / reference standard deviation; PSI; Cramér's V).
2. Per detector, p-values are adjusted with Benjamini–Hochberg across the features it ran on; the
   detector votes "drift" when the adjusted p-value is at most ``alpha`` **and** the effect size reaches
   the sensitivity's threshold (or the per-feature override in ``config.thresholds``). Wasserstein has no
   test of its own: its significance is the KS test's on the same samples.
3. A feature is drifted when at least ``min(quorum, #applicable detectors)`` detectors vote drift, or its
   share of missing values changed significantly and by at least the null-rate threshold.
4. Fewer than ``min_samples`` usable values on either side makes the feature INCONCLUSIVE; a column that
   is absent from a window is ERROR. The report is FAILED when any feature, model signal or the
   multivariate detector drifted, otherwise INCONCLUSIVE when any feature was INCONCLUSIVE or ERROR,
   otherwise PASSED.

Streaming detectors (``adwin``, ``page_hinkley``) run over the time-ordered current values of each
numeric feature, standardised with the reference mean and standard deviation; they vote drift when they
detect a change whose mean shift (after vs before the change start, in reference standard deviations)
reaches the threshold, and the change start's timestamp becomes the feature's ``drift_start``. With a
``prediction_column`` the same runs on the prediction score (``report.signals["prediction"]``); with a
``label_column`` too, the error stream (``prediction ≥ 0.5 ≠ label`` for binary labels) gets DDM and an
error-rate comparison with the reference (``report.signals["error"]``). Rows with missing labels
(delayed) are skipped.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from drift_sentinel.detection.config import DetectionConfig
from drift_sentinel.detection.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    as_config,
    category_counts,
    feature_kind,
    mean_std,
    profile_column,
    robust_scale,
    sorted_finite,
    unparseable,
)
from drift_sentinel.detection.registry import DetectorInfo, detector_names, find_detector, get_detector
from drift_sentinel.detection.results import AffectedFeature, DriftReport, FeatureDrift, TestResult
from drift_sentinel.detection.samples import CategoricalSample, NumericSample
from drift_sentinel.detection.sensitivity import Thresholds, thresholds_for
from drift_sentinel.errors import DataError
from drift_sentinel.verdict import Verdict

__all__ = ["benjamini_hochberg", "detect_drift"]

PARALLEL_MIN_CELLS = 200_000  # below this many values, threads cost more than they save
Z_LIMIT = 1e6  # standardised stream values beyond this are absurd: left out so they cannot overflow the sums


def _is_streaming(name: str) -> bool:
    info = find_detector(name)
    return info is not None and info.shape == "streaming"


def _defined_in(cls: type, attr: str) -> type | None:
    return next((c for c in cls.__mro__ if attr in c.__dict__), None)


def _run_batch(
    info: DetectorInfo, sample: NumericSample | CategoricalSample, column: pd.Series
) -> TestResult:
    """One batch detector on one feature: its ``test_sample`` on the prepared sample when it has one (and
    it is not shadowed by a subclass's own ``test``), else ``fit(reference values)`` / ``test(column)``."""
    detector = info.create()
    cls = type(detector)
    fast, plain = _defined_in(cls, "test_sample"), _defined_in(cls, "test")
    if fast is not None and (plain is None or issubclass(fast, plain)):
        return detector.test_sample(sample)
    return detector.fit(sample.reference_values()).test(column)


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (Benjamini & Hochberg 1995); NaN stays NaN.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    ranked = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return out


@dataclass
class _Pending:
    """A feature's raw results before the cross-feature BH step."""

    name: str
    kind: str
    verdict: Verdict | None = None
    status: str = "ok"
    results: dict[str, TestResult] = field(default_factory=dict)
    magnitude: float = 0.0
    n_reference: int = 0
    n_current: int = 0
    null_ref: float = math.nan
    null_cur: float = math.nan
    null_p: float = math.nan
    null_drifted: bool = False
    new_categories: tuple[str, ...] = ()
    vanished_categories: tuple[str, ...] = ()
    drift_start: datetime | None = None
    stream_start: datetime | None = None
    is_signal: bool = False
    final: set[str] = field(default_factory=set)  # results already decided (not BH-gated again)


def _effect_threshold(config: DetectionConfig, th: Thresholds, feature: str, detector: str) -> float:
    for key in (feature, "*"):
        override = config.thresholds.get(key, {})
        if detector in override:
            return float(override[detector])
    return float(th.effect.get(detector, 0.0))


def _alpha(config: DetectionConfig, th: Thresholds, feature: str) -> float:
    for key in (feature, "*"):
        override = config.thresholds.get(key, {})
        if "alpha" in override:
            return float(override["alpha"])
    return th.alpha


def _proportion_test(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided pooled two-proportion z-test p-value (equivalently χ² on the 2×2 table, no correction)."""
    if n1 == 0 or n2 == 0:
        return math.nan
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k2 / n2 - k1 / n1) / se
    from scipy import special  # imported on first use: every process that loads the definitions imports this

    return float(2 * special.ndtr(-abs(z)))  # scipy.stats.norm.sf without its per-call overhead


def _cusum_change(z: np.ndarray, min_segment: int) -> tuple[int | None, float, float]:
    """The most likely single change point of the mean of ``z`` and its significance.

    ``k* = argmax_k |S_k − k S_n / n|`` (the CUSUM estimator, Page 1954; Hinkley 1971); under "no change"
    ``max_k |S_k − k S_n / n| / (σ √n)`` tends to the supremum of a Brownian bridge, i.e. Kolmogorov's
    distribution, which gives the p-value. Returns ``(k*, mean after − mean before, p)``; ``k*`` is the
    first index of the new regime, ``None`` when the series is too short or constant.
    """
    n = int(z.size)
    if n < 2 * min_segment:
        return None, 0.0, math.nan
    csum = np.cumsum(z)
    total = csum[-1]
    k = np.arange(1, n, dtype=np.float64)
    dev = np.abs(csum[:-1] - k * (total / n))
    lo, hi = min_segment - 1, n - min_segment  # both segments at least min_segment long
    j = lo + int(np.argmax(dev[lo:hi]))
    split = j + 1
    sigma = float(np.std(z, ddof=1))
    if sigma == 0:
        return None, 0.0, math.nan
    before = csum[j] / split
    after = (total - csum[j]) / (n - split)
    from scipy import special  # imported on first use

    p = float(special.kolmogorov(float(dev[j]) / (sigma * math.sqrt(n))))
    return split, float(after - before), p


def _to_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(UTC)
    return ts.to_pydatetime()


class _Engine:
    def __init__(
        self,
        reference: pd.DataFrame,
        current: pd.DataFrame,
        config: DetectionConfig,
        profile: ReferenceProfile | None,
        time_column: str | None,
        prediction_column: str | None,
        label_column: str | None,
    ) -> None:
        self.reference = reference
        self.current = current
        self.config = config
        self.profile = profile
        self.th = thresholds_for(config.sensitivity)
        self.algorithms = list(dict.fromkeys(config.algorithms))
        infos = {name: get_detector(name) for name in self.algorithms}
        rank = {name: i for i, name in enumerate(detector_names())}
        # a feature's results: built-in batch tests first, those made for one kind before general ones
        self.batch = sorted(
            (i for i in infos.values() if i.shape == "batch"),
            key=lambda i: (not i.builtin, len(i.kinds), rank.get(i.name, len(rank))),
        )
        self.streams = [n for n, i in infos.items() if i.shape == "streaming" and "numeric" in i.kinds]
        self.error_streams = [n for n, i in infos.items() if i.shape == "streaming" and "error" in i.kinds]
        self.multivariate = [i for i in infos.values() if i.shape == "multivariate"]
        self.time_column = time_column
        self.prediction_column = prediction_column
        self.label_column = label_column
        self.excluded: dict[str, str] = {}
        self.order: np.ndarray | None = None
        self.times: np.ndarray | ExtensionArray | None = None
        if time_column is not None and time_column in current.columns and len(current):
            tvals = current[time_column]
            if pd.api.types.is_datetime64_any_dtype(tvals.dtype):
                # sorted as datetime64 and kept as pandas' own array: a tz-aware column's to_numpy() builds one
                # Timestamp object per row (~20 ms per 10,000 rows); indexing the array gives the same Timestamps
                self.order = np.argsort(tvals.to_numpy(dtype="datetime64[ns]"), kind="stable")
                self.times = tvals.array[self.order]
            else:
                self.order = np.argsort(tvals.to_numpy(), kind="stable")
                self.times = tvals.to_numpy()[self.order]

    # ---------------------------------------------------------------- features
    def kind_of(self, name: str) -> str | None:
        """A column's kind as the reference has it (its profile, else its values; the current window only
        when the reference has none), so stray strings in the current window cannot flip it."""
        if self.profile is not None and name in self.profile.features:
            return self.profile.features[name].kind
        for frame in (self.reference, self.current):
            if name in frame.columns and (frame is self.current or frame[name].notna().any()):
                return feature_kind(frame[name])
        return "numeric"

    def feature_kinds(self) -> dict[str, str | None]:
        """Declared kinds win; otherwise inferred (:meth:`kind_of`). Undeclared datetime columns are left
        out and recorded in ``self.excluded``."""
        features = self.config.features
        special = {c for c in (self.time_column, self.prediction_column, self.label_column) if c}
        if isinstance(features, dict):
            return dict(features)
        if features is None:
            names = [c for c in self.current.columns if c in set(self.reference.columns) and c not in special]
            if not names:
                raise DataError(
                    "reference and current windows share no feature columns (reference: "
                    f"{list(self.reference.columns)[:10]}, current: {list(self.current.columns)[:10]})"
                )
        else:
            names = list(features)
        kinds: dict[str, str | None] = {}
        for name in names:
            kind = self.kind_of(name)
            if kind is None and features is None:
                self.excluded[name] = "datetime column: not a feature unless declared"
                continue
            kinds[name] = kind
        return kinds

    def _profile(self, name: str, kind: str) -> NumericProfile | CategoricalProfile:
        if self.profile is not None:
            prof = self.profile.get(name, kind)
            if prof is not None:
                return prof
        bins = self.profile.psi_bins if self.profile is not None else 10
        return profile_column(name, self.reference[name], kind, psi_bins=bins)

    def _missing(self, name: str, kind: str) -> _Pending | None:
        where = [
            w for w, f in (("reference", self.reference), ("current", self.current)) if name not in f.columns
        ]
        if name in self.reference.columns or (self.profile is not None and name in self.profile.features):
            where = [w for w in where if w != "reference"]
        if where:
            return _Pending(
                name,
                kind,
                verdict=Verdict.ERROR,
                status=f"column {name!r} is missing from the {' and '.join(where)} window",
            )
        return None

    def _null_signal(
        self, pend: _Pending, ref_missing: int, ref_total: int, cur_missing: int, cur_total: int
    ) -> None:
        pend.null_ref = ref_missing / ref_total if ref_total else math.nan
        pend.null_cur = cur_missing / cur_total if cur_total else math.nan
        if ref_total and cur_total:
            pend.null_p = _proportion_test(ref_missing, ref_total, cur_missing, cur_total)
            threshold = _effect_threshold(self.config, self.th, pend.name, "null_rate")
            if "null_rate" not in self.config.thresholds.get(pend.name, {}):
                threshold = self.th.null_rate
            pend.null_drifted = bool(
                abs(pend.null_cur - pend.null_ref) >= threshold
                and pend.null_p <= _alpha(self.config, self.th, pend.name)
            )

    def numeric(self, name: str, is_signal: bool = False, kind: str = "numeric") -> _Pending:
        missing = self._missing(name, kind)
        if missing is not None:
            return missing
        prof = self._profile(name, "numeric")
        assert isinstance(prof, NumericProfile)
        col = self.current[name]
        cur_sorted, cur_missing = sorted_finite(col)
        pend = _Pending(name, kind, n_reference=prof.n, n_current=int(cur_sorted.size), is_signal=is_signal)
        self._null_signal(pend, prof.n_missing, prof.n_total, cur_missing, int(col.size))
        notes = self._not_numbers(name)
        min_n = self.config.min_samples
        if prof.n < min_n or cur_sorted.size < min_n:
            side = "reference" if prof.n < min_n else "current"
            n = prof.n if prof.n < min_n else cur_sorted.size
            pend.verdict = Verdict.INCONCLUSIVE
            if n == 0:
                pend.status = f"all values missing in the {side} window"
            else:
                pend.status = f"only {n} usable values in the {side} window (min_samples={min_n})"
            if pend.null_drifted:
                pend.verdict = None  # the missing-value change itself is the finding
            _add_status(pend, notes)
            return pend
        sample = NumericSample(prof, cur_sorted)
        pend.magnitude = float(sample.ks[0])
        if prof.std == 0:
            pend.status = "constant in the reference window"
        elif cur_sorted[0] == cur_sorted[-1]:
            pend.status = "constant in the current window"
        for info in self.batch:
            if "numeric" in info.kinds:
                pend.results[info.name] = _run_batch(info, sample, col)
        if self.streams:
            self._streams(pend, col, *_stream_scale(prof), self.streams)
        _add_status(pend, notes)
        return pend

    def _not_numbers(self, name: str) -> str:
        """The status note for values of a numeric column that are not numbers (counted as missing)."""
        parts = []
        for role, frame in (("reference", self.reference), ("current", self.current)):
            if name in frame.columns:
                n, examples = unparseable(frame[name])
                if n:
                    shown = ", ".join(repr(e) for e in examples)
                    parts.append(f"{n} value(s) in the {role} window are not numbers ({shown})")
        return "; ".join(parts) + "; counted as missing" if parts else ""

    def _ordered(self, col: pd.Series) -> tuple[np.ndarray, np.ndarray | ExtensionArray | None]:
        arr = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        times = None
        if self.order is not None:
            arr = arr[self.order]
            times = self.times
        keep = np.isfinite(arr)
        if not keep.all():
            arr = arr[keep]
            times = times[keep] if times is not None else None
        return arr, times

    def _streams(self, pend: _Pending, col: pd.Series, mean: float, std: float, algos: list[str]) -> None:
        values, times = self._ordered(col)
        z = (values - mean) / std
        absurd = ~(np.abs(z) <= Z_LIMIT)
        if absurd.any():  # a 1e308 would overflow the detectors' sums and blind them to the rest
            keep = ~absurd
            z = z[keep]
            times = times[keep] if times is not None else None
            _add_status(
                pend,
                f"{int(absurd.sum())} value(s) more than {Z_LIMIT:g} standard deviations from the reference "
                "left out of the streaming detectors",
            )
        n = int(z.size)
        split, change, p_change = _cusum_change(z, max(self.config.min_samples, 2))
        shift = abs(change)
        for algo in algos:
            idx, starts = get_detector(algo).create().detect_changes(z)
            fired = bool(idx) and split is not None
            threshold = _effect_threshold(self.config, self.th, pend.name, algo)
            pend.results[algo] = TestResult(
                algo,
                float(len(idx)),
                p_change if fired else math.nan,
                threshold,
                False,
                pend.n_reference,
                n,
                effect_size=shift if fired else 0.0,
                detail="statistic = detections over the time-ordered current window; effect = mean shift at the "
                "CUSUM change point in reference standard deviations; p = CUSUM (Kolmogorov) test",
                change_points=tuple(int(s) for s in starts),
            )
            if fired and split is not None and times is not None:
                pend.stream_start = _to_datetime(times[split])

    def categorical(self, name: str) -> _Pending:
        missing = self._missing(name, "categorical")
        if missing is not None:
            return missing
        prof = self._profile(name, "categorical")
        assert isinstance(prof, CategoricalProfile)
        col = self.current[name]
        cur_counts, cur_missing = category_counts(col)
        n_ref, n_cur = prof.n, int(cur_counts.sum())
        pend = _Pending(name, "categorical", n_reference=n_ref, n_current=n_cur)
        self._null_signal(pend, prof.n_missing, prof.n_total, cur_missing, int(col.size))
        ref_counts = prof.counts()
        ref_set = set(prof.categories)
        cur_set = set(cur_counts.index)
        pend.new_categories = tuple(sorted(str(c) for c in cur_set - ref_set))
        pend.vanished_categories = tuple(sorted(str(c) for c in ref_set - cur_set))
        min_n = self.config.min_samples
        if n_ref < min_n or n_cur < min_n:
            side = "reference" if n_ref < min_n else "current"
            n = n_ref if n_ref < min_n else n_cur
            pend.verdict = Verdict.INCONCLUSIVE
            pend.status = (
                f"all values missing in the {side} window"
                if n == 0
                else f"only {n} usable values in the {side} window (min_samples={min_n})"
            )
            if pend.null_drifted:
                pend.verdict = None
            return pend
        cats = ref_counts.index.union(cur_counts.index)
        rc = ref_counts.reindex(cats, fill_value=0).to_numpy(dtype=np.int64)
        cc = cur_counts.reindex(cats, fill_value=0).to_numpy(dtype=np.int64)
        pend.magnitude = float(0.5 * np.abs(rc / n_ref - cc / n_cur).sum())  # total variation distance
        if len(cats) == 1:
            pend.status = "a single category in both windows"
        sample = CategoricalSample(prof, tuple(cats), rc, cc)
        for info in self.batch:
            if "categorical" in info.kinds:
                pend.results[info.name] = _run_batch(info, sample, col)
        return pend

    # ------------------------------------------------------------ model signals
    def prediction_kind(self) -> str | None:
        """``numeric`` for scores (and 0/1 booleans, as ever), ``categorical`` for predicted classes as text."""
        col = self.prediction_column
        assert col is not None
        frame = self.reference if col in self.reference.columns else self.current
        if col in frame.columns and pd.api.types.is_bool_dtype(frame[col].dtype):
            return "numeric"
        return self.kind_of(col)

    def prediction_signal(self) -> _Pending | None:
        col = self.prediction_column
        if not col or col not in self.current.columns:
            return None
        kind = self.prediction_kind()
        if kind != "numeric":  # class labels: compared as categories; datetimes: not a prediction
            if kind is None:
                return _Pending(
                    "prediction", "prediction", verdict=Verdict.ERROR, is_signal=True,
                    status=f"prediction column {col!r} holds datetimes, not predictions",
                )  # fmt: skip
            if col not in self.reference.columns and (
                self.profile is None or col not in self.profile.features
            ):
                return _Pending(
                    "prediction", "prediction", verdict=Verdict.INCONCLUSIVE, is_signal=True,
                    status=f"prediction column {col!r} holds labels, not scores, and the reference has none",
                )  # fmt: skip
            pend = self.categorical(col)
            pend.name, pend.kind, pend.is_signal = "prediction", "prediction", True
            return pend
        if col not in self.reference.columns and (self.profile is None or col not in self.profile.features):
            values, times = self._ordered(self.current[col])
            pend = _Pending("prediction", "prediction", n_current=int(values.size), is_signal=True)
            algos = self.streams
            if values.size >= self.config.min_samples and algos:
                mean, std = mean_std(values)
                self._streams(pend, self.current[col], mean, std if std > 0 else 1.0, algos)
            elif values.size < self.config.min_samples:
                pend.verdict = Verdict.INCONCLUSIVE
                pend.status = f"only {values.size} prediction values (min_samples={self.config.min_samples})"
            return pend
        pend = self.numeric(col, is_signal=True, kind="prediction")
        pend.name = "prediction"
        return pend

    def _errors(self, frame: pd.DataFrame, ordered: bool) -> np.ndarray | None:
        pred, label = self.prediction_column, self.label_column
        if not pred or not label or pred not in frame.columns or label not in frame.columns:
            return None
        if self.prediction_kind() == "categorical":  # predicted classes: an error is a prediction ≠ its label
            pt, yt = _label_text(frame[pred]), _label_text(frame[label])
            if ordered and self.order is not None and frame is self.current:
                pt, yt = pt[self.order], yt[self.order]
            keep = pd.notna(pt) & pd.notna(yt)
            return (pt[keep] != yt[keep]).astype(np.float64)
        p = pd.to_numeric(frame[pred], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        y = pd.to_numeric(frame[label], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if ordered and self.order is not None and frame is self.current:
            p, y = p[self.order], y[self.order]
        keep = np.isfinite(p) & np.isfinite(y)
        p, y = p[keep], y[keep]
        if y.size and not np.isin(y, (0.0, 1.0)).all():
            return np.empty(0)  # not binary labels
        return ((p >= 0.5).astype(np.float64) != y).astype(np.float64)

    def error_signal(self) -> _Pending | None:
        cur_err = self._errors(self.current, ordered=True)
        if cur_err is None:
            return None
        pend = _Pending("error", "error", n_current=int(cur_err.size), is_signal=True)
        if cur_err.size < self.config.min_samples:
            pend.verdict = Verdict.INCONCLUSIVE
            pend.status = (
                f"only {cur_err.size} labelled rows in the current window "
                f"(min_samples={self.config.min_samples}); labels may be delayed or not binary"
            )
            return pend
        ref_err = self._errors(self.reference, ordered=False)
        if ref_err is not None and ref_err.size >= self.config.min_samples:
            pend.n_reference = int(ref_err.size)
            k1, k2 = int(ref_err.sum()), int(cur_err.sum())
            p = _proportion_test(k1, ref_err.size, k2, cur_err.size)
            diff = k2 / cur_err.size - k1 / ref_err.size
            pend.results["error_rate"] = TestResult(
                "error_rate",
                float(diff),
                p,
                0.0,
                False,
                int(ref_err.size),
                int(cur_err.size),
                effect_size=float(diff),
                detail=f"error rate {k1 / ref_err.size:.4f} → {k2 / cur_err.size:.4f}",
            )
            pend.magnitude = abs(float(diff))
        for algo in self.error_streams:
            idx, starts = get_detector(algo).create().detect_changes(cur_err)
            split, change, p_change = _cusum_change(cur_err, max(self.config.min_samples, 2))
            fired = bool(idx) and split is not None
            threshold = _effect_threshold(self.config, self.th, "error", "error_rate")
            alpha = _alpha(self.config, self.th, "error")
            drifted = fired and change >= threshold and p_change <= alpha
            pend.results[algo] = TestResult(
                algo,
                float(len(idx)),
                p_change if fired else math.nan,
                threshold,
                drifted,
                pend.n_reference,
                int(cur_err.size),
                effect_size=change if fired else 0.0,
                alpha=alpha,
                detail="statistic = detections over the time-ordered error stream; effect = error-rate increase "
                "at the CUSUM change point; p = CUSUM (Kolmogorov) test",
                change_points=tuple(int(s) for s in starts),
            )
            pend.final.add(algo)  # decided here: CUSUM significance and the error-rate threshold
            if drifted and split is not None and self.times is not None:
                labelled = self._labelled_times()
                if labelled is not None and split < labelled.size:
                    pend.drift_start = _to_datetime(labelled[split])
        return pend

    def _labelled_times(self) -> np.ndarray | ExtensionArray | None:
        if self.times is None or self.order is None:
            return None
        assert self.prediction_column is not None and self.label_column is not None
        if self.prediction_kind() == "categorical":
            pt = _label_text(self.current[self.prediction_column])
            yt = _label_text(self.current[self.label_column])
            return self.times[(pd.notna(pt) & pd.notna(yt))[self.order]]
        p = pd.to_numeric(self.current[self.prediction_column], errors="coerce").to_numpy(
            np.float64, na_value=np.nan
        )
        y = pd.to_numeric(self.current[self.label_column], errors="coerce").to_numpy(
            np.float64, na_value=np.nan
        )
        keep = (np.isfinite(p) & np.isfinite(y))[self.order]
        return self.times[keep]


def _add_status(pend: _Pending, note: str) -> None:
    if note:
        pend.status = note if pend.status == "ok" else f"{pend.status}; {note}"


def _stream_scale(prof: NumericProfile) -> tuple[float, float]:
    """Location and scale that standardise a feature's stream: the reference mean and standard deviation,
    or its median and robust scale when a few extreme values dominate them (:func:`robust_scale`), so the
    streaming detectors still see changes of the bulk of the data."""
    robust = robust_scale(prof.sorted_values, prof.std)
    if robust is not None:
        return robust
    return prof.mean, prof.std if prof.std > 0 else 1.0


def _label_text(series: pd.Series) -> np.ndarray:
    """Class labels as text (``True``, ``1``, ``1.0`` and ``"1"`` alike), missing as ``None``."""

    def text(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, bool | np.bool_):
            return str(int(v))
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        return str(v)

    return np.array([text(v) for v in series.tolist()], dtype=object)


def _finalize(pendings: list[_Pending], config: DetectionConfig, th: Thresholds) -> list[FeatureDrift]:
    """BH across features per detector, effect gates, votes and quorum.

    Every result not already decided (``_Pending.final``) is gated: its detector's p-values adjusted across
    features, then ``p_adjusted <= alpha`` and ``effect >= threshold``. A registered detector that reports no
    effect size (``DetectorInfo.effect`` empty) is decided by significance alone.
    """
    gated = list(dict.fromkeys(k for p in pendings for k in p.results if k not in p.final))
    for algo in gated:
        info = find_detector(algo)
        no_effect = info is not None and not info.effect
        rows = [(p, p.results[algo]) for p in pendings if algo in p.results and algo not in p.final]
        if not rows:
            continue
        adjusted = benjamini_hochberg([r.p_value for _, r in rows])
        for (pend, res), q in zip(rows, adjusted, strict=True):
            alpha = _alpha(config, th, pend.name)
            threshold = _effect_threshold(config, th, pend.name, algo)
            effect = abs(res.effect_size) if algo == "error_rate" else res.effect_size
            if math.isnan(effect) and no_effect:
                effect = math.inf  # a detector without an effect size: significance decides
            drifted = bool(q <= alpha and effect >= threshold)
            if algo == "error_rate":
                drifted = drifted and res.effect_size > 0  # only a worse error rate is drift
            pend.results[algo] = TestResult(
                res.method,
                res.statistic,
                res.p_value,
                threshold,
                drifted,
                res.n_reference,
                res.n_current,
                effect_size=res.effect_size,
                p_adjusted=float(q),
                alpha=alpha,
                detail=res.detail,
                change_points=res.change_points,
            )
    out: list[FeatureDrift] = []
    for pend in pendings:
        votes = {k: bool(r.drifted) for k, r in pend.results.items()}
        yes = [k for k, v in votes.items() if v]
        needed = min(config.quorum, len(votes)) if votes else 1
        quorum_met = bool(votes) and len(yes) >= needed
        verdict = pend.verdict
        if verdict is None or verdict is Verdict.PASSED:
            verdict = Verdict.FAILED if (quorum_met or pend.null_drifted) else Verdict.PASSED
        elif verdict is Verdict.INCONCLUSIVE and pend.null_drifted:
            verdict = Verdict.FAILED
        drift_type = ""
        p_value = math.nan
        magnitude = pend.magnitude
        if verdict is Verdict.FAILED:
            if quorum_met:
                if pend.kind == "categorical":
                    drift_type = "new_category" if pend.new_categories else "category_frequency"
                elif pend.kind == "prediction":
                    drift_type = "prediction"
                elif pend.kind == "error":
                    drift_type = "error_rate"
                elif all(_is_streaming(k) for k in yes):
                    drift_type = "change_in_window"
                else:
                    drift_type = "distribution"
                ps = [pend.results[k].p_adjusted for k in yes if not math.isnan(pend.results[k].p_adjusted)]
                p_value = min(ps) if ps else math.nan
            else:
                drift_type = "null_rate"
                p_value = pend.null_p
            if pend.null_drifted:
                magnitude = max(magnitude, abs(pend.null_cur - pend.null_ref))
        if pend.stream_start is not None and any(v and _is_streaming(a) for a, v in votes.items()):
            pend.drift_start = (
                pend.stream_start if pend.drift_start is None else min(pend.drift_start, pend.stream_start)
            )
        status = pend.status
        if pend.null_drifted:
            status = f"missing-value rate changed {pend.null_ref:.3f} → {pend.null_cur:.3f}" + (
                "" if status == "ok" else f"; {status}"
            )
        out.append(
            FeatureDrift(
                name=pend.name,
                kind=pend.kind,
                verdict=verdict,
                results=pend.results,
                votes=votes,
                magnitude=float(magnitude),
                drift_type=drift_type,
                p_value=float(p_value),
                drift_start=pend.drift_start if verdict is Verdict.FAILED else None,
                status=status,
                n_reference=pend.n_reference,
                n_current=pend.n_current,
                null_rate_reference=pend.null_ref,
                null_rate_current=pend.null_cur,
                null_rate_drifted=pend.null_drifted,
                new_categories=pend.new_categories,
                vanished_categories=pend.vanished_categories,
            )
        )
    return out


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    config: DetectionConfig | Mapping[str, Any] | None = None,
    *,
    profile: ReferenceProfile | None = None,
    time_column: str | None = None,
    prediction_column: str | None = None,
    label_column: str | None = None,
) -> DriftReport:
    """Compare a current window with a reference window; see the module docstring for the decision rule.

    Parameters
    ----------
    reference, current
        The two windows. Features are the shared columns unless ``config.features`` names them.
    config
        A :class:`DetectionConfig`, a dict with its fields, or ``None`` for the defaults.
    profile
        A :func:`profile_reference` of the same reference, reused across windows (features it lacks are
        profiled on the fly).
    time_column
        Orders the current window for the streaming detectors and dates their change points.
    prediction_column, label_column
        The model's score and (possibly delayed, NaN) label: prediction drift and error-rate drift.

    Examples
    --------
    >>> rng = np.random.default_rng(7)
    >>> ref = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    >>> cur = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(1.0, 1, size=2000)})
    >>> report = detect_drift(ref, cur, {"algorithms": ["ks", "psi"]})
    >>> report.drift_detected, [a.name for a in report.affected_features], report.verdict.value
    (True, ['b'], 'FAILED')
    """
    if not isinstance(reference, pd.DataFrame) or not isinstance(current, pd.DataFrame):
        raise DataError("detect_drift expects pandas DataFrames for the reference and current windows")
    cfg = as_config(config)
    if profile is not None and profile.n_rows != len(reference):
        raise DataError(
            f"reference profile was computed on {profile.n_rows} rows but the reference window has "
            f"{len(reference)}; recompute it with profile_reference(reference)"
        )
    engine = _Engine(reference, current, cfg, profile, time_column, prediction_column, label_column)
    th = engine.th
    kinds = engine.feature_kinds()

    def one(item: tuple[str, str | None]) -> _Pending:
        name, kind = item
        if kind is None:
            return _Pending(
                name,
                "unknown",
                verdict=Verdict.ERROR,
                status=f"column {name!r} holds datetimes, not a feature; declare its kind to compare it",
            )
        with np.errstate(all="ignore"):  # per thread: degenerate columns end in a status, not a warning
            return engine.numeric(name) if kind == "numeric" else engine.categorical(name)

    workers = cfg.n_jobs or min(os.cpu_count() or 1, 8)
    if workers > 1 and len(kinds) > 1 and len(current) * len(kinds) >= PARALLEL_MIN_CELLS:
        # the sorts and compiled loops release the GIL: features run side by side
        with ThreadPoolExecutor(max_workers=min(workers, len(kinds))) as pool:
            pendings = list(pool.map(one, kinds.items()))
    else:
        pendings = [one(item) for item in kinds.items()]
    with np.errstate(all="ignore"):
        signal_pend = [p for p in (engine.prediction_signal(), engine.error_signal()) if p is not None]
        finished = _finalize(pendings + signal_pend, cfg, th)
    features = {f.name: f for f in finished[: len(pendings)]}
    signals = {f.name: f for f in finished[len(pendings) :]}

    multivariate = None
    for info in engine.multivariate[:1]:  # the report has one multivariate result
        names = [n for n, k in kinds.items() if k is not None and n in current.columns]
        sample = profile.sample if profile is not None else None
        detector = info.create(
            alpha=th.alpha,
            threshold=_effect_threshold(cfg, th, "*", info.name),
            min_samples=cfg.min_samples,
        )
        multivariate = detector.fit(reference if sample is None else sample).test(
            current, {n: kinds[n] for n in names if sample is None or n in sample.columns}
        )

    everything = list(features.values()) + list(signals.values())
    drifted = [f for f in everything if f.verdict is Verdict.FAILED]
    assessed = [f for f in everything if f.verdict in (Verdict.FAILED, Verdict.PASSED)]
    mv_drift = multivariate is not None and multivariate.drifted
    mv_assessed = multivariate is not None and multivariate.verdict in (Verdict.FAILED, Verdict.PASSED)
    n_assessed = len(assessed) + int(mv_assessed)
    score = (len(drifted) + int(mv_drift)) / n_assessed if n_assessed else 0.0
    drift_detected = bool(drifted) or mv_drift
    if drift_detected:
        verdict = Verdict.FAILED
    elif any(f.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR) for f in features.values()) or not assessed:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASSED
    affected = sorted(
        (AffectedFeature(f.name, f.drift_type, f.p_value, f.magnitude) for f in drifted),
        key=lambda a: (-a.magnitude if not math.isnan(a.magnitude) else 0.0, a.name),
    )
    starts = [f.drift_start for f in drifted if f.drift_start is not None]
    return DriftReport(
        drift_detected=drift_detected,
        drift_score=float(score),
        verdict=verdict,
        features=features,
        affected_features=tuple(affected),
        n_reference=int(len(reference)),
        n_current=int(len(current)),
        timestamp=datetime.now(UTC),
        config=cfg.model_dump(mode="json"),
        drift_start=min(starts) if starts else None,
        signals=signals,
        multivariate=multivariate,
        excluded=engine.excluded,
    )

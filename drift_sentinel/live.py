"""The live check of a window that is still open: counts so far against the reference, streaming detectors.

State is small and additive, so a watcher can keep it between passes (and store it, surviving restarts):

- :class:`LiveWindow` — for the open window so far, per numeric feature the counts over the reference profile's
  PSI bins (deciles), per categorical feature the category counts. :func:`evaluate_live_window` tests them against
  the reference profile: per feature a PSI (numeric, p-value from Yurdakul 2018's χ² law) or a chi-square test of
  homogeneity (categorical, effect Cramér's V), Benjamini–Hochberg across features at the sensitivity's ``alpha``,
  a feature drifted when significant *and* its effect reaches the sensitivity's threshold, drift when at least
  ``quorum`` features drifted — the same decision rule as the batch engine, on binned data. Fewer rows than
  ``min_samples`` is INCONCLUSIVE, never "no drift".
- :class:`LiveStreams` — ADWIN and Page-Hinkley (a CUSUM test) on each numeric feature standardized by the
  reference mean and standard deviation, and DDM on the error stream (prediction ≥ 0.5 vs label) when labels
  exist, fed row by row across passes and windows; each detection is kept with its row's timestamp (the onset).

>>> import numpy as np, pandas as pd
>>> from drift_sentinel.detection import DetectionConfig, profile_reference
>>> rng = np.random.default_rng(0)
>>> config = DetectionConfig(features={"x": "numeric"}, min_samples=50)
>>> profile = profile_reference(pd.DataFrame({"x": rng.normal(size=5000)}), config)
>>> window = LiveWindow("2026-10-01").add(pd.DataFrame({"x": rng.normal(0.8, 1, 400)}), profile, config)
>>> verdict = evaluate_live_window(window, profile, config)
>>> verdict.verdict.value, verdict.drifted_features
('FAILED', ('x',))
"""

from __future__ import annotations

import base64
import math
import pickle
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.detection import DetectionConfig, ReferenceProfile
from drift_sentinel.detection.engine import _alpha, _effect_threshold, benjamini_hochberg
from drift_sentinel.detection.profile import CategoricalProfile, NumericProfile
from drift_sentinel.detection.sensitivity import thresholds_for
from drift_sentinel.detection.streaming import ADWIN, DDM, PageHinkley, StreamingDetector
from drift_sentinel.detection.univariate import chi_square_from_counts, psi_from_counts, psi_pvalue
from drift_sentinel.times import utc_times
from drift_sentinel.verdict import Verdict

MAX_CATEGORIES = 200
"""Categories kept per feature; the rest are counted together as ``"<other>"``."""


def _features(config: DetectionConfig, profile: ReferenceProfile) -> dict[str, str]:
    if isinstance(config.features, dict):
        return dict(config.features)
    return {name: prof.kind for name, prof in profile.features.items()}


@dataclass(frozen=True)
class LiveWindow:
    """Counts of the open window so far (numeric: over the reference's PSI bins; categorical: per category)."""

    window: str
    n_rows: int = 0
    numeric: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    categorical: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame, profile: ReferenceProfile, config: DetectionConfig) -> LiveWindow:
        """The counts with ``frame``'s rows added (columns absent from ``frame`` are left as they are)."""
        numeric = {k: tuple(v) for k, v in self.numeric.items()}
        categorical = {k: dict(v) for k, v in self.categorical.items()}
        for name, kind in _features(config, profile).items():
            prof = profile.features.get(name)
            if name not in frame.columns or prof is None:
                continue
            if kind == "numeric" and isinstance(prof, NumericProfile):
                values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
                values = values[np.isfinite(values)]
                bins = np.bincount(
                    np.searchsorted(prof.psi_edges, values, side="right"), minlength=prof.psi_edges.size + 1
                )
                before = np.asarray(numeric.get(name, (0,) * bins.size), dtype=np.int64)
                numeric[name] = tuple(int(c) for c in before + bins)
            elif kind == "categorical":
                counts = categorical.setdefault(name, {})
                for category, count in frame[name].dropna().astype(str).value_counts().items():
                    key = category if category in counts or len(counts) < MAX_CATEGORIES else "<other>"
                    counts[key] = counts.get(key, 0) + int(count)
        return replace(self, n_rows=self.n_rows + len(frame), numeric=numeric, categorical=categorical)


@dataclass(frozen=True)
class LiveFeatureResult:
    """One feature's live test: its statistic, p-value (raw and BH-adjusted), effect and verdict."""

    name: str
    method: str
    statistic: float
    p_value: float
    adjusted_p: float
    effect: float
    effect_threshold: float
    n_current: int
    drifted: bool
    new_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiveVerdict:
    """The open window so far against the reference: FAILED (drift), PASSED or INCONCLUSIVE (too few rows)."""

    window: str
    verdict: Verdict
    n_rows: int
    features: tuple[LiveFeatureResult, ...]
    reason: str

    @property
    def drift_detected(self) -> bool:
        return self.verdict is Verdict.FAILED

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.drifted)


def evaluate_live_window(
    window: LiveWindow, profile: ReferenceProfile, config: DetectionConfig
) -> LiveVerdict:
    """Test the open window's counts against the reference profile (see the module docstring)."""
    th = thresholds_for(config.sensitivity)
    if window.n_rows < config.min_samples:
        return LiveVerdict(
            window.window,
            Verdict.INCONCLUSIVE,
            window.n_rows,
            (),
            f"{window.n_rows} row(s) so far < min_samples {config.min_samples}",
        )
    raw: list[tuple[str, str, float, float, float, float, int, tuple[str, ...]]] = []
    for name, counts in window.numeric.items():
        prof = profile.features.get(name)
        if not isinstance(prof, NumericProfile) or sum(counts) == 0:
            continue
        cur = np.asarray(counts, dtype=np.int64)
        value = psi_from_counts(prof.psi_counts, cur)
        p = psi_pvalue(value, int(prof.psi_counts.sum()), int(cur.sum()), cur.size)
        raw.append(
            (name, "psi", value, p, value, _effect_threshold(config, th, name, "psi"), int(cur.sum()), ())
        )
    for name, counts in window.categorical.items():
        prof = profile.features.get(name)
        if not isinstance(prof, CategoricalProfile) or not counts:
            continue
        categories = list(prof.categories) + sorted(c for c in counts if c not in prof.categories)
        ref = np.array([*prof.category_count_values, *[0] * (len(categories) - len(prof.categories))])
        cur = np.array([counts.get(c, 0) for c in categories], dtype=np.int64)
        result = chi_square_from_counts(ref, cur)
        new = tuple(c for c in categories[len(prof.categories) :] if counts.get(c, 0))
        threshold = _effect_threshold(config, th, name, "chi_square")
        raw.append(
            (
                name,
                "chi_square",
                result.statistic,
                result.p_value,
                result.effect_size,
                threshold,
                int(cur.sum()),
                new,
            )
        )
    adjusted = benjamini_hochberg([r[3] for r in raw]) if raw else np.empty(0)
    results = []
    for (name, method, stat, p, effect, threshold, n, new), q in zip(raw, adjusted, strict=True):
        alpha = _alpha(config, th, name)
        drifted = bool(math.isfinite(q) and q < alpha and effect >= threshold)
        results.append(
            LiveFeatureResult(
                name, method, float(stat), float(p), float(q), float(effect), threshold, n, drifted, new
            )
        )
    drifted = [r.name for r in results if r.drifted]
    if len(drifted) >= config.quorum:
        verdict, reason = (
            Verdict.FAILED,
            f"drift in {', '.join(drifted)} ({len(drifted)} >= quorum {config.quorum})",
        )
    else:
        verdict, reason = Verdict.PASSED, f"{len(drifted)} feature(s) drifted < quorum {config.quorum}"
    return LiveVerdict(window.window, verdict, window.n_rows, tuple(results), reason)


@dataclass(frozen=True)
class StreamDetection:
    """One streaming detection: which feature (or ``error``), which detector, at which row's time."""

    feature: str
    detector: str
    at: datetime


class LiveStreams:
    """ADWIN and Page-Hinkley per numeric feature (standardized by the reference), DDM on the error stream."""

    def __init__(self) -> None:
        self.detectors: dict[str, dict[str, StreamingDetector]] = {}
        self.detections: list[StreamDetection] = []

    def feed(
        self,
        frame: pd.DataFrame,
        profile: ReferenceProfile,
        *,
        time_column: str = "timestamp",
        prediction_column: str | None = None,
        label_column: str | None = None,
    ) -> list[StreamDetection]:
        """Feed ``frame``'s rows in time order; returns the detections they caused."""
        if not len(frame):
            return []
        frame = frame.sort_values(time_column, kind="stable")
        times = utc_times(frame[time_column]).tolist()
        found: list[StreamDetection] = []
        streams: dict[str, np.ndarray] = {}
        for name, prof in profile.features.items():
            if isinstance(prof, NumericProfile) and name in frame.columns and prof.std > 0:
                values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
                streams[name] = (values - prof.mean) / prof.std
        if prediction_column and label_column and {prediction_column, label_column} <= set(frame.columns):
            labels = pd.to_numeric(frame[label_column], errors="coerce").to_numpy(dtype=float)
            predicted = pd.to_numeric(frame[prediction_column], errors="coerce").to_numpy(dtype=float) >= 0.5
            streams["error"] = np.where(
                np.isfinite(labels), (predicted != (labels >= 0.5)).astype(float), np.nan
            )
        for name, values in streams.items():
            detectors = self.detectors.setdefault(
                name, {"ddm": DDM()} if name == "error" else {"adwin": ADWIN(), "page_hinkley": PageHinkley()}
            )
            for i, x in enumerate(values):
                if not math.isfinite(x):
                    continue
                for label, detector in detectors.items():
                    if detector.update(x).drift_detected:
                        found.append(StreamDetection(name, label, times[i].to_pydatetime(warn=False)))
        self.detections.extend(found)
        return found

    @property
    def onset(self) -> datetime | None:
        """The first ADWIN detection's time (its false-alarm rate is bounded by ``delta``; Page-Hinkley with
        river's defaults alarms on plain noise now and then), else the earliest detection (``None`` before any)."""
        adwin = [d.at for d in self.detections if d.detector == "adwin"]
        return min(adwin or [d.at for d in self.detections], default=None)

    def dumps(self) -> str:
        """The detectors and detections as compact text (to store between passes)."""
        return base64.b64encode(zlib.compress(pickle.dumps((self.detectors, self.detections)))).decode()

    @classmethod
    def loads(cls, text: str | None) -> LiveStreams:
        streams = cls()
        if text:
            streams.detectors, streams.detections = pickle.loads(zlib.decompress(base64.b64decode(text)))
        return streams


def window_state(end: datetime, now: datetime) -> str:
    """``"open"`` while ``now`` is before the window's (exclusive) end, else ``"closed"``.

    >>> from datetime import UTC
    >>> window_state(datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 1, 13, tzinfo=UTC))
    'open'
    """
    return "open" if now < end else "closed"


def live_window_to_dict(window: LiveWindow) -> dict[str, Any]:
    """JSON-ready form of a :class:`LiveWindow`."""
    return {
        "window": window.window,
        "n_rows": window.n_rows,
        "numeric": {k: list(v) for k, v in window.numeric.items()},
        "categorical": {k: dict(v) for k, v in window.categorical.items()},
    }


def live_window_from_dict(data: Mapping[str, Any]) -> LiveWindow:
    """Inverse of :func:`live_window_to_dict`."""
    return LiveWindow(
        window=str(data["window"]),
        n_rows=int(data.get("n_rows", 0)),
        numeric={k: tuple(int(c) for c in v) for k, v in data.get("numeric", {}).items()},
        categorical={k: {c: int(n) for c, n in v.items()} for k, v in data.get("categorical", {}).items()},
    )

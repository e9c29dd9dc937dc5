"""The built-in detectors, registered through the same hook as any plug-in (a provider of the catalog).

Each entry is the one declaration of a detector: its name, shape, feature kinds, factory (imported on first
use), effect size, accepted threshold range and default effect thresholds per sensitivity. Registration
order is the order of ``algorithms: all``.

>>> from drift_sentinel.detection.registry import builtin_detectors
>>> builtin_detectors()[:4]
('ks', 'psi', 'wasserstein', 'chi_square')
"""

from __future__ import annotations

import math

from drift_sentinel.detection.registry import DetectorInfo, register_detector

__all__ = ["BUILTIN_DETECTORS", "register"]


def _sens(low: float, medium: float, high: float) -> dict[str, float]:
    return {"low": low, "medium": medium, "high": high}


_BATCH = "drift_sentinel.detection.batch"
_STREAMING = "drift_sentinel.detection.streaming"

BUILTIN_DETECTORS: tuple[DetectorInfo, ...] = (
    DetectorInfo(
        "ks", "batch", ("numeric",), f"{_BATCH}:KSDetector", "two-sample Kolmogorov–Smirnov",
        {"alpha": 2.0}, builtin=True, effect="KS D", threshold_range=(0.0, 1.0),
        defaults=_sens(0.10, 0.05, 0.025),
        reference="Smirnov 1939; exact p-values as scipy; asymptotic with Vrbik's (2018) correction above "
        "10,000 values",
    ),
    DetectorInfo(
        "psi", "batch", ("numeric", "categorical"), f"{_BATCH}:PSIDetector", "population stability index",
        {"bins": 1}, builtin=True, effect="PSI", threshold_range=(0.0, math.inf),
        defaults=_sens(0.20, 0.10, 0.05),
        applies_to="numeric (reference-quantile bins), categorical (categories)",
        reference="Siddiqi 2006; Yurdakul 2018",
    ),
    DetectorInfo(
        "wasserstein", "batch", ("numeric",), f"{_BATCH}:WassersteinDetector", "1-Wasserstein distance",
        {"threshold": -1}, builtin=True, effect="Wasserstein ÷ reference std",
        threshold_range=(0.0, math.inf), defaults=_sens(0.20, 0.10, 0.05),
        reference="1-Wasserstein / earth mover's distance; significance from KS on the same samples",
    ),
    DetectorInfo(
        "chi_square", "batch", ("categorical",), f"{_BATCH}:ChiSquareDetector", "chi-square homogeneity",
        {"alpha": 0.0}, builtin=True, effect="Cramér's V", threshold_range=(0.0, 1.0),
        defaults=_sens(0.20, 0.10, 0.05), reference="Pearson 1900; effect size Cramér's V",
    ),
    DetectorInfo(
        "adwin", "streaming", ("numeric",), f"{_STREAMING}:ADWIN", "adaptive windowing (Bifet & Gavaldà)",
        {"delta": 0}, builtin=True, effect="mean shift at the change point (reference std)",
        threshold_range=(0.0, math.inf), defaults=_sens(0.50, 0.25, 0.10),
        applies_to="numeric features, prediction score", reference="Bifet & Gavaldà 2007 (river parity)",
    ),
    DetectorInfo(
        "ddm", "streaming", ("error",), f"{_STREAMING}:DDM", "drift detection method (Gama et al.)",
        {"warm_start": -1}, builtin=True, effect="error-rate increase at the change point",
        threshold_range=(0.0, 1.0), defaults=_sens(0.0, 0.0, 0.0),
        applies_to="error stream (needs labels)", reference="Gama et al. 2004 (river parity)",
    ),
    DetectorInfo(
        "page_hinkley", "streaming", ("numeric",), f"{_STREAMING}:PageHinkley", "Page-Hinkley test",
        {"mode": "sideways"}, builtin=True, effect="mean shift at the change point (reference std)",
        threshold_range=(0.0, math.inf), defaults=_sens(0.50, 0.25, 0.10),
        applies_to="numeric features, prediction score", reference="Page 1954 (river parity)",
    ),
    DetectorInfo(
        "domain_classifier", "multivariate", ("numeric", "categorical"),
        "drift_sentinel.detection.multivariate:DomainClassifier", "classifier two-sample test (AUC)",
        {"threshold": 0.7}, builtin=True, effect="AUC − 0.5", threshold_range=(0.0, 0.5),
        defaults=_sens(0.10, 0.05, 0.025), applies_to="all features",
        reference="Lopez-Paz & Oquab 2017 (classifier two-sample test)",
    ),
)  # fmt: skip


def register() -> None:
    """Register the built-in detectors (a catalog provider, like any plug-in's ``register``)."""
    for info in BUILTIN_DETECTORS:
        register_detector(info, replace=True)

"""Drift detection: batch two-sample tests, streaming detectors, the domain classifier and the quorum report.

Names are imported lazily (PEP 562), so ``drift_sentinel.detection.config`` — which the model config
needs — does not pull in scipy, numba and scikit-learn.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> ref = pd.DataFrame({"x": rng.normal(size=1000)})
>>> detect_drift(ref, pd.DataFrame({"x": rng.normal(size=1000)})).verdict.value
'PASSED'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from drift_sentinel.detection.config import DetectionConfig

if TYPE_CHECKING:
    from drift_sentinel.detection.batch import ChiSquareDetector, KSDetector, PSIDetector, WassersteinDetector
    from drift_sentinel.detection.engine import benjamini_hochberg, detect_drift
    from drift_sentinel.detection.multivariate import DomainClassifier, domain_classifier_test
    from drift_sentinel.detection.profile import ReferenceProfile, profile_reference
    from drift_sentinel.detection.registry import (
        DetectorInfo,
        available_detectors,
        builtin_detectors,
        catalog_table,
        create_detector,
        get_detector,
        register_detector,
    )
    from drift_sentinel.detection.results import (
        AffectedFeature,
        DriftReport,
        FeatureDrift,
        MultivariateDrift,
        TestResult,
    )
    from drift_sentinel.detection.sensitivity import SENSITIVITY_THRESHOLDS, thresholds_for
    from drift_sentinel.detection.streaming import ADWIN, DDM, PageHinkley
    from drift_sentinel.detection.univariate import chi_square, cramers_v, ks_test, psi, wasserstein

_LAZY: dict[str, str] = {
    "ChiSquareDetector": "batch",
    "KSDetector": "batch",
    "PSIDetector": "batch",
    "WassersteinDetector": "batch",
    "benjamini_hochberg": "engine",
    "detect_drift": "engine",
    "DomainClassifier": "multivariate",
    "domain_classifier_test": "multivariate",
    "ReferenceProfile": "profile",
    "profile_reference": "profile",
    "DetectorInfo": "registry",
    "available_detectors": "registry",
    "builtin_detectors": "registry",
    "catalog_table": "registry",
    "create_detector": "registry",
    "get_detector": "registry",
    "register_detector": "registry",
    "AffectedFeature": "results",
    "DriftReport": "results",
    "FeatureDrift": "results",
    "MultivariateDrift": "results",
    "TestResult": "results",
    "SENSITIVITY_THRESHOLDS": "sensitivity",
    "thresholds_for": "sensitivity",
    "ADWIN": "streaming",
    "DDM": "streaming",
    "PageHinkley": "streaming",
    "chi_square": "univariate",
    "cramers_v": "univariate",
    "ks_test": "univariate",
    "psi": "univariate",
    "wasserstein": "univariate",
}

__all__ = [
    "ADWIN",
    "ALGORITHMS",
    "AffectedFeature",
    "ChiSquareDetector",
    "DDM",
    "DetectionConfig",
    "DetectorInfo",
    "DomainClassifier",
    "DriftReport",
    "FeatureDrift",
    "KSDetector",
    "MultivariateDrift",
    "PSIDetector",
    "PageHinkley",
    "ReferenceProfile",
    "SENSITIVITY_THRESHOLDS",
    "TestResult",
    "WassersteinDetector",
    "available_detectors",
    "benjamini_hochberg",
    "builtin_detectors",
    "catalog_table",
    "chi_square",
    "cramers_v",
    "create_detector",
    "detect_drift",
    "domain_classifier_test",
    "get_detector",
    "ks_test",
    "profile_reference",
    "psi",
    "register_detector",
    "thresholds_for",
    "wasserstein",
]


def __getattr__(name: str) -> Any:
    if name == "ALGORITHMS":  # the built-in detector names, asked of the catalog (not cached: plug-ins)
        from drift_sentinel.detection.registry import builtin_detectors

        return builtin_detectors()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drift_sentinel.detection' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"drift_sentinel.detection.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"ALGORITHMS"})

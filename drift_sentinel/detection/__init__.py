"""Drift detection: batch two-sample tests, streaming detectors, the domain classifier and the quorum report.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> ref = pd.DataFrame({"x": rng.normal(size=1000)})
>>> detect_drift(ref, pd.DataFrame({"x": rng.normal(size=1000)})).verdict.value
'PASSED'
"""

from drift_sentinel.detection.config import ALGORITHMS, DetectionConfig
from drift_sentinel.detection.engine import benjamini_hochberg, detect_drift
from drift_sentinel.detection.multivariate import DomainClassifier, domain_classifier_test
from drift_sentinel.detection.profile import ReferenceProfile, profile_reference
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

__all__ = [
    "ADWIN",
    "ALGORITHMS",
    "AffectedFeature",
    "DDM",
    "DetectionConfig",
    "DomainClassifier",
    "DriftReport",
    "FeatureDrift",
    "MultivariateDrift",
    "PageHinkley",
    "ReferenceProfile",
    "SENSITIVITY_THRESHOLDS",
    "TestResult",
    "benjamini_hochberg",
    "chi_square",
    "cramers_v",
    "detect_drift",
    "domain_classifier_test",
    "ks_test",
    "profile_reference",
    "psi",
    "thresholds_for",
    "wasserstein",
]

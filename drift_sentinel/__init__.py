"""Drift Sentinel core: detect, explain, act on and audit ML model drift. No Dagster in here."""

from typing import TYPE_CHECKING, Any

from drift_sentinel.config import ModelSpec, SentinelConfig, load_config
from drift_sentinel.detection.config import DetectionConfig
from drift_sentinel.errors import ConfigError, DataError, SentinelError, UnknownModelError
from drift_sentinel.verdict import Verdict

if TYPE_CHECKING:
    from drift_sentinel.detection import DriftReport, detect_drift, profile_reference

__version__ = "0.1.0"

# The detection engine (scipy, numba, scikit-learn) loads on first use, not on ``import drift_sentinel``.
_DETECTION = ("DriftReport", "detect_drift", "profile_reference")

__all__ = [
    "ConfigError",
    "DataError",
    "DetectionConfig",
    "DriftReport",
    "ModelSpec",
    "SentinelConfig",
    "SentinelError",
    "UnknownModelError",
    "Verdict",
    "detect_drift",
    "load_config",
    "profile_reference",
]


def __getattr__(name: str) -> Any:
    if name in _DETECTION:
        from drift_sentinel import detection

        value = getattr(detection, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'drift_sentinel' has no attribute {name!r}")

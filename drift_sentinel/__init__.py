"""Drift Sentinel core: detect, explain, act on and audit ML model drift. No Dagster in here."""

from drift_sentinel.config import ModelSpec, SentinelConfig, load_config
from drift_sentinel.detection import DriftReport, detect_drift, profile_reference
from drift_sentinel.detection.config import DetectionConfig
from drift_sentinel.errors import ConfigError, DataError, SentinelError, UnknownModelError
from drift_sentinel.verdict import Verdict

__version__ = "0.1.0"

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

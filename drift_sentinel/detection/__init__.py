"""Drift detection: batch two-sample tests, streaming detectors and the quorum report."""

from drift_sentinel.detection.config import ALGORITHMS, DetectionConfig

__all__ = ["ALGORITHMS", "DetectionConfig"]

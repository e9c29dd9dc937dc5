"""Decision thresholds per sensitivity: a feature counts as drifted only when a test is significant
(Benjamini–Hochberg across features at ``alpha``) **and** its effect size reaches the threshold.

p-values go to zero on large windows (a 0.02-standard-deviation nudge is "significant" at a million
rows), so significance alone drowns users in alarms; effect sizes alone are noisy on small windows.
Requiring both keeps the false-alarm rate flat from a few hundred rows to millions.

============================  ======  ======  ======
effect size (per detector)    low     medium  high
============================  ======  ======  ======
``alpha`` (BH, per detector)  0.01    0.05    0.10
KS D                          0.10    0.05    0.025
Wasserstein / reference std   0.20    0.10    0.05
PSI                           0.20    0.10    0.05
Cramér's V (chi-square)       0.20    0.10    0.05
null-rate change (absolute)   0.10    0.05    0.02
error-rate increase (labels)  0.10    0.05    0.02
streaming mean shift (std)    0.50    0.25    0.10
domain-classifier AUC − 0.5   0.10    0.05    0.025
============================  ======  ======  ======

The effect thresholds are declared with each detector in the catalog
(:mod:`drift_sentinel.detection.builtins`); significance and the null-rate change are declared here.

>>> thresholds_for("medium").effect["ks"]
0.05
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from drift_sentinel.detection._frozen import FrozenMap

__all__ = ["SENSITIVITY_THRESHOLDS", "Thresholds", "thresholds_for"]


@dataclass(frozen=True)
class Thresholds:
    """Significance level and effect-size threshold per detector for one sensitivity."""

    alpha: float
    effect: Mapping[str, float] = field(default_factory=dict)
    null_rate: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "effect", FrozenMap(self.effect))


_SIGNIFICANCE = {"low": 0.01, "medium": 0.05, "high": 0.10}
_NULL_RATE = {"low": 0.10, "medium": 0.05, "high": 0.02}  # also the error-rate increase of the error signal


def _build(sensitivity: str) -> Thresholds:
    """The thresholds of one sensitivity: ``alpha`` and the null rate here, each detector's effect
    threshold from its catalog entry (:attr:`DetectorInfo.defaults`, 0 when it declares none)."""
    from drift_sentinel.detection.registry import detector_names, get_detector

    effect = {name: float(get_detector(name).defaults.get(sensitivity, 0.0)) for name in detector_names()}
    effect["error_rate"] = _NULL_RATE[sensitivity]
    return Thresholds(alpha=_SIGNIFICANCE[sensitivity], effect=effect, null_rate=_NULL_RATE[sensitivity])


SENSITIVITY_THRESHOLDS: dict[str, Thresholds] = {s: _build(s) for s in _SIGNIFICANCE}
"""The thresholds of every sensitivity for the detectors registered at import (``thresholds_for`` also
covers detectors registered later)."""


def thresholds_for(sensitivity: Literal["low", "medium", "high"] | str) -> Thresholds:
    """The thresholds of a sensitivity name (``low``, ``medium``, ``high``)."""
    from drift_sentinel.errors import UnknownNameError

    if sensitivity not in _SIGNIFICANCE:
        raise UnknownNameError(f"unknown sensitivity {sensitivity!r}; accepted: {', '.join(_SIGNIFICANCE)}")
    return _build(sensitivity)

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


def _t(
    alpha: float, ks: float, w: float, psi: float, v: float, null: float, stream: float, auc: float
) -> Thresholds:
    return Thresholds(
        alpha=alpha,
        effect={
            "ks": ks,
            "wasserstein": w,
            "psi": psi,
            "chi_square": v,
            "adwin": stream,
            "page_hinkley": stream,
            "ddm": 0.0,
            "error_rate": null,
            "domain_classifier": auc,
        },
        null_rate=null,
    )


SENSITIVITY_THRESHOLDS: dict[str, Thresholds] = {
    "low": _t(0.01, 0.10, 0.20, 0.20, 0.20, 0.10, 0.50, 0.10),
    "medium": _t(0.05, 0.05, 0.10, 0.10, 0.10, 0.05, 0.25, 0.05),
    "high": _t(0.10, 0.025, 0.05, 0.05, 0.05, 0.02, 0.10, 0.025),
}


def thresholds_for(sensitivity: Literal["low", "medium", "high"] | str) -> Thresholds:
    """The thresholds of a sensitivity name (``low``, ``medium``, ``high``)."""
    from drift_sentinel.errors import UnknownNameError

    try:
        return SENSITIVITY_THRESHOLDS[sensitivity]
    except KeyError:
        raise UnknownNameError(
            f"unknown sensitivity {sensitivity!r}; accepted: {', '.join(SENSITIVITY_THRESHOLDS)}"
        ) from None

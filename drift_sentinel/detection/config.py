"""Detection configuration: which detectors run, how many must agree, how sensitive they are.

Detector names, and the threshold each one accepts, come from the detector catalog
(:mod:`drift_sentinel.detection.registry`). ``thresholds`` overrides the sensitivity's effect-size threshold
per feature and detector (``{"amount": {"ks": 0.1, "alpha": 0.01}}``; the key ``"*"`` applies to every
feature); see :mod:`drift_sentinel.detection.sensitivity` for the defaults. Every key must be a registered
detector or one of :data:`SIGNAL_THRESHOLDS`, and every value must lie in its range: a threshold that would
switch detection off (``alpha: -0.05``, ``ks: -0.5``) or a misspelt key (``kss``) is refused.

>>> from pydantic import ValidationError
>>> try:
...     DetectionConfig(thresholds={"*": {"kss": 0.1}})
... except ValidationError as exc:
...     print(exc.errors()[0]["msg"].split(";")[0])
Value error, thresholds.*.kss: unknown threshold key 'kss'
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from drift_sentinel.detection.registry import builtin_detectors, detector_names, find_detector

__all__ = ["SIGNAL_THRESHOLDS", "DetectionConfig", "FeatureKind", "FieldError", "Sensitivity"]

FeatureKind = Literal["numeric", "categorical"]
Sensitivity = Literal["low", "medium", "high"]

SIGNAL_THRESHOLDS: dict[str, tuple[float, float, bool]] = {
    "alpha": (0.0, 1.0, False),  # significance level (after Benjamini–Hochberg), open interval
    "null_rate": (0.0, 1.0, True),  # absolute change in the share of missing values
    "error_rate": (0.0, 1.0, True),  # increase of the error rate (labels)
}
"""Threshold keys that are not detectors: ``(low, high, inclusive)``."""


class FieldError(ValueError):
    """A validation error about one field; ``path`` is where it is (``("thresholds", "*", "alpha")``)."""

    def __init__(self, path: tuple[str, ...], message: str) -> None:
        super().__init__(f"{'.'.join(path)}: {message}")
        self.path = path


def _check_threshold(feature: str, key: str, value: Any) -> None:
    path = ("thresholds", feature, key)
    if key in SIGNAL_THRESHOLDS:
        lo, hi, inclusive = SIGNAL_THRESHOLDS[key]
    else:
        info = find_detector(key)
        if info is None:
            accepted = ", ".join([*SIGNAL_THRESHOLDS, *detector_names()])
            raise FieldError(path, f"unknown threshold key {key!r}; accepted: {accepted}")
        (lo, hi), inclusive = info.threshold_range, True
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(path, f"must be a finite number, got {value!r}")
    inside = lo <= value <= hi if inclusive else lo < value < hi
    if not inside:
        if math.isinf(hi):
            wanted = f"≥ {lo:g}" if inclusive else f"> {lo:g}"
        else:
            wanted = f"in [{lo:g}, {hi:g}]" if inclusive else f"in ({lo:g}, {hi:g})"
        raise FieldError(path, f"must be {wanted}, got {value!r}")


class DetectionConfig(BaseModel):
    """What to run on a reference/current pair.

    >>> DetectionConfig(algorithms=["ks", "psi"], quorum=2).quorum
    2
    >>> DetectionConfig(algorithms="all").algorithms[:3]
    ['ks', 'psi', 'wasserstein']
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithms: list[str] = Field(default_factory=lambda: ["ks", "psi", "chi_square"])
    quorum: int = Field(default=1, ge=1)
    sensitivity: Sensitivity = "medium"
    features: dict[str, FeatureKind] | list[str] | None = None
    thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="per-feature overrides {feature or '*': {detector or 'alpha' or 'null_rate': value}}",
    )
    min_samples: int = Field(default=30, ge=1)
    n_jobs: int = Field(
        default=0,
        ge=0,
        description="threads for per-feature work; 0 = one per CPU (at most 8), 1 = no threads",
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _expand_all(cls, value: object) -> object:
        if value == "all" or value == ["all"]:
            return list(builtin_detectors())
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("algorithms")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if find_detector(name) is None]
        if unknown:
            accepted = ", ".join(detector_names())
            raise ValueError(f"unknown algorithm(s) {unknown}; accepted: {accepted} or 'all'")
        if not value:
            raise ValueError("at least one algorithm is required")
        return value

    @field_validator("quorum")
    @classmethod
    def _reachable(cls, value: int, info: ValidationInfo) -> int:
        algorithms = info.data.get("algorithms")
        if algorithms is not None and value > len(set(algorithms)):
            n = len(set(algorithms))
            raise ValueError(
                f"quorum {value} is more than the {n} configured algorithm(s) ({', '.join(algorithms)}); "
                f"at most {n} can agree"
            )
        return value

    @field_validator("thresholds", mode="before")
    @classmethod
    def _valid_thresholds(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value  # pydantic reports the type error
        for feature, overrides in value.items():
            if not isinstance(overrides, dict):
                raise FieldError(("thresholds", str(feature)), "expected a mapping of {detector: threshold}")
            for key, threshold in overrides.items():
                _check_threshold(str(feature), str(key), threshold)
        return value

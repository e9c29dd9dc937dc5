"""Detection configuration: which detectors run, how many must agree, how sensitive they are."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ALGORITHMS: tuple[str, ...] = (
    "ks",
    "psi",
    "wasserstein",
    "chi_square",
    "adwin",
    "ddm",
    "page_hinkley",
    "domain_classifier",
)

FeatureKind = Literal["numeric", "categorical"]
Sensitivity = Literal["low", "medium", "high"]


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
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)
    min_samples: int = Field(default=30, ge=1)

    @field_validator("algorithms", mode="before")
    @classmethod
    def _expand_all(cls, value: object) -> object:
        if value == "all" or value == ["all"]:
            return list(ALGORITHMS)
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("algorithms")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ALGORITHMS]
        if unknown:
            raise ValueError(f"unknown algorithm(s) {unknown}; accepted: {', '.join(ALGORITHMS)} or 'all'")
        if not value:
            raise ValueError("at least one algorithm is required")
        return value

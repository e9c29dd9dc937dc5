"""Detection configuration: which detectors run, how many must agree, how sensitive they are.

``thresholds`` overrides the sensitivity's effect-size threshold per feature and detector
(``{"amount": {"ks": 0.1, "alpha": 0.01}}``; the key ``"*"`` applies to every feature); see
:mod:`drift_sentinel.detection.sensitivity` for the defaults.
"""

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
            return list(ALGORITHMS)
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("algorithms")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        accepted = list(ALGORITHMS)
        unknown = [name for name in value if name not in ALGORITHMS]
        if unknown:  # detectors added to the registry (e.g. alibi-detect's, when installed)
            from drift_sentinel.detection.registry import available_detectors

            accepted += [n for n in available_detectors() if n not in ALGORITHMS]
            unknown = [name for name in unknown if name not in accepted]
        if unknown:
            raise ValueError(f"unknown algorithm(s) {unknown}; accepted: {', '.join(accepted)} or 'all'")
        if not value:
            raise ValueError("at least one algorithm is required")
        return value

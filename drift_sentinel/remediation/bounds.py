"""Replica bounds of a serving deployment: what scaling changes and what its undo record restores.

A module of its own, importing nothing of the project, so the undo records (read by the action catalog,
which the safety policy reads) can name it without an import cycle through :mod:`.scaling`.

>>> ScaleBounds(replicas=3, min_replicas=2, max_replicas=6).describe()
'3 replicas, HPA 2..6'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScaleBounds:
    """Replicas of a deployment and, when an HPA manages it, the HPA's bounds."""

    replicas: int
    min_replicas: int | None = None
    max_replicas: int | None = None

    def __post_init__(self) -> None:
        if self.replicas < 0:
            raise ValueError(f"replicas must be >= 0, got {self.replicas}")
        if (self.min_replicas is None) != (self.max_replicas is None):
            raise ValueError("min_replicas and max_replicas go together (an HPA has both)")
        lo, hi = self.min_replicas, self.max_replicas
        if lo is not None and hi is not None and (lo < 1 or hi < lo):
            raise ValueError(
                f"HPA bounds must satisfy 1 <= min <= max, got {self.min_replicas}..{self.max_replicas}"
            )

    @property
    def has_hpa(self) -> bool:
        return self.min_replicas is not None

    def describe(self) -> str:
        hpa = f", HPA {self.min_replicas}..{self.max_replicas}" if self.has_hpa else ""
        return f"{self.replicas} replicas{hpa}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "replicas": self.replicas,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScaleBounds:
        return cls(
            replicas=int(data["replicas"]),
            min_replicas=data.get("min_replicas"),
            max_replicas=data.get("max_replicas"),
        )

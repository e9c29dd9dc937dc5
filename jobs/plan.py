"""What a remediation run is asked to do (config) and what the gate approved (the plan)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dagster import Config


class RemediationConfig(Config):
    """Parameters of one remediation run (all optional when the sensor's tags carry the identity)."""

    model_id: str = ""
    incident_id: str = ""
    target_version: str | None = None
    cpu: float = 0.0
    memory_gb: float = 0.0
    replicas: int | None = None
    severity: str = "warning"
    message: str = ""
    dry_run: bool = False


@dataclass(frozen=True)
class RemediationPlan:
    """What the gate approved; the only input an action op receives."""

    model_id: str
    asset_prefix: str
    incident_id: str
    action: str
    current_version: str | None
    target_version: str | None
    severity: str
    message: str
    dry_run: bool
    decision: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

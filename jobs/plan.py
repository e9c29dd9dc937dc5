"""What a remediation run is asked to do (config) and what the gate approved (the plan)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from dagster import Config


class RemediationConfig(Config):
    """Parameters of one remediation run (all optional when the sensor's tags carry the identity).

    ``cpu`` / ``memory_gb`` / ``replicas``: what the action requests (0 = the action's own default, see
    the action catalog's ``default_request``). ``target_version``: the version ``rollback_model`` moves to.
    ``scale_factor``: how much ``scale_resources`` scales up. ``proposed_thresholds``: the thresholds
    ``update_thresholds`` proposes (default: the ones in force times ``threshold_scale``).
    ``retrain_windows``: how many of the newest windows ``retrain_model`` trains and evaluates on (the last
    fifth of their labelled rows is the held-out window); the challenger is promoted only if it beats the
    champion on ``retrain_metric`` by ``retrain_margin``.
    ``verify_*``: the serving windows verification compares (minutes before and after the action,
    after waiting ``verify_delay_seconds``; ``verify_min_rows`` rows at least on each side).
    ``dry_run``: decide and record everything, change nothing (also ``SafetyPolicy.dry_run`` and
    ``REMEDIATION_DRY_RUN``).
    """

    model_id: str = ""
    incident_id: str = ""
    target_version: str | None = None
    cpu: float = 0.0
    memory_gb: float = 0.0
    replicas: int | None = None
    scale_factor: float = 1.5
    proposed_thresholds: dict[str, dict[str, float]] | None = None
    threshold_scale: float = 1.25
    retrain_windows: int = 3
    retrain_margin: float = 0.01
    retrain_metric: str = "auc"
    retrain_kind: str = "gradient_boosting"
    verify_lookback_minutes: float = 60.0
    verify_after_minutes: float = 60.0
    verify_delay_seconds: float = 0.0
    verify_min_rows: int = 30
    severity: str = "warning"
    message: str = ""
    dry_run: bool = False


@dataclass(frozen=True)
class RemediationPlan:
    """What the gate approved; the only input an action op receives.

    ``details`` carries the action's approved parameters (the scale target, the proposed thresholds and
    their replay, the training windows) and the verification settings, so an action cannot act on
    anything the gate did not see.
    """

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
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

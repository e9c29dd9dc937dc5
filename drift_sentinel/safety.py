"""The safety policy: what every remediation must satisfy before it runs.

Policy is data (a pydantic model); evaluating it is a pure function (see ``evaluate_gate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drift_sentinel.remediation.actions import action_spec
from drift_sentinel.verdict import Verdict

if TYPE_CHECKING:
    from drift_sentinel.remediation.thresholds import ReplayResult


class ResourceLimits(BaseModel):
    """Caps on what one remediation may request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: float = Field(default=4.0, gt=0, description="CPU cores")
    memory_gb: float = Field(default=8.0, gt=0)
    max_replicas: int = Field(default=10, ge=1)


class RollbackTriggers(BaseModel):
    """Relative increases after an action that roll it back (0.2 = +20%)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate_increase: float = Field(default=0.20, ge=0)
    latency_p95_increase: float = Field(default=0.50, ge=0)


class SafetyPolicy(BaseModel):
    """Per-model safety policy.

    >>> SafetyPolicy(cooldown_period="10m").cooldown_period
    datetime.timedelta(seconds=600)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_retries: int = Field(default=3, ge=0, description="actions allowed per incident")
    cooldown_period: timedelta = Field(default=timedelta(minutes=5), ge=timedelta(0))
    resource_limits: ResourceLimits = Field(default_factory=ResourceLimits)
    rollback_triggers: RollbackTriggers = Field(default_factory=RollbackTriggers)
    dry_run: bool = False

    @field_validator("cooldown_period", mode="before")
    @classmethod
    def _parse_duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) and not value.startswith("P") else value


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """Parse ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` (or ISO-8601 via pydantic) into a timedelta.

    >>> parse_duration("90s")
    datetime.timedelta(seconds=90)
    """
    text = text.strip()
    if text and text[-1] in _UNITS and text[:-1].replace(".", "", 1).isdigit():
        return timedelta(seconds=float(text[:-1]) * _UNITS[text[-1]])
    raise ValueError(f"invalid duration {text!r}: use a number followed by s, m, h or d (e.g. '5m')")


# ----------------------------------------------------------------------------------------- the gate


def format_duration(delta: timedelta) -> str:
    """A compact duration for reasons: ``"3m"``, ``"3m20s"``, ``"1h5m"``, ``"2d3h"`` (two units at most).

    >>> format_duration(timedelta(seconds=200)), format_duration(timedelta(minutes=5))
    ('3m20s', '5m')
    >>> format_duration(timedelta(days=2, hours=3, minutes=4)), format_duration(timedelta(0))
    ('2d3h', '0s')
    """
    seconds = int(abs(delta.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    text = "".join(parts[:2]) or "0s"
    return f"-{text}" if delta.total_seconds() < 0 else text


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class GateEvidence:
    """What the gate needs to know about one requested remediation (gathered by the gate resource).

    ``last_action_at``: start of the last remediation run on this model (any action, any status),
    ``None`` when there never was one. ``attempts_for_incident``: remediation runs already launched
    for this incident and action. ``running_on_model``: *other* remediation runs in progress on the
    model. ``requested_*``: what the action asks for (``requested_replicas`` for scaling);
    ``available_*``: free capacity (``None`` = unknown, which fails the ``headroom`` check closed).
    ``current_version`` / ``target_version`` / ``target_version_status``: the registry state for
    version moves (status as MLflow reports it, ``READY`` …, or ``"MISSING"`` when the version was
    looked up and does not exist; ``None`` = not looked up). ``replay``: the dry-run replay of a
    threshold change. Naive datetimes are taken as UTC.
    """

    model_id: str
    action: str
    incident_id: str
    last_action_at: datetime | None
    attempts_for_incident: int
    running_on_model: int
    requested_cpu: float = 0.0
    requested_memory_gb: float = 0.0
    requested_replicas: int | None = None
    available_cpu: float | None = None
    available_memory_gb: float | None = None
    current_version: str | None = None
    target_version: str | None = None
    target_version_status: str | None = None
    replay: ReplayResult | None = None

    def __post_init__(self) -> None:
        for name in ("attempts_for_incident", "running_on_model"):
            if getattr(self, name) < 0:
                raise ValueError(f"gate evidence for model {self.model_id!r}: {name} must be >= 0")
        for name in ("requested_cpu", "requested_memory_gb"):
            if getattr(self, name) < 0:
                raise ValueError(f"gate evidence for model {self.model_id!r}: {name} must be >= 0")
        if self.requested_replicas is not None and self.requested_replicas < 0:
            raise ValueError(f"gate evidence for model {self.model_id!r}: requested_replicas must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["last_action_at"] = self.last_action_at.isoformat() if self.last_action_at else None
        data["replay"] = self.replay.to_dict() if self.replay is not None else None
        return data


@dataclass(frozen=True)
class CheckOutcome:
    """One gate check: its name, verdict and an Argo-style reason (``"cooldown: last action 3m ago < 5m"``).

    The reason starts with the check's name.
    """

    name: str
    verdict: Verdict
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "verdict": self.verdict.value, "reason": self.reason}


@dataclass(frozen=True)
class GateDecision:
    """The gate's decision: PASSED only when every check PASSED; otherwise FAILED or INCONCLUSIVE."""

    verdict: Verdict
    checks: tuple[CheckOutcome, ...]
    evaluated_at: datetime

    @property
    def opened(self) -> bool:
        """True only for PASSED: INCONCLUSIVE keeps the gate closed."""
        return self.verdict is Verdict.PASSED

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every check's reason, in check order."""
        return tuple(check.reason for check in self.checks)

    @property
    def blockers(self) -> tuple[str, ...]:
        """The reasons of the checks that did not pass (empty when the gate opened)."""
        return tuple(check.reason for check in self.checks if check.verdict is not Verdict.PASSED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "opened": self.opened,
            "evaluated_at": self.evaluated_at.isoformat(),
            "checks": [check.to_dict() for check in self.checks],
            "reasons": list(self.reasons),
            "blockers": list(self.blockers),
        }


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _check_cooldown(policy: SafetyPolicy, ev: GateEvidence, now: datetime) -> CheckOutcome:
    cooldown = format_duration(policy.cooldown_period)
    if ev.last_action_at is None:
        return CheckOutcome("cooldown", Verdict.PASSED, f"cooldown: no previous action on {ev.model_id}")
    elapsed = now - _utc(ev.last_action_at)
    if elapsed < timedelta(0):
        return CheckOutcome(
            "cooldown",
            Verdict.FAILED,
            f"cooldown: last action {format_duration(-elapsed)} in the future (clock skew?) < {cooldown}",
        )
    if elapsed < policy.cooldown_period:
        return CheckOutcome(
            "cooldown", Verdict.FAILED, f"cooldown: last action {format_duration(elapsed)} ago < {cooldown}"
        )
    return CheckOutcome(
        "cooldown", Verdict.PASSED, f"cooldown: last action {format_duration(elapsed)} ago >= {cooldown}"
    )


def _check_retry_budget(policy: SafetyPolicy, ev: GateEvidence, now: datetime) -> CheckOutcome:
    used, cap = ev.attempts_for_incident, policy.max_retries
    if used >= cap:
        return CheckOutcome(
            "retry_budget",
            Verdict.FAILED,
            f"retry_budget: {used} {ev.action} attempt(s) for incident {ev.incident_id} >= max {cap}",
        )
    return CheckOutcome(
        "retry_budget", Verdict.PASSED, f"retry_budget: {used} of {cap} attempt(s) used for {ev.incident_id}"
    )


def _check_concurrency(policy: SafetyPolicy, ev: GateEvidence, now: datetime) -> CheckOutcome:
    if ev.running_on_model > 0:
        return CheckOutcome(
            "concurrency",
            Verdict.FAILED,
            f"concurrency: {ev.running_on_model} other remediation(s) running on {ev.model_id} > 0",
        )
    return CheckOutcome("concurrency", Verdict.PASSED, f"concurrency: no other remediation on {ev.model_id}")


def _check_resource_limits(policy: SafetyPolicy, ev: GateEvidence, now: datetime) -> CheckOutcome:
    caps = policy.resource_limits
    over = []
    if ev.requested_cpu > caps.cpu:
        over.append(f"cpu {_number(ev.requested_cpu)} > cap {_number(caps.cpu)}")
    if ev.requested_memory_gb > caps.memory_gb:
        over.append(f"memory {_number(ev.requested_memory_gb)}GB > cap {_number(caps.memory_gb)}GB")
    if ev.requested_replicas is not None and ev.requested_replicas > caps.max_replicas:
        over.append(f"replicas {ev.requested_replicas} > cap {caps.max_replicas}")
    if over:
        return CheckOutcome("resource_limits", Verdict.FAILED, "resource_limits: " + "; ".join(over))
    asked = f"cpu {_number(ev.requested_cpu)}, memory {_number(ev.requested_memory_gb)}GB"
    if ev.requested_replicas is not None:
        asked += f", replicas {ev.requested_replicas}"
    return CheckOutcome("resource_limits", Verdict.PASSED, f"resource_limits: {asked} within caps")


def _check_headroom(policy: SafetyPolicy, ev: GateEvidence, now: datetime) -> CheckOutcome:
    if ev.requested_cpu == 0 and ev.requested_memory_gb == 0:
        reason = "headroom: no cpu or memory request given to check against capacity"
        return CheckOutcome("headroom", Verdict.INCONCLUSIVE, reason)
    unknown, short = [], []
    for label, requested, available, unit in (
        ("cpu", ev.requested_cpu, ev.available_cpu, ""),
        ("memory", ev.requested_memory_gb, ev.available_memory_gb, "GB"),
    ):
        if requested == 0:
            continue
        if available is None:
            unknown.append(f"available {label} unknown")
        elif requested > available:
            wanted, free = f"{_number(requested)}{unit}", f"{_number(available)}{unit}"
            short.append(f"requested {label} {wanted} > available {free}")
    if short:
        return CheckOutcome("headroom", Verdict.FAILED, "headroom: " + "; ".join(short))
    if unknown:
        return CheckOutcome("headroom", Verdict.INCONCLUSIVE, "headroom: " + "; ".join(unknown))
    return CheckOutcome("headroom", Verdict.PASSED, "headroom: request fits available capacity")


def _check_version(policy: SafetyPolicy, ev: GateEvidence, now: datetime) -> CheckOutcome:
    target, current, status = ev.target_version, ev.current_version, ev.target_version_status
    failed, unsure = Verdict.FAILED, Verdict.INCONCLUSIVE
    if target is None:
        return CheckOutcome("version", failed, f"version: no target version of {ev.model_id} to move to")
    if status is None:
        return CheckOutcome("version", unsure, f"version: status of v{target} not looked up")
    if status.upper() == "MISSING":
        return CheckOutcome("version", failed, f"version: v{target} of {ev.model_id} does not exist")
    if status.upper() != "READY":
        return CheckOutcome("version", failed, f"version: v{target} is {status}, not READY")
    if current is None:
        return CheckOutcome("version", unsure, f"version: current version of {ev.model_id} unknown")
    if str(current) == str(target):
        return CheckOutcome("version", failed, f"version: v{target} is already the current version")
    return CheckOutcome("version", Verdict.PASSED, f"version: v{current} -> v{target} (READY)")


def _check_dry_run(policy: SafetyPolicy, ev: GateEvidence, now: datetime) -> CheckOutcome:
    if ev.replay is None:
        return CheckOutcome("dry_run", Verdict.INCONCLUSIVE, "dry_run: no replay of the proposed thresholds")
    reason = ev.replay.reason if ev.replay.reason.startswith("dry_run:") else f"dry_run: {ev.replay.reason}"
    verdict = ev.replay.verdict
    if verdict not in (Verdict.PASSED, Verdict.FAILED):
        verdict = Verdict.INCONCLUSIVE
    return CheckOutcome("dry_run", verdict, reason)


_CHECKS: dict[str, Callable[[SafetyPolicy, GateEvidence, datetime], CheckOutcome]] = {
    "cooldown": _check_cooldown,
    "retry_budget": _check_retry_budget,
    "concurrency": _check_concurrency,
    "resource_limits": _check_resource_limits,
    "headroom": _check_headroom,
    "version": _check_version,
    "dry_run": _check_dry_run,
}


def evaluate_gate(policy: SafetyPolicy, evidence: GateEvidence, now: datetime) -> GateDecision:
    """Decide whether a remediation may run. Pure: same inputs, same decision.

    Runs ``cooldown``, ``retry_budget`` and ``concurrency`` for every action, then the checks the
    action declares in :data:`drift_sentinel.remediation.actions.ACTIONS`. Every check runs (all
    reasons are reported). The verdict is FAILED if any check failed, else INCONCLUSIVE if any was
    inconclusive (missing evidence fails closed), else PASSED; only PASSED opens the gate.
    The verdicts and reason format follow Argo Rollouts' analysis runs.

    >>> from datetime import datetime, timezone
    >>> now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    >>> ev = GateEvidence(model_id="fraud", action="notify_team", incident_id="inc-1",
    ...                   last_action_at=now - timedelta(minutes=3),
    ...                   attempts_for_incident=0, running_on_model=0)
    >>> d = evaluate_gate(SafetyPolicy(cooldown_period="5m"), ev, now)
    >>> d.verdict.value, d.opened, d.blockers
    ('FAILED', False, ('cooldown: last action 3m ago < 5m',))
    """
    spec = action_spec(evidence.action)
    now = _utc(now)
    outcomes = tuple(_CHECKS[name](policy, evidence, now) for name in spec.all_checks)
    verdicts = {outcome.verdict for outcome in outcomes}
    if Verdict.FAILED in verdicts or Verdict.ERROR in verdicts:
        verdict = Verdict.FAILED
    elif Verdict.INCONCLUSIVE in verdicts:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASSED
    return GateDecision(verdict=verdict, checks=outcomes, evaluated_at=now)

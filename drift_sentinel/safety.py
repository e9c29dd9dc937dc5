"""The safety policy: what every remediation must satisfy before it runs.

Policy is data (a pydantic model); evaluating it is a pure function (see ``evaluate_gate``).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    cooldown_period: timedelta = Field(default=timedelta(minutes=5))
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

"""The wire format of the service API (``/api/v1``): every request and response body, typed with pydantic.

Shared by the server (``api/``, which declares them in its OpenAPI document) and the Python client
(:mod:`drift_sentinel.client`, which parses responses into them), so neither imports the other. Shapes follow the
core's ``to_dict()`` results; nested per-feature detail stays a JSON object (``dict[str, Any]``).

>>> DriftCheckRequest(model_id="fraud-detector-v1", window="2026-10-11").window
'2026-10-11'
>>> ExecuteRequest(incident_id="inc-1", action="notify_team", safety_check=False)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for ExecuteRequest
...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drift_sentinel.remediation.actions import ACTIONS

API_PREFIX = "/api/v1"
if TYPE_CHECKING:
    ActionName = str
else:  # the action catalog's names, as an enum in the OpenAPI document
    ActionName = Literal[tuple(sorted(ACTIONS))]
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorBody(_Reply):
    """Every error: a one-line ``detail``, a stable ``code`` and the request id (no stack trace, ever)."""

    detail: str
    code: str
    request_id: str | None = None


# ----------------------------------------------------------------------------------------------- models


class ModelSummary(_Reply):
    """A monitored model visible to the caller, with its newest window's drift state."""

    id: str
    description: str = ""
    owners: list[str]
    features: list[str]
    cadence: str
    window_start: str
    window_end: str | None = None
    latest_window: str | None = None
    drift_detected: bool | None = None
    drift_score: float | None = None
    open_incident: str | None = None
    champion_version: str | None = Field(
        default=None,
        description="the registry's champion version when the baseline last ran (feature_importance)",
    )


class ModelList(_Reply):
    models: list[ModelSummary]


# ------------------------------------------------------------------------------------------- monitoring


class DriftCheckRequest(_Body):
    """Compare two windows of ``model_id``: files (paths or ``s3://`` URIs) or a stored window partition.

    Give ``window`` (the stored current window is compared with the model's reference), or ``current_data``
    (with ``reference_data``, or alone to compare it with the model's stored reference).
    ``threshold`` is the significance level (alpha) for every feature; ``features`` restricts the check.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["window"], "properties": {"window": {"type": "string"}}},
                {"required": ["current_data"], "properties": {"current_data": {"type": "string"}}},
            ],
            "not": {
                "required": ["window", "reference_data"],
                "properties": {"window": {"type": "string"}, "reference_data": {"type": "string"}},
            },
        },
    )

    model_id: str = Field(pattern=_ID)
    reference_data: str | None = Field(default=None, min_length=1, max_length=1024)
    current_data: str | None = Field(default=None, min_length=1, max_length=1024)
    window: str | None = Field(default=None, min_length=1, max_length=64)
    features: list[str] | None = Field(default=None, min_length=1, max_length=500)
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _one_source(self) -> DriftCheckRequest:
        if (self.window is None) == (self.current_data is None):
            raise ValueError("give exactly one of 'window' and 'current_data'")
        if self.window is not None and self.reference_data is not None:
            raise ValueError("'reference_data' goes with 'current_data', not with 'window'")
        return self


class AffectedFeature(_Reply):
    name: str
    drift_type: str | None = None
    magnitude: float | None = None
    p_value: float | None = None


class DriftReportBody(_Reply):
    """The core's ``DriftReport.to_dict()``."""

    drift_detected: bool
    drift_score: float | None = None
    verdict: str
    affected_features: list[dict[str, Any]]
    drift_start: str | None = None
    timestamp: str | None = None
    n_reference: int
    n_current: int
    features: dict[str, Any]
    signals: dict[str, Any] = Field(default_factory=dict)
    multivariate: dict[str, Any] | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class DriftCheckResult(_Reply):
    """A drift check: the report, what was compared, who asked and where it was recorded."""

    check_id: str
    model_id: str
    actor: str
    reference: str
    current: str
    report: DriftReportBody
    audit_seq: int | None = None


class ModelHealth(_Reply):
    """A model's state from its newest windows: ``healthy``, ``drifting`` or ``unknown`` (nothing stored yet)."""

    model_id: str
    status: Literal["healthy", "drifting", "unknown"]
    latest_window: str | None = None
    drift_detected: bool | None = None
    drift_score: float | None = None
    verdict: str | None = None
    affected_features: list[str] = Field(default_factory=list)
    open_incident: str | None = None
    windows_checked: int = 0
    drifted_windows: int = 0
    error_rate: float | None = None
    latency_p95_ms: float | None = None
    last_remediation: RemediationStatus | None = None


class Incident(_Reply):
    """One incident: consecutive drifted windows of one model, its root cause and remediation runs."""

    incident_id: str
    model_id: str
    status: Literal["open", "resolved"]
    opened_window: str
    last_window: str
    windows: int
    max_drift_score: float | None = None
    affected_features: list[str] = Field(default_factory=list)
    root_cause: str | None = None
    confidence: float | None = None
    recommended_action: str | None = None
    remediation_runs: list[str] = Field(default_factory=list)


class IncidentList(_Reply):
    incidents: list[Incident]


# ---------------------------------------------------------------------------------------------- analysis


class RcaReport(_Reply):
    """The stored ``rca_report`` of the incident's newest window (the RCA's own ``to_dict()`` under ``report``)."""

    incident_id: str
    model_id: str
    window: str
    root_cause: str | None = None
    confidence: float | None = None
    recommended_action: str | None = None
    report: dict[str, Any]


class PatternList(_Reply):
    """Recurring incident signatures per model (the stored ``recurring_patterns``)."""

    patterns: dict[str, list[dict[str, Any]]]


class CorrelateRequest(_Body):
    """Series to correlate (equal length, in time order); ``target`` pairs every other series with it."""

    series: dict[str, list[float | None]] = Field(min_length=2, max_length=20)
    target: str | None = None
    maxlag: int = Field(default=6, ge=1, le=48)
    criterion: Literal["bic", "aic"] = "bic"
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _shape(self) -> CorrelateRequest:
        lengths = {len(v) for v in self.series.values()}
        if len(lengths) != 1:
            raise ValueError(f"series must have equal lengths, got {sorted(lengths)}")
        if lengths.pop() > 100_000:
            raise ValueError("series longer than 100000 points")
        if self.target is not None and self.target not in self.series:
            raise ValueError(f"target {self.target!r} is not one of the series")
        return self


class CorrelationResult(_Reply):
    """The core's ``CorrelationReport.to_dict()``."""

    alpha: float
    n_tests: int
    corrected_alpha: float
    maxlag: int
    criterion: str
    pairs: list[dict[str, Any]]
    significant: list[str] = Field(
        default_factory=list, description='the significant pairs, e.g. "a x->y b (lag 1)"'
    )
    params: dict[str, Any] = Field(default_factory=dict)


# ------------------------------------------------------------------------------------------- remediation


class RemediationParameters(_Body):
    """What an operator may set on a remediation run (the rest comes from the model's policy)."""

    dry_run: bool = False
    target_version: str | None = Field(default=None, max_length=64)
    replicas: int | None = Field(default=None, ge=1, le=1000)
    scale_factor: float | None = Field(default=None, gt=1.0, le=10.0)
    verify_delay_seconds: float | None = Field(default=None, ge=0.0, le=3600.0)
    verify_after_minutes: float | None = Field(default=None, gt=0.0, le=1440.0)
    verify_lookback_minutes: float | None = Field(default=None, gt=0.0, le=1440.0)
    message: str | None = Field(default=None, max_length=2000)


class ExecuteRequest(_Body):
    """Ask for a gated remediation of an incident; ``safety_check`` must be ``true`` (the gate cannot be skipped)."""

    incident_id: str = Field(pattern=_ID)
    action: ActionName
    safety_check: Literal[True]
    parameters: RemediationParameters = Field(default_factory=RemediationParameters)


class ExecuteAccepted(_Reply):
    """202: the run was submitted; poll ``GET /api/v1/remediation/{run_id}``."""

    run_id: str
    status_url: str
    model_id: str
    incident_id: str
    action: str
    actor: str


class AuditEntry(_Reply):
    kind: str
    action: str | None = None
    outcome: str
    actor: str | None = None
    audit_seq: int | None = None


class RemediationStatus(_Reply):
    """A remediation run: Dagster status, the gate's verdict and reasons, and what was recorded."""

    run_id: str
    model_id: str | None = None
    incident_id: str | None = None
    action: str | None = None
    actor: str | None = None
    status: str
    finished: bool
    gate: str | None = None
    gate_reasons: list[str] = Field(default_factory=list)
    outcome: str | None = None
    events: list[AuditEntry] = Field(default_factory=list)
    created_at: str | None = None
    ended_at: str | None = None


class AbortResult(_Reply):
    run_id: str
    status: str
    message: str


ModelHealth.model_rebuild()

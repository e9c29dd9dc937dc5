"""``/api/v1/remediation``: launch a gated remediation run, read its status, abort it (all through Dagster)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from api.deps import PrincipalDep, ServiceDep
from api.launcher import remediation_run_config, remediation_tags
from api.security import ApiError, require_role
from api.views import find_incident, owned_run, run_status
from drift_sentinel.api_schema import (
    API_PREFIX,
    AbortResult,
    ExecuteAccepted,
    ExecuteRequest,
    RemediationStatus,
)
from drift_sentinel.audit import AuditEvent
from resources.safety_gate import ACTION_TAG, INCIDENT_TAG

router = APIRouter(prefix=f"{API_PREFIX}/remediation", tags=["remediation"])

RunId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


@router.post(
    "/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecuteAccepted,
    summary="Launch a gated remediation of an incident (operator; update_thresholds: admin)",
)
def execute(body: ExecuteRequest, service: ServiceDep, principal: PrincipalDep) -> ExecuteAccepted:
    spec = find_incident(service, principal, body.incident_id)
    require_role(principal, "admin" if body.action == "update_thresholds" else "operator")
    parameters = body.parameters.model_dump(exclude_none=True)
    message = body.parameters.message or (
        f"{spec.id}: {body.action} for incident {body.incident_id} requested over the API by {principal.subject}"
    )
    run_id = service.launcher.submit(
        body.action,
        remediation_run_config(spec, body.incident_id, body.action, parameters, message),
        remediation_tags(spec, body.incident_id, body.action, principal.actor),
    )
    return ExecuteAccepted(
        run_id=run_id,
        status_url=f"{API_PREFIX}/remediation/{run_id}",
        model_id=spec.id,
        incident_id=body.incident_id,
        action=body.action,
        actor=principal.actor,
    )


@router.get(
    "/{run_id}", response_model=RemediationStatus, summary="Status, gate verdict and outcome of a run"
)
def get_status(run_id: RunId, service: ServiceDep, principal: PrincipalDep) -> RemediationStatus:
    _, run = owned_run(service, principal, run_id)
    return run_status(service, run)


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AbortResult,
    summary="Abort a run (operator): Dagster terminates it and the verification's undo path runs",
)
def abort(run_id: RunId, request: Request, service: ServiceDep, principal: PrincipalDep) -> AbortResult:
    spec, run = owned_run(service, principal, run_id)
    require_role(principal, "operator")
    if run.is_finished:
        raise ApiError(409, "conflict", f"run {run_id} already finished ({run.status.value})")
    service.trail.append(
        AuditEvent(
            kind="abort_requested",
            model_id=spec.id,
            incident_id=run.tags.get(INCIDENT_TAG),
            actor=principal.actor,
            run_id=run_id,
            action=run.tags.get(ACTION_TAG),
            outcome="requested",
            details={"status_before": run.status.value},
        )
    )
    service.launcher.terminate(run_id)
    return AbortResult(run_id=run_id, status="CANCELING", message=f"termination of {run_id} requested")

"""Response bodies built from the instance, shared by several routers: incidents and remediation runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dagster import DagsterRun

from api import history
from api.security import ApiError
from api.service import Service
from drift_sentinel.access import Principal
from drift_sentinel.api_schema import AuditEntry, Incident, RemediationStatus
from drift_sentinel.audit import AuditRecord
from drift_sentinel.config import ModelSpec
from jobs.remediation import REMEDIATION_JOB_PREFIX
from resources.safety_gate import ACTION_TAG, ACTOR_TAG, GATE_TAG, INCIDENT_TAG, MODEL_TAG


def model_incidents(service: Service, spec: ModelSpec) -> list[Incident]:
    found = history.incidents(history.incident_windows(service.instance, spec), spec.id)
    rca = history.rca_by_incident(service.instance, spec) if found else {}
    out = []
    for entry in found:
        meta = history.plain_metadata(rca[entry.incident_id][1]) if entry.incident_id in rca else {}
        runs = history.remediation_runs(service.instance, incident_id=entry.incident_id)
        out.append(
            Incident(
                incident_id=entry.incident_id,
                model_id=spec.id,
                status="open" if entry.open else "resolved",
                opened_window=entry.windows[0],
                last_window=entry.windows[-1],
                windows=len(entry.windows),
                max_drift_score=max(entry.scores) if entry.scores else None,
                affected_features=entry.affected,
                root_cause=meta.get("root_cause"),
                confidence=float(meta["confidence"]) if "confidence" in meta else None,
                recommended_action=meta.get("recommended_action"),
                remediation_runs=[r.run_id for r in runs],
            )
        )
    return out


def find_incident(service: Service, principal: Principal, incident_id: str) -> ModelSpec:
    """The model of an incident among the caller's models; 404 when unknown or another team's."""
    for spec in service.specs:
        if not principal.owns(spec.owners):
            continue
        for window in history.incident_windows(service.instance, spec).values():
            if window.get("incident_id") == incident_id:
                return spec
    raise ApiError(404, "not_found", f"unknown incident id {incident_id!r}")


def _iso(moment: float | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds") if moment else None


def _gate_reasons(service: Service, observations: list[dict[str, Any]]) -> list[str]:
    """The gate's reasons, from the audit record its ``gate_decision`` observation points at."""
    for entry in observations:
        if entry.get("kind") == "gate_decision" and "audit_seq" in entry:
            raw = service.trail.store.get(int(entry["audit_seq"]))
            if raw is None:
                return []
            decision = AuditRecord.from_bytes(raw).event.details.get("decision") or {}
            return [str(r) for r in decision.get("reasons", [])]
    return []


def is_remediation(run: DagsterRun) -> bool:
    return run.job_name.startswith(REMEDIATION_JOB_PREFIX)


def run_status(service: Service, run: DagsterRun) -> RemediationStatus:
    """Status, gate verdict and reasons, audit events and outcome of one remediation run."""
    tags = run.tags
    observations = history.audit_observations(service.instance, run.run_id)
    gate = tags.get(GATE_TAG)
    events = [
        AuditEntry(
            kind=str(o.get("kind", "")),
            action=o.get("action"),
            outcome=str(o.get("outcome", "")),
            actor=o.get("actor"),
            audit_seq=int(o["audit_seq"]) if "audit_seq" in o else None,
        )
        for o in observations
    ]
    later = [e for e in events if e.kind != "gate_decision"]
    if gate is not None and gate != "PASSED":
        outcome: str | None = "refused"
    else:
        outcome = later[-1].outcome if later else None
    created, _, ended = history.run_times(service.instance, run.run_id)
    return RemediationStatus(
        run_id=run.run_id,
        model_id=tags.get(MODEL_TAG),
        incident_id=tags.get(INCIDENT_TAG),
        action=tags.get(ACTION_TAG, run.job_name.removeprefix(REMEDIATION_JOB_PREFIX)),
        actor=tags.get(ACTOR_TAG),
        status=run.status.value,
        finished=run.is_finished,
        gate=gate,
        gate_reasons=_gate_reasons(service, observations),
        outcome=outcome,
        events=events,
        created_at=_iso(created),
        ended_at=_iso(ended),
    )


def owned_run(service: Service, principal: Principal, run_id: str) -> tuple[ModelSpec, DagsterRun]:
    """A remediation run on one of the caller's models; 404 when unknown, not a remediation, or another team's."""
    run = service.instance.get_run_by_id(run_id) if len(run_id) <= 64 else None
    if run is not None and is_remediation(run):
        model = run.tags.get(MODEL_TAG, "")
        for spec in service.specs:
            if model in (spec.id, spec.asset_prefix) and principal.owns(spec.owners):
                return spec, run
    raise ApiError(404, "not_found", f"unknown remediation run {run_id!r}")

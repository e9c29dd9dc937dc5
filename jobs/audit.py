"""Recording what remediation does: the hash-chained trail and the ``audit_log`` asset's observations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dagster import AssetObservation, OpExecutionContext

from drift_sentinel.audit import AuditEvent
from jobs.plan import RemediationPlan
from resources.audit_trail import AuditTrailResource
from resources.keys import asset_key
from resources.safety_gate import ACTOR_TAG

AUDIT_LOG = "audit_log"


def actor_of(tags: Mapping[str, str]) -> str:
    """Who asked for this run: the ``sentinel/actor`` tag, else the sensor or schedule, else a user."""
    if ACTOR_TAG in tags:
        return tags[ACTOR_TAG]
    if "dagster/sensor_name" in tags:
        return f"sensor:{tags['dagster/sensor_name']}"
    if "dagster/schedule_name" in tags:
        return f"schedule:{tags['dagster/schedule_name']}"
    return f"user:{tags.get('user', 'unknown')}"


def record(
    context: OpExecutionContext,
    trail: AuditTrailResource,
    *,
    kind: str,
    asset_prefix: str,
    model_id: str,
    incident_id: str,
    action: str,
    outcome: str,
    details: Mapping[str, Any],
) -> None:
    """Append one event to the audit trail and observe it on ``[model, "audit_log"]``."""
    event = AuditEvent(
        kind=kind,
        model_id=model_id,
        incident_id=incident_id,
        actor=actor_of(context.run.tags),
        run_id=context.run_id,
        action=action,
        outcome=outcome,
        details=dict(details),
        at=datetime.now(UTC),
    )
    entry = trail.append(event)
    context.log_event(
        AssetObservation(
            asset_key=asset_key(asset_prefix, AUDIT_LOG),
            description=f"{kind}: {action} → {outcome}",
            metadata={
                "kind": kind,
                "action": action,
                "outcome": outcome,
                "incident_id": incident_id,
                "actor": event.actor,
                "audit_seq": int(entry.seq),
                "audit_hash": entry.hash,
            },
        )
    )
    context.log.info(f"audit #{entry.seq} {kind} {action} → {outcome}")


def record_plan_event(
    context: OpExecutionContext,
    trail: AuditTrailResource,
    plan: RemediationPlan,
    *,
    kind: str,
    outcome: str,
    details: Mapping[str, Any],
) -> None:
    """:func:`record` for a step of an approved plan (its model, incident and action)."""
    record(
        context,
        trail,
        kind=kind,
        asset_prefix=plan.asset_prefix,
        model_id=plan.model_id,
        incident_id=plan.incident_id,
        action=plan.action,
        outcome=outcome,
        details=details,
    )


def observe_on_audit_log(
    instance: Any,
    asset_prefix: str,
    entry: Any,
    *,
    kind: str,
    action: str,
    outcome: str,
    incident_id: str,
    run_id: str,
    description: str | None = None,
) -> None:
    """Observe an audit entry appended outside a run (a sensor, reconciliation) on ``[model, "audit_log"]``."""
    instance.report_runless_asset_event(
        AssetObservation(
            asset_key=asset_key(asset_prefix, AUDIT_LOG),
            description=description or f"{kind}: {action} → {outcome}",
            metadata={
                "kind": kind,
                "action": action,
                "outcome": outcome,
                "incident_id": incident_id,
                "run_id": run_id,
                "audit_seq": int(entry.seq),
                "audit_hash": entry.hash,
            },
        )
    )

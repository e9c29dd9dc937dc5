"""Action ops. Each takes the gate's plan (so it cannot run without the gate) and records its outcome.

``prepare_request`` gathers what the gate must check for each action (versions from the registry, requested
resources); the checks themselves are declared in ``drift_sentinel.remediation.actions`` and evaluated by
``drift_sentinel.safety.evaluate_gate``.
"""

from typing import Any

from dagster import Failure, OpExecutionContext, op

from drift_sentinel.config import ModelSpec
from drift_sentinel.notifications import Notification
from jobs.audit import record
from jobs.plan import RemediationConfig, RemediationPlan
from resources.audit_trail import AuditTrailResource
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from resources.notifier import NotifierResource
from resources.safety_gate import ActionRequest


def prepare_request(
    action: str, *, spec: ModelSpec, config: RemediationConfig, registry: ModelRegistryResource
) -> ActionRequest:
    """Evidence the gate needs for ``action``, read from the live systems."""
    if action == "rollback_model":
        name, alias = spec.registered_model_name, spec.registry.champion_alias
        champion = registry.champion(name, alias=alias)
        target = config.target_version or registry.previous_version(name, alias=alias)
        info = registry.version(name, target) if target else None
        return ActionRequest(
            current_version=champion.version if champion else None,
            target_version=target,
            target_version_status=info.status if info else None,
        )
    return ActionRequest(cpu=config.cpu, memory_gb=config.memory_gb, replicas=config.replicas)


@op(description="Notify the model's owners through the channels its alert routing names for the severity.")
def notify_team(
    context: OpExecutionContext,
    plan: RemediationPlan,
    catalog: ModelCatalogResource,
    notifier: NotifierResource,
    audit_trail: AuditTrailResource,
) -> dict[str, Any]:
    spec = catalog.model(plan.model_id)
    notification = Notification(
        severity=plan.severity,  # type: ignore[arg-type]
        title=f"[{spec.id}] drift incident {plan.incident_id}",
        text=plan.message
        or f"Drift confirmed on {spec.id}; see the rca_report for incident {plan.incident_id}.",
        model_id=spec.id,
        incident_id=plan.incident_id,
        details={"owners": ", ".join(spec.owners)},
    )
    deliveries = () if plan.dry_run else notifier.send(notification, spec.alerts)
    outcome = {
        "dry_run": plan.dry_run,
        "deliveries": [
            {"channel": d.channel, "ok": d.ok, "attempts": d.attempts, "error": d.error} for d in deliveries
        ],
    }
    failed = [d for d in deliveries if not d.ok]
    record(
        context,
        audit_trail,
        kind="action",
        asset_prefix=spec.asset_prefix,
        model_id=spec.id,
        incident_id=plan.incident_id,
        action="notify_team",
        outcome="failed" if failed else ("dry_run" if plan.dry_run else "succeeded"),
        details=outcome,
    )
    if failed:
        raise Failure(
            description="notification not delivered: "
            + "; ".join(f"{d.channel} after {d.attempts} attempts: {d.error}" for d in failed),
            metadata={"failed_channels": ", ".join(d.channel for d in failed)},
        )
    return outcome


@op(
    description="Move the champion alias back to the previous (or a named) registered version, then check it."
)
def rollback_model(
    context: OpExecutionContext,
    plan: RemediationPlan,
    catalog: ModelCatalogResource,
    model_registry: ModelRegistryResource,
    audit_trail: AuditTrailResource,
) -> dict[str, Any]:
    spec = catalog.model(plan.model_id)
    name, alias = spec.registered_model_name, spec.registry.champion_alias
    outcome: dict[str, Any] = {"from_version": plan.current_version, "to_version": plan.target_version}
    status = "dry_run"
    if not plan.dry_run:
        assert plan.target_version is not None  # the gate's version check guarantees it
        model_registry.set_alias(name, alias, plan.target_version)
        now = model_registry.champion(name, alias=alias)
        outcome["champion_now"] = now.version if now else None
        status = "succeeded" if now is not None and now.version == plan.target_version else "failed"
    record(
        context,
        audit_trail,
        kind="action",
        asset_prefix=spec.asset_prefix,
        model_id=spec.id,
        incident_id=plan.incident_id,
        action="rollback_model",
        outcome=status,
        details=outcome,
    )
    if status == "failed":
        raise Failure(
            description=f"{name}@{alias} is {outcome.get('champion_now')} after rollback, expected "
            f"{plan.target_version}"
        )
    context.log.info(f"{name}@{alias}: v{plan.current_version} → v{plan.target_version} ({status})")
    return outcome


ACTION_OPS: dict[str, Any] = {"notify_team": notify_team, "rollback_model": rollback_model}

"""Action ops. Each takes the gate's plan (so it cannot run without the gate) and records its outcome.

``prepare_request`` gathers what the gate must check for each action (versions from the registry, requested
resources, the scale plan, the dry-run replay of proposed thresholds) and the details the action will use;
the checks themselves are declared in ``drift_sentinel.remediation.actions`` and evaluated by
``drift_sentinel.safety.evaluate_gate``.

Every op that changes something returns an *undo record* with its outcome and is itself interrupt-safe: if
the run is terminated (or the op fails) after the change started, the op undoes it with the ordered,
checked steps of :mod:`jobs.rollback` before re-raising, so the registry, scaler and thresholds are left
as they were.
"""

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dagster import DagsterInstance, Failure, OpExecutionContext, op

from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.notifications import Notification
from drift_sentinel.remediation.retrain import retrain
from drift_sentinel.remediation.scaling import ScaleBounds, plan_scale_up
from drift_sentinel.remediation.thresholds import replay_thresholds
from drift_sentinel.windows import read_window
from jobs.audit import actor_of, record_plan_event
from jobs.plan import RemediationConfig, RemediationPlan
from jobs.rollback import rolled_back, run_steps, undo_steps
from jobs.thresholds import ThresholdStoreResource, drift_report_history, scaled
from resources.audit_trail import AuditTrailResource
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from resources.notifier import NotifierResource
from resources.safety_gate import ActionRequest
from resources.scaler import ScalerResource
from sentinel_assets.partitions import window_partitions

DEFAULT_REQUESTS: dict[str, dict[str, float]] = {"retrain_model": {"cpu": 1.0, "memory_gb": 1.0}}
"""What an action requests when the run config does not say (the gate's ``headroom`` needs a request)."""


# ---------------------------------------------------------------------------------------------- evidence


def newest_windows(
    instance: DagsterInstance, spec: ModelSpec, count: int
) -> tuple[datetime, datetime] | None:
    """Start and end of the ``count`` newest windows that have a ``drift_report`` (``None``: none yet)."""
    from dagster import AssetKey

    materialized = instance.get_materialized_partitions(AssetKey([spec.asset_prefix, "drift_report"]))
    if not materialized:
        return None
    partitions = window_partitions(spec.window)
    newest = max(materialized)
    keys = partitions.get_partition_keys()
    index = keys.index(newest) if newest in keys else len(keys) - 1
    first = keys[max(0, index - max(count, 1) + 1)]
    return (
        partitions.time_window_for_partition_key(first).start,
        partitions.time_window_for_partition_key(newest).end,
    )


def prepare_request(
    action: str,
    *,
    spec: ModelSpec,
    config: RemediationConfig,
    registry: ModelRegistryResource,
    instance: DagsterInstance | None = None,
    scaler: ScalerResource | None = None,
    thresholds: ThresholdStoreResource | None = None,
) -> tuple[ActionRequest, dict[str, Any]]:
    """Evidence the gate needs for ``action``, read from the live systems, and the details the action will use."""
    defaults = DEFAULT_REQUESTS.get(action, {})
    cpu = config.cpu or defaults.get("cpu", 0.0)
    memory_gb = config.memory_gb or defaults.get("memory_gb", 0.0)
    if action == "rollback_model":
        name, alias = spec.registered_model_name, spec.registry.champion_alias
        champion = registry.champion(name, alias=alias)
        target = config.target_version or registry.previous_version(name, alias=alias)
        request = ActionRequest(
            current_version=champion.version if champion else None,
            target_version=target,
            target_version_status=registry.status_of(name, target),
        )
        return request, {}
    if action == "scale_resources":
        assert scaler is not None, "scale_resources needs the scaler resource"
        current = scaler.current(spec.id)
        plan = plan_scale_up(current, limits=spec.safety.resource_limits, factor=config.scale_factor)
        # at the cap there is nothing safe to do: ask for one more than the cap, which resource_limits refuses
        replicas = plan.requested_replicas if plan.target != current else plan.requested_replicas + 1
        request = ActionRequest(
            cpu=cpu + plan.requested_cpu, memory_gb=memory_gb + plan.requested_memory_gb, replicas=replicas
        )
        return request, {"scale": plan.to_dict()}
    if action == "update_thresholds":
        assert thresholds is not None and instance is not None, (
            "update_thresholds needs the store and instance"
        )
        current_thresholds = thresholds.in_force(spec)
        proposed = config.proposed_thresholds or scaled(current_thresholds, config.threshold_scale)
        history = drift_report_history(instance, spec)
        replay = replay_thresholds(history, current_thresholds, proposed, quorum=spec.detection.quorum)
        stored = thresholds.store.current(spec.id)
        return ActionRequest(replay=replay), {
            "thresholds": {
                "current": current_thresholds,
                "current_version": stored.version if stored else None,
                "proposed": {k: dict(v) for k, v in proposed.items()},
                "replay": replay.to_dict(),
            }
        }
    details: dict[str, Any] = {}
    if action == "retrain_model" and instance is not None:
        span = newest_windows(instance, spec, config.retrain_windows)
        details["retrain"] = {
            "start": span[0].isoformat() if span else None,
            "end": span[1].isoformat() if span else None,
            "windows": config.retrain_windows,
            "margin": config.retrain_margin,
            "metric": config.retrain_metric,
            "kind": config.retrain_kind,
        }
    return ActionRequest(cpu=cpu, memory_gb=memory_gb, replicas=config.replicas), details


# ------------------------------------------------------------------------------------------------ helpers


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _undo_now(
    context: OpExecutionContext,
    undo: dict[str, Any],
    *,
    registry: Any = None,
    scaler: Any = None,
    thresholds: Any = None,
) -> None:
    """Interrupted or failed half-way: undo whatever took effect (each step checks first where it can)."""
    outcomes = run_steps(
        undo_steps(
            undo, registry=registry, scaler=scaler, thresholds=thresholds, actor=actor_of(context.run.tags)
        )
    )
    text = ", ".join(f"{o.name}: {o.status}" for o in outcomes) or "nothing to undo"
    (context.log.warning if rolled_back(outcomes) else context.log.error)(f"undo after interruption: {text}")


def _record_action(
    context: OpExecutionContext, trail: AuditTrailResource, plan: RemediationPlan, status: str, outcome: dict
) -> None:
    record_plan_event(context, trail, plan, kind="action", outcome=status, details=outcome)


def _outcome(plan: RemediationPlan, fields: dict[str, Any]) -> dict[str, Any]:
    """An action's outcome record: its own fields, then the ones every changing action carries."""
    return {**fields, "dry_run": plan.dry_run, "changed": False, "undo": {"kind": "none"}, "acted_at": _now()}


# -------------------------------------------------------------------------------------------------- ops


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
    _record_action(
        context,
        audit_trail,
        plan,
        "failed" if failed else ("dry_run" if plan.dry_run else "succeeded"),
        outcome,
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
    undo = {"kind": "alias", "name": name, "alias": alias, "previous_version": plan.current_version}
    outcome = _outcome(
        plan,
        {
            "from_version": plan.current_version,
            "to_version": plan.target_version,
        },
    )
    status = "dry_run"
    if not plan.dry_run:
        assert plan.target_version is not None  # the gate's version check guarantees it
        try:
            model_registry.set_alias(name, alias, plan.target_version)
            now = model_registry.champion(name, alias=alias)
        except BaseException:
            _undo_now(context, undo, registry=model_registry)
            raise
        outcome["champion_now"] = now.version if now else None
        status = "succeeded" if now is not None and now.version == plan.target_version else "failed"
        outcome.update(changed=status == "succeeded", undo=undo)
    _record_action(context, audit_trail, plan, status, outcome)
    if status == "failed":
        raise Failure(
            description=f"{name}@{alias} is {outcome.get('champion_now')} after rollback, expected "
            f"{plan.target_version}"
        )
    context.log.info(f"{name}@{alias}: v{plan.current_version} → v{plan.target_version} ({status})")
    return outcome


def _training_frames(
    spec: ModelSpec, catalog: ModelCatalogResource, span: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not span.get("start"):
        raise DataError(f"retraining {spec.id}: no materialized drift_report window to take recent data from")
    label = spec.label_column
    if not label:
        raise DataError(f"retraining {spec.id}: the model has no label_column in {catalog.config_path}")
    frame = read_window(
        catalog.resolve(spec.data.prediction_log),
        start=datetime.fromisoformat(span["start"]),
        end=datetime.fromisoformat(span["end"]),
        time_column=spec.timestamp_column,
    )
    labelled = frame[frame[label].notna()] if label in frame.columns else frame.iloc[0:0]
    if len(labelled) < 50:
        raise DataError(
            f"retraining {spec.id}: {len(labelled)} labelled rows in {span['start']} .. {span['end']} (< 50)"
        )
    cut = int(len(labelled) * 0.8)
    return labelled.iloc[:cut], labelled.iloc[cut:]


@op(
    description="Train a challenger on the newest labelled windows, register it as challenger, and promote "
    "it to champion only if it beats the champion on the same held-out window by the margin."
)
def retrain_model(
    context: OpExecutionContext,
    plan: RemediationPlan,
    catalog: ModelCatalogResource,
    model_registry: ModelRegistryResource,
    audit_trail: AuditTrailResource,
) -> dict[str, Any]:
    spec = catalog.model(plan.model_id)
    name, alias = spec.registered_model_name, spec.registry.champion_alias
    settings = plan.details.get("retrain", {})
    train, holdout = _training_frames(spec, catalog, settings)
    before = model_registry.champion(name, alias=alias)
    undo = {
        "kind": "alias",
        "name": name,
        "alias": alias,
        "previous_version": before.version if before else None,
    }
    try:
        result = retrain(
            model_registry,
            name,
            train_frame=train,
            holdout_frame=holdout,
            features=spec.feature_kinds,
            label=spec.label_column or "label",
            kind=settings.get("kind", "gradient_boosting"),
            margin=float(settings.get("margin", 0.01)),
            metric=settings.get("metric", "auc"),
            champion_alias=alias,
            dry_run=plan.dry_run,
        )
    except BaseException:
        now = model_registry.champion(name, alias=alias)
        if (now.version if now else None) != undo["previous_version"]:
            _undo_now(context, undo, registry=model_registry)
        raise
    outcome = {
        **result.to_dict(),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "changed": result.promoted,
        "undo": undo if result.promoted else {"kind": "none"},
        "acted_at": _now(),
    }
    status = "dry_run" if plan.dry_run else ("promoted" if result.promoted else "kept_champion")
    _record_action(context, audit_trail, plan, status, outcome)
    context.log.info(f"{result.decision.reason} (challenger v{result.challenger_version})")
    return outcome


@op(
    description="Scale the serving deployment up (replicas or HPA bounds) as the gate approved, then check it."
)
def scale_resources(
    context: OpExecutionContext,
    plan: RemediationPlan,
    catalog: ModelCatalogResource,
    scaler: ScalerResource,
    audit_trail: AuditTrailResource,
) -> dict[str, Any]:
    spec = catalog.model(plan.model_id)
    scale = plan.details["scale"]
    expected, target = ScaleBounds.from_dict(scale["current"]), ScaleBounds.from_dict(scale["target"])
    undo = {"kind": "scale", "model_id": spec.id, "previous": expected.to_dict()}
    outcome = _outcome(
        plan,
        {
            "from": expected.to_dict(),
            "to": target.to_dict(),
            "reason": scale["reason"],
        },
    )
    status = "dry_run"
    if not plan.dry_run:
        current = scaler.current(spec.id)
        if current != expected:
            raise Failure(
                description=f"{spec.id} is at {current.describe()}, not the {expected.describe()} the gate "
                "approved a change from; nothing was changed (a new run will plan from the current bounds)"
            )
        try:
            scaler.apply(spec.id, target, reason=f"{plan.incident_id}: {scale['reason']}")
            now = scaler.current(spec.id)
        except BaseException:
            _undo_now(context, undo, scaler=scaler)
            raise
        status = "succeeded" if now == target else "failed"
        outcome.update(now=now.to_dict(), changed=True, undo=undo)
    _record_action(context, audit_trail, plan, status, outcome)
    if status == "failed":
        _undo_now(context, undo, scaler=scaler)
        raise Failure(
            description=f"{spec.id}: scaler reports {outcome['now']} after scaling, expected {target}"
        )
    context.log.info(f"{scale['reason']} ({status})")
    return outcome


@op(
    description="Apply the proposed detection thresholds as a new version (only after the gate's dry-run "
    "replay over past drift reports passed), then check the version in force."
)
def update_thresholds(
    context: OpExecutionContext,
    plan: RemediationPlan,
    catalog: ModelCatalogResource,
    threshold_store: ThresholdStoreResource,
    audit_trail: AuditTrailResource,
) -> dict[str, Any]:
    spec = catalog.model(plan.model_id)
    proposal = plan.details["thresholds"]
    store, actor = threshold_store.store, actor_of(context.run.tags)
    outcome = _outcome(
        plan,
        {
            "proposed": proposal["proposed"],
            "previous": proposal["current"],
            "replay": proposal["replay"],
        },
    )
    status = "dry_run"
    if not plan.dry_run:
        stored = store.current(spec.id)
        if (stored.version if stored else None) != proposal["current_version"]:
            raise Failure(
                description=f"{spec.id}: threshold version changed since the gate's replay "
                f"(v{proposal['current_version']} → v{stored.version if stored else None}); nothing applied"
            )
        if stored is None:  # keep what was in force as version 1, so the change can be reverted to it
            stored = store.apply(
                spec.id, proposal["current"], actor=actor, reason="baseline in force before the first change"
            )
        undo = {"kind": "thresholds", "model_id": spec.id, "previous_version": stored.version}
        try:
            applied = store.apply(
                spec.id,
                proposal["proposed"],
                actor=actor,
                reason=f"{plan.incident_id}: {proposal['replay']['reason']}",
                replay=proposal["replay"],
            )
        except BaseException:
            now = store.current(spec.id)
            if now is not None and now.version != stored.version:
                _undo_now(context, undo, thresholds=threshold_store)
            raise
        now = store.current(spec.id)
        status = "succeeded" if now is not None and now.version == applied.version else "failed"
        outcome.update(version=applied.version, previous_version=stored.version, changed=True, undo=undo)
    _record_action(context, audit_trail, plan, status, outcome)
    if status == "failed":
        raise Failure(description=f"{spec.id}: another threshold version was applied concurrently")
    context.log.info(f"{spec.id} thresholds: {proposal['replay']['reason']} ({status})")
    return outcome


ACTION_OPS: dict[str, Any] = {
    "notify_team": notify_team,
    "retrain_model": retrain_model,
    "rollback_model": rollback_model,
    "scale_resources": scale_resources,
    "update_thresholds": update_thresholds,
}

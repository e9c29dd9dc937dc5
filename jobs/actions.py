"""The Dagster half of the action catalog: how each action is prepared, applied, read back and undone.

Each class below is registered under the name of its catalog entry (:mod:`drift_sentinel.remediation.actions`,
which holds the name, checks, severity, default request and undo-record type) and implements only what is its
own: the evidence it gathers for the gate, the change, and how the change is read back. The order of the steps,
the undo on an exception or a failed read-back, the common outcome fields and the audit record are the one
generic op's (:func:`jobs.action_op.run_action`); undoing an undo record is :mod:`jobs.rollback`'s.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pandas as pd
from dagster import DagsterInstance, Failure

from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.notifications import Notification
from drift_sentinel.remediation.actions import action_spec
from drift_sentinel.remediation.retrain import RetrainOutcome, retrain
from drift_sentinel.remediation.scaling import ScaleBounds, plan_scale_up
from drift_sentinel.remediation.thresholds import replay_thresholds
from drift_sentinel.remediation.undo import AliasUndo, ScaleUndo, ThresholdsUndo
from drift_sentinel.windows import read_window
from jobs.action_op import Action, Applied, Preparation, ReadBack, action
from jobs.retrain_target import (
    lineage_tags,
    record_on_rca_report,
    retrain_through_target,
    training_run_tags,
)
from jobs.thresholds import drift_report_history, scaled
from resources.safety_gate import ActionRequest
from sentinel_assets.partitions import window_partitions

# ---------------------------------------------------------------------------------------------- evidence


def newest_windows(
    instance: DagsterInstance, spec: ModelSpec, count: int
) -> tuple[datetime, datetime] | None:
    """Start and end of the ``count`` newest windows that have a ``drift_report`` (``None``: none yet)."""
    from resources import history
    from resources.keys import asset_key

    materialized = history.materialized_partitions(instance, asset_key(spec, "drift_report"))
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


# ------------------------------------------------------------------------------------------------ notify


@action
class NotifyTeam(Action):
    spec = action_spec("notify_team")
    resources = ("notifier",)
    op_description = (
        "Notify the model's owners through the channels its alert routing names for the severity."
    )

    def planned(self) -> dict[str, Any]:
        return {"deliveries": []}

    def apply(self) -> Applied:
        plan, model = self.plan, self.model
        notification = Notification(
            severity=plan.severity,  # type: ignore[arg-type]
            title=f"[{model.id}] drift incident {plan.incident_id}",
            text=plan.message
            or f"Drift confirmed on {model.id}; see the rca_report for incident {plan.incident_id}.",
            model_id=model.id,
            incident_id=plan.incident_id,
            details={"owners": ", ".join(model.owners)},
        )
        self.deliveries = self.run.resources["notifier"].send(notification, model.alerts)
        fields = [d.to_dict() for d in self.deliveries]  # channel, ok, attempts, error, via, note
        return Applied(fields={"deliveries": fields}, changed=False)

    def read_back(self) -> ReadBack:
        failed = [d for d in self.deliveries if not d.ok]
        if not failed:
            return ReadBack()
        return ReadBack(
            ok=False,
            problem="notification not delivered: "
            + "; ".join(f"{d.channel} after {d.attempts} attempts: {d.error}" for d in failed),
            metadata={"failed_channels": ", ".join(d.channel for d in failed)},
        )


# ---------------------------------------------------------------------------------------------- rollback


class _ChampionAlias(Action):
    """Shared by the actions that move the champion alias: where it is and what it points to now."""

    resources = ("model_registry",)

    @property
    def where(self) -> tuple[str, str]:
        return self.model.registered_model_name, self.model.registry.champion_alias

    def champion_now(self) -> str | None:
        now = self.run.resources["model_registry"].champion(*self.where)
        return now.version if now is not None else None

    def undo_to(self, version: str | None) -> AliasUndo:
        name, alias = self.where
        return AliasUndo(name=name, alias=alias, previous_version=version)


@action
class RollbackModel(_ChampionAlias):
    spec = action_spec("rollback_model")
    op_description = (
        "Move the champion alias back to the previous (or a named) registered version, then check it."
    )

    @classmethod
    def prepare(cls, ask: Preparation) -> tuple[ActionRequest, dict[str, Any]]:
        registry, name = ask.resources["model_registry"], ask.model.registered_model_name
        alias = ask.model.registry.champion_alias
        champion = registry.champion(name, alias=alias)
        target = ask.config.target_version or registry.previous_version(name, alias=alias)
        request = ActionRequest(
            current_version=champion.version if champion else None,
            target_version=target,
            target_version_status=registry.status_of(name, target),
        )
        return request, {}

    def planned(self) -> dict[str, Any]:
        return {"from_version": self.plan.current_version, "to_version": self.plan.target_version}

    def check(self) -> AliasUndo:
        now = self.champion_now()
        if now != self.plan.current_version:
            name, alias = self.where
            raise Failure(
                description=f"{name}@{alias} is v{now}, not the v{self.plan.current_version} the gate approved "
                "a rollback from; nothing was changed"
            )
        return self.undo_to(self.plan.current_version)

    def apply(self) -> Applied:
        assert self.plan.target_version is not None  # the gate's version check guarantees it
        self.run.resources["model_registry"].set_alias(*self.where, self.plan.target_version)
        return Applied(note=f"v{self.plan.current_version} → v{self.plan.target_version}")

    def read_back(self) -> ReadBack:
        now = self.champion_now()
        name, alias = self.where
        return ReadBack(
            ok=now == self.plan.target_version,
            fields={"champion_now": now},
            problem=f"{name}@{alias} is {now} after rollback, expected {self.plan.target_version}",
        )


# ----------------------------------------------------------------------------------------------- retrain


@action
class RetrainModel(_ChampionAlias):
    spec = action_spec("retrain_model")
    op_description = (
        "Train a challenger on the newest labelled windows, register it as challenger, and promote "
        "it to champion only if it beats the champion on the same held-out window by the margin."
    )

    @classmethod
    def prepare(cls, ask: Preparation) -> tuple[ActionRequest, dict[str, Any]]:
        if ask.instance is None:
            return ask.requested(), {}
        config = ask.config
        span = newest_windows(ask.instance, ask.model, config.retrain_windows)
        return ask.requested(), {
            "retrain": {
                "start": span[0].isoformat() if span else None,
                "end": span[1].isoformat() if span else None,
                "windows": config.retrain_windows,
                "margin": config.retrain_margin,
                "metric": config.retrain_metric,
                "kind": config.retrain_kind,
            }
        }

    def _frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not hasattr(self, "frames"):
            self.frames = _training_frames(self.model, self.run.catalog, self.plan.details.get("retrain", {}))
        return self.frames

    def _retrain(self, *, dry_run: bool) -> RetrainOutcome:
        settings = self.plan.details.get("retrain", {})
        train, holdout = self._frames()
        context, target = self.run.context, self.model.retrain
        return retrain(
            self.run.resources["model_registry"],
            self.where[0],
            train_frame=train,
            holdout_frame=holdout,
            features=self.model.feature_kinds,
            label=self.model.label_column or "label",
            kind=target.builtin or settings.get("kind", "gradient_boosting"),
            margin=float(settings.get("margin", 0.01)),
            metric=settings.get("metric", "auc"),
            champion_alias=self.where[1],
            dry_run=dry_run,
            tags=lineage_tags(
                dagster_run_id=context.run_id, incident_id=self.plan.incident_id, action=self.plan.action
            ),
        )

    def _retrain_through_target(self) -> RetrainOutcome:
        """A ``retrain: {job|asset}`` target: the team's run trains and registers, this op judges."""
        train, holdout = self._frames()
        context = self.run.context
        outcome, self.lineage = retrain_through_target(
            instance=context.instance,
            config=self.run.catalog.config,
            target=self.model.retrain,
            registry=self.run.resources["model_registry"],
            name=self.where[0],
            tags=training_run_tags(
                model_id=self.model.id,
                incident_id=self.plan.incident_id,
                action=self.plan.action,
                actor=self.run.actor,
                remediation_run_id=context.run_id,
                train=train,
                time_column=self.model.timestamp_column,
            ),
            holdout=holdout,
            label=self.model.label_column or "label",
            settings=self.plan.details.get("retrain", {}),
            champion_alias=self.where[1],
            log=context.log,
        )
        return outcome

    def _fields(self, result: RetrainOutcome) -> dict[str, Any]:
        train, holdout = self._frames()
        lineage = getattr(self, "lineage", None) or self._builtin_lineage(result)
        return {
            **result.to_dict(),
            "train_rows": len(train),
            "holdout_rows": len(holdout),
            "lineage": lineage,
        }

    def _builtin_lineage(self, result: RetrainOutcome) -> dict[str, Any]:
        version = result.challenger_version
        info = self.run.resources["model_registry"].version(self.where[0], version) if version else None
        return {
            "target": self.model.retrain.describe(),
            "mlflow_run_id": info.run_id if info else None,
            "challenger_version": version,
        }

    def rehearse(self) -> dict[str, Any]:
        if self.model.retrain.kind != "builtin":  # a dry run launches nothing
            _, holdout = self._frames()
            return {"target": self.model.retrain.describe(), "holdout_rows": len(holdout), "launched": False}
        return self._fields(self._retrain(dry_run=True))

    def check(self) -> AliasUndo:
        self._frames()  # no data to train on: fail before anything is registered
        self.before = self.champion_now()
        return self.undo_to(self.before)

    def apply(self) -> Applied:
        if self.model.retrain.kind == "builtin":
            self.result = self._retrain(dry_run=False)
        else:
            self.result = self._retrain_through_target()
        self.fields = self._fields(self.result)
        return Applied(
            fields=self.fields,
            changed=self.result.promoted,
            status="promoted" if self.result.promoted else "kept_champion",
            note=f"{self.result.decision.reason} (challenger v{self.result.challenger_version})",
        )

    def read_back(self) -> ReadBack:
        if not self.result.promoted:
            return self._observed(ReadBack(), "kept")
        now, expected = self.champion_now(), self.result.challenger_version
        name, alias = self.where
        back = ReadBack(
            ok=now == expected,
            fields={"champion_now": now},
            problem=f"{name}@{alias} is {now} after promoting the challenger, expected {expected}",
        )
        return self._observed(back, "promoted" if back.ok else "read_back_failed")

    def _observed(self, back: ReadBack, outcome: str) -> ReadBack:
        """Record the finished retrain on the incident window's rca_report; name that window in the outcome."""
        window = record_on_rca_report(
            self.run.context,
            self.model,
            self.plan.incident_id,
            action=self.plan.action,
            outcome=outcome,
            result=self.result,
            lineage=self.fields["lineage"],
            registered_model=self.where[0],
            tracking_uri=getattr(self.run.resources["model_registry"], "tracking_uri", None),
        )
        return replace(back, fields={**back.fields, "rca_report_window": window})


def _training_frames(spec: ModelSpec, catalog: Any, span: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
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


# ------------------------------------------------------------------------------------------------- scale


@action
class ScaleResources(Action):
    spec = action_spec("scale_resources")
    resources = ("scaler",)
    op_description = (
        "Scale the serving deployment up (replicas or HPA bounds) as the gate approved, then check it."
    )

    @classmethod
    def prepare(cls, ask: Preparation) -> tuple[ActionRequest, dict[str, Any]]:
        current = ask.resources["scaler"].current(ask.model.id)
        plan = plan_scale_up(current, limits=ask.model.safety.resource_limits, factor=ask.config.scale_factor)
        # at the cap there is nothing safe to do: ask for one more than the cap, which resource_limits refuses
        replicas = plan.requested_replicas if plan.target != current else plan.requested_replicas + 1
        base = ask.requested()
        request = ActionRequest(
            cpu=base.cpu + plan.requested_cpu,
            memory_gb=base.memory_gb + plan.requested_memory_gb,
            replicas=replicas,
        )
        return request, {"scale": plan.to_dict()}

    @property
    def bounds(self) -> tuple[ScaleBounds, ScaleBounds]:
        scale = self.plan.details["scale"]
        return ScaleBounds.from_dict(scale["current"]), ScaleBounds.from_dict(scale["target"])

    def planned(self) -> dict[str, Any]:
        expected, target = self.bounds
        return {
            "from": expected.to_dict(),
            "to": target.to_dict(),
            "reason": self.plan.details["scale"]["reason"],
        }

    def check(self) -> ScaleUndo:
        expected, _ = self.bounds
        current = self.run.resources["scaler"].current(self.model.id)
        if current != expected:
            raise Failure(
                description=f"{self.model.id} is at {current.describe()}, not the {expected.describe()} the "
                "gate approved a change from; nothing was changed (a new run will plan from the current bounds)"
            )
        return ScaleUndo(model_id=self.model.id, previous=expected)

    def apply(self) -> Applied:
        reason = self.plan.details["scale"]["reason"]
        self.run.resources["scaler"].apply(
            self.model.id, self.bounds[1], reason=f"{self.plan.incident_id}: {reason}"
        )
        return Applied(note=reason)

    def read_back(self) -> ReadBack:
        now, target = self.run.resources["scaler"].current(self.model.id), self.bounds[1]
        return ReadBack(
            ok=now == target,
            fields={"now": now.to_dict()},
            problem=f"{self.model.id}: scaler reports {now.to_dict()} after scaling, expected {target}",
        )


# -------------------------------------------------------------------------------------------- thresholds


@action
class UpdateThresholds(Action):
    spec = action_spec("update_thresholds")
    resources = ("threshold_store",)
    op_description = (
        "Apply the proposed detection thresholds as a new version (only after the gate's dry-run "
        "replay over past drift reports passed), then check the version in force."
    )

    @classmethod
    def prepare(cls, ask: Preparation) -> tuple[ActionRequest, dict[str, Any]]:
        thresholds, model, config = ask.resources["threshold_store"], ask.model, ask.config
        assert ask.instance is not None, "update_thresholds needs the instance's drift_report history"
        current = thresholds.in_force(model)
        proposed = config.proposed_thresholds or scaled(current, config.threshold_scale)
        history = drift_report_history(ask.instance, model)
        replay = replay_thresholds(history, current, proposed, quorum=model.detection.quorum)
        stored = thresholds.store.current(model.id)
        return ActionRequest(replay=replay), {
            "thresholds": {
                "current": current,
                "current_version": stored.version if stored else None,
                "proposed": {k: dict(v) for k, v in proposed.items()},
                "replay": replay.to_dict(),
            }
        }

    @property
    def proposal(self) -> dict[str, Any]:
        return self.plan.details["thresholds"]

    @property
    def store(self) -> Any:
        return self.run.resources["threshold_store"].store

    def planned(self) -> dict[str, Any]:
        p = self.proposal
        return {"proposed": p["proposed"], "previous": p["current"], "replay": p["replay"]}

    def check(self) -> ThresholdsUndo:
        stored, expected = self.store.current(self.model.id), self.proposal["current_version"]
        if (stored.version if stored else None) != expected:
            raise Failure(
                description=f"{self.model.id}: threshold version changed since the gate's replay "
                f"(v{expected} → v{stored.version if stored else None}); nothing applied"
            )
        if stored is None:  # keep what was in force as version 1, so the change can be reverted to it
            stored = self.store.apply(
                self.model.id,
                self.proposal["current"],
                actor=self.run.actor,
                reason="baseline in force before the first change",
            )
        self.previous = stored.version
        return ThresholdsUndo(model_id=self.model.id, previous_version=stored.version)

    def apply(self) -> Applied:
        self.applied = self.store.apply(
            self.model.id,
            self.proposal["proposed"],
            actor=self.run.actor,
            reason=f"{self.plan.incident_id}: {self.proposal['replay']['reason']}",
            replay=self.proposal["replay"],
        )
        version = self.applied.version
        return Applied(
            fields={"version": version, "previous_version": self.previous},
            note=self.proposal["replay"]["reason"],
        )

    def read_back(self) -> ReadBack:
        now = self.store.current(self.model.id)
        return ReadBack(
            ok=now is not None and now.version == self.applied.version,
            problem=f"{self.model.id}: another threshold version was applied concurrently",
        )

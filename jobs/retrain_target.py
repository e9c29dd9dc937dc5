"""``retrain_model`` through the team's own training run (a ``retrain: {job|asset: …}`` target).

The remediation op launches a run of the team's code location through the Dagster instance
(:func:`resources.run_launcher.launch_and_wait`), tagged like every remediation run (model, incident, action,
actor) plus the training window; waits for it (time-boxed); finds the new registered version whose MLflow source
run carries ``dagster_run_id=<that run>``; then judges it with the same champion/challenger rule
(:func:`drift_sentinel.remediation.retrain.evaluate_challenger`). A failed or timed-out run, no new version or
a version that cannot be loaded fails the op with the reason before anything is moved (the remediation job's
failure escalates as every failed remediation does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dagster import Failure

from drift_sentinel.remediation.retrain import RetrainOutcome, evaluate_challenger
from drift_sentinel.remediation.retrain_target import DAGSTER_RUN_ID_TAG, RetrainTarget
from resources.run_launcher import LaunchedRun, launch_and_wait, workspace_file
from resources.safety_gate import ACTION_TAG, ACTOR_TAG, INCIDENT_TAG, MODEL_TAG

TRAIN_START_TAG = "sentinel/train_start"
TRAIN_END_TAG = "sentinel/train_end"
REMEDIATION_RUN_TAG = "sentinel/remediation_run"


def training_run_tags(
    *,
    model_id: str,
    incident_id: str,
    action: str,
    actor: str,
    remediation_run_id: str,
    train: pd.DataFrame,
    time_column: str,
) -> dict[str, str]:
    """Tags of the team's training run: who asked and why, and the window to train on (before the holdout)."""
    times = pd.to_datetime(train[time_column], utc=True)
    end = times.max() + pd.Timedelta(microseconds=1)  # exclusive: the newest training row is in
    return {
        MODEL_TAG: model_id,
        INCIDENT_TAG: incident_id,
        ACTION_TAG: action,
        ACTOR_TAG: actor,
        REMEDIATION_RUN_TAG: remediation_run_id,
        TRAIN_START_TAG: times.min().isoformat(),
        TRAIN_END_TAG: end.isoformat(),
    }


def lineage_tags(*, dagster_run_id: str, incident_id: str, action: str) -> dict[str, str]:
    """Tags on every MLflow run Drift Sentinel creates: the Dagster run, the incident and the action."""
    return {DAGSTER_RUN_ID_TAG: dagster_run_id, "sentinel.incident": incident_id, "sentinel.action": action}


def retrain_through_target(
    *,
    instance: Any,
    config: Any,
    target: RetrainTarget,
    registry: Any,
    name: str,
    tags: Mapping[str, str],
    holdout: pd.DataFrame,
    label: str,
    settings: Mapping[str, Any],
    champion_alias: str,
    log: Any = None,
) -> tuple[RetrainOutcome, dict[str, Any]]:
    """Launch the team's run, find the version it registered and judge it; return the outcome and lineage."""
    launched = launch_and_wait(instance, workspace_file(config, target), target, tags=tags, log=log)
    return judge_training_run(
        launched,
        target=target,
        registry=registry,
        name=name,
        holdout=holdout,
        label=label,
        settings=settings,
        champion_alias=champion_alias,
    )


def judge_training_run(
    launched: LaunchedRun,
    *,
    target: RetrainTarget,
    registry: Any,
    name: str,
    holdout: pd.DataFrame,
    label: str,
    settings: Mapping[str, Any],
    champion_alias: str,
) -> tuple[RetrainOutcome, dict[str, Any]]:
    """After the team's run: fail closed unless it succeeded and registered a loadable version; judge that one."""
    lineage: dict[str, Any] = {"target": target.describe(), "training_run": launched.to_dict()}
    if not launched.ok:
        why = (
            f"timed out after {target.timeout_seconds:g} s"
            if launched.timed_out
            else f"ended {launched.status}"
        )
        raise Failure(
            description=f"retrain: the training run {launched.run_id} of {target.describe()} {why}; "
            "nothing was changed",
            metadata={"training_run_id": launched.run_id},
        )
    produced = registry.versions_from_run(name, DAGSTER_RUN_ID_TAG, launched.run_id)
    if not produced:
        raise Failure(
            description=f"retrain: the training run {launched.run_id} of {target.describe()} registered no new "
            f"version of {name} (no version whose MLflow run has {DAGSTER_RUN_ID_TAG}={launched.run_id}); "
            "nothing was changed",
            metadata={"training_run_id": launched.run_id},
        )
    version = produced[-1]
    lineage.update(mlflow_run_id=version.run_id, challenger_version=version.version)
    try:
        outcome = evaluate_challenger(
            registry,
            name,
            version.version,
            holdout_frame=holdout,
            label=label,
            margin=float(settings.get("margin", 0.01)),
            metric=settings.get("metric", "auc"),
            champion_alias=champion_alias,
            params={"target": target.describe(), "training_run_id": launched.run_id},
        )
    except Exception as exc:  # a team's artifact can fail to load in any way: fail closed, name it
        raise Failure(
            description=f"retrain: {name} v{version.version} from training run {launched.run_id} cannot be "
            f"loaded or evaluated: {exc}; nothing was changed",
            metadata={"training_run_id": launched.run_id, "challenger_version": version.version},
        ) from exc
    return outcome, lineage

"""``retrain_model`` through the team's own training run (a ``retrain: {job|asset: …}`` target).

The remediation op launches a run of the team's code location through the Dagster instance
(:func:`resources.run_launcher.launch_and_wait`), tagged like every remediation run (model, incident, action,
actor) plus the training window; waits for it (time-boxed); finds the new registered version whose MLflow source
run carries ``dagster_run_id=<that run>``; then judges it with the same champion/challenger rule
(:func:`drift_sentinel.remediation.retrain.evaluate_challenger`). A failed or timed-out run, no new version or
a version that cannot be loaded fails the op with the reason before anything is moved (the remediation job's
failure escalates as every failed remediation does).

Whatever trained the challenger (this or the built-in trainer), :func:`record_on_rca_report` then records an
``AssetObservation`` on the rca_report partition of the window the remediation was about, naming the remediation
run, the MLflow run, the registered model and version and the outcome, so the report's history shows what was
done about it (the report itself is computed before any remediation and is not rewritten).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dagster import AssetObservation, DagsterInstance, Failure, MetadataValue

from drift_sentinel.config import ModelSpec
from drift_sentinel.remediation.retrain import RetrainOutcome, evaluate_challenger
from drift_sentinel.remediation.retrain_target import DAGSTER_RUN_ID_TAG, RetrainTarget
from resources import history
from resources.keys import asset_key
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


# ---------------------------------------------------------------------------------- lineage on the rca_report

REPORTS_SEARCHED = 200
"""How many of the newest rca_report materializations :func:`incident_window` looks through."""


def incident_window(instance: DagsterInstance, spec: ModelSpec, incident_id: str) -> str | None:
    """The window a remediation of ``incident_id`` was about: the newest rca_report partition whose latest report
    names that incident (what the remediation sensor acts on); ``None`` when no recent report names it."""
    reports = history.materializations(instance, asset_key(spec, "rca_report"), limit=REPORTS_SEARCHED)
    latest = history.newest_by_partition(reports)
    named = [window for window, report in latest.items() if (report.text("incident_id") or "") == incident_id]
    return max(named) if named else None


def retrain_observation(
    spec: ModelSpec,
    window: str,
    *,
    remediation_run_id: str,
    incident_id: str,
    action: str,
    outcome: str,
    result: RetrainOutcome,
    lineage: Mapping[str, Any],
    registered_model: str,
    tracking_uri: str | None = None,
) -> AssetObservation:
    """The observation of a finished retrain on the incident window's rca_report: who, which MLflow run and
    version, and the outcome (``promoted``, ``kept`` or ``read_back_failed``)."""
    decision = result.decision
    version = result.challenger_version or ""
    metadata: dict[str, Any] = {
        "remediation_run": MetadataValue.dagster_run(remediation_run_id),
        "incident_id": incident_id,
        "action": action,
        "outcome": outcome,
        "mlflow_run_id": str(lineage.get("mlflow_run_id") or ""),
        "registered_model": registered_model,
        "model_version": version,
        "previous_champion_version": result.champion_version or "",
        "retrain_target": str(lineage.get("target", "")),
        "metric": decision.metric,
    }
    for side in ("champion", "challenger"):
        value = getattr(decision, side)
        if value is not None:
            metadata[f"{side}_{decision.metric}"] = float(value)
    training = (lineage.get("training_run") or {}).get("run_id")
    if training:
        metadata["training_run"] = MetadataValue.dagster_run(str(training))
    if (
        tracking_uri
        and tracking_uri.startswith(("http://", "https://"))
        and "@" not in tracking_uri
        and version
    ):
        metadata["mlflow_model_version"] = MetadataValue.url(
            f"{tracking_uri.rstrip('/')}/#/models/{registered_model}/versions/{version}"
        )
    return AssetObservation(
        asset_key=asset_key(spec, "rca_report"),
        partition=window,
        description=f"{action} for {incident_id}: {registered_model} v{version} {outcome} ({decision.reason})",
        metadata=metadata,
    )


def record_on_rca_report(context: Any, spec: ModelSpec, incident_id: str, **fields: Any) -> str | None:
    """Log :func:`retrain_observation` on the incident window's rca_report from the remediation op; return the
    window (``None``: no recent report names the incident, nothing is recorded and the log says so)."""
    window = incident_window(context.instance, spec, incident_id)
    if window is None:
        context.log.warning(
            f"no rca_report of {spec.id} among the newest {REPORTS_SEARCHED} names {incident_id}: "
            "the retrain is recorded in the audit trail only"
        )
        return None
    context.log_event(
        retrain_observation(
            spec, window, remediation_run_id=context.run_id, incident_id=incident_id, **fields
        )
    )
    return window

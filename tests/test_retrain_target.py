"""``retrain_model`` through the team's own training job, against a real ``mlflow server``.

The model's ``retrain:`` target is the example project's ``train_fraud_model`` job (code location
``feature_pipeline`` of a workspace file written per test). The remediation job runs in-process on a real Dagster
instance (SQLite in a temp folder) and launches the team's run through that instance (a code server subprocess
and the default run launcher); the team's run tracks its MLflow run with dagster-mlflow and registers a version.
The asset form's model reads a training-set asset never materialized before: the team's run materializes both.
Every retrain is then recorded on the incident window's rca_report (an observation read back through
``resources.history``), naming the MLflow run that is read back from the server.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import AssetKey, AssetMaterialization, DagsterEventType, DagsterInstance, DagsterRunStatus
from mlflow import MlflowClient

from drift_sentinel.audit import AuditRecord
from drift_sentinel.sample_data import training_frame
from drift_sentinel.training import train_model
from jobs.remediation import build_remediation_job
from jobs.retrain_target import TRAIN_END_TAG
from jobs.thresholds import ThresholdStoreResource
from resources import history
from resources.audit_trail import AuditTrailResource
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from resources.notifier import NotifierResource
from resources.safety_gate import ACTION_TAG, ACTOR_TAG, INCIDENT_TAG, MODEL_TAG, SafetyGateResource
from resources.scaler import RecordingScaler
from tests.support.fixtures import mlflow_server_url

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[1]
MODEL = "fraud-detector-v1"
PREFIX = "fraud_detector_v1"


@dataclass
class World:
    root: Path
    instance: DagsterInstance
    name: str
    resources: dict[str, Any]

    @property
    def registry(self) -> ModelRegistryResource:
        return self.resources["model_registry"]

    def run(self, incident: str) -> Any:
        result = build_remediation_job("retrain_model").execute_in_process(
            run_config={"ops": {"safety_gate": {"config": {"model_id": MODEL}}}},
            instance=self.instance,
            resources=self.resources,
            tags={
                MODEL_TAG: MODEL,
                INCIDENT_TAG: incident,
                ACTION_TAG: "retrain_model",
                ACTOR_TAG: "user:test",
            },
            raise_on_error=False,
        )
        return self.instance.get_run_by_id(result.run_id)

    def report_rca(self, window: str, incident: str) -> None:
        """An rca_report of ``window`` naming ``incident`` (what the remediation sensor acts on)."""
        self.instance.report_runless_asset_event(
            AssetMaterialization(
                asset_key=AssetKey([PREFIX, "rca_report"]),
                partition=window,
                metadata={"incident_id": incident, "recommended_action": "retrain_model"},
            )
        )

    def observations(self, window: str) -> list[history.Observation]:
        return history.partition_observations(self.instance, AssetKey([PREFIX, "rca_report"]), window)

    def audit(self, kind: str) -> list[AuditRecord]:
        return [r for r in self.resources["audit_trail"].trail.records() if r.event.kind == kind]

    def failure(self, run_id: str) -> str:
        events = self.instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
        return " ".join(str(e.dagster_event.step_failure_data.error.message) for e in events)


def make_world(
    tmp_path: Path,
    mlflow_url: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    form: str = "job",
    **job: Any,
) -> World:
    """A models file whose retrain target is the team's job (or asset), a workspace file, 3 windows of rows."""
    name = f"fraud-{uuid.uuid4().hex[:8]}"
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    model["registry"] = {"name": name, "champion_alias": "champion"}
    model["window"].update(start="2026-10-01", end="2026-10-04")
    model["data"] = {
        "prediction_log": str(tmp_path / "log"),
        "training_snapshot": str(tmp_path / "t.parquet"),
    }
    rows_config = {"prediction_log": str(tmp_path / "log"), **job.pop("train", {})}
    model_config = {
        "registered_model_name": name,
        "features": {f["name"]: f["kind"] for f in model["features"]},
        "kind": "logistic_regression",
    }
    ops = (
        {"train_and_register": {"config": {**rows_config, **model_config}}}
        if form == "job"
        else {
            "models__fraud_training_set": {"config": rows_config},
            "models__fraud_model": {"config": model_config},
        }
    )
    model["retrain"] = {
        **({"job": "train_fraud_model"} if form == "job" else {"asset": "models/fraud_model"}),
        "code_location": "feature_pipeline",
        "run_config": {
            "ops": ops,
            "resources": {"mlflow": {"config": {"experiment_name": name, "mlflow_tracking_uri": mlflow_url}}},
        },
        **job,
    }
    (tmp_path / "sentinel.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    workspace = {
        "load_from": [
            {
                "python_module": {
                    "module_name": "examples.feature_pipeline.definitions",
                    "attribute": "defs",
                    "location_name": "feature_pipeline",
                    "working_directory": str(REPO),
                }
            }
        ]
    }
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    monkeypatch.setenv("FEATURE_PIPELINE_STORAGE", str(tmp_path / "team_storage"))
    (tmp_path / "log").mkdir()
    rng = np.random.default_rng(5)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    frame = training_frame(rng, start, rows=2400)
    frame["timestamp"] = start + pd.to_timedelta(rng.uniform(0, 3 * 86400, len(frame)), unit="s")
    frame.to_parquet(tmp_path / "log" / "predictions.parquet", index=False)
    (tmp_path / "home").mkdir()
    instance = DagsterInstance.local_temp(
        str(tmp_path / "home"),
        overrides={
            "telemetry": {"enabled": False},
            "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
        },
    )
    for partition in ("2026-10-01", "2026-10-02", "2026-10-03"):
        instance.report_runless_asset_event(
            AssetMaterialization(asset_key=AssetKey([PREFIX, "drift_report"]), partition=partition)
        )
    resources = {
        "catalog": ModelCatalogResource(config_path=str(tmp_path / "sentinel.yaml")),
        "safety_gate": SafetyGateResource(),
        "model_registry": ModelRegistryResource(tracking_uri=mlflow_url, experiment_name=name),
        "audit_trail": AuditTrailResource(uri=str(tmp_path / "audit")),
        "notifier": NotifierResource(outbox_path=str(tmp_path / "outbox.jsonl"), max_attempts=1),
        "scaler": RecordingScaler(path=str(tmp_path / "scaling.jsonl"), initial_replicas=2),
        "threshold_store": ThresholdStoreResource(path=str(tmp_path / "thresholds")),
    }
    world = World(tmp_path, instance, name, resources)
    # the champion: trained on the same rows with shuffled labels, so an honest retrain beats it
    noise = frame.copy()
    noise["label"] = np.random.default_rng(1).permutation(noise["label"].to_numpy())
    kinds = {f["name"]: f["kind"] for f in model["features"]}
    world.registry.register_sklearn(
        name, train_model(noise, features=kinds, kind="logistic_regression"), alias="champion"
    )
    return world


@pytest.mark.parametrize(("form", "job_name"), [("job", "train_fraud_model"), ("asset", "__ASSET_JOB")])
def test_the_teams_training_run_produces_the_challenger_which_is_promoted_and_traced(
    tmp_path: Path, mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch, form: str, job_name: str
) -> None:
    world = make_world(tmp_path, mlflow_server_url, monkeypatch, form=form)
    world.report_rca("2026-10-01", "inc-earlier")
    world.report_rca("2026-10-02", "inc-team")
    world.report_rca("2026-10-03", "inc-team")
    run = world.run("inc-team")
    assert run.status is DagsterRunStatus.SUCCESS, world.failure(run.run_id)
    (action,) = world.audit("action")
    details = action.event.details
    assert action.event.outcome == "promoted", details
    lineage = details["lineage"]
    training_run_id = lineage["training_run"]["run_id"]
    # the team's run: launched through the instance, tagged like a remediation run, finished
    team_run = world.instance.get_run_by_id(training_run_id)
    assert team_run is not None and team_run.job_name == job_name
    assert team_run.status is DagsterRunStatus.SUCCESS
    if form == "asset":  # the model and its training set, never materialized before, in one run
        both = {AssetKey(["models", "fraud_model"]), AssetKey(["models", "fraud_training_set"])}
        assert team_run.asset_selection == both
        assert lineage["training_run"]["assets"] == ["models/fraud_model", "models/fraud_training_set"]
        for key in both:
            (done,) = history.materializations(world.instance, key, limit=5)
            assert done.run_id == training_run_id
    assert team_run.tags[INCIDENT_TAG] == "inc-team" and team_run.tags[ACTION_TAG] == "retrain_model"
    assert team_run.tags[ACTOR_TAG] == "user:test" and team_run.tags["sentinel/remediation_run"] == run.run_id
    # the version it registered is the new champion, and its MLflow run names the team's Dagster run
    assert lineage["challenger_version"] == "2" == world.registry.champion(world.name).version
    assert world.registry.champion(world.name, "challenger").version == "2"
    client = MlflowClient(tracking_uri=mlflow_server_url)
    mlflow_run = client.get_run(lineage["mlflow_run_id"])
    assert mlflow_run.data.tags["dagster_run_id"] == training_run_id
    assert mlflow_run.info.status == "FINISHED"  # ended by dagster-mlflow's hook, not left RUNNING
    assert client.get_model_version(world.name, "2").run_id == lineage["mlflow_run_id"]
    # trained only on rows before the held-out window the challenger is judged on
    assert details["train_rows"] + details["holdout_rows"] == 2400
    assert int(mlflow_run.data.params["rows"]) == details["train_rows"]
    assert pd.Timestamp(team_run.tags[TRAIN_END_TAG]) <= pd.Timestamp("2026-10-04", tz="UTC")
    assert details["decision"]["challenger"] > details["decision"]["champion"] + 0.01
    assert [r.event.outcome for r in world.audit("verification")] == ["INCONCLUSIVE"]
    # the incident's newest window's rca_report records the retrain; the MLflow run it names exists and is traced
    assert details["rca_report_window"] == "2026-10-03"
    assert world.observations("2026-10-02") == [] and world.observations("2026-10-01") == []
    (seen,) = world.observations("2026-10-03")
    assert seen.run_id == run.run_id
    assert {k: seen.metadata[k] for k in ("remediation_run", "training_run", "outcome", "model_version")} == {
        "remediation_run": run.run_id,
        "training_run": training_run_id,
        "outcome": "promoted",
        "model_version": "2",
    }
    assert seen.metadata["registered_model"] == world.name and seen.metadata["incident_id"] == "inc-team"
    assert seen.metadata["mlflow_run_id"] == lineage["mlflow_run_id"]
    assert seen.metadata["mlflow_model_version"].endswith(f"/#/models/{world.name}/versions/2")
    named = client.get_run(seen.metadata["mlflow_run_id"]).data.tags
    assert named["dagster_run_id"] == training_run_id
    assert named["sentinel.incident"] == "inc-team" and named["sentinel.action"] == "retrain_model"
    assert named["sentinel.remediation_run"] == run.run_id


def test_the_builtin_trainer_tags_its_mlflow_run_with_the_dagster_run_incident_and_action(
    tmp_path: Path, mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(tmp_path, mlflow_server_url, monkeypatch)
    config = yaml.safe_load((tmp_path / "sentinel.yaml").read_text())
    config["models"][0]["retrain"] = {"builtin": "logistic_regression"}
    (tmp_path / "sentinel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    world.report_rca("2026-10-03", "inc-builtin")
    run = world.run("inc-builtin")
    assert run.status is DagsterRunStatus.SUCCESS, world.failure(run.run_id)
    (action,) = world.audit("action")
    lineage = action.event.details["lineage"]
    assert lineage["challenger_version"] == "2" and action.event.outcome == "promoted"
    tags = MlflowClient(tracking_uri=mlflow_server_url).get_run(lineage["mlflow_run_id"]).data.tags
    assert tags["dagster_run_id"] == run.run_id
    assert tags["sentinel.incident"] == "inc-builtin" and tags["sentinel.action"] == "retrain_model"
    # recorded on the incident window's rca_report, naming this MLflow run and version
    (seen,) = world.observations("2026-10-03")
    assert seen.metadata["remediation_run"] == run.run_id and seen.metadata["outcome"] == "promoted"
    assert seen.metadata["mlflow_run_id"] == lineage["mlflow_run_id"]
    assert (seen.metadata["registered_model"], seen.metadata["model_version"]) == (world.name, "2")
    assert "training_run" not in seen.metadata

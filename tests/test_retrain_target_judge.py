"""After the team's run: what Drift Sentinel accepts as a challenger, against a real ``mlflow server``.

:func:`jobs.retrain_target.judge_training_run` is called with the team's run as it ended (no launch here: the
launch is covered end to end in :mod:`tests.test_retrain_target`); the registry is real.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from dagster import Failure
from mlflow import MlflowClient

from drift_sentinel.remediation.retrain_target import RetrainTarget
from drift_sentinel.sample_data import CATEGORICAL_FEATURES, NUMERIC_FEATURES, training_frame
from drift_sentinel.training import train_model
from jobs.retrain_target import judge_training_run
from resources.model_registry import ModelRegistryResource
from resources.run_launcher import LaunchedRun
from tests.support.fixtures import mlflow_server_url, unique_name

pytestmark = pytest.mark.integration

TARGET = RetrainTarget(job="train_fraud_model", code_location="feature_pipeline")


def _kinds() -> dict[str, str]:
    return {
        **dict.fromkeys(NUMERIC_FEATURES, "numeric"),
        **dict.fromkeys(CATEGORICAL_FEATURES, "categorical"),
    }


@pytest.fixture
def world(mlflow_server_url: str) -> tuple[ModelRegistryResource, str, object]:
    name = unique_name("judge")
    registry = ModelRegistryResource(tracking_uri=mlflow_server_url, experiment_name=name)
    frame = training_frame(np.random.default_rng(3), datetime(2026, 10, 1, tzinfo=UTC), rows=400)
    champion = train_model(frame, features=_kinds(), kind="logistic_regression")  # type: ignore[arg-type]
    registry.register_sklearn(name, champion, alias="champion")
    return registry, name, frame


def judge(registry: ModelRegistryResource, name: str, frame: object, launched: LaunchedRun) -> object:
    return judge_training_run(
        launched,
        target=TARGET,
        registry=registry,
        name=name,
        holdout=frame,  # type: ignore[arg-type]
        label="label",
        settings={"margin": 0.0, "metric": "auc"},
        champion_alias="champion",
    )


def unchanged(registry: ModelRegistryResource, name: str, versions: list[str]) -> None:
    assert [v.version for v in registry.versions(name)] == versions
    assert registry.champion(name).version == "1"  # type: ignore[union-attr]
    assert registry.champion(name, "challenger") is None


@pytest.mark.parametrize(
    ("launched", "reason"),
    [
        (LaunchedRun("r-failed", "FAILURE", False, 3.0), "ended FAILURE; nothing was changed"),
        (LaunchedRun("r-slow", "STARTED", True, 30.0), "timed out after 1800 s; nothing was changed"),
        (LaunchedRun("r-empty", "SUCCESS", False, 3.0), "registered no new version of"),
    ],
)
def test_a_run_that_failed_timed_out_or_registered_nothing_changes_nothing(world, launched, reason) -> None:  # type: ignore[no-untyped-def]
    registry, name, frame = world
    with pytest.raises(Failure) as caught:
        judge(registry, name, frame, launched)
    assert reason in str(caught.value.description) and launched.run_id in str(caught.value.description)
    unchanged(registry, name, ["1"])


def test_a_version_that_cannot_be_loaded_fails_closed(world, mlflow_server_url: str) -> None:  # type: ignore[no-untyped-def]
    registry, name, frame = world
    client = MlflowClient(tracking_uri=mlflow_server_url)
    experiment = client.get_experiment_by_name(name).experiment_id
    run = client.create_run(experiment, tags={"dagster_run_id": "r-broken"})
    client.set_terminated(run.info.run_id)
    client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    with pytest.raises(Failure) as caught:
        judge(registry, name, frame, LaunchedRun("r-broken", "SUCCESS", False, 3.0))
    message = str(caught.value.description)
    assert (
        f"{name} v2 from training run r-broken cannot be loaded" in message
        and "nothing was changed" in message
    )
    unchanged(registry, name, ["1", "2"])


def test_the_version_the_run_registered_is_judged_and_named(world, mlflow_server_url: str) -> None:  # type: ignore[no-untyped-def]
    registry, name, frame = world
    better = train_model(frame, features=_kinds(), kind="gradient_boosting")  # type: ignore[arg-type]
    version = registry.register_sklearn(name, better, tags={"dagster_run_id": "r-good"})
    outcome, lineage = judge(registry, name, frame, LaunchedRun("r-good", "SUCCESS", False, 3.0))
    assert lineage["challenger_version"] == version == "2"
    assert lineage["mlflow_run_id"] == registry.version(name, "2").run_id  # type: ignore[union-attr]
    assert lineage["training_run"]["run_id"] == "r-good"
    assert outcome.challenger_version == "2" and registry.champion(name, "challenger").version == "2"  # type: ignore[union-attr]
    # judged in-sample here (the holdout is the training frame): the boosted model fits it better, so it is promoted
    assert outcome.promoted and registry.champion(name).version == "2"  # type: ignore[union-attr]

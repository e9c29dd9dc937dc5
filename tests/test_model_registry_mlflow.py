"""ModelRegistryResource and the retrain/rollback logic against a real ``mlflow server`` on loopback.

One server per test session (``mlflow_server_url``); every test registers its own model name.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from drift_sentinel.errors import ExternalServiceError
from drift_sentinel.remediation.retrain import retrain
from drift_sentinel.safety import GateEvidence, SafetyPolicy, evaluate_gate
from drift_sentinel.sample_data import training_frame
from drift_sentinel.training import FEATURES, evaluate_model, train_model
from drift_sentinel.verdict import Verdict
from resources.model_registry import ModelRegistryResource
from tests.support.fixtures import mlflow_server_url, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(11)
    return {
        "train": training_frame(rng, START, rows=3000),
        "holdout": training_frame(rng, START, rows=1500),
    }


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same rows with the labels permuted: a model trained on it has no skill."""
    out = frame.copy()
    out["label"] = np.random.default_rng(seed).permutation(out["label"].to_numpy())
    return out


def tiny_model(seed: int) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 2))
    return LogisticRegression().fit(x, (x[:, 0] + 0.1 * seed > 0).astype(int))


@pytest.fixture
def registry(mlflow_server_url: str) -> ModelRegistryResource:
    return ModelRegistryResource(tracking_uri=mlflow_server_url)


def test_register_versions_aliases_and_rollback_moves_the_alias(registry: ModelRegistryResource) -> None:
    name = unique_name("fraud")
    models = [tiny_model(0), tiny_model(1), tiny_model(2)]
    v1 = registry.register_sklearn(name, models[0], metrics={"auc": 0.7}, params={"kind": "lr"})
    v2 = registry.register_sklearn(name, models[1], metrics={"auc": 0.8})
    v3 = registry.register_sklearn(name, models[2], alias="champion")
    assert (v1, v2, v3) == ("1", "2", "3")

    champion = registry.champion(name)
    assert champion is not None and champion.version == "3" and champion.status == "READY"
    assert champion.aliases == ("champion",) and champion.run_id
    versions = registry.versions(name)
    assert [(v.version, v.status, v.aliases) for v in versions] == [
        ("1", "READY", ()),
        ("2", "READY", ()),
        ("3", "READY", ("champion",)),
    ]
    run = registry.client.get_run(champion.run_id)
    assert run.info.status == "FINISHED"  # never left RUNNING
    assert registry.client.get_run(versions[0].run_id).data.metrics["auc"] == 0.7

    # the rollback path: the gate checks the target, then the alias moves
    target = registry.previous_version(name)
    assert target == "2"
    info = registry.version(name, target)
    evidence = GateEvidence(
        model_id=name,
        action="rollback_model",
        incident_id="inc-1",
        last_action_at=None,
        attempts_for_incident=0,
        running_on_model=0,
        current_version=champion.version,
        target_version=target,
        target_version_status=info.status if info else "MISSING",
    )
    assert evaluate_gate(SafetyPolicy(), evidence, datetime.now(UTC)).opened
    registry.set_alias(name, "champion", target)
    assert registry.champion(name).version == "2"
    assert registry.previous_version(name) == "1"

    # the model loads back and predicts like the one registered
    x = np.random.default_rng(5).normal(size=(20, 2))
    loaded = registry.load_model(name, "1")
    assert np.array_equal(loaded.predict(x), models[0].predict(x))


def test_rollback_to_a_missing_version_is_blocked_by_the_gate(registry: ModelRegistryResource) -> None:
    name = unique_name("fraud")
    registry.register_sklearn(name, tiny_model(0), alias="champion")
    assert registry.previous_version(name) is None  # only one version
    assert registry.version(name, "7") is None
    assert registry.status_of(name, "7") == "MISSING"
    assert registry.status_of(name, "1") == "READY" and registry.status_of(name, None) is None
    champion = registry.champion(name)
    evidence = GateEvidence(
        model_id=name,
        action="rollback_model",
        incident_id="inc-2",
        last_action_at=None,
        attempts_for_incident=0,
        running_on_model=0,
        current_version=champion.version,
        target_version="7",
        target_version_status="MISSING",
    )
    decision = evaluate_gate(SafetyPolicy(), evidence, datetime.now(UTC))
    assert decision.verdict is Verdict.FAILED
    assert decision.blockers == (f"version: v7 of {name} does not exist",)
    no_target = evaluate_gate(
        SafetyPolicy(), GateEvidence(**{**evidence.__dict__, "target_version": None}), datetime.now(UTC)
    )
    assert no_target.blockers == (f"version: no target version of {name} to move to",)
    assert registry.champion(name).version == "1"  # nothing moved


def test_unknown_models_and_bad_moves(registry: ModelRegistryResource) -> None:
    name = unique_name("ghost")
    assert registry.champion(name) is None
    assert registry.versions(name) == []
    assert registry.previous_version(name) is None
    with pytest.raises(ExternalServiceError, match=f"{name}@champion to v3"):
        registry.set_alias(name, "champion", "3")
    with pytest.raises(ExternalServiceError, match=f"loading {name} v1"):
        registry.load_model(name, "1")


def test_retrain_promotes_a_better_challenger_and_refuses_a_worse_one(
    registry: ModelRegistryResource, frames: dict[str, pd.DataFrame]
) -> None:
    name = unique_name("fraud")
    train, holdout = frames["train"], frames["holdout"]
    weak = train_model(
        shuffled(train, 1), features=FEATURES, label="label", seed=0, kind="logistic_regression"
    )
    registry.register_sklearn(
        name, weak, metrics=evaluate_model(weak, holdout, label="label"), alias="champion"
    )

    better = retrain(
        registry,
        name,
        train_frame=train,
        holdout_frame=holdout,
        features=FEATURES,
        kind="logistic_regression",
        margin=0.02,
    )
    assert better.decision.verdict is Verdict.PASSED and better.promoted
    assert better.champion_version == "1" and better.challenger_version == "2"
    assert better.challenger_metrics["auc"] > better.champion_metrics["auc"] + 0.02
    assert registry.champion(name).version == "2"
    assert registry.champion(name, alias="challenger").version == "2"

    worse = retrain(
        registry,
        name,
        train_frame=shuffled(train, 2),
        holdout_frame=holdout,
        features=FEATURES,
        kind="logistic_regression",
        margin=0.02,
    )
    assert worse.decision.verdict is Verdict.FAILED and not worse.promoted
    assert "keep the champion" in worse.decision.reason
    assert worse.challenger_version == "3"
    assert registry.champion(name).version == "2"  # unchanged
    assert registry.champion(name, alias="challenger").version == "3"

    dry = retrain(
        registry,
        name,
        train_frame=train,
        holdout_frame=holdout,
        features=FEATURES,
        kind="logistic_regression",
        margin=0.0,
        dry_run=True,
    )
    assert dry.challenger_version is None and not dry.promoted
    assert [v.version for v in registry.versions(name)] == ["1", "2", "3"]


def test_sqlite_registry_without_a_server(tmp_path) -> None:
    registry = ModelRegistryResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    name = unique_name("local")
    registry.register_sklearn(name, tiny_model(0))
    registry.register_sklearn(name, tiny_model(1), alias="champion")
    assert registry.previous_version(name) == "1"
    assert (tmp_path / "mlartifacts").is_dir()  # artifacts next to the database, not in the working directory
    x = np.zeros((3, 2))
    assert np.array_equal(registry.load_model(name, "2").predict(x), tiny_model(1).predict(x))

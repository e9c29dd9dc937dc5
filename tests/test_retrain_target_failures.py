"""Bad input: a team's training run that fails, registers no version or outlives its time box changes nothing.

A run that registers nothing and a version that cannot be loaded: :mod:`tests.test_retrain_target_judge`
(fast). Same world as :mod:`tests.test_retrain_target` (a real ``mlflow server``, a real instance, the example project's
``train_fraud_model`` job launched through it).
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterRunStatus

from tests.support.fixtures import mlflow_server_url
from tests.test_retrain_target import make_world

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"train": {"prediction_log": "/nonexistent/log"}}, "ended FAILURE"),
        ({"timeout_seconds": 0.5}, "timed out after 0.5 s"),
    ],
    ids=["run-fails", "time-out"],
)
def test_a_training_run_that_fails_registers_nothing_or_times_out_changes_nothing(
    tmp_path: Path, mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch, change: dict, reason: str
) -> None:
    world = make_world(tmp_path, mlflow_server_url, monkeypatch, **change)
    run = world.run("inc-bad")
    assert run.status is DagsterRunStatus.FAILURE
    message = world.failure(run.run_id)
    assert reason in message and "nothing was changed" in message
    assert [v.version for v in world.registry.versions(world.name)] == ["1"]
    assert world.registry.champion(world.name).version == "1"
    assert world.registry.champion(world.name, "challenger") is None
    assert world.audit("action") == []

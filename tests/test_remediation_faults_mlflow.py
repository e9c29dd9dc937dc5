"""Fault: the MLflow server stops during a rollback and comes back.

Issue 15; the other faults are in tests/test_remediation_faults.py.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from dagster import DagsterRunStatus

from jobs.reconcile import CHANGE_TAG
from tests.support.faults import mlflow_process
from tests.support.fixtures import http_sink
from tests.support.servers import HttpSink
from tests.test_remediation_faults import reconcile_tick, registered_two_versions, wait_for
from tests.test_remediation_jobs import make_world, write_serving_log

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]


# --------------------------------------------------------------------------- (a) MLflow down mid-rollback


def test_mlflow_down_during_a_rollback_fails_closed_and_is_reconciled_when_it_is_back(
    tmp_path: Path, http_sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail fast instead of minutes of retries
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with mlflow_process(tmp_path / "mlflow") as mlflow:
        world = make_world(tmp_path, mlflow.url, sink=http_sink, safety={"cooldown_period": "0s"})
        registered_two_versions(world)
        write_serving_log(world, error_before=0.02, error_after=0.15)  # v1 makes serving worse

        def stop_mlflow_after_the_action() -> None:
            wait_for(lambda: bool(world.audit("action")), 240, "the action")
            mlflow.stop()

        stopper = threading.Thread(target=stop_mlflow_after_the_action, daemon=True)
        stopper.start()
        run = world.run("rollback_model", incident="inc-m", verify_delay_seconds=4)
        stopper.join(timeout=60)
        assert run.status is DagsterRunStatus.FAILURE
        assert [r.event.outcome for r in world.audit("action")] == ["succeeded"]  # v2 -> v1 took effect
        assert [r.event.outcome for r in world.audit("verification")] == ["FAILED"]  # ... and made it worse
        (rollback,) = world.audit("rollback")  # ... but MLflow was gone: the undo failed closed
        assert rollback.event.outcome == "failed"
        (step,) = rollback.event.details["steps"]
        assert step["status"] == "failed" and "MLflow" in step["error"]
        (page,) = [r.json for r in http_sink.requests if r.path == "/v2/enqueue"]
        assert page["dedup_key"] == "inc-m" and "NOT fully rolled back" in page["payload"]["summary"]
        assert world.instance.get_run_by_id(run.run_id).tags[CHANGE_TAG] == "rollback_failed"

        # MLflow down before a run: the gate cannot gather its evidence and nothing is decided or changed
        blocked = world.run("rollback_model", incident="inc-down")
        assert blocked.status is DagsterRunStatus.FAILURE
        assert len(world.audit("gate_decision")) == 1 and len(world.audit("action")) == 1

        mlflow.start()  # back, with the alias where the action left it: whole, not half-moved
        champion = world.registry.champion(world.registry_name)
        assert champion is not None and champion.version == "1" and champion.aliases == ("champion",)
        assert [v.aliases for v in world.registry.versions(world.registry_name)] == [("champion",), ()]

        # the next remediation on the model (here a notification) reconciles first: the failed undo is retried
        notify = world.run("notify_team", incident="inc-m")
        assert notify.status is DagsterRunStatus.SUCCESS
        assert world.registry.champion(world.registry_name).version == "2"
        retried = world.audit("rollback")[-1]
        assert retried.event.outcome == "succeeded" and retried.event.run_id == run.run_id
        assert "the rollback in run" in retried.event.details["reason"]
        assert world.instance.get_run_by_id(run.run_id).tags[CHANGE_TAG] == "rolled_back"
        assert reconcile_tick(world) == "no orphaned remediation change"

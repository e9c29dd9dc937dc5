"""Fault: PostgreSQL (the Dagster instance's storage) restarts while a remediation run is in progress.

Issue 15; the other faults are in tests/test_remediation_faults.py. The cluster is a throwaway one made with
``initdb`` on a free port (never the machine's shared server).
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from dagster import DagsterRunStatus

from jobs.reconcile import CHANGE_TAG
from tests.support.faults import postgres_cluster
from tests.test_remediation_faults import reconcile_tick, registered_two_versions, wait_for
from tests.test_remediation_jobs import make_world, mlflow_uri, write_serving_log

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]


# --------------------------------------------------------------------- (e) PostgreSQL restarted mid-run


def test_postgres_restart_during_a_remediation_run(
    tmp_path: Path, mlflow_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    with postgres_cluster(tmp_path / "pg") as pg:
        pg.create_database("sentinel")
        world = make_world(tmp_path, mlflow_uri)
        home = tmp_path / "pg_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(
            "storage:\n  postgres:\n    postgres_db:\n"
            f"      hostname: 127.0.0.1\n      port: {pg.port}\n      username: postgres\n"
            "      password: ''\n      db_name: sentinel\n      scheme: postgresql+psycopg2\n"
            "telemetry:\n  enabled: false\n"
        )
        world.instance = DagsterInstance.from_config(str(home))
        registered_two_versions(world)
        write_serving_log(world, error_before=0.0, error_after=0.0)  # serving holds: the change is kept

        def restart_after_the_action() -> None:
            wait_for(lambda: bool(world.audit("action")), 240, "the action")
            pg.restart()  # every connection is cut while verification waits

        restarter = threading.Thread(target=restart_after_the_action, daemon=True)
        restarter.start()
        run = world.run("rollback_model", incident="inc-pg", verify_delay_seconds=3)
        restarter.join(timeout=120)
        assert not restarter.is_alive()
        reconcile_tick(world)  # what the daemon's next tick does
        run = world.instance.get_run_by_id(run.run_id)
        kinds = [r.event.kind for r in world.audit()]
        champion = world.registry.champion(world.registry_name).version
        # Where the restart lands decides which write fails; either way the run finishes and the model is in a
        # known state: the change verified and kept, or (a write of the action failed) undone and recorded.
        assert run.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)
        if run.status is DagsterRunStatus.SUCCESS:
            assert kinds == ["gate_decision", "action", "verification"]
            assert [r.event.outcome for r in world.audit("verification")] == ["PASSED"]
            assert champion == "1" and run.tags[CHANGE_TAG] == "verified"
        else:
            assert champion == "2", kinds
            assert world.audit("rollback") and world.audit("rollback")[-1].event.outcome == "succeeded"
            assert run.tags[CHANGE_TAG] == "rolled_back"
        assert world.resources["audit_trail"].trail.verify().ok
        world.instance.dispose()

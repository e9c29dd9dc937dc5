"""Faults the remediation loop must survive, each injected by stopping or starting the real part (issue 15).

- MLflow server down during a rollback (test_remediation_faults_mlflow.py): fail closed, escalate, no
  half-moved alias; reconciled once it is back.
- Slack answering 500 and PagerDuty timing out: retries with backoff, then the outbox; nothing lost, and the
  run's outcome says so.
- The run worker killed (SIGKILL) between apply and verify: the change is found and undone on the next tick.
- Two remediation requests for one model at once, from two processes: one acts.
- PostgreSQL (the Dagster instance's storage) restarted while a remediation run is in progress
  (test_remediation_faults_postgres.py).
- The daemon SIGKILLed mid-tick of the remediation sensor and restarted: remediated once
  (test_remediation_faults_daemon.py).

Each test builds its own world (``tests.test_remediation_jobs.make_world``) and its own servers on free
loopback ports; the PostgreSQL cluster is a throwaway one made with ``initdb`` in ``tmp_path``.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterRunStatus, build_sensor_context

from jobs.reconcile import CHANGE_TAG
from jobs.rollback import undo_resources
from resources.notifier import NotifierResource
from sensors.escalation import build_reconcile_sensor
from tests.support.faults import silent_server
from tests.support.servers import Reply
from tests.support.servers import http_sink as start_http_sink
from tests.test_remediation_jobs import (
    REPO,
    ROUTING_KEY,
    World,
    gate,
    make_world,
    mlflow_uri,
    tiny_model,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]


def wait_for(what: Callable[[], bool], timeout: float, describe: str, child: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if child is not None and child.poll() is not None:
            raise AssertionError(f"child exited ({child.returncode}) before {describe}")
        assert time.monotonic() < deadline, f"timed out waiting for {describe}"
        time.sleep(0.1)


def reconcile_tick(world: World) -> str:
    """One tick of the reconcile sensor against the world's instance; its skip message."""
    sensor = build_reconcile_sensor()
    keys = {"catalog", "audit_trail", *undo_resources()}
    context = build_sensor_context(
        instance=world.instance,
        resources={k: world.resources[k] for k in keys},
        sensor_name=sensor.name,
    )
    return sensor.evaluate_tick(context).skip_message or ""


def registered_two_versions(world: World) -> None:
    for seed in (0, 1):
        world.registry.register_sklearn(world.registry_name, tiny_model(seed), alias="champion")


# ------------------------------------------------------------------------ (b) Slack 500, PagerDuty timeout


def test_slack_500_and_pagerduty_timeout_retry_then_keep_everything_in_the_outbox(
    tmp_path: Path, mlflow_uri: str
) -> None:
    slack_times: list[float] = []

    def slack_is_down(request: Any) -> Reply:
        slack_times.append(time.monotonic())
        return Reply(status=500, body="internal error")

    with start_http_sink(slack_is_down) as slack, silent_server() as pagerduty:
        world = make_world(tmp_path, mlflow_uri)
        world.resources["notifier"] = NotifierResource(
            outbox_path=str(tmp_path / "outbox.jsonl"),
            slack_webhook_url=f"{slack.url}/services/T000/B000/SECRETHOOK",
            pagerduty_routing_key=ROUTING_KEY,
            pagerduty_url=f"{pagerduty.url}/v2/enqueue",
            max_attempts=3,
            backoff_seconds=0.2,
            timeout_seconds=0.5,
        )
        run = world.run("notify_team", incident="inc-n", severity="critical", message="drift on amount")
        pd_times = list(pagerduty.connections)
    # retried with exponential backoff: 3 attempts each, waits of >= 0.2 s then >= 0.4 s
    assert len(slack_times) == 3 and len(pd_times) == 3
    for times in (slack_times, pd_times):
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps
    # the run failed and its outcome says where each notification went
    assert run.status is DagsterRunStatus.FAILURE
    (action,) = world.audit("action")
    assert action.event.outcome == "failed"
    deliveries = {d["channel"]: d for d in action.event.details["deliveries"]}
    assert set(deliveries) == {"pagerduty", "slack"}
    assert not deliveries["slack"]["ok"] and "HTTP 500" in deliveries["slack"]["error"]
    assert not deliveries["pagerduty"]["ok"] and "timed out" in deliveries["pagerduty"]["error"]
    assert all(d["attempts"] == 3 and "written to the outbox" in d["note"] for d in deliveries.values())
    # nothing lost: both are in the outbox, marked undelivered, without the secrets
    text = (tmp_path / "outbox.jsonl").read_text()
    kept = [json.loads(line) for line in text.splitlines()]
    assert sorted(k["channel"] for k in kept) == ["pagerduty", "slack"]
    assert all(k["undelivered"] and k["notification"]["incident_id"] == "inc-n" for k in kept)
    assert all(k["notification"]["text"] == "drift on amount" for k in kept)
    assert ROUTING_KEY not in text and "SECRETHOOK" not in text


# ------------------------------------------------------------------------- (c) worker killed mid-change

KILLED_CHILD = """
import sys
from pathlib import Path
from tests.test_remediation_jobs import make_world
world = make_world(Path(sys.argv[1]), sys.argv[2], name=sys.argv[3])
world.run("rollback_model", incident="inc-k", verify_delay_seconds=600)
"""


def test_a_change_whose_worker_was_killed_is_found_and_undone(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri)
    registered_two_versions(world)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(tmp_path), mlflow_uri, world.registry_name],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "child.log", "wb"),  # noqa: SIM115 (closed with the process)
    )
    try:
        wait_for(lambda: bool(world.audit("action")), 180, "the action", child)
        time.sleep(0.5)  # verification is waiting for serving data
    finally:
        child.send_signal(signal.SIGKILL)  # no finally block, no signal handler runs
        child.wait(timeout=30)
    assert world.registry.champion(world.registry_name).version == "1"  # applied, never verified
    (run,) = world.instance.get_runs()
    assert run.status is DagsterRunStatus.STARTED and run.tags[CHANGE_TAG] == "unverified"
    assert not world.audit("rollback") and not world.audit("verification")

    message = reconcile_tick(world)  # the daemon's next tick after the worker died
    assert "rollback_model of run" in message and "undone" in message and "is gone" in message
    assert world.registry.champion(world.registry_name).version == "2"
    (rollback,) = world.audit("rollback")
    assert rollback.event.outcome == "succeeded" and rollback.event.run_id == run.run_id
    assert rollback.event.details["reason"].startswith("reconcile: the worker of run")
    assert rollback.event.details["undo"]["previous_version"] == "2"
    run = world.instance.get_run_by_id(run.run_id)
    assert run.status is DagsterRunStatus.FAILURE, "so the run-failure sensor escalates it"
    assert run.tags[CHANGE_TAG] == "rolled_back"
    assert reconcile_tick(world) == "no orphaned remediation change"  # done once, not forgotten, not repeated
    assert len(world.audit("rollback")) == 1


# ------------------------------------------------------------------ (d) two requests at once, two processes

RACING_CHILD = """
import sys, time
from pathlib import Path
from tests.test_remediation_jobs import make_world
root, uri, name, incident = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
world = make_world(root, uri, name=name, safety={"max_retries": 5})
(root / f"ready-{incident}").touch()
while not (root / "go").exists():
    time.sleep(0.01)
run = world.run("scale_resources", incident=incident)
print(run.run_id, run.tags.get("sentinel/gate"))
"""


def test_two_processes_asking_at_once_for_one_model_one_acts(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri, safety={"max_retries": 5})
    children = [
        subprocess.Popen(
            [sys.executable, "-c", RACING_CHILD, str(tmp_path), mlflow_uri, world.registry_name, incident],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=open(tmp_path / f"{incident}.log", "wb"),  # noqa: SIM115 (closed with the process)
            text=True,
        )
        for incident in ("inc-1", "inc-2")
    ]
    try:
        wait_for(
            lambda: all((tmp_path / f"ready-{i}").exists() for i in ("inc-1", "inc-2")), 240, "both ready"
        )
        (tmp_path / "go").touch()  # both create their run and run their gate now
        outputs = [child.communicate(timeout=300)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert all(child.returncode == 0 for child in children), outputs
    runs = world.instance.get_runs()
    verdicts = sorted(gate(world, r)[0] for r in runs)
    assert verdicts == ["FAILED", "PASSED"]
    (blocked,) = [r for r in runs if r.tags["sentinel/gate"] == "FAILED"]
    blockers = gate(world, blocked)[1]  # the other run in progress, or (if it already finished) its cooldown
    assert blockers and all(b.startswith(("concurrency: 1 other", "cooldown: last action")) for b in blockers)
    assert len(world.scale_records()) == 1, "exactly one scaled"

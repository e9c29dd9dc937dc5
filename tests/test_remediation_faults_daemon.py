"""Fault: the Dagster daemon is killed (SIGKILL) mid-tick of the remediation sensor and started again (issue 15).

Proves that an incident is remediated once however the daemon dies: after the restart there is exactly one run per
``{incident}:{action}`` run key, the action is recorded once in the audit trail and the notification is in the
outbox once. Two kill points: right after the sensor's tick created the run (before the tick was finished and its
cursor stored, when the kill is that quick), and right after the tick was recorded as STARTED (before or during its
evaluation).

Real parts: a fresh instance (SQLite, the demo's queued run coordinator) in ``tmp_path`` prepared as ``make live``
does, a real ``dagster-daemon run`` in its own process group (its code server and run workers with it), killed
with SIGKILL and started again. The confirmed incident is a real ``rca_report`` materialization of the newest
window, reported to the instance (as tests/test_continuous_scope.py does); the other faults are in
tests/test_remediation_faults.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[1]
PREFIX = "fraud_detector_v1"
SENSOR = f"{PREFIX}_remediation_on_rca_report"
INCIDENT = "inc-daemon-kill"
RUN_KEY = f"{INCIDENT}:notify_team"
START_TIMEOUT = 150.0  # the daemon's code server imports the definitions (7-12 s at load 5-6)
AFTER_RESTART = 90.0


class Daemon:
    """``dagster-daemon run`` on ``workspace`` in its own process group (SIGKILLed as a whole)."""

    def __init__(self, env: dict[str, str], workspace: Path, log: Path) -> None:
        self.env, self.workspace, self.log = env, workspace, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["env", "--default-signal=INT,TERM", str(bin_dir / "dagster-daemon"), "run"]
                + ["-w", str(self.workspace)],
                cwd=REPO,
                env={**os.environ, **self.env, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole group: no signal handler, no finally block, no clean shutdown anywhere."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def wait_until(
    what: Callable[[], Any], timeout: float, describe: str, daemon: Daemon, step: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = what()
        if found:
            return found
        if not daemon.alive():
            raise AssertionError(f"the daemon exited before {describe}; see {daemon.log}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {describe}; see {daemon.log}")
        time.sleep(step)


def sensor_ticks(instance: Any) -> list[Any]:
    """The remediation sensor's ticks, newest first (none before the daemon first evaluated it)."""
    from dagster._core.scheduler.instigation import InstigatorType

    states = [
        s for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR) if s.name == SENSOR
    ]
    if not states:
        return []
    return list(instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id, limit=50))


def report_incident(instance: Any, window: str) -> None:
    from dagster import AssetKey, AssetMaterialization

    instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key=AssetKey([PREFIX, "rca_report"]),
            partition=window,
            metadata={
                "incident_id": INCIDENT,
                "recommended_action": "notify_team",
                "root_cause": "upstream_data_change",
                "root_cause_feature": "amount",
                "confidence": 0.9,
            },
        )
    )


@pytest.mark.parametrize("kill_at", ["run_created", "tick_started"])
def test_a_daemon_killed_mid_tick_remediates_once_after_restart(
    kill_at: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DAGSTER_HOME", "SENTINEL_HOME", "SENTINEL_CONFIG", "ALERT_OUTBOX", "REMEDIATION_AUDIT_URI"):
        monkeypatch.delenv(name, raising=False)
    from sentinel_assets.live_demo import prepare_live_home

    env = prepare_live_home(tmp_path / "home")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from dagster import DagsterInstance, RunsFilter
    from dagster._core.scheduler.instigation import TickStatus

    from drift_sentinel.settings import Settings
    from resources.audit_trail import AuditTrailResource
    from resources.safety_gate import INCIDENT_TAG

    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: sentinel_assets.definitions\n"
        f"      attribute: defs\n      location_name: drift_sentinel\n      working_directory: {REPO}\n"
    )
    window = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    daemon = Daemon(env, workspace, tmp_path / "daemon.log")
    started = time.monotonic()
    with DagsterInstance.get() as instance:

        def runs() -> list[Any]:
            return list(instance.get_runs(RunsFilter(tags={INCIDENT_TAG: INCIDENT})))

        try:
            if kill_at == "run_created":
                report_incident(instance, window)
                daemon.start()
                wait_until(runs, START_TIMEOUT, "the sensor's first tick to create a run", daemon)
            else:
                daemon.start()
                wait_until(lambda: sensor_ticks(instance), START_TIMEOUT, "the sensor's first tick", daemon)
                seen = {t.tick_id for t in sensor_ticks(instance)}
                report_incident(instance, window)
                wait_until(
                    lambda: (
                        [
                            t
                            for t in sensor_ticks(instance)
                            if t.tick_id not in seen and t.status is TickStatus.STARTED
                        ]
                        or runs()
                    ),
                    60,
                    "a new tick of the sensor recorded as STARTED",
                    daemon,
                    step=0.02,
                )
            daemon.kill()
            at_kill = [(t.status.value, t.cursor, list(t.run_ids)) for t in sensor_ticks(instance)[:2]]
            runs_at_kill = [(r.run_id, r.status.value) for r in runs()]

            killed_at = time.time()
            daemon.start()

            def settled() -> bool:
                later = [t for t in sensor_ticks(instance) if t.timestamp > killed_at]
                done = [r for r in runs() if r.is_finished]
                return len(later) >= 3 and bool(done)

            try:
                wait_until(
                    settled,
                    START_TIMEOUT + AFTER_RESTART,
                    "the remediation run to finish and 3 more sensor ticks after the restart",
                    daemon,
                    step=0.5,
                )
            except AssertionError as error:
                now = [(t.status.value, t.cursor, list(t.run_ids)) for t in sensor_ticks(instance)]
                raise AssertionError(
                    f"{error}\nat the kill: ticks {at_kill}, runs {runs_at_kill}; now: ticks {now}, "
                    f"runs {[(r.run_id, r.status.value, r.tags.get('dagster/run_key')) for r in runs()]}"
                ) from None
        finally:
            daemon.kill()
        elapsed = time.monotonic() - started
        found = runs()
        ticks = [(t.status.value, t.cursor, list(t.run_ids)) for t in sensor_ticks(instance)]
    context = (
        f"killed at {kill_at}: newest ticks {at_kill}, runs {runs_at_kill}; after restart: ticks {ticks}"
    )
    keys = [r.tags.get("dagster/run_key") for r in found]
    assert keys == [RUN_KEY], f"expected exactly one run for {RUN_KEY}, got {keys}; {context}"
    (run,) = found
    assert run.status.value == "SUCCESS", f"{run.status}; {context}; see {daemon.log}"

    settings = Settings.from_env()
    trail = AuditTrailResource(uri=settings.audit_uri).trail
    actions = [
        r.event for r in trail.records() if r.event.kind == "action" and r.event.incident_id == INCIDENT
    ]
    assert [(a.action, a.run_id) for a in actions] == [("notify_team", run.run_id)], context
    assert trail.verify().ok

    lines = settings.outbox_path.read_text().splitlines() if settings.outbox_path.exists() else []
    kept = [json.loads(line) for line in lines]
    ours = [k["channel"] for k in kept if k["notification"]["incident_id"] == INCIDENT]
    assert ours and len(ours) == len(set(ours)), f"notifications in the outbox: {ours}; {context}"
    print(f"{kill_at}: {elapsed:.0f} s; {context}")

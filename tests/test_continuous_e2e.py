"""End to end: ``dagster dev`` on a fresh instance and a real-time replay with drift; nothing is launched by the
client, and the remediation run succeeds (the baseline by the automation, the open window's reports by the live
check, the remediation by its sensor)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

TIMEOUT = 900.0  # a shared, loaded 2-core machine; a quiet one takes about two minutes


def test_a_replay_with_drift_is_remediated_with_no_client_launch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DAGSTER_HOME", "SENTINEL_HOME", "SENTINEL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    from sentinel_assets.live_demo import (
        DagsterDev,
        EventWatcher,
        prepare_live_home,
        start_replay,
        wait_for_baseline,
    )

    env = prepare_live_home(tmp_path / "home", live_check="5s")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from dagster import DagsterInstance, RunsFilter

    from drift_sentinel.config import load_config

    config = load_config(env["SENTINEL_CONFIG"])
    spec = config.models[0]
    deadline = time.monotonic() + TIMEOUT
    with DagsterDev(env, tmp_path / "dagster-dev.log") as dev, DagsterInstance.get() as instance:
        dev.wait_ready(timeout=TIMEOUT)
        wait_for_baseline(instance, [spec.asset_prefix], timeout=deadline - time.monotonic())
        assert not instance.get_runs(RunsFilter(tags={"dagster/partition": time.strftime("%Y-%m-%d")}))
        _, stop = start_replay(
            config.resolve(spec.data.prediction_log), speed=120, part_every=5, drift_after=20
        )
        watcher = EventWatcher(instance, [spec.asset_prefix])
        events = []
        try:
            while time.monotonic() < deadline:
                events.extend(watcher.poll())
                done = [
                    e
                    for e in events
                    if e.kind == "run" and e.data["action"] and e.data["status"] == "SUCCESS"
                ]
                if done:
                    break
                time.sleep(1.0)
        finally:
            stop.set()
        log = "\n".join(e.text for e in events)
        assert done, (
            f"no remediation run succeeded within {TIMEOUT:.0f} s:\n{log}\n(dagster dev log: {dev.log_path})"
        )
        early = [
            e for e in events if e.data.get("asset") == "drift_report" and e.data["window_state"] == "open"
        ]
        assert early and early[0].data["incident"] == done[0].data["incident"], log
        runs = instance.get_runs()
        # every run came from the product's own sensors: the automation, the live check, the remediation sensor
        assert all(r.tags.get("dagster/sensor_name") for r in runs), [
            (r.job_name, dict(r.tags)) for r in runs
        ]
        assert os.environ["DAGSTER_HOME"] == env["DAGSTER_HOME"]

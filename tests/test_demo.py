"""The main job end to end, as a user runs it: ``drift-sentinel demo`` twice in a fresh folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _demo(workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "SENTINEL_", "MLFLOW_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "drift_sentinel.cli", "demo", "--no-progress"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    workdir = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "sentinel.yaml", workdir / "sentinel.yaml")
    first = _demo(workdir)
    second = _demo(workdir)
    return first, second, workdir


def test_incident_names_the_injected_features(runs: tuple[dict, dict, Path]) -> None:
    first, _, _ = runs
    incident = first["incident"]
    assert incident["incident_id"].startswith("inc-fraud-detector-v1-")
    named = {a["name"] for a in incident["affected_features"]}
    assert set(first["injected"]["features"]) <= named
    assert first["windows"]["with_drift"], "no window reported drift"
    assert min(first["windows"]["with_drift"]) >= first["injected"]["drift_start"][:10]
    assert first["rca"]["incident_id"] == incident["incident_id"]
    assert first["rca"]["root_cause"]["feature"] in named


def test_remediation_ran_behind_the_gate(runs: tuple[dict, dict, Path]) -> None:
    first, _, workdir = runs
    launched = [r for r in first["remediation"] if r["launched"]]
    assert launched, first["remediation"]
    assert all(r["status"] == "SUCCESS" for r in launched), launched
    assert "PASSED" in {r["gate"] for r in launched}
    audit = sorted((workdir / ".sentinel" / "audit").glob("*.json"))
    kinds = [json.loads(p.read_text())["event"]["kind"] for p in audit]
    assert "gate_decision" in kinds and "action" in kinds


def test_second_run_launches_nothing_new_for_the_same_incident(runs: tuple[dict, dict, Path]) -> None:
    first, second, _ = runs
    assert second["incident"]["incident_id"] == first["incident"]["incident_id"]
    assert second["remediation"], "the sensor should still see the incident"
    assert not any(r["launched"] for r in second["remediation"])
    assert {r["run_id"] for r in second["remediation"]} <= {r["run_id"] for r in first["remediation"]}

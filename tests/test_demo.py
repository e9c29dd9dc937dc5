"""The main job end to end, as a user runs it: ``drift-sentinel demo`` twice in a fresh folder.

The first run prints the human summary and writes the full JSON to the file it names; the second prints the
JSON (``--json``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sentinel_assets.demo import failed_remediation, format_summary

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _demo(workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "SENTINEL_", "MLFLOW_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "drift_sentinel.cli", "demo", "--no-progress", *extra],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path, str]:
    workdir = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "sentinel.yaml", workdir / "sentinel.yaml")
    human = _demo(workdir).stdout
    named = human.split("full JSON", 1)[1].split()[0]
    first = json.loads(Path(named).read_text())
    second = json.loads(_demo(workdir, "--json").stdout)
    return first, second, workdir, human


def test_incident_names_the_injected_features(runs: tuple[dict, dict, Path, str]) -> None:
    first, _, _, _ = runs
    incident = first["incident"]
    assert incident["incident_id"].startswith("inc-fraud-detector-v1-")
    named = {a["name"] for a in incident["affected_features"]}
    assert set(first["injected"]["features"]) <= named
    assert first["windows"]["with_drift"], "no window reported drift"
    assert min(first["windows"]["with_drift"]) >= first["injected"]["drift_start"][:10]
    assert first["rca"]["incident_id"] == incident["incident_id"]
    assert first["rca"]["root_cause"]["feature"] in named


def test_remediation_ran_behind_the_gate(runs: tuple[dict, dict, Path, str]) -> None:
    first, _, workdir, _ = runs
    launched = [r for r in first["remediation"] if r["launched"]]
    assert launched, first["remediation"]
    assert all(r["status"] == "SUCCESS" for r in launched), launched
    assert "PASSED" in {r["gate"] for r in launched}
    audit = sorted((workdir / ".sentinel" / "audit").glob("*.json"))
    kinds = [json.loads(p.read_text())["event"]["kind"] for p in audit]
    assert "gate_decision" in kinds and "action" in kinds


def test_second_run_launches_nothing_new_for_the_same_incident(runs: tuple[dict, dict, Path, str]) -> None:
    first, second, _, _ = runs
    assert second["incident"]["incident_id"] == first["incident"]["incident_id"]
    assert second["remediation"], "the sensor should still see the incident"
    assert not any(r["launched"] for r in second["remediation"])
    assert {r["run_id"] for r in second["remediation"]} <= {r["run_id"] for r in first["remediation"]}


def test_the_summary_is_short_and_says_what_happened(runs: tuple[dict, dict, Path, str]) -> None:
    first, _, workdir, human = runs
    lines = human.strip().splitlines()
    assert len(lines) <= 20 and not human.lstrip().startswith("{")
    text = "\n".join(lines)
    assert first["incident"]["incident_id"] in text
    for feature in first["injected"]["features"]:
        assert feature in text
    root = first["rca"]["root_cause"]
    assert f"{root['type']} in {root['feature']}, confidence {root['confidence']:.2f}" in text
    launched = next(r for r in first["remediation"] if r["launched"])
    assert f"{launched['job']}: run {launched['run_id'][:8]} SUCCESS, gate {launched['gate']}" in text
    assert "make ui" in text and "drift_report" in text
    assert f"full JSON    {workdir / '.sentinel' / 'demo-summary.json'}" in text


def test_a_failed_remediation_is_flagged(runs: tuple[dict, dict, Path, str]) -> None:
    first, _, _, _ = runs
    assert failed_remediation(first) == []
    broken = copy.deepcopy(first)
    broken["remediation"][0]["status"] = "FAILURE"
    assert failed_remediation(broken) == [broken["remediation"][0]]
    assert "FAILED       1 remediation run(s) did not succeed" in format_summary(broken)

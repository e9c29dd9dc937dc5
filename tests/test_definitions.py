"""The Definitions load, every job resolves, and no remediation job can run an action without the gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetKey, Definitions

from drift_sentinel.errors import UnknownNameError
from jobs.remediation import REMEDIATION_JOB_PREFIX, build_remediation_job
from sentinel_assets.definitions import build_definitions
from tests.support.project import make_project


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    project = make_project(tmp_path_factory.mktemp("defs"), days=2, rows_per_hour=5, scenario="none")
    return build_definitions(project.config, project.settings())


def test_every_job_resolves(defs: Definitions) -> None:
    repo = defs.get_repository_def()
    names = {job.name for job in repo.get_all_jobs()}
    assert {
        "fraud_detector_v1_detect",
        "fraud_detector_v1_baseline",
        "remediate_notify_team",
        "remediate_rollback_model",
    } <= names
    for name in names:
        assert repo.get_job(name).graph is not None


def test_asset_graph_per_model(defs: Definitions) -> None:
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    for name in (
        "current_window",
        "reference_window",
        "reference_profile",
        "drift_report",
        "rca_report",
        "feature_importance",
        "audit_log",
    ):
        assert f"fraud_detector_v1/{name}" in keys
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["fraud_detector_v1", "drift_report"])).parent_keys
    assert {k.path[-1] for k in parents} == {"current_window", "reference_window", "reference_profile"}


def test_blocking_quality_checks_on_windows(defs: Definitions) -> None:
    checks = {}
    for assets_def in defs.resolve_asset_graph().assets_defs:
        for spec in assets_def.check_specs:
            checks[spec.name] = spec.blocking
    assert checks["current_window_passes_data_quality"] is True
    assert checks["reference_window_has_expected_schema"] is True
    assert checks["drift_report_shows_no_drift"] is False


def test_every_remediation_job_starts_with_the_gate(defs: Definitions) -> None:
    """Walk every job: in each remediation job the only root op is safety_gate and every other op needs it."""
    remediation = [
        j for j in defs.get_repository_def().get_all_jobs() if j.name.startswith(REMEDIATION_JOB_PREFIX)
    ]
    assert len(remediation) >= 2
    for job in remediation:
        deps = job.graph.dependency_structure
        nodes = job.graph.nodes
        roots = [n.name for n in nodes if not deps.input_to_upstream_outputs_for_node(n.name)]
        assert roots == ["safety_gate"], f"{job.name}: roots {roots}"
        for node in nodes:
            if node.name == "safety_gate":
                continue
            upstream = {
                o.node_name
                for outs in deps.input_to_upstream_outputs_for_node(node.name).values()
                for o in outs
            }
            assert "safety_gate" in upstream, f"{job.name}: {node.name} does not depend on the gate"
        gate = job.graph.node_named("safety_gate").definition
        assert all(not out.is_required for out in gate.output_defs), (
            "the gate must be able to withhold its plan"
        )


def test_unknown_action_lists_the_registered_ones() -> None:
    with pytest.raises(
        UnknownNameError,
        match="accepted: notify_team, retrain_model, rollback_model, scale_resources, update_thresholds",
    ):
        build_remediation_job("reboot_the_world")


def test_workspace_loads_the_repository_module() -> None:
    text = (Path(__file__).resolve().parents[1] / "workspace.yaml").read_text()
    assert "sentinel_assets.definitions" in text


@pytest.mark.slow
def test_dagster_cli_validates_the_workspace(tmp_path: Path) -> None:
    """What a user runs: ``dagster definitions validate -w workspace.yaml`` on a fresh instance folder."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "SENTINEL_HOME": str(tmp_path / "state")}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "All code locations passed validation" in proc.stderr + proc.stdout

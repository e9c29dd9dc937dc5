"""The action catalog: one entry per action, read by the gate, the sensor, the RCA policy and rollback; the one
generic action op (undo on a failed read-back for every action, common outcome fields for every action); and
the docs' "adding an action" example, run as written against a real instance and MLflow registry."""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterRunStatus

from drift_sentinel.analysis.rca import ACTIONS as RCA_ACTIONS
from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.actions import (
    ACTION_NAMES,
    ACTIONS,
    NOTIFY_ACTIONS,
    ActionSpec,
    register_action,
    severity_of,
)
from drift_sentinel.remediation.scaling import ScaleBounds
from drift_sentinel.remediation.undo import (
    UNDO_KINDS,
    AliasUndo,
    NoUndo,
    ScaleUndo,
    ThresholdsUndo,
    undo_from_dict,
)
from jobs.action_op import RUNNERS
from jobs.remediation import remediation_jobs
from jobs.rollback import undo_resources, undo_steps
from resources.model_registry import ModelRegistryResource
from resources.safety_gate import NOTIFY_ACTIONS as GATE_NOTIFY_ACTIONS

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------- the catalog


def test_every_catalog_entry_has_its_dagster_half_and_a_job() -> None:
    assert set(RUNNERS) == set(ACTIONS)
    assert {job.name for job in remediation_jobs()} == {f"remediate_{name}" for name in ACTIONS}
    for name, runner in RUNNERS.items():
        assert runner.spec is ACTIONS[name]
        assert undo_resources(runner.spec.undo_record) <= set(runner.resources), name


def test_the_rca_policy_can_swap_its_list_for_the_catalog() -> None:
    """``analysis.rca.ACTIONS`` is the same names in the same order as the catalog's ``ACTION_NAMES``."""
    assert ACTION_NAMES == RCA_ACTIONS


@pytest.mark.parametrize(
    ("action", "severity"),
    [
        ("rollback_model", "critical"),
        ("scale_resources", "critical"),
        ("retrain_model", "warning"),
        ("update_thresholds", "warning"),
        ("notify_team", "warning"),
        ("not_an_action", "warning"),
    ],
)
def test_the_sensor_severity_comes_from_the_catalog(action: str, severity: str) -> None:
    assert severity_of(action) == severity


def test_only_notifications_leave_the_model_alone() -> None:
    assert set(NOTIFY_ACTIONS) == {"notify_team"} == set(GATE_NOTIFY_ACTIONS)
    assert "rollback_model" not in NOTIFY_ACTIONS and "nope" not in NOTIFY_ACTIONS
    assert [name for name, spec in ACTIONS.items() if not spec.rollbackable] == ["notify_team"]
    assert ACTIONS["retrain_model"].default_request.cpu == 1.0
    assert ACTIONS["retrain_model"].default_request.memory_gb == 1.0


def test_an_action_is_registered_once_and_declares_a_consistent_undo() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_action(ACTIONS["notify_team"])
    with pytest.raises(ValueError, match="declares its undo record type"):
        ActionSpec(name="x", checks=(), rollbackable=True, description="")
    with pytest.raises(ValueError, match="undo_record is AliasUndo"):
        ActionSpec(name="x", checks=(), rollbackable=False, description="", undo_record=AliasUndo)
    with pytest.raises(ValueError, match="severity 'loud'"):
        ActionSpec(name="x", checks=(), rollbackable=False, description="", severity="loud")


@pytest.mark.parametrize(
    ("record", "as_json"),
    [
        (NoUndo(), {"kind": "none"}),
        (
            AliasUndo(name="m", alias="champion", previous_version=None),
            {"kind": "alias", "name": "m", "alias": "champion", "previous_version": None},
        ),
        (
            ScaleUndo(model_id="m", previous=ScaleBounds(2, 2, 4)),
            {
                "kind": "scale",
                "model_id": "m",
                "previous": {"replicas": 2, "min_replicas": 2, "max_replicas": 4},
            },
        ),
        (
            ThresholdsUndo(model_id="m", previous_version=3),
            {"kind": "thresholds", "model_id": "m", "previous_version": 3},
        ),
    ],
)
def test_undo_records_keep_their_json_shape(record: Any, as_json: dict[str, Any]) -> None:
    assert record.to_dict() == as_json
    assert undo_from_dict(as_json) == record
    assert set(UNDO_KINDS) == {"none", "alias", "scale", "thresholds"}


def test_undo_of_an_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="unknown undo kind 'reboot'; accepted: alias, none"):
        undo_steps({"kind": "reboot"}, {}, "user:test")
    assert undo_steps({"kind": "none"}, {}, "user:test") == []
    assert undo_steps({}, {}, "user:test") == []


# ---------------------------------------------------------------------------------- the generic op, live

from tests.test_remediation_jobs import MODEL, make_world, mlflow_uri, tiny_model  # noqa: E402


class ConcurrentlyPromotingRegistry(ModelRegistryResource):
    """The real registry, with another writer that moves the champion to v3 right after a move to v1 (as a
    second deployment tool might): the rollback's read-back then sees the other writer's version."""

    def set_alias(self, name: str, alias: str, version: str) -> None:
        super().set_alias(name, alias, version)
        if alias == "champion" and version == "1":
            super().set_alias(name, alias, "3")


@pytest.mark.slow
def test_rollback_with_a_failed_read_back_is_undone(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri)
    for seed in (0, 1, 2):
        world.registry.register_sklearn(world.registry_name, tiny_model(seed))
    world.registry.set_alias(world.registry_name, "champion", "2")
    world.resources["model_registry"] = ConcurrentlyPromotingRegistry(tracking_uri=mlflow_uri)
    run = world.run("rollback_model", incident="inc-rb", target_version="1")
    assert run.status is DagsterRunStatus.FAILURE
    (action,) = world.audit("action")
    assert action.event.outcome == "failed"
    assert action.event.details["champion_now"] == "3"
    assert action.event.details["undo"] == {
        "kind": "alias",
        "name": world.registry_name,
        "alias": "champion",
        "previous_version": "2",
    }
    assert [s["status"] for s in action.event.details["undone"]] == ["succeeded"]
    (rollback,) = world.audit("rollback")
    assert rollback.event.outcome == "succeeded" and "expected 1" in rollback.event.details["reason"]
    assert not world.audit("verification"), "a failed action is not verified"
    assert world.registry.champion(world.registry_name).version == "2"
    history = [r for r in world.audit() if r.event.kind in ("action", "rollback")]
    assert [r.event.kind for r in history] == ["rollback", "action"]


@pytest.mark.slow
def test_retrain_outcome_carries_the_common_fields(tmp_path: Path, mlflow_uri: str) -> None:
    from tests.test_remediation_jobs import report_drift_history

    world = make_world(tmp_path, mlflow_uri, safety={"cooldown_period": "0s", "max_retries": 5})
    run = world.run("retrain_model", incident="inc-0", dry_run=True)  # no windows yet: fails before training
    assert run.status is DagsterRunStatus.FAILURE and not world.audit("action")
    _labelled_log_and_weak_champion(world)
    report_drift_history(
        world, [("2026-10-01", 0.1, None), ("2026-10-02", 0.1, None), ("2026-10-03", 0.4, "inc-t")]
    )
    dry = world.run("retrain_model", incident="inc-1", dry_run=True, retrain_kind="logistic_regression")
    assert dry.status is DagsterRunStatus.SUCCESS
    (rehearsal,) = world.audit("action")
    details = rehearsal.event.details
    assert rehearsal.event.outcome == "dry_run"
    assert (details["dry_run"], details["changed"], details["undo"]) == (True, False, {"kind": "none"})
    assert details["challenger_version"] is None and details["decision"]["verdict"] == "PASSED"
    assert details["train_rows"] + details["holdout_rows"] == 2400 and "acted_at" in details
    assert world.registry.champion(world.registry_name).version == "1"

    run = world.run("retrain_model", incident="inc-2", retrain_kind="logistic_regression")
    assert run.status is DagsterRunStatus.SUCCESS
    (_, promoted) = world.audit("action")
    details = promoted.event.details
    assert promoted.event.outcome == "promoted"
    assert (details["dry_run"], details["changed"]) == (False, True)
    assert details["undo"] == {
        "kind": "alias",
        "name": world.registry_name,
        "alias": "champion",
        "previous_version": "1",
    }
    assert details["champion_now"] == details["challenger_version"] == "2"
    assert datetime.fromisoformat(details["acted_at"]) > datetime.fromisoformat(
        rehearsal.event.details["acted_at"]
    )


def _labelled_log_and_weak_champion(world: Any) -> None:
    """Three labelled windows in the prediction log and a champion trained on shuffled labels."""
    import numpy as np
    import pandas as pd

    from drift_sentinel.sample_data import training_frame
    from drift_sentinel.training import train_model

    rng = np.random.default_rng(5)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    frame = training_frame(rng, start, rows=2400)
    frame["timestamp"] = start + pd.to_timedelta(rng.uniform(0, 3 * 86400, len(frame)), unit="s")
    frame.to_parquet(world.root / "log" / "predictions.parquet", index=False)
    noise = frame.copy()
    noise["label"] = np.random.default_rng(1).permutation(noise["label"].to_numpy())
    spec = world.resources["catalog"].model(MODEL)
    weak = train_model(noise, features=spec.feature_kinds, kind="logistic_regression")
    world.registry.register_sklearn(world.registry_name, weak, alias="champion")


# ----------------------------------------------------------------------------- adding an action (docs)

ADD_AN_ACTION = """
import sys
from pathlib import Path
import jobs.actions
exec(compile(Path(sys.argv[4]).read_text(), "docs/remediation.md", "exec"))
from tests.test_remediation_jobs import make_world
from jobs.remediation import remediation_jobs
assert "remediate_promote_challenger" in {job.name for job in remediation_jobs()}
world = make_world(Path(sys.argv[1]), sys.argv[2], name=sys.argv[3])
run = world.run("promote_challenger", incident="inc-p")
print(run.status.value, world.registry.champion(world.registry_name).version,
      [r.event.outcome for r in world.audit("action")], [r.event.outcome for r in world.audit("verification")])
"""


@pytest.mark.slow
def test_the_docs_example_adds_an_action_in_one_file(tmp_path: Path, mlflow_uri: str) -> None:
    text = (REPO / "docs" / "remediation.md").read_text()
    block = re.search(r"adding-an-action: start.*?```python\n(.*?)```", text, re.S)
    assert block is not None, "the example block in docs/remediation.md"
    (tmp_path / "example.py").write_text(block.group(1))
    world = make_world(tmp_path, mlflow_uri)
    world.registry.register_sklearn(world.registry_name, tiny_model(0), alias="champion")
    world.registry.register_sklearn(world.registry_name, tiny_model(1), alias="challenger")
    args = [str(tmp_path), mlflow_uri, world.registry_name, str(tmp_path / "example.py")]
    proc = subprocess.run(
        [sys.executable, "-c", ADD_AN_ACTION, *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # gate PASSED (version check), champion moved to the challenger, verification had no serving rows
    assert proc.stdout.strip().splitlines()[-1] == "SUCCESS 2 ['succeeded'] ['INCONCLUSIVE']"


# ----------------------------------------------------------------------------- reconcile: is the worker alive


def test_worker_liveness_is_checked_on_this_host_only() -> None:
    import os
    import socket

    from jobs.reconcile import worker_alive, worker_identity

    me = worker_identity()
    assert me.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    assert worker_alive(me) is True
    host, pid, start = me.split(":")
    assert worker_alive(f"{host}:{pid}:{int(start) + 1}") is False  # the pid was reused by another process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert worker_alive(f"{host}:{child.pid}:1") is False  # gone
    assert worker_alive(f"another-host-{host}:{pid}:{start}") is None  # cannot tell from here

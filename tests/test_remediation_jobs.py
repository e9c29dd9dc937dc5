"""The remediation jobs against a real Dagster instance (SQLite in a temp folder) and MLflow on a SQLite file.

Each test builds its own small world (a models file, an instance, a registry name, an audit folder, a scaler
record, a threshold store), runs the real jobs from :func:`jobs.remediation.build_remediation_job`, and checks
the gate's verdict and reasons, what changed in the live systems, and what the audit trail recorded.
Drift-report history for the threshold replay is stored the way the IO manager stores it (a JSON file whose
path is on the materialization) and reported to the instance as real materializations.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    build_sensor_context,
)
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run
from sklearn.linear_model import LogisticRegression

from drift_sentinel.audit import AuditRecord
from drift_sentinel.sample_data import training_frame
from jobs.remediation import build_remediation_job
from jobs.thresholds import ThresholdStoreResource
from resources.audit_trail import AuditTrailResource
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from resources.notifier import NotifierResource
from resources.safety_gate import ACTION_TAG, GATE_TAG, INCIDENT_TAG, MODEL_TAG, SafetyGateResource
from resources.scaler import RecordingScaler
from sensors.remediation import build_remediation_sensor
from tests.support.fixtures import http_sink
from tests.support.servers import HttpSink

pytestmark = pytest.mark.slow  # each run of a job takes a second or more on a shared 2-core machine

REPO = Path(__file__).resolve().parents[1]
MODEL = "fraud-detector-v1"
PREFIX = "fraud_detector_v1"
ROUTING_KEY = "R0UT1NGKEY"


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow SQLite file for the module (its schema takes seconds to create); tests use their own names."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@dataclass
class World:
    """One model's world: its models file, instance folder, registry name and the resources over them."""

    root: Path
    instance: DagsterInstance
    registry_name: str
    resources: dict[str, Any]

    @property
    def registry(self) -> ModelRegistryResource:
        return self.resources["model_registry"]

    def run(
        self, action: str, *, incident: str = "inc-1", raise_on_error: bool = False, **config: Any
    ) -> Any:
        """Execute ``remediate_<action>`` as the sensor would launch it; return the run's record."""
        job = build_remediation_job(action)
        result = job.execute_in_process(
            run_config={"ops": {"safety_gate": {"config": {"model_id": MODEL, **config}}}},
            instance=self.instance,
            resources=self.resources,
            tags={
                MODEL_TAG: MODEL,
                INCIDENT_TAG: incident,
                ACTION_TAG: action,
                "sentinel/actor": "user:test",
            },
            raise_on_error=raise_on_error,
        )
        return self.instance.get_run_by_id(result.run_id)

    def audit(self, kind: str | None = None) -> list[AuditRecord]:
        records = list(self.resources["audit_trail"].trail.records())
        return [r for r in records if kind is None or r.event.kind == kind]

    def scale_records(self) -> list[dict[str, Any]]:
        path = Path(self.resources["scaler"].path)
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def make_world(
    tmp_path: Path,
    mlflow_uri: str,
    *,
    sink: HttpSink | None = None,
    safety: dict[str, Any] | None = None,
    window: tuple[str, str] = ("2026-10-01", "2026-10-04"),
    name: str | None = None,
) -> World:
    """A new world in ``tmp_path`` (or, given the ``name`` of an existing one, the same world reopened)."""
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    name = name or f"fraud-{uuid.uuid4().hex[:8]}"
    model["registry"] = {"name": name, "champion_alias": "champion"}
    model["window"].update(start=window[0], end=window[1])
    model["data"] = {
        "prediction_log": str(tmp_path / "log"),
        "training_snapshot": str(tmp_path / "training.parquet"),
    }
    model["safety"] = {**model["safety"], **(safety or {})}
    config_file = tmp_path / "sentinel.yaml"
    config_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / "log").mkdir(exist_ok=True)
    past = pd.DataFrame(
        {"timestamp": [pd.Timestamp("2020-01-01", tz="UTC")], "error": [0], "latency_ms": [1.0]}
    )
    if not (tmp_path / "log" / "archive.parquet").exists():
        past.to_parquet(tmp_path / "log" / "archive.parquet", index=False)  # a log with no rows near now
    notifier = NotifierResource(
        outbox_path=str(tmp_path / "outbox.jsonl"),
        pagerduty_routing_key=ROUTING_KEY if sink else None,
        pagerduty_url=f"{sink.url}/v2/enqueue" if sink else "http://127.0.0.1:9/v2/enqueue",
        max_attempts=1,
        backoff_seconds=0.0,
    )
    resources = {
        "catalog": ModelCatalogResource(config_path=str(config_file)),
        "safety_gate": SafetyGateResource(),
        "model_registry": ModelRegistryResource(tracking_uri=mlflow_uri),
        "audit_trail": AuditTrailResource(uri=str(tmp_path / "audit")),
        "notifier": notifier,
        "scaler": RecordingScaler(path=str(tmp_path / "scaling.jsonl"), initial_replicas=2),
        "threshold_store": ThresholdStoreResource(path=str(tmp_path / "thresholds")),
    }
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    instance = DagsterInstance.local_temp(
        str(tmp_path / "dagster_home"), overrides={"telemetry": {"enabled": False}}
    )
    return World(tmp_path, instance, name, resources)


def tiny_model(seed: int) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 2))
    return LogisticRegression().fit(x, (x[:, 0] + 0.1 * seed > 0).astype(int))


def write_serving_log(world: World, *, error_before: float, error_after: float, seed: int = 3) -> None:
    """Serving rows every 10 s for 50 min before and after now, with the given error rates (a simulated service)."""
    rng = np.random.default_rng(seed)
    now = pd.Timestamp.now(tz="UTC")
    before = now - pd.to_timedelta(np.arange(300, 0, -1) * 10, unit="s")
    after = now + pd.Timedelta(seconds=30) + pd.to_timedelta(np.arange(300) * 10, unit="s")
    frame = pd.DataFrame(
        {
            "timestamp": before.append(after),
            "error": np.r_[rng.uniform(size=300) < error_before, rng.uniform(size=300) < error_after].astype(
                int
            ),
            "latency_ms": rng.normal(40, 5, size=600),
        }
    )
    frame.to_parquet(world.root / "log" / "serving.parquet", index=False)


def report_drift_history(world: World, psi_scores: list[tuple[str, float, str | None]]) -> None:
    """Store drift_report values (the engine's JSON shape) and report them as materializations."""
    folder = world.root / "storage" / PREFIX / "drift_report"
    folder.mkdir(parents=True, exist_ok=True)
    for partition, psi, incident in psi_scores:
        report = {
            "config": {"quorum": 1},
            "features": {
                "amount": {"results": {"psi": {"effect_size": psi, "p_adjusted": 0.001, "alpha": 0.05}}}
            },
            "incident_id": incident or "",
            "window": partition,
        }
        path = folder / f"{partition}.json"
        path.write_text(json.dumps(report))
        world.instance.report_runless_asset_event(
            AssetMaterialization(
                asset_key=AssetKey([PREFIX, "drift_report"]),
                partition=partition,
                metadata={"path": str(path), "incident_id": incident or ""},
            )
        )


def gate(world: World, run: Any) -> tuple[str, list[str]]:
    """The gate's verdict (run tag) and blockers (audit trail) for ``run``."""
    decisions = [r for r in world.audit("gate_decision") if r.event.run_id == run.run_id]
    assert len(decisions) == 1
    return run.tags[GATE_TAG], decisions[0].event.details["decision"]["blockers"]


# ------------------------------------------------------------------------------------------- the gate


def test_cooldown_blocks_a_second_action_on_the_model(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri)
    first = world.run("scale_resources", incident="inc-a")
    assert first.status is DagsterRunStatus.SUCCESS and gate(world, first)[0] == "PASSED"
    assert [r["target"]["replicas"] for r in world.scale_records()] == [3]
    second = world.run("scale_resources", incident="inc-b")
    verdict, blockers = gate(world, second)
    assert verdict == "FAILED"
    assert (
        len(blockers) == 1
        and blockers[0].startswith("cooldown: last action")
        and blockers[0].endswith("< 5m")
    )
    assert len(world.scale_records()) == 1, "the blocked run must not scale"


def test_retry_budget_blocks_the_same_incident(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri, safety={"max_retries": 1, "cooldown_period": "0s"})
    assert gate(world, world.run("scale_resources", incident="inc-a"))[0] == "PASSED"
    verdict, blockers = gate(world, world.run("scale_resources", incident="inc-a"))
    assert (verdict, blockers) == (
        "FAILED",
        ["retry_budget: 1 scale_resources attempt(s) for incident inc-a >= max 1"],
    )
    assert gate(world, world.run("scale_resources", incident="inc-b"))[0] == "PASSED", (
        "another incident has budget"
    )


def test_resource_limits_and_headroom_block_with_their_reasons(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(
        tmp_path, mlflow_uri, safety={"resource_limits": {"cpu": 4, "memory_gb": 1e6, "max_replicas": 10}}
    )
    verdict, blockers = gate(world, world.run("scale_resources", incident="inc-a", cpu=64.0))
    assert verdict == "FAILED" and blockers[0] == "resource_limits: cpu 64.5 > cap 4"
    assert all(b.startswith("headroom: requested cpu 64.5 > available") for b in blockers[1:])
    verdict, blockers = gate(world, world.run("scale_resources", incident="inc-b", memory_gb=5e5))
    assert verdict == "FAILED" and len(blockers) == 1
    assert blockers[0].startswith("headroom: requested memory 500001GB > available ")
    assert world.scale_records() == []


def test_rollback_to_a_missing_version_is_blocked_and_audited(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri)
    for seed in (0, 1):
        world.registry.register_sklearn(world.registry_name, tiny_model(seed), alias="champion")
    run = world.run("rollback_model", target_version="99")
    verdict, blockers = gate(world, run)
    assert verdict == "FAILED"
    assert blockers == [f"version: v99 of {MODEL} does not exist"]
    assert world.registry.champion(world.registry_name).version == "2"
    assert not world.audit("action"), "the action must not run"
    observations = world.instance.fetch_observations(AssetKey([PREFIX, "audit_log"]), limit=10).records
    assert any(o.asset_observation.metadata["outcome"].value == "FAILED" for o in observations)


def test_threshold_change_applies_only_after_a_passing_replay(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri, safety={"cooldown_period": "0s"})
    history = [
        (f"2026-10-0{d}", psi, inc) for d, psi, inc in [(1, 0.05, None), (2, 0.12, None), (3, 0.4, "inc-9")]
    ]
    history += [(f"2026-09-2{d}", 0.06, None) for d in range(5)]
    report_drift_history(world, history)
    store = world.resources["threshold_store"].store
    # 0.5 would silence the window of confirmed incident inc-9: the replay fails and nothing is applied
    run = world.run("update_thresholds", incident="inc-a", proposed_thresholds={"*": {"psi": 0.5}})
    verdict, blockers = gate(world, run)
    assert verdict == "FAILED"
    assert blockers == ["dry_run: replay over 8 windows would miss 1 confirmed incident(s): inc-9"]
    assert store.current(MODEL) is None
    # 0.3 still catches inc-9 and drops nothing else that alerted: applied as v2 over the baseline v1
    run = world.run("update_thresholds", incident="inc-b", proposed_thresholds={"*": {"psi": 0.3}})
    assert gate(world, run) == ("PASSED", [])
    assert run.status is DagsterRunStatus.SUCCESS
    versions = store.history(MODEL)
    assert [v.version for v in versions] == [1, 2]
    assert dict(versions[1].thresholds["*"]) == {"psi": 0.3}
    assert versions[1].replay["verdict"] == "PASSED" and versions[1].replay["windows"] == 8


def test_dry_run_decides_and_records_but_changes_nothing(
    tmp_path: Path, mlflow_uri: str, monkeypatch
) -> None:
    world = make_world(tmp_path, mlflow_uri)
    monkeypatch.setenv("REMEDIATION_DRY_RUN", "true")
    run = world.run("scale_resources", incident="inc-a")
    assert gate(world, run)[0] == "PASSED" and run.status is DagsterRunStatus.SUCCESS
    assert world.scale_records() == []
    assert [r.event.outcome for r in world.audit("action")] == ["dry_run"]
    assert [r.event.outcome for r in world.audit("verification")] == ["skipped"]


# ----------------------------------------------------------------------------------------- concurrency


def test_two_concurrent_requests_for_one_model_run_one(tmp_path: Path, mlflow_uri: str) -> None:
    """Both runs exist before either gate decides (as when two sensors or a user and a sensor ask at once).

    Both are in progress (NOT_STARTED) when the later one's gate decides. Executed latest-first, the
    later-created run must still yield (the order is the database's, not execution order), and the earlier
    one then acts."""
    world = make_world(tmp_path, mlflow_uri, safety={"cooldown_period": "0s", "max_retries": 5})
    job = Definitions(
        jobs=[build_remediation_job("scale_resources")], resources=world.resources
    ).resolve_job_def("remediate_scale_resources")

    def create(incident: str) -> Any:
        return world.instance.create_run_for_job(
            job,
            run_config={
                "ops": {"safety_gate": {"config": {"model_id": MODEL}}},
                "execution": {"config": {"in_process": {}}},
            },
            tags={MODEL_TAG: MODEL, INCIDENT_TAG: incident, ACTION_TAG: "scale_resources"},
        )

    first, second = create("inc-a"), create("inc-b")
    execute_run(InMemoryJob(job), second, world.instance)
    execute_run(InMemoryJob(job), first, world.instance)
    verdict, blockers = gate(world, world.instance.get_run_by_id(second.run_id))
    assert verdict == "FAILED" and blockers == [f"concurrency: 1 other remediation(s) running on {MODEL} > 0"]
    assert gate(world, world.instance.get_run_by_id(first.run_id))[0] == "PASSED"
    assert len(world.scale_records()) == 1


def test_second_sensor_tick_for_the_same_incident_launches_nothing(tmp_path: Path, mlflow_uri: str) -> None:
    world = make_world(tmp_path, mlflow_uri)
    spec = world.resources["catalog"].model(MODEL)
    jobs = [build_remediation_job(a) for a in ("notify_team", "scale_resources")]
    sensor = build_remediation_sensor(spec, jobs)
    defs = Definitions(jobs=jobs, sensors=[sensor], resources=world.resources)

    def materialize_rca() -> None:
        world.instance.report_runless_asset_event(
            AssetMaterialization(
                asset_key=AssetKey([PREFIX, "rca_report"]),
                partition="2026-10-03",
                metadata={"incident_id": "inc-7", "recommended_action": "scale_resources", "confidence": 0.8},
            )
        )

    def tick(cursor: str | None) -> Any:
        context = build_sensor_context(
            instance=world.instance, cursor=cursor, definitions=defs, sensor_name=sensor.name
        )
        return sensor.evaluate_tick(context)

    materialize_rca()
    first = tick(None)
    keys = [r.run_key for r in first.run_requests]
    assert keys == ["inc-7:notify_team", "inc-7:scale_resources"]
    for request in first.run_requests:  # launch as the daemon does: the run key becomes a tag
        defs.resolve_job_def(request.job_name).execute_in_process(
            run_config=request.run_config,
            instance=world.instance,
            tags={**request.tags, "dagster/run_key": request.run_key},
        )
    assert len(world.scale_records()) == 1
    again = tick(first.cursor)
    assert not again.run_requests and "no new" in again.skip_message
    materialize_rca()  # the same incident's report re-materialized (a re-run or a backfill)
    third = tick(first.cursor)
    assert [r.run_key for r in third.run_requests] == keys
    launched = {r.tags.get("dagster/run_key") for r in world.instance.get_runs()}
    assert set(keys) <= launched, "the daemon skips a run key it already launched"
    # and even a request launched by hand for the same incident is stopped by the gate
    blocked = world.run("scale_resources", incident="inc-7")
    assert gate(world, blocked)[0] == "FAILED" and len(world.scale_records()) == 1


# ------------------------------------------------------------------------------- verification, retrain


@pytest.mark.integration
def test_action_that_raises_the_error_rate_is_rolled_back_and_escalated(
    tmp_path: Path, mlflow_uri: str, http_sink: HttpSink
) -> None:
    world = make_world(tmp_path, mlflow_uri, sink=http_sink)
    for seed in (0, 1):
        world.registry.register_sklearn(world.registry_name, tiny_model(seed), alias="champion")
    write_serving_log(world, error_before=0.02, error_after=0.15)
    run = world.run("rollback_model", incident="inc-r")
    assert run.status is DagsterRunStatus.FAILURE
    assert gate(world, run)[0] == "PASSED"
    assert [r.event.outcome for r in world.audit("action")] == ["succeeded"]  # v2 -> v1 happened ...
    assert world.registry.champion(world.registry_name).version == "2"  # ... and was undone
    (verification,) = world.audit("verification")
    assert verification.event.outcome == "FAILED"
    assert verification.event.details["breaches"][0]["metric"] == "error_rate"
    (rollback,) = world.audit("rollback")
    assert rollback.event.outcome == "succeeded"
    assert [s["status"] for s in rollback.event.details["steps"]] == ["succeeded"]
    (page,) = [r.json for r in http_sink.requests if r.path == "/v2/enqueue"]
    assert page["event_action"] == "trigger" and page["dedup_key"] == "inc-r"
    assert page["routing_key"] == ROUTING_KEY and page["payload"]["severity"] == "critical"
    assert "rolled back" in page["payload"]["summary"]
    assert [r.event.outcome for r in world.audit("escalation")] == ["sent"]
    assert (
        run.tags.get("sentinel/escalated") == "true"
        or world.instance.get_run_by_id(run.run_id).tags["sentinel/escalated"] == "true"
    )


def test_retrain_promotes_a_better_challenger_and_keeps_it_when_serving_holds(
    tmp_path: Path, mlflow_uri: str
) -> None:
    world = make_world(tmp_path, mlflow_uri)
    rng = np.random.default_rng(5)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    frame = training_frame(rng, start, rows=2400)
    frame["timestamp"] = start + pd.to_timedelta(rng.uniform(0, 3 * 86400, len(frame)), unit="s")  # 3 windows
    frame.to_parquet(world.root / "log" / "predictions.parquet", index=False)
    noise = frame.copy()
    noise["label"] = np.random.default_rng(1).permutation(noise["label"].to_numpy())
    from drift_sentinel.training import train_model

    spec = world.resources["catalog"].model(MODEL)
    weak = train_model(noise, features=spec.feature_kinds, kind="logistic_regression")
    world.registry.register_sklearn(world.registry_name, weak, alias="champion")
    report_drift_history(
        world, [("2026-10-01", 0.1, None), ("2026-10-02", 0.1, None), ("2026-10-03", 0.4, "inc-t")]
    )
    run = world.run("retrain_model", incident="inc-t", retrain_kind="logistic_regression")
    assert run.status is DagsterRunStatus.SUCCESS, world.audit()
    (action,) = world.audit("action")
    assert action.event.outcome == "promoted"
    assert action.event.details["train_rows"] + action.event.details["holdout_rows"] == 2400
    assert world.registry.champion(world.registry_name).version == "2"
    assert world.registry.champion(world.registry_name, "challenger").version == "2"
    # no serving rows around now: verification cannot tell, so the change stays (INCONCLUSIVE never rolls back)
    assert [r.event.outcome for r in world.audit("verification")] == ["INCONCLUSIVE"]


TERMINATED_CHILD = """
import sys
from pathlib import Path
from tests.test_remediation_jobs import make_world
world = make_world(Path(sys.argv[1]), sys.argv[2], name=sys.argv[3])
world.run("rollback_model", incident="inc-k", verify_delay_seconds=300)
"""


def test_terminating_a_run_during_verification_leaves_the_registry_consistent(
    tmp_path: Path, mlflow_uri: str
) -> None:
    """The run is executed by another process, interrupted (SIGINT, as ``dagster`` delivers a termination to
    an in-process run) while verification waits for serving data: the unverified change is undone."""
    world = make_world(tmp_path, mlflow_uri)
    for seed in (0, 1):
        world.registry.register_sklearn(world.registry_name, tiny_model(seed), alias="champion")
    child = subprocess.Popen(
        [sys.executable, "-c", TERMINATED_CHILD, str(tmp_path), mlflow_uri, world.registry_name],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "child.log", "wb"),  # noqa: SIM115 (closed with the process)
    )
    try:
        deadline = time.monotonic() + 120
        while not any(r.event.kind == "action" for r in world.audit()):
            assert child.poll() is None and time.monotonic() < deadline, (tmp_path / "child.log").read_text()[
                -3000:
            ]
            time.sleep(0.2)
        assert world.registry.champion(world.registry_name).version == "1"  # the action took effect ...
        time.sleep(1.0)  # ... and verification is waiting
        child.send_signal(signal.SIGINT)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert world.registry.champion(world.registry_name).version == "2"  # ... and was undone
    (rollback,) = world.audit("rollback")
    assert rollback.event.outcome == "succeeded"
    assert "interrupted" in rollback.event.details["reason"]
    (run,) = world.instance.get_runs()
    assert run.status in (DagsterRunStatus.CANCELED, DagsterRunStatus.FAILURE)

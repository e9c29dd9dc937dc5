"""Every endpoint of the service API through the Python client, against a real uvicorn server, a real Dagster
instance (assets materialized on generated data) and a real Dagster webserver that launches remediation runs:
one the gate passes, one it refuses (cooldown), and one aborted while verification waits (its undo path runs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from dagster import AssetKey, DagsterInstance

from drift_sentinel.audit import open_trail
from drift_sentinel.client import BadRequestError, ConflictError, NotFoundError, SentinelClient
from sentinel_assets.definitions import build_definitions
from sentinel_assets.demo import bootstrap_registry
from tests.support.api import (
    Credentials,
    api_server,
    dagster_webserver,
    make_credentials,
    project_env,
    wait_for_code_location,
    write_instance_yaml,
)
from tests.support.project import Project, make_project

pytestmark = [pytest.mark.slow, pytest.mark.integration]

MODEL, PREFIX = "fraud-detector-v1", "fraud_detector_v1"


@dataclass
class World:
    project: Project
    instance: DagsterInstance
    creds: Credentials
    url: str
    clean_day: str
    drift_day: str
    last_day: str

    def client(self, role: str = "operator", **kwargs: object) -> SentinelClient:
        return SentinelClient(self.url, token=self.creds.token(role), **kwargs)  # type: ignore[arg-type]

    def drift_metadata(self, day: str) -> dict:
        record = self.instance.fetch_materializations(AssetKey([PREFIX, "drift_report"]), limit=100).records
        match = next(r for r in record if r.partition_key == day)
        return {k: v.value for k, v in match.asset_materialization.metadata.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("api-endpoints")
    project = make_project(root, days=8, rows_per_hour=40)
    env = project_env(root, project.config_file)
    home = Path(env["DAGSTER_HOME"])
    write_instance_yaml(home)
    creds = make_credentials(root / "keys")
    # the webserver loads its code location while the assets materialize
    with dagster_webserver(root, env) as graphql_url, pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        defs = build_definitions(project.config, project.settings())
        instance = DagsterInstance.from_config(str(home))
        spec = project.config.models[0]
        snapshot = project.config.resolve(spec.data.training_snapshot or "")
        bootstrap_registry(defs.resources["model_registry"], spec, snapshot)
        assert defs.resolve_job_def(f"{PREFIX}_baseline").execute_in_process(instance=instance).success
        assert project.data.start is not None and project.data.drift_start is not None
        clean = (project.data.start + timedelta(days=2)).date().isoformat()
        drift = (project.data.drift_start + timedelta(days=1)).date().isoformat()
        last = (project.data.drift_start + timedelta(days=2)).date().isoformat()
        for day in (clean, drift, last):
            job = defs.resolve_job_def(f"{PREFIX}_detect")
            assert job.execute_in_process(partition_key=day, instance=instance).success
        assert defs.resolve_job_def(f"{PREFIX}_patterns").execute_in_process(instance=instance).success
        wait_for_code_location(graphql_url, root / "webserver.log")
        with api_server(root, env, creds, graphql_url=graphql_url) as url:
            yield World(project, instance, creds, url, clean, drift, last)


def test_models_and_model_health(world: World) -> None:
    (model,) = world.client("viewer").models.list().models
    assert model.id == MODEL and model.latest_window == world.last_day and model.drift_detected is True
    assert model.champion_version == "2"  # bootstrap_registry registered two versions, the second is champion
    health = world.client("viewer").monitor.health(MODEL)
    stored = world.drift_metadata(world.last_day)
    assert health.status == "drifting" and health.latest_window == world.last_day
    assert health.windows_checked == 3 and health.drifted_windows == 2
    assert health.drift_score == pytest.approx(stored["drift_score"])
    assert health.open_incident == stored["incident_id"] != ""
    assert set(world.project.data.drifted_features) <= set(health.affected_features)
    assert health.error_rate is not None and 0.0 <= health.error_rate < 0.5


def test_incidents_and_rca(world: World) -> None:
    client = world.client("viewer")
    (incident,) = client.monitor.incidents().incidents
    assert incident.status == "open" and incident.windows == 2  # the drift day and the next: one incident
    assert (incident.opened_window, incident.last_window) == (world.drift_day, world.last_day)
    assert incident.incident_id == world.drift_metadata(world.drift_day)["incident_id"]
    assert client.monitor.incidents(status="resolved").incidents == []
    assert len(client.monitor.incidents(status="all", model_id=MODEL).incidents) == 1
    rca = client.analysis.get_rca(incident.incident_id)
    assert rca.window == world.last_day and rca.model_id == MODEL
    assert rca.root_cause == incident.root_cause and rca.report["incident_id"] == incident.incident_id
    assert 0.0 <= (rca.confidence or 0.0) <= 1.0
    with pytest.raises(NotFoundError):
        client.analysis.get_rca("inc-does-not-exist")
    patterns = client.analysis.patterns()
    assert set(patterns.patterns) == {MODEL}


def test_correlate_finds_the_lagged_cause(world: World) -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=120)
    series = {"a": a, "b": np.r_[0, a[:-1]] + rng.normal(scale=0.2, size=120), "c": rng.normal(size=120)}
    result = world.client("viewer").analysis.correlate({k: v.tolist() for k, v in series.items()}, maxlag=3)
    assert result.significant == ["a x->y b (lag 1)"]
    (ab,) = [p for p in result.pairs if (p["x"], p["y"]) == ("a", "b")]
    assert (ab["direction"], ab["lag"]) == ("x->y", 1) and ab["pearson_r"] < 0.3 < ab["lagged_r"]
    assert result.n_tests == 6


def test_drift_check_of_a_stored_window_matches_the_materialized_report_and_is_audited(world: World) -> None:
    result = world.client("operator").monitor.detect_drift(MODEL, window=world.drift_day)
    stored = world.drift_metadata(world.drift_day)
    assert result.report.drift_detected is True
    assert result.report.drift_score == pytest.approx(stored["drift_score"])
    assert {a["name"] for a in result.report.affected_features} == set(
        stored["affected_features"].split(", ")
    )
    assert result.actor == "api:operator-user"
    trail = open_trail(world.project.settings().audit_uri)
    record = next(r for r in trail.records() if r.seq == result.audit_seq)
    assert (record.event.kind, record.event.actor, record.event.outcome) == (
        "drift_check",
        "api:operator-user",
        result.report.verdict,
    )
    assert record.event.details["check_id"] == result.check_id
    observations = world.instance.fetch_observations(AssetKey([PREFIX, "audit_log"]), limit=20).records
    checks = [o.asset_observation.metadata for o in observations if o.asset_observation]
    assert any(
        m["check_id"].value == result.check_id and m["actor"].value == "api:operator-user" for m in checks
    )


def test_drift_check_of_files_with_features_and_threshold(world: World) -> None:
    data = world.project.data
    assert data.drift_start is not None
    after = (data.drift_start + timedelta(days=1)).date().isoformat()
    drifted = [p for p in data.prediction_files if p.stem >= after]
    feature = data.drifted_features[0]
    client = world.client("operator")
    result = client.monitor.detect_drift(
        MODEL,
        reference_data=str(data.training_path),
        current_data=str(drifted[0]),
        features=[feature],
        threshold=0.01,
    )
    assert set(result.report.features) == {feature} and result.report.drift_detected is True
    assert result.report.features[feature]["results"]["ks"]["alpha"] is not None
    clean = [p for p in data.prediction_files if p not in drifted][0]
    quiet = client.monitor.detect_drift(
        MODEL, current_data=str(clean), features=[feature]
    )  # stored reference
    assert quiet.report.drift_detected is False
    with pytest.raises(BadRequestError, match="not a feature of model"):
        client.monitor.detect_drift(MODEL, current_data=str(clean), features=["no_such_feature"])


def test_remediation_passes_then_the_gate_refuses_a_repeat(world: World) -> None:
    client = world.client("operator")
    (incident,) = client.monitor.incidents().incidents
    accepted = client.remediation.execute(incident.incident_id, "notify_team", safety_check=True)
    assert accepted.actor == "api:operator-user" and accepted.status_url.endswith(accepted.run_id)
    first = client.remediation.wait(accepted.run_id, timeout=240)
    assert first.status == "SUCCESS" and first.gate == "PASSED", first
    assert first.actor == "api:operator-user" and first.incident_id == incident.incident_id
    assert [e.kind for e in first.events][:2] == ["gate_decision", "action"]
    assert incident.incident_id in world.project.settings().outbox_path.read_text()

    again = client.remediation.execute(incident.incident_id, "notify_team", safety_check=True)
    second = client.remediation.wait(again.run_id, timeout=240)
    assert second.status == "SUCCESS" and second.gate == "FAILED" and second.outcome == "refused"
    assert any(reason.startswith("cooldown") for reason in second.gate_reasons), second.gate_reasons
    assert [e.kind for e in second.events] == ["gate_decision"]
    listed = client.monitor.incidents().incidents[0].remediation_runs
    assert {accepted.run_id, again.run_id} <= set(listed)
    with pytest.raises(ConflictError):
        client.remediation.abort(accepted.run_id)


def test_abort_while_verification_waits_runs_the_undo_path(world: World) -> None:
    client = world.client("operator")
    (incident,) = client.monitor.incidents().incidents
    accepted = client.remediation.execute(
        incident.incident_id, "scale_resources", safety_check=True, verify_delay_seconds=600, replicas=3
    )
    deadline = time.monotonic() + 240
    while "action" not in [e.kind for e in client.remediation.status(accepted.run_id).events]:
        assert time.monotonic() < deadline, client.remediation.status(accepted.run_id)
        time.sleep(1.0)
    time.sleep(1.0)  # verification is waiting now
    assert client.remediation.abort(accepted.run_id).status == "CANCELING"
    final = client.remediation.wait(accepted.run_id, timeout=180)
    assert final.status in ("CANCELED", "FAILURE"), final
    kinds = [e.kind for e in final.events]
    assert kinds[0] == "gate_decision" and "rollback" in kinds, kinds
    rollback = next(e for e in final.events if e.kind == "rollback")
    assert rollback.outcome == "succeeded"
    trail = open_trail(world.project.settings().audit_uri)
    aborts = [r.event for r in trail.records() if r.event.kind == "abort_requested"]
    assert aborts and aborts[-1].run_id == accepted.run_id and aborts[-1].actor == "api:operator-user"


def test_service_health_and_metrics(world: World) -> None:
    client = world.client("viewer")
    health = client.health()
    assert health["components"]["database"] == "connected"
    metrics = client.metrics()
    assert 'drift_sentinel_api_requests_total{method="GET",route="/api/v1/models",status="200"}' in metrics

"""The run-failure and run-canceled escalation sensors against real runs in a real (SQLite) Dagster instance.

PagerDuty is a loopback HTTP sink (``tests.support.fixtures.http_sink``) standing in for the Events API v2.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterRunStatus,
    Definitions,
    SkipReason,
    build_run_status_sensor_context,
)

from jobs.remediation import build_remediation_job
from resources.safety_gate import ACTION_TAG, INCIDENT_TAG, MODEL_TAG
from sensors.escalation import build_escalation_sensors
from tests.support.fixtures import http_sink
from tests.support.servers import HttpSink
from tests.test_remediation_jobs import MODEL, PREFIX, ROUTING_KEY, make_world

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _context(world, sensor, run, event_type):
    (entry,) = world.instance.all_logs(run.run_id, of_type=event_type)
    context = build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=entry.dagster_event,
        dagster_instance=world.instance,
        dagster_run=run,
        resources={k: world.resources[k] for k in ("catalog", "notifier", "audit_trail")},
    )
    return context.for_run_failure() if event_type is DagsterEventType.RUN_FAILURE else context


def test_a_failed_remediation_pages_once_with_the_incident_as_dedup_key(
    tmp_path: Path, http_sink: HttpSink
) -> None:
    world = make_world(tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}", sink=http_sink)
    run = world.run("retrain_model", incident="inc-f")  # no drift_report windows to train on: the op fails
    assert run.status is DagsterRunStatus.FAILURE and run.tags["sentinel/gate"] == "PASSED"
    failure_sensor, _ = build_escalation_sensors([build_remediation_job("retrain_model")])
    assert failure_sensor.name == "remediation_on_run_failure"

    assert failure_sensor(_context(world, failure_sensor, run, DagsterEventType.RUN_FAILURE)) is None
    (page,) = [r.json for r in http_sink.requests if r.path == "/v2/enqueue"]
    assert page["event_action"] == "trigger" and page["dedup_key"] == "inc-f"
    assert page["routing_key"] == ROUTING_KEY and page["payload"]["severity"] == "critical"
    assert "retrain_model failed" in page["payload"]["summary"]
    (record,) = [r for r in world.audit("escalation")]
    assert (record.event.outcome, record.event.run_id, record.event.actor) == (
        "sent",
        run.run_id,
        "sensor:remediation_on_run_failure",
    )
    assert "no materialized drift_report window" in record.event.details["failure"]
    observed = world.instance.fetch_observations(AssetKey([PREFIX, "audit_log"]), limit=20).records
    assert any(o.asset_observation.metadata["kind"].value == "escalation" for o in observed)

    # verification already rolled back and paged for this run: record it, do not page again
    world.instance.add_run_tags(run.run_id, {"sentinel/escalated": "true"})
    run = world.instance.get_run_by_id(run.run_id)
    skipped = failure_sensor(_context(world, failure_sensor, run, DagsterEventType.RUN_FAILURE))
    assert isinstance(skipped, SkipReason) and "already rolled back and paged" in skipped.skip_message
    assert len([r for r in http_sink.requests if r.path == "/v2/enqueue"]) == 1
    assert [r.event.outcome for r in world.audit("escalation")] == ["sent", "already_escalated"]


def test_a_canceled_remediation_is_escalated(tmp_path: Path, http_sink: HttpSink) -> None:
    world = make_world(tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}", sink=http_sink)
    job = Definitions(
        jobs=[build_remediation_job("scale_resources")], resources=world.resources
    ).resolve_job_def("remediate_scale_resources")
    run = world.instance.create_run_for_job(
        job, tags={MODEL_TAG: MODEL, INCIDENT_TAG: "inc-c", ACTION_TAG: "scale_resources"}
    )
    world.instance.report_run_canceled(run)  # what terminating a queued run does
    run = world.instance.get_run_by_id(run.run_id)
    assert run.status is DagsterRunStatus.CANCELED
    _, canceled_sensor = build_escalation_sensors([job])
    assert canceled_sensor.name == "remediation_on_run_canceled"
    assert canceled_sensor(_context(world, canceled_sensor, run, DagsterEventType.RUN_CANCELED)) is None
    (page,) = [r.json for r in http_sink.requests if r.path == "/v2/enqueue"]
    assert page["dedup_key"] == "inc-c" and "was canceled" in page["payload"]["summary"]
    assert [r.event.outcome for r in world.audit("escalation")] == ["sent"]

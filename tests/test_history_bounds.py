"""The safety gate and the per-model sensors read bounded history: tag filters and limits, never a whole scan.

A recording wrapper around a real (temporary SQLite) Dagster instance captures every history query the gate makes;
each must carry a limit and a filter that names the model or the run. Then the evidence must still be right when
the interesting run is buried under more than :data:`resources.safety_gate.HISTORY_LIMIT` newer runs of the other
action group (notifications crowding out the last rollback must not hide the rollback from the cooldown).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    build_sensor_context,
)

from drift_sentinel.config import load_config
from jobs.remediation import build_remediation_job
from resources.safety_gate import (
    ACTION_TAG,
    GATE_TAG,
    HISTORY_LIMIT,
    INCIDENT_TAG,
    MODEL_TAG,
    ActionRequest,
    SafetyGateResource,
)
from sensors.remediation import REPORTS_PER_TICK, build_remediation_sensor

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # a few hundred runs stored in SQLite: several seconds per test under load

MODEL = "fraud-detector-v1"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    with DagsterInstance.local_temp(str(tmp_path)) as inst:
        yield inst


def add_run(
    instance: DagsterInstance,
    *,
    action: str,
    incident: str,
    gate: str | None = "PASSED",
    status: DagsterRunStatus = DagsterRunStatus.SUCCESS,
    started: bool = True,
    model: str = MODEL,
) -> str:
    """Store one remediation run with the tags the gate reads (and a start event when ``started``)."""
    run_id = str(uuid.uuid4())
    tags = {MODEL_TAG: model, INCIDENT_TAG: incident, ACTION_TAG: action}
    if gate:
        tags[GATE_TAG] = gate
    instance.add_run(
        DagsterRun(
            job_name=f"remediate_{action}", run_id=run_id, tags=tags, status=DagsterRunStatus.NOT_STARTED
        )
    )
    if started:
        event = DagsterEvent(DagsterEventType.RUN_START.value, job_name=f"remediate_{action}")
        instance.report_dagster_event(event, run_id)
    if status != DagsterRunStatus.STARTED and started:
        kind = (
            DagsterEventType.RUN_SUCCESS
            if status == DagsterRunStatus.SUCCESS
            else DagsterEventType.RUN_FAILURE
        )
        instance.report_dagster_event(DagsterEvent(kind.value, job_name=f"remediate_{action}"), run_id)
    return run_id


class RecordingInstance:
    """Forwards to a real instance and records the arguments of every history query."""

    def __init__(self, inner: DagsterInstance) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    def get_run_records(self, filters: Any = None, limit: int | None = None, **kwargs: Any) -> Any:
        self.calls.append({"filters": filters, "limit": limit, **kwargs})
        return self.inner.get_run_records(filters, limit=limit, **kwargs)

    def get_runs(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - must not be called
        raise AssertionError("the gate must read run records through bounded get_run_records calls")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def evidence(instance: Any, run_id: str, action: str, incident: str) -> Any:
    return SafetyGateResource().evidence(
        instance, run_id=run_id, model_id=MODEL, action=action, incident_id=incident, request=ActionRequest()
    )


def test_every_gate_query_has_a_limit_and_a_model_or_run_filter(instance: DagsterInstance) -> None:
    for i in range(5):
        add_run(instance, action="notify_team", incident=f"inc-{i}")
    this = add_run(instance, action="rollback_model", incident="inc-0", gate=None, started=False)
    recording = RecordingInstance(instance)
    evidence(recording, this, "rollback_model", "inc-0")
    assert len(recording.calls) >= 3
    for call in recording.calls:
        assert call["limit"] is not None and call["limit"] <= HISTORY_LIMIT, call
        filters = call["filters"]
        assert filters.run_ids == [this] or filters.tags.get(MODEL_TAG) == MODEL, call


def test_evidence_finds_the_last_change_under_many_newer_notifications(instance: DagsterInstance) -> None:
    rollback = add_run(instance, action="rollback_model", incident="inc-a")
    rollback_start = instance.get_run_record_by_id(rollback).start_time
    for i in range(HISTORY_LIMIT + 20):
        add_run(instance, action="notify_team", incident=f"inc-{i}", started=False)
    this = add_run(instance, action="scale_resources", incident="inc-b", gate=None, started=False)

    found = evidence(instance, this, "scale_resources", "inc-b")

    assert found.last_action_at == datetime.fromtimestamp(rollback_start, UTC)
    assert found.attempts_for_incident == 0
    assert found.running_on_model == 0


def test_attempts_and_running_count_the_right_runs(instance: DagsterInstance) -> None:
    add_run(instance, action="rollback_model", incident="inc-a")
    add_run(instance, action="rollback_model", incident="inc-a")
    add_run(instance, action="rollback_model", incident="inc-a", gate="BLOCKED")  # blocked: not an attempt
    add_run(instance, action="rollback_model", incident="inc-z")  # another incident
    add_run(instance, action="notify_team", incident="inc-a")  # the other group
    earlier = add_run(instance, action="retrain_model", incident="inc-c", status=DagsterRunStatus.STARTED)
    this = add_run(
        instance, action="rollback_model", incident="inc-a", gate=None, status=DagsterRunStatus.STARTED
    )
    add_run(instance, action="scale_resources", incident="inc-d", status=DagsterRunStatus.STARTED)  # later

    found = evidence(instance, this, "rollback_model", "inc-a")

    assert found.attempts_for_incident == 2
    assert found.running_on_model == 1  # only the earlier in-progress change; not the later one, not this one
    assert earlier != this
    notify = evidence(instance, this, "notify_team", "inc-a")
    assert notify.attempts_for_incident == 1  # the one passed notify_team run for inc-a
    assert notify.running_on_model == 0  # in-progress changes do not block a notification


def test_remediation_sensor_reads_a_bounded_batch_per_tick(instance: DagsterInstance) -> None:
    spec = load_config(REPO / "sentinel.yaml").models[0]
    jobs = [build_remediation_job("notify_team")]
    sensor = build_remediation_sensor(spec, jobs)
    key = AssetKey([spec.asset_prefix, "rca_report"])
    burst = REPORTS_PER_TICK + 30
    for i in range(burst):  # a backfill's burst of reports without incidents
        instance.report_runless_asset_event(
            AssetMaterialization(asset_key=key, partition=f"2026-10-{i % 14 + 1:02d}")
        )
    ids = [r.storage_id for r in instance.fetch_materializations(key, limit=burst, ascending=True).records]

    def tick(cursor: str | None) -> Any:
        context = build_sensor_context(instance=instance, cursor=cursor, sensor_name=sensor.name)
        return sensor.evaluate_tick(context)

    first = tick(None)
    assert first.cursor == str(ids[REPORTS_PER_TICK - 1])  # one bounded batch, the rest on the next tick
    second = tick(first.cursor)
    assert second.cursor == str(ids[-1])
    assert not first.run_requests and not second.run_requests

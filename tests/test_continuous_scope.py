"""Remediation acts on current incidents only: the core rule, the sensor over real materializations, and a real
backfill of old drifted windows after the current window was processed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    Definitions,
    SensorDefinition,
    build_sensor_context,
)

from drift_sentinel.config import load_config
from drift_sentinel.remediation_scope import WindowIncident, is_current, remediation_scope
from drift_sentinel.settings import Settings
from sensors.remediation import changes_model

REPO = Path(__file__).resolve().parents[1]
PREFIX = "fraud_detector_v1"
RCA = AssetKey([PREFIX, "rca_report"])
ACTIONS = ["notify_team", "rollback_model"]


def _notify_only(action: str) -> bool:
    return action != "notify_team"


# ------------------------------------------------------------------------------------------ the core rule


@pytest.mark.parametrize(
    ("report", "newest", "current"),
    [
        (
            WindowIncident("2026-10-14", "inc-a"),
            WindowIncident("2026-10-14", "inc-a"),
            True,
        ),  # the newest itself
        (WindowIncident("2026-10-10", "inc-a"), WindowIncident("2026-10-14", "inc-a"), True),  # still ongoing
        (
            WindowIncident("2026-10-10", "inc-a"),
            WindowIncident("2026-10-14", "inc-b"),
            False,
        ),  # another one now
        (WindowIncident("2026-10-10", "inc-a"), WindowIncident("2026-10-14", ""), False),  # ended
        (WindowIncident("2026-10-15", "inc-c"), WindowIncident("2026-10-14", ""), True),  # newer than newest
        (
            WindowIncident("2026-10-14", "inc-early"),
            WindowIncident("2026-10-14", ""),
            False,
        ),  # superseded report
        (WindowIncident("2026-10-10", "inc-a"), None, True),  # nothing else processed
        (WindowIncident("2026-10-10", ""), None, False),  # no incident is never current
        (WindowIncident("2026-10-10-05:00", "inc-h"), WindowIncident("2026-10-10-23:00", "inc-h"), True),
    ],
)
def test_current_means_open_in_the_newest_processed_window(
    report: WindowIncident, newest: WindowIncident | None, current: bool
) -> None:
    assert is_current(report, newest) is current


def test_stale_incident_withholds_every_model_changing_action() -> None:
    stale = WindowIncident("2026-09-03", "inc-a")
    newest = WindowIncident("2026-10-14", "")
    scope = remediation_scope(stale, ACTIONS, newest=newest, changes_model=_notify_only)
    assert (scope.current, scope.allowed, scope.withheld) == (False, (), ("notify_team", "rollback_model"))
    assert scope.reason == (
        "inc-a (window 2026-09-03) is not open in the newest processed window 2026-10-14 (incident none)"
    )
    informed = remediation_scope(stale, ACTIONS, newest=newest, changes_model=_notify_only, inform_stale=True)
    assert (informed.allowed, informed.withheld) == (("notify_team",), ("rollback_model",))


def test_current_incident_allows_every_action_and_no_incident_allows_none() -> None:
    newest = WindowIncident("2026-10-14", "inc-b")
    scope = remediation_scope(
        WindowIncident("2026-10-14", "inc-b"), ACTIONS, newest=newest, changes_model=_notify_only
    )
    assert (scope.current, scope.allowed, scope.withheld) == (True, tuple(ACTIONS), ())
    earlier = remediation_scope(
        WindowIncident("2026-10-12", "inc-b"), ACTIONS, newest=newest, changes_model=_notify_only
    )
    changing = tuple(a for a in ACTIONS if a != "notify_team")
    assert (earlier.current, earlier.allowed, earlier.withheld) == (True, ("notify_team",), changing)
    assert (
        earlier.reason
        == "inc-b (window 2026-10-12): model changes follow the newest window 2026-10-14's report"
    )
    quiet = remediation_scope(
        WindowIncident("2026-10-12", ""), ACTIONS, newest=newest, changes_model=_notify_only
    )
    assert (quiet.allowed, quiet.withheld, quiet.reason) == ((), (), "window 2026-10-12 has no incident")


def test_the_sensor_treats_only_notifications_as_not_changing_the_model() -> None:
    assert not changes_model("notify_team")
    assert all(
        changes_model(a) for a in ("rollback_model", "retrain_model", "scale_resources", "update_thresholds")
    )


# ----------------------------------------------------------------------- the sensor on real materializations


@pytest.fixture
def sensor_world(tmp_path: Path) -> tuple[DagsterInstance, Definitions, SensorDefinition]:
    from sentinel_assets.definitions import build_definitions

    config = load_config(REPO / "sentinel.yaml")
    defs = build_definitions(config, Settings.from_env({"SENTINEL_HOME": str(tmp_path / "sentinel")}))
    sensor = defs.resolve_sensor_def(f"{PREFIX}_remediation_on_rca_report")
    instance = DagsterInstance.local_temp(str(tmp_path))
    return instance, defs, sensor


def _report(instance: DagsterInstance, window: str, incident: str, action: str = "rollback_model") -> None:
    instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key=RCA,
            partition=window,
            metadata={"incident_id": incident, "recommended_action": action, "confidence": 0.8},
        )
    )


def _tick(world: tuple[DagsterInstance, Definitions, SensorDefinition], cursor: str | None) -> Any:
    instance, defs, sensor = world
    context = build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, sensor_name=sensor.name
    )
    return sensor.evaluate_tick(context)


def test_late_rematerialization_of_an_old_window_launches_nothing(sensor_world) -> None:
    instance = sensor_world[0]
    _report(instance, "2026-10-14", "inc-now")
    first = _tick(sensor_world, None)
    assert [r.run_key for r in first.run_requests] == ["inc-now:notify_team", "inc-now:rollback_model"]
    _report(instance, "2026-10-03", "inc-old")  # a late file re-materialized an old window
    second = _tick(sensor_world, first.cursor)
    assert not second.run_requests
    assert "stale: inc-old (window 2026-10-03) is not open in the newest processed window 2026-10-14" in (
        second.skip_message
    )
    assert "withheld: notify_team, rollback_model" in second.skip_message
    _report(instance, "2026-10-12", "inc-now")  # an earlier window of the ongoing incident: same run key
    third = _tick(sensor_world, second.cursor)  # for notify; model changes follow the newest window's report
    assert [r.run_key for r in third.run_requests] == ["inc-now:notify_team"]


def test_an_incident_that_ended_in_the_newest_window_is_not_acted_on(sensor_world) -> None:
    """Early (open-window) report with an incident, then the closed report of the same window finds none."""
    instance = sensor_world[0]
    _report(instance, "2026-10-14", "inc-early")
    _report(instance, "2026-10-14", "")
    tick = _tick(sensor_world, None)
    assert not tick.run_requests
    assert "newest window 2026-10-14 has no incident" in tick.skip_message


# ------------------------------------------------------------ through Dagster: a backfill after the current window


@pytest.mark.slow
def test_backfill_of_old_drifted_windows_after_the_current_one_launches_no_model_change(
    tmp_path: Path,
) -> None:
    from sentinel_assets.definitions import build_definitions
    from sentinel_assets.demo import bootstrap_registry
    from tests.support.project import make_project

    project = make_project(tmp_path, days=12, rows_per_hour=40)
    assert project.data.drift_start is not None
    defs = build_definitions(project.config, project.settings())
    spec = project.config.models[0]
    instance = DagsterInstance.local_temp(str(tmp_path))
    bootstrap_registry(
        defs.resources["model_registry"], spec, project.config.resolve(spec.data.training_snapshot)
    )
    assert defs.resolve_job_def(f"{PREFIX}_baseline").execute_in_process(instance=instance).success
    detect = defs.resolve_job_def(f"{PREFIX}_detect")
    sensor = defs.resolve_sensor_def(f"{PREFIX}_remediation_on_rca_report")

    def tick(cursor: str | None) -> Any:
        return sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=cursor, definitions=defs, sensor_name=sensor.name)
        )

    def detect_window(day: str) -> dict[str, Any]:
        assert detect.execute_in_process(partition_key=day, instance=instance).success
        return defs.load_asset_value(RCA, partition_key=day, instance=instance)

    # the current window (the last one) is processed first: its incident is acted on
    current_day = (project.data.end - timedelta(days=1)).date().isoformat()
    current = detect_window(current_day)
    assert current["incident_id"], "the last window is drifted"
    first = tick(None)
    assert {r.tags["sentinel/incident"] for r in first.run_requests} == {current["incident_id"]}
    assert "notify_team" in {r.tags["sentinel/action"] for r in first.run_requests}

    # then a backfill over the drifted windows before it (not adjacent: they open their own incident)
    onset = project.data.drift_start.date()
    backfill = [(onset + timedelta(days=i)).isoformat() for i in (0, 1)]
    assert backfill[-1] < (project.data.end - timedelta(days=2)).date().isoformat()
    old = [detect_window(day) for day in backfill]
    old_incidents = {r["incident_id"] for r in old if r["incident_id"]}
    assert old_incidents and current["incident_id"] not in old_incidents
    second = tick(first.cursor)
    assert not second.run_requests, [r.run_key for r in second.run_requests]
    for incident in old_incidents:
        assert f"stale: {incident}" in second.skip_message

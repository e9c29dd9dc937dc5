"""Windows materialize themselves: the automation conditions evaluated against a real (temporary) instance with
Dagster's own evaluator, at chosen times, daemon-free."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DefaultSensorStatus,
    Definitions,
    evaluate_automation_conditions,
)

from drift_sentinel.config import load_config
from drift_sentinel.settings import Settings
from sentinel_assets.definitions import build_definitions

REPO = Path(__file__).resolve().parents[1]
PREFIX = "fraud_detector_v1"
CHAIN = (
    "current_window",
    "external_events",
    "drift_report",
    "system_signals",
    "signal_anomalies",
    "rca_report",
)
BASELINE = ("reference_window", "reference_profile", "feature_importance")


def _defs(tmp_path: Path, **window: Any) -> Definitions:
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    model["window"].pop("end")
    model["window"].update(window)
    config_file = tmp_path / "sentinel.yaml"
    config_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    return build_definitions(
        load_config(config_file), Settings.from_env({"SENTINEL_HOME": str(tmp_path / "s")})
    )


def _materialize(instance: DagsterInstance, names: tuple[str, ...], partition: str | None = None) -> None:
    for name in names:
        instance.report_runless_asset_event(
            AssetMaterialization(AssetKey([PREFIX, name]), partition=partition)
        )


def _requested(result: Any) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for entry in result._requested_asset_partitions:  # the public getter needs one key at a time
        out.setdefault(entry.asset_key.path[-1], set()).add(entry.partition_key)
    return out


@pytest.fixture
def instance(tmp_path: Path) -> DagsterInstance:
    home = tmp_path / "home"
    home.mkdir()
    return DagsterInstance.local_temp(str(home))


def test_every_window_asset_carries_a_condition_evaluated_by_a_running_sensor(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    graph = defs.resolve_asset_graph()
    labels = {
        key.path[-1]: graph.get(key).automation_condition.get_label()
        for key in graph.get_all_asset_keys()
        if graph.get(key).automation_condition is not None
    }
    assert labels == {
        "current_window": "window closed (daily)",
        "external_events": "window closed (daily)",
        "drift_report": "eager (newest closed window)",
        "system_signals": "eager (newest closed window)",
        "signal_anomalies": "eager (newest closed window)",
        "rca_report": "eager (newest closed window)",
        "reference_window": "baseline missing",
        "reference_profile": "baseline missing",
        "feature_importance": "baseline missing",
    }
    sensor = defs.resolve_sensor_def(f"{PREFIX}_window_automation")
    assert sensor.default_status is DefaultSensorStatus.RUNNING
    assert {k.path[-1] for k in sensor.asset_selection.resolve(graph)} == set(labels)


def test_a_closed_window_is_materialized_once_after_it_closes_and_the_open_one_is_left_to_the_live_check(
    tmp_path: Path, instance: DagsterInstance
) -> None:
    defs = _defs(tmp_path)
    first = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 5, 12, tzinfo=UTC)
    )
    assert _requested(first) == {name: {None} for name in BASELINE}  # a fresh instance: the baseline only
    _materialize(instance, BASELINE)
    quiet = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 5, 18, tzinfo=UTC), cursor=first.cursor
    )
    assert quiet.total_requested == 0  # no window closed since
    # midnight: the window of 5 October closed; 6 October is open (a partition, for the live check)
    closed = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 6, 0, 0, 20, tzinfo=UTC), cursor=quiet.cursor
    )
    assert _requested(closed) == {name: {"2026-10-05"} for name in CHAIN}
    assert "2026-10-06" in defs.resolve_job_def(f"{PREFIX}_detect").partitions_def.get_partition_keys(
        current_time=datetime(2026, 10, 6, 0, 0, 20, tzinfo=UTC)
    )
    _materialize(instance, CHAIN, "2026-10-05")
    after = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 6, 0, 1, tzinfo=UTC), cursor=closed.cursor
    )
    assert after.total_requested == 0  # handled: not again until the next window closes
    nxt = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 7, 0, 0, 20, tzinfo=UTC), cursor=after.cursor
    )
    assert _requested(nxt) == {name: {"2026-10-06"} for name in CHAIN}


def test_hourly_windows_close_every_hour(tmp_path: Path, instance: DagsterInstance) -> None:
    defs = _defs(tmp_path, cadence="hourly")
    _materialize(instance, BASELINE)
    first = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
    )
    assert first.total_requested == 0
    closed = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 5, 10, 0, 5, tzinfo=UTC), cursor=first.cursor
    )
    assert _requested(closed) == {name: {"2026-10-05-09:00"} for name in CHAIN}


def test_without_live_check_the_latest_partition_is_the_closed_window(
    tmp_path: Path, instance: DagsterInstance
) -> None:
    defs = _defs(tmp_path, live_check="off")
    _materialize(instance, BASELINE)
    first = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 5, 12, tzinfo=UTC)
    )
    closed = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 10, 6, 0, 0, 20, tzinfo=UTC), cursor=first.cursor
    )
    assert _requested(closed) == {name: {"2026-10-05"} for name in CHAIN}
    keys = defs.resolve_job_def(f"{PREFIX}_detect").partitions_def.get_partition_keys(
        current_time=datetime(2026, 10, 6, 0, 0, 20, tzinfo=UTC)
    )
    assert keys[-1] == "2026-10-05"


def test_windows_that_all_ended_are_filled_when_missing_but_not_rerun_every_day(
    tmp_path: Path, instance: DagsterInstance
) -> None:
    defs = _defs(tmp_path, end="2026-10-15")
    _materialize(instance, BASELINE)
    first = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 11, 2, 12, tzinfo=UTC)
    )
    missing = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 11, 3, 0, 0, 20, tzinfo=UTC), cursor=first.cursor
    )
    assert _requested(missing) == {name: {"2026-10-14"} for name in CHAIN}
    _materialize(instance, CHAIN, "2026-10-14")
    later = evaluate_automation_conditions(
        defs, instance, evaluation_time=datetime(2026, 11, 4, 0, 0, 20, tzinfo=UTC), cursor=missing.cursor
    )
    assert later.total_requested == 0

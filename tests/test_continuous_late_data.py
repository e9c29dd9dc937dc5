"""Late data: a closed window whose prediction-log files change after it was materialized is requested again."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from dagster import AssetKey, AssetMaterialization, DagsterInstance, build_sensor_context

from drift_sentinel.config import load_config
from drift_sentinel.settings import Settings
from sentinel_assets.definitions import build_definitions

REPO = Path(__file__).resolve().parents[1]
PREFIX = "fraud_detector_v1"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    model["window"] = {"cadence": "daily", "start": (today - timedelta(days=3)).date().isoformat()}
    model["data"]["prediction_log"] = "log"
    (tmp_path / "log").mkdir()
    config_file = tmp_path / "sentinel.yaml"
    config_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    defs = build_definitions(
        load_config(config_file), Settings.from_env({"SENTINEL_HOME": str(tmp_path / "s")})
    )
    home = tmp_path / "home"
    home.mkdir()
    return {
        "defs": defs,
        "instance": DagsterInstance.local_temp(str(home)),
        "log": tmp_path / "log",
        "today": today,
        "sensor": defs.resolve_sensor_def(f"{PREFIX}_detect_on_late_data"),
    }


def _tick(world: dict[str, Any], cursor: str | None) -> Any:
    defs = world["defs"]
    return world["sensor"].evaluate_tick(
        build_sensor_context(
            instance=world["instance"],
            cursor=cursor,
            definitions=defs,
            sensor_name=world["sensor"].name,
            resources={"catalog": defs.resources["catalog"]},
        )
    )


def _part(world: dict[str, Any], day: datetime, name: str, hours: tuple[int, ...] = (3, 9)) -> Path:
    stamps = [day + timedelta(hours=h) for h in hours]
    path = world["log"] / f"{day:%Y-%m-%d}_{name}.parquet"
    pd.DataFrame({"timestamp": pd.to_datetime(stamps, utc=True), "amount": [1.0] * len(stamps)}).to_parquet(
        path
    )
    time.sleep(0.01)  # distinct modification times
    return path


def test_a_part_for_a_materialized_closed_window_requests_that_window_once(world: dict[str, Any]) -> None:
    first = _tick(world, None)
    assert not first.run_requests and "no new part files" in first.skip_message
    yesterday, before = world["today"] - timedelta(days=1), world["today"] - timedelta(days=2)
    world["instance"].report_runless_asset_event(
        AssetMaterialization(AssetKey([PREFIX, "current_window"]), partition=f"{yesterday:%Y-%m-%d}")
    )
    time.sleep(0.01)
    late = _part(world, yesterday, "late")
    _part(world, before, "never-materialized")
    _part(world, world["today"], "open", hours=(0,))
    second = _tick(world, first.cursor)
    (request,) = second.run_requests
    assert request.partition_key == f"{yesterday:%Y-%m-%d}" and request.job_name is None
    assert request.run_key == f"late:{yesterday:%Y-%m-%d}:{late.stat().st_mtime_ns}"
    assert request.tags["sentinel/trigger"] == "late_data"
    third = _tick(world, second.cursor)
    assert not third.run_requests and "no new part files" in third.skip_message
    # the window is redone (materialized after the file): the same file does not ask again
    world["instance"].report_runless_asset_event(
        AssetMaterialization(AssetKey([PREFIX, "current_window"]), partition=f"{yesterday:%Y-%m-%d}")
    )
    late.touch()
    fourth = _tick(world, third.cursor)
    (again,) = fourth.run_requests  # rewritten after the redo: late again, with a new key
    assert again.run_key == f"late:{yesterday:%Y-%m-%d}:{late.stat().st_mtime_ns}" != request.run_key


def test_an_unreadable_part_is_named_and_the_next_good_part_still_counts(world: dict[str, Any]) -> None:
    first = _tick(world, None)
    yesterday = world["today"] - timedelta(days=1)
    world["instance"].report_runless_asset_event(
        AssetMaterialization(AssetKey([PREFIX, "current_window"]), partition=f"{yesterday:%Y-%m-%d}")
    )
    time.sleep(0.01)
    corrupt = world["log"] / f"{yesterday:%Y-%m-%d}_corrupt.parquet"
    corrupt.write_bytes(b"garbage")
    time.sleep(0.01)
    _part(world, yesterday, "good")
    second = _tick(world, first.cursor)
    assert [r.partition_key for r in second.run_requests] == [f"{yesterday:%Y-%m-%d}"]
    assert str(corrupt) in second.cursor  # on the retry list
    third = _tick(world, second.cursor)
    assert not third.run_requests and f"{corrupt}: cannot read as parquet" in third.skip_message


def test_a_missing_log_skips_with_its_path(world: dict[str, Any]) -> None:
    world["log"].rmdir()
    tick = _tick(world, None)
    assert tick.skip_message == f"{world['log']}: prediction log not found"

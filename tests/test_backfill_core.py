"""A range of windows at once equals the windows one by one: rows, drift reports (field by field) and incidents.

Data: the demo generator's prediction log (drift injected from day 10 of 14, so the range holds windows without
drift, an incident's onset and its continuation), plus two windows before the log starts (no data).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from drift_sentinel.backfill import chain_incidents, detect_windows, range_bounds, split_windows
from drift_sentinel.config import load_config
from drift_sentinel.detection import detect_drift
from drift_sentinel.detection.profile import profile_reference
from drift_sentinel.incidents import assign_incident, incident_id
from drift_sentinel.sample_data import generate
from drift_sentinel.windows import read_table, read_window

pytestmark = pytest.mark.slow  # 16 windows of drift detection twice: several seconds on a loaded machine

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("backfill-core")
    data = generate(root, seed=7, rows_per_hour=40)
    spec = load_config(REPO / "sentinel.yaml").models[0]
    config = spec.detection.model_copy(update={"features": spec.detection.features or spec.feature_kinds})
    windows = [
        (f"{day:%Y-%m-%d}", day, day + timedelta(days=1))
        for day in (START + timedelta(days=i) for i in range(-2, 14))
    ]
    columns = [f.name for f in spec.features] + [spec.prediction_column]
    log = str(data.root / "predictions")
    reference = read_table(str(data.training_path))
    return {
        "spec": spec,
        "config": config,
        "windows": windows,
        "columns": columns,
        "log": log,
        "reference": reference,
        "profile": profile_reference(reference, config),
        "drift_start": data.drift_start,
    }


def _fields(report: object) -> dict:
    return {k: v for k, v in report.to_dict().items() if k != "timestamp"}  # type: ignore[attr-defined]


def test_one_read_split_into_windows_equals_reading_each_window(world: dict) -> None:
    start, end = range_bounds(world["windows"])
    once = read_window(world["log"], start=start, end=end, columns=world["columns"])
    split = split_windows(once, world["windows"])
    assert list(split) == [w[0] for w in world["windows"]]
    for key, lo, hi in world["windows"]:
        alone = read_window(world["log"], start=lo, end=hi, columns=world["columns"])
        if alone.empty:
            assert split[key].empty and list(split[key].columns) == list(alone.columns), key
        else:
            pd.testing.assert_frame_equal(split[key], alone, check_dtype=True, obj=key)
    assert split["2026-09-29"].empty and split["2026-09-30"].empty  # before the log starts
    assert sum(len(f) for f in split.values()) == len(once)


def test_range_reports_and_incidents_equal_one_by_one(world: dict) -> None:
    spec, config, reference, profile = world["spec"], world["config"], world["reference"], world["profile"]
    start, end = range_bounds(world["windows"])
    frames = split_windows(
        read_window(world["log"], start=start, end=end, columns=world["columns"]), world["windows"]
    )
    ranged = detect_windows(reference, frames, config, profile, prediction_column=spec.prediction_column)

    previous: str | None = None
    single_incidents: dict[str, str] = {}
    for key, lo, hi in world["windows"]:  # the windows one by one, in order, each read on its own
        alone = read_window(world["log"], start=lo, end=hi, columns=world["columns"])
        report = detect_drift(
            reference, alone, config, profile=profile, prediction_column=spec.prediction_column
        )
        # every field but the report's creation time (wall clock)
        assert _fields(ranged[key]) == _fields(report), key
        single_incidents[key] = assign_incident(
            spec.id, key, drifted=report.drift_detected, previous=previous
        )
        previous = single_incidents[key] or None

    incidents = chain_incidents(spec.id, {k: r.drift_detected for k, r in ranged.items()}, previous=None)
    assert incidents == single_incidents
    opened = {i for i in incidents.values() if i}
    assert opened, "the demo data drifts: the range must open an incident"
    onset = min(k for k, i in incidents.items() if i)
    assert onset >= f"{world['drift_start']:%Y-%m-%d}" and incident_id(spec.id, onset) in opened
    for key in ("2026-09-29", "2026-09-30"):  # no data: an explicit inconclusive result, no incident
        assert ranged[key].verdict.value == "INCONCLUSIVE" and incidents[key] == ""


def test_a_range_that_starts_inside_an_incident_continues_it() -> None:
    ongoing = incident_id("m", "2026-09-30")
    chain = chain_incidents(
        "m", {"2026-10-01": True, "2026-10-02": False, "2026-10-03": True}, previous=ongoing
    )
    assert chain == {"2026-10-01": ongoing, "2026-10-02": "", "2026-10-03": incident_id("m", "2026-10-03")}

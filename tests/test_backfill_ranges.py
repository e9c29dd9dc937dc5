"""Range backfills: a run over many windows gives every window what a run of its own gives it.

The same generated fortnight (drift injected on day 9) is processed twice through the real per-window assets:
window by window in order (one run each, as the window automation does), and as two range runs split inside
the incident (what a multi-run backfill launches). Every partition of every per-window asset must carry the same
metadata and the same stored value, field by field; incidents must chain across the two ranges. Then a range
with a gap in the log and a corrupt file completes, with those windows explicit and INCONCLUSIVE.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dagster import AssetKey, BackfillPolicy, DagsterInstance, Definitions, build_sensor_context
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from drift_sentinel.config import WindowSpec
from resources import history
from sentinel_assets.definitions import build_definitions
from sentinel_assets.demo import DAGSTER_YAML, EVENT_BATCH_ENV, EVENT_BATCH_SIZE, bootstrap_registry
from sentinel_assets.factory import WINDOW_ASSETS
from sentinel_assets.sqlite_storage import EngineCachingSqliteEventLogStorage
from tests.support.project import Project, make_project

pytestmark = pytest.mark.slow

PREFIX = "fraud_detector_v1"
DETECT = f"{PREFIX}_detect"


def _key(name: str) -> AssetKey:
    return AssetKey([PREFIX, name])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("ranges"), days=12, rows_per_hour=60)


def _world(
    project: Project, home: Path, instance: DagsterInstance | None = None
) -> tuple[Definitions, DagsterInstance]:
    """Definitions storing under ``home``, a fresh instance (or ``instance``), the champion registered and the
    baseline built."""
    defs = build_definitions(project.config, project.settings(SENTINEL_HOME=str(home)))
    instance = instance or DagsterInstance.ephemeral()
    spec = project.config.models[0]
    snapshot = project.config.resolve(spec.data.training_snapshot)
    bootstrap_registry(defs.resources["model_registry"], spec, snapshot)
    assert defs.resolve_job_def(f"{PREFIX}_baseline").execute_in_process(instance=instance).success
    return defs, instance


def _run_range(defs: Definitions, instance: DagsterInstance, first: str, last: str) -> Any:
    tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
    return defs.resolve_job_def(DETECT).execute_in_process(instance=instance, tags=tags)


def _recorded(instance: DagsterInstance, keys: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each per-window asset's latest metadata per partition."""
    out = {}
    for name in WINDOW_ASSETS:
        latest = history.latest_by_partition(instance, _key(name), keys)
        out[name] = {k: dict(latest[k].metadata) for k in keys if k in latest}
    return out


def _stored(path: str) -> Any:
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def both(project: Project, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The fortnight processed window by window and as two ranges split inside the incident."""
    homes = tmp_path_factory.mktemp("homes")
    single_defs, single = _world(project, homes / "single")
    keys = single_defs.resolve_job_def(DETECT).partitions_def.get_partition_keys()
    for key in keys:
        assert (
            single_defs.resolve_job_def(DETECT).execute_in_process(partition_key=key, instance=single).success
        )
    assert project.data.drift_start is not None
    split = keys.index((project.data.drift_start + pd.Timedelta(days=1)).date().isoformat())
    range_defs, ranged = _world(project, homes / "range")
    first = _run_range(range_defs, ranged, keys[0], keys[split])
    second = _run_range(range_defs, ranged, keys[split + 1], keys[-1])
    assert first.success and second.success
    return {
        "keys": keys,
        "split": split,
        "single": _recorded(single, keys),
        "range": _recorded(ranged, keys),
        "runs": [first, second],
        "range_world": (range_defs, ranged),
    }


def test_a_range_run_materializes_every_window_of_every_asset_once(both: dict[str, Any]) -> None:
    first, second = both["runs"]
    for name in WINDOW_ASSETS:
        node = f"{PREFIX}__{name}"
        got = [m.partition for run in (first, second) for m in run.asset_materializations_for_node(node)]
        assert sorted(got) == both["keys"], name  # each window once, no window missing


def test_range_runs_equal_single_window_runs_field_by_field(both: dict[str, Any]) -> None:
    compared = 0
    for name in WINDOW_ASSETS:
        single, ranged = both["single"][name], both["range"][name]
        assert set(single) == set(ranged) == set(both["keys"]), name
        for key in both["keys"]:
            a, b = dict(single[key]), dict(ranged[key])
            path_a, path_b = str(a.pop("path")), str(b.pop("path"))
            assert path_a.split("/single/")[1] == path_b.split("/range/")[1]
            assert a == b, (name, key, {f for f in a.keys() | b.keys() if a.get(f) != b.get(f)})
            value_a, value_b = _stored(path_a), _stored(path_b)
            if isinstance(value_a, pd.DataFrame):
                pd.testing.assert_frame_equal(value_a, value_b)
            else:
                # a drift report's timestamp is when it was computed; every other field must match
                value_a.pop("timestamp", None), value_b.pop("timestamp", None)
                assert value_a == value_b, (name, key)
            compared += 1
    assert compared == len(WINDOW_ASSETS) * len(both["keys"])


def test_incidents_chain_across_the_two_ranges_as_window_by_window(both: dict[str, Any]) -> None:
    keys, split = both["keys"], both["split"]
    incidents = {k: both["range"]["drift_report"][k]["incident_id"] for k in keys}
    assert incidents == {k: both["single"]["drift_report"][k]["incident_id"] for k in keys}
    # the split lies inside one incident: the second range's first window continues the first range's
    assert incidents[keys[split]] and incidents[keys[split + 1]] == incidents[keys[split]]
    rca = both["range"]["rca_report"]
    assert rca[keys[split + 1]]["onset_window"] == rca[keys[split]]["onset_window"]


def _ranges_counting_batches(
    project: Project,
    both: dict[str, Any],
    home: Path,
    instance: DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[int]]:
    """``both``'s two ranges on ``instance``: every window's records, and the size of every batch its event log
    got (counted around the real writes)."""
    keys, split = both["keys"], both["split"]
    defs, _ = _world(project, home, instance)
    storage, batches = instance.event_log_storage, []
    write_batch = storage.store_event_batch
    monkeypatch.setattr(
        storage, "store_event_batch", lambda events: (batches.append(len(events)), write_batch(events))
    )
    assert _run_range(defs, instance, keys[0], keys[split]).success
    assert _run_range(defs, instance, keys[split + 1], keys[-1]).success
    return _recorded(instance, keys), batches


def _assert_records_equal(both: dict[str, Any], recorded: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Every window's latest metadata of every per-window asset equals the in-memory range's (stored paths compared
    below each home)."""
    keys = both["keys"]
    for name in WINDOW_ASSETS:
        assert set(recorded[name]) == set(keys), name
        for key in keys:
            a, b = dict(both["range"][name][key]), dict(recorded[name][key])
            assert str(a.pop("path")).split("/range/")[1] == str(b.pop("path")).split("/range/")[1]
            assert a == b, (name, key, {f for f in a.keys() | b.keys() if a.get(f) != b.get(f)})


@pytest.mark.integration
def test_ranges_on_postgresql_with_batched_event_writes_record_what_sqlite_records(
    project: Project, both: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same two ranges on the production storage: PostgreSQL (a fresh database on 127.0.0.1:5432,
    ``deploy/dagster.postgres.yaml``) with ``DAGSTER_EVENT_BATCH_SIZE`` as ``deploy/k8s/configmap.yaml`` sets it, so
    each step's materializations go to the database in one transaction. Every window's latest record of every
    per-window asset carries the same metadata as on the in-memory SQLite instance above."""
    from tests.test_health import pg_env, pg_home, throwaway_database

    keys, split = both["keys"], both["split"]
    with throwaway_database() as db:
        for name, value in {**pg_env(db), "DAGSTER_EVENT_BATCH_SIZE": "1000"}.items():
            monkeypatch.setenv(name, value)
        with DagsterInstance.from_config(str(pg_home(tmp_path))) as instance:
            recorded, batches = _ranges_counting_batches(
                project, both, tmp_path / "range", instance, monkeypatch
            )
    # each step's materializations went in one batch (and the planned events at run creation in another)
    assert batches.count(split + 1) >= len(WINDOW_ASSETS) and batches.count(len(keys) - split - 1) >= len(
        WINDOW_ASSETS
    )
    _assert_records_equal(both, recorded)


def test_ranges_on_the_demos_sqlite_storage_with_batched_event_writes_record_what_dagsters_records(
    project: Project, both: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same two ranges on the demo's instance (``DAGSTER_YAML``: Dagster's SQLite files through
    ``sentinel_assets.sqlite_storage``) with ``DAGSTER_EVENT_BATCH_SIZE`` as the demo's environment sets it, so each
    step's materializations and each run's planned events are written in one transaction per file. Every window's
    latest record of every per-window asset carries the same metadata as on Dagster's own storage (one event at a
    time), every window is listed as materialized, and each asset's latest materialization is the newest window's."""
    keys, split = both["keys"], both["split"]
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(EVENT_BATCH_ENV, EVENT_BATCH_SIZE)
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, EngineCachingSqliteEventLogStorage)
        recorded, batches = _ranges_counting_batches(project, both, tmp_path / "range", instance, monkeypatch)
        for name in WINDOW_ASSETS:
            assert instance.get_materialized_partitions(_key(name)) == set(keys), name
            latest = instance.get_latest_materialization_event(_key(name))
            assert latest is not None and latest.dagster_event.partition == keys[-1], name
    # each step's materializations in one batch, and each run's planned events (with its checks') in another
    assert batches.count(split + 1) >= len(WINDOW_ASSETS), batches
    assert batches.count(len(keys) - split - 1) >= len(WINDOW_ASSETS), batches
    assert sum(b >= len(WINDOW_ASSETS) * (len(keys) - split - 1) for b in batches) >= 2, batches
    _assert_records_equal(both, recorded)


def test_a_range_after_the_current_window_acts_only_on_the_newest_report(both: dict[str, Any]) -> None:
    """The remediation sensor after a range backfill: one request per action for the newest window's incident."""
    defs, instance = both["range_world"]
    sensor = defs.resolve_sensor_def(f"{PREFIX}_remediation_on_rca_report")
    result = sensor.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs, sensor_name=sensor.name)
    )
    newest = both["range"]["rca_report"][both["keys"][-1]]
    assert newest["incident_id"], "the demo's drift lasts to the end of the data"
    assert result.run_requests
    assert {r.tags["sentinel/incident"] for r in result.run_requests} == {newest["incident_id"]}
    actions = [r.tags["sentinel/action"] for r in result.run_requests]
    assert len(actions) == len(
        set(actions)
    )  # a window's recommendation once, not once per window of the range


def test_every_window_asset_runs_ranges_with_the_models_limit(project: Project, tmp_path: Path) -> None:
    spec = project.config.models[0]
    assert spec.window.partitions_per_run == 31  # daily default: a month per run
    defs = build_definitions(project.config, project.settings(SENTINEL_HOME=str(tmp_path)))
    graph = defs.resolve_asset_graph()
    for name in WINDOW_ASSETS:
        assert graph.get(_key(name)).backfill_policy == BackfillPolicy.multi_run(31), name
    hourly = WindowSpec(cadence="hourly", start="2026-10-01")
    assert hourly.partitions_per_run == 168
    assert WindowSpec(start="2026-10-01", max_partitions_per_run=1).partitions_per_run == 1
    with pytest.raises(ValueError, match="max_partitions_per_run"):
        WindowSpec(start="2026-10-01", max_partitions_per_run=0)


def test_a_range_over_a_gap_and_a_corrupt_file_completes_with_those_windows_inconclusive(
    project: Project, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(project.root / "data", data)  # the config's paths are relative to its folder
    log = next(data.rglob("predictions"))
    files = sorted(log.glob("*.parquet"))
    gap, corrupt = files[3], files[5]
    gap.unlink()
    corrupt.write_bytes(b"PAR1 this is not a parquet file")
    moved = tmp_path / "sentinel.yaml"
    shutil.copy(project.config_file, moved)
    moved_project = Project(root=tmp_path, config_file=moved, data=project.data)
    defs, instance = _world(moved_project, tmp_path / "home")
    keys = defs.resolve_job_def(DETECT).partitions_def.get_partition_keys()
    result = _run_range(defs, instance, keys[0], keys[-1])
    assert result.success
    recorded = _recorded(instance, keys)
    for name in WINDOW_ASSETS:
        assert set(recorded[name]) == set(keys), (
            name
        )  # the rest of the range completed, every window explicit
    gap_key, corrupt_key = gap.stem, corrupt.stem
    for key, reason in ((gap_key, "0 rows"), (corrupt_key, corrupt.name)):
        assert reason in recorded["current_window"][key]["data_quality"], key
        drift = recorded["drift_report"][key]
        assert drift["verdict"] == "INCONCLUSIVE" and drift["incident_id"] == "", key
        assert recorded["rca_report"][key]["incident_id"] in (None, "", "None"), key
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name.startswith("current_window"))
    assert not check.passed and corrupt_key in check.description and gap_key in check.description
    # a run of the corrupt window alone fails, naming the file
    single = defs.resolve_job_def(DETECT).execute_in_process(
        partition_key=corrupt_key, instance=instance, raise_on_error=False
    )
    assert not single.success
    failure = next(e for e in single.all_events if e.event_type_value == "STEP_FAILURE")
    assert corrupt.name in failure.event_specific_data.error.to_string()


def test_hourly_windows_in_a_range_equal_hourly_runs_with_prophets_daily_forecast(tmp_path: Path) -> None:
    """Hourly windows: the third day has the 48 hours of history Prophet needs, so its windows share one daily
    fit and forecast in a range run and fit it again each in single runs — with identical results."""
    import yaml

    project = make_project(tmp_path / "project", days=3, rows_per_hour=30)
    config = yaml.safe_load(project.config_file.read_text())
    config["models"][0]["window"]["cadence"] = "hourly"
    project.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    single_defs, single = _world(project, tmp_path / "single")
    keys = single_defs.resolve_job_def(DETECT).partitions_def.get_partition_keys()
    assert len(keys) == 72
    for key in keys:
        assert (
            single_defs.resolve_job_def(DETECT).execute_in_process(partition_key=key, instance=single).success
        )
    range_defs, ranged = _world(project, tmp_path / "range")
    assert _run_range(range_defs, ranged, keys[0], keys[-1]).success
    a, b = _recorded(single, keys), _recorded(ranged, keys)
    prophet_windows = 0
    for key in keys:
        for name in ("signal_anomalies", "rca_report", "drift_report"):
            left, right = dict(a[name][key]), dict(b[name][key])
            value_a, value_b = _stored(str(left.pop("path"))), _stored(str(right.pop("path")))
            assert left == right, (name, key)
            if isinstance(value_a, pd.DataFrame):
                pd.testing.assert_frame_equal(value_a, value_b)
                prophet_windows += int(name == "signal_anomalies" and (value_a["method"] == "prophet").any())
            else:
                value_a.pop("timestamp", None), value_b.pop("timestamp", None)
                assert value_a == value_b, (name, key)
    assert prophet_windows >= 20  # the third day's windows were judged by Prophet

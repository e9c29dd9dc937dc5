"""The demo instance's SQLite storage: Dagster's files and rows, one SQLAlchemy engine per file and process."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetObservation,
    DagsterInstance,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
    materialize,
)
from dagster._core.events import ASSET_EVENTS
from dagster._core.storage.event_log.sqlite import sqlite_event_log

from sentinel_assets import sqlite_storage
from sentinel_assets.demo import DAGSTER_YAML
from sentinel_assets.sqlite_storage import EngineCachingSqliteEventLogStorage, SentinelSqliteStorage

DAYS = DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-08")


@asset(partitions_def=DAYS)
def window(context) -> MaterializeResult:
    return MaterializeResult(metadata={"day": context.partition_key, "rows": len(context.partition_key)})


@asset
def chatty(context) -> None:
    """Forty observations: a run that writes many events, as a range run does."""
    for i in range(40):
        context.log_event(AssetObservation(AssetKey("chatty"), metadata={"i": i}))


def _home(path: Path, yaml_text: str, monkeypatch: pytest.MonkeyPatch) -> DagsterInstance:
    path.mkdir(exist_ok=True)
    (path / "dagster.yaml").write_text(yaml_text)
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    return DagsterInstance.get()


def _days(instance: DagsterInstance) -> dict[str, str]:
    """Each materialized day's metadata, from the cross-run index."""
    records = instance.fetch_materializations(AssetKey("window"), limit=100).records
    return {r.partition_key: r.asset_materialization.metadata["day"].value for r in records}


def test_the_demo_instance_reads_and_writes_the_files_of_dagsters_default_storage(tmp_path, monkeypatch):
    """A home written by Dagster's default SQLite storage is read by the demo's, which writes the same files,
    and Dagster's storage reads back what the demo's wrote."""
    home = tmp_path / "dagster_home"
    with _home(home, "telemetry:\n  enabled: false\n", monkeypatch) as default:
        assert type(default.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert materialize([window], instance=default, partition_key="2026-10-01").success
    with _home(home, DAGSTER_YAML, monkeypatch) as demo:
        assert isinstance(demo.event_log_storage, EngineCachingSqliteEventLogStorage)
        assert _days(demo) == {"2026-10-01": "2026-10-01"}
        assert materialize([window], instance=demo, partition_key="2026-10-02").success
        assert len(demo.get_run_records()) == 2
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml", "history", "schedules", "storage"]
    with _home(home, "telemetry:\n  enabled: false\n", monkeypatch) as default:
        assert _days(default) == {"2026-10-01": "2026-10-01", "2026-10-02": "2026-10-02"}
        runs = default.get_run_records()
        assert len(runs) == 2 and all(r.dagster_run.is_success for r in runs)
        assert all(len(default.all_logs(r.dagster_run.run_id)) > 5 for r in runs)


def test_events_reuse_one_engine_per_file_where_dagsters_storage_creates_one_per_write(tmp_path, monkeypatch):
    """Counting the real create_engine calls while a run stores its events: Dagster's SQLite event log creates
    an engine for every write, the demo's one for the run's file and one for the index."""
    created: dict[str, int] = {"dagster": 0, "sentinel": 0}

    def counting(name, real):
        def create(*args, **kwargs):
            created[name] += 1
            return real(*args, **kwargs)

        return create

    monkeypatch.setattr(
        sqlite_event_log, "create_engine", counting("dagster", sqlite_event_log.create_engine)
    )
    monkeypatch.setattr(sqlite_storage, "create_engine", counting("sentinel", sqlite_storage.create_engine))
    with _home(tmp_path / "a", DAGSTER_YAML, monkeypatch) as demo:
        assert materialize([chatty], instance=demo).success
        run = demo.get_run_records()[0].dagster_run
        events = len(demo.all_logs(run.run_id))
    demo_created = dict(created)
    created.update(dagster=0, sentinel=0)
    with _home(tmp_path / "b", "telemetry:\n  enabled: false\n", monkeypatch) as default:
        assert materialize([chatty], instance=default).success
    assert events > 40 and created["dagster"] > events, (events, created)
    # the run's file and the index; Dagster's own code still opens a few (index set-up, has_table checks)
    assert demo_created["sentinel"] == 2 and demo_created["dagster"] < events / 2, (events, demo_created)


def test_engines_are_bounded_per_process(tmp_path, monkeypatch):
    """Only the most recently used MAX_ENGINES engines are kept; a dropped file is opened again on demand."""
    monkeypatch.setattr(sqlite_storage, "MAX_ENGINES", 2)
    storage = SentinelSqliteStorage.from_local(str(tmp_path))
    events = storage.event_log_storage
    for run_id in ("run-a", "run-b", "run-c", "run-a"):
        with events.run_connection(run_id) as conn:
            conn.exec_driver_sql("select 1")
        assert len(events._engines) <= 2
    assert [shard for _, shard in events._engines] == ["run-c", "run-a"]
    storage.dispose()
    assert not events._engines


def test_a_missing_home_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(ValueError, match="no base_dir in its config and DAGSTER_HOME is not set"):
        SentinelSqliteStorage.from_config_value(None, {})


def _asset_rows(instance: DagsterInstance) -> dict[str, tuple]:
    """The index's asset table: each asset's latest event and run, as the UI reads it."""
    rows = {}
    for record in instance.get_asset_records():
        entry = record.asset_entry
        latest = entry.last_materialization_record
        rows[entry.asset_key.to_user_string()] = (
            entry.last_run_id,
            latest.event_log_entry.timestamp if latest else None,
            entry.last_observation_record.event_log_entry.timestamp
            if entry.last_observation_record
            else None,
        )
    return rows


def test_a_batch_stores_the_rows_one_event_at_a_time_stores(tmp_path, monkeypatch):
    """A whole run's events (run, step, materialization and observation events mixed) stored as one batch on the
    demo's storage give the run's file and the index what Dagster's storage gives them one event at a time."""
    with _home(tmp_path / "dagster", "telemetry:\n  enabled: false\n", monkeypatch) as default:
        assert materialize([window, chatty], instance=default, partition_key="2026-10-04").success
        run_id = default.get_run_records()[0].dagster_run.run_id
        entries = default.all_logs(run_id)
        expected = [(e.dagster_event_type, e.step_key, e.timestamp) for e in entries]
        expected_days = _days(default)
        expected_chatty = [
            r.event_log_entry.timestamp
            for r in default.fetch_observations(AssetKey("chatty"), limit=100).records
        ]
        expected_assets = _asset_rows(default)
    assert sum(e.dagster_event_type in ASSET_EVENTS for e in entries) >= 41 and len(entries) > 50
    with _home(tmp_path / "demo", DAGSTER_YAML, monkeypatch) as demo:
        demo.event_log_storage.store_event_batch(entries)
        stored = demo.all_logs(run_id)
        assert [(e.dagster_event_type, e.step_key, e.timestamp) for e in stored] == expected
        assert _days(demo) == expected_days
        chatty_ = demo.fetch_observations(AssetKey("chatty"), limit=100).records
        assert [r.event_log_entry.timestamp for r in chatty_] == expected_chatty
        assert demo.get_materialized_partitions(AssetKey("window")) == {"2026-10-04"}
        assert _asset_rows(demo) == expected_assets

"""The demo instance's storage: Dagster's SQLite storage whose event log keeps one SQLAlchemy engine per file.

Dagster's ``SqliteEventLogStorage`` creates an engine for every connection and disposes of it afterwards, so each
event it stores pays the engine's creation and compiles its INSERT again (SQLAlchemy caches compiled statements
in the engine). A range run stores a materialization per window and asset (1,176 for a week of hourly windows)
and the daemon as many planned-materialization events when it creates the run. Here each process keeps the
engine of each database file it writes (the newest :data:`MAX_ENGINES`); connections are still opened and closed
per use (``NullPool``), under Dagster's lock, so nothing is shared between processes or forks. With
``DAGSTER_EVENT_BATCH_SIZE`` set (the demo's environment sets 1000), a batch of asset events — a range step's
materializations, a run's planned ones — is written in one transaction per file instead of two per event. Files,
tables and rows are Dagster's: a home written by ``DagsterSqliteStorage`` is read by this one, and back.

The demo's ``dagster.yaml`` (``sentinel_assets.demo.DAGSTER_YAML``) selects it::

    storage:
      custom:
        module: sentinel_assets.sqlite_storage
        class: SentinelSqliteStorage

``base_dir`` defaults to ``$DAGSTER_HOME``, where Dagster's default SQLite storage keeps its files (``history/``,
``schedules/``): a home written with Dagster's default storage keeps its runs when it switches to this one.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import groupby
from typing import Any

from dagster._config import Field, StringSource
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

MAX_ENGINES = 64
"""Engines kept per process (least recently used dropped): a run writes its own file and the index."""


class EngineCachingSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one engine per database file and process (see the module docstring)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[tuple[int, str], Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> EngineCachingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        key = (os.getpid(), shard)
        engine = self._engines.pop(key, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
        self._engines[key] = engine  # the most recently used last
        while len(self._engines) > MAX_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # Dagster's, without the engine per call
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """One run's events in order, each stretch of asset events (materializations, planned materializations,
        observations) in one transaction per file: the rows ``store_event`` writes one event at a time (the run's
        file, then the index with the event's tags and its asset's latest event). Other events (a run's planned
        asset checks) are stored one at a time, as Dagster does."""
        if len({event.run_id for event in events}) != 1:
            super().store_event_batch(events)
            return
        for assets, group in groupby(events, key=lambda event: event.dagster_event_type in ASSET_EVENTS):
            stretch = list(group)
            if not assets:
                super().store_event_batch(stretch)
                continue
            inserts = [self.prepare_insert_event(event) for event in stretch]
            with self.run_connection(stretch[0].run_id) as conn:
                for insert in inserts:
                    conn.execute(insert)
            with self.index_transaction() as conn:
                for event, insert in zip(stretch, inserts, strict=True):
                    with db_result(conn, insert) as result:
                        event_id = result.inserted_primary_key[0]
                    self._store_asset_event_tags(conn, [event], [event_id])
                    self._store_asset_event(conn, event, event_id)

    def dispose(self) -> None:
        super().dispose()
        while self._engines:
            self._engines.popitem()[1].dispose()


class SentinelSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, schedules, event log in the same files) with the engine-caching event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = EngineCachingSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> SentinelSqliteStorage:
        base_dir = config_value.get("base_dir") or os.environ.get("DAGSTER_HOME")
        if not base_dir:
            raise ValueError("SentinelSqliteStorage: no base_dir in its config and DAGSTER_HOME is not set")
        return cls.from_local(base_dir, inst_data=inst_data)

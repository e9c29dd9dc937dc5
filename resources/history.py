"""Every read of the Dagster instance's history by the Dagster layer goes through this module.

Assets, jobs, sensors and resources ask here for past materializations and check evaluations; what they get
back are plain values (:class:`Materialization`, :class:`CheckEvaluation`), never Dagster's event records, so
the rules that use them stay in the core and the queries stay in one place. This is also the only module
allowed a private ``dagster._core`` import; each one says why.

The functions take the instance and an asset key (:mod:`resources.keys`):

- :func:`materializations` — the newest materializations of a key (of some partitions), newest first;
- :func:`latest_by_partition` — the newest materialization of each of some partitions;
- :func:`latest_per_partition` — the newest materialization of every partition (every page of the log);
- :func:`materializations_after` — materializations after a storage id, oldest first (a sensor's cursor);
- :func:`materialized_partitions` — the partition keys that have a materialization;
- :func:`last_check_evaluation` — the latest execution of an asset check for a partition;
- :func:`check_evaluations` — the newest executions of an asset check over every partition;
- :func:`materializations_page` — one page of materializations after an opaque cursor, oldest first;
- :func:`observations` — one page of observations after an opaque cursor, oldest first;
- :func:`partition_observations` — the newest observations of one partition;
- :func:`has_materialization` — whether a key has any materialization;
- :func:`runs_tagged` — the runs carrying some tags (:class:`Run`), newest first, optionally bounded and
  filtered by run id and status; :func:`run` — one run by id;
- :func:`dagster_run` — Dagster's own run object, for the writes that need it (``report_run_failed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunsFilter,
)

# Why private: Dagster exports no public name for the tags that carry an asset's code version and data
# version on its materializations (``dagster/code_version``, ``dagster/data_version``,
# ``dagster/data_version_is_user_provided``); the constants keep the spelling Dagster's own.
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
)

# Why private: the partition filter of ``get_asset_check_execution_history``; the public
# ``DagsterInstance.get_latest_asset_check_evaluation_record`` cannot ask for one partition's evaluation.
from dagster._core.event_api import PartitionKeyFilter

# Why private: the status of a check execution record (the public API has no enum to compare it with).
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

PAGE = 1000
"""Records read per query when every page is wanted."""


@dataclass(frozen=True)
class Materialization:
    """One stored materialization: its partition, ids, time, metadata values (unwrapped) and tags."""

    partition: str | None
    storage_id: int
    run_id: str
    timestamp: float
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        """A metadata value as text; ``None`` when missing or empty.

        >>> Materialization("2026-10-10", 1, "r", 0.0, {"incident_id": "inc-1", "onset": ""}).text("onset") is None
        True
        """
        value = self.metadata.get(key)
        return None if value in (None, "", "None") else str(value)

    @property
    def code_version(self) -> str | None:
        """The asset's declared code version; ``None`` when Dagster defaulted it to the run id."""
        version = self.tags.get(CODE_VERSION_TAG)
        return None if not version or version == self.run_id else version

    @property
    def data_version(self) -> str | None:
        """A data version the asset reported itself (not Dagster's hash of code and input versions)."""
        user_provided = self.tags.get(DATA_VERSION_IS_USER_PROVIDED_TAG) == "true"
        return self.tags.get(DATA_VERSION_TAG) if user_provided else None


@dataclass(frozen=True)
class CheckEvaluation:
    """One execution of an asset check: whether it failed, its evaluation (when it has one), where and when."""

    failed: bool
    description: str = ""
    passed: bool | None = None
    severity: AssetCheckSeverity | None = None
    id: int = 0
    partition: str | None = None
    run_id: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def unwrap_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Metadata with Dagster's value wrappers removed (``TextMetadataValue("x")`` → ``"x"``); plain values kept."""
    return {k: getattr(v, "value", v) for k, v in (metadata or {}).items()}


def _stored(record: Any, event: Any) -> dict[str, Any]:
    """What a stored materialization and observation record share: partition, ids, time and plain metadata."""
    return {
        "partition": record.partition_key,
        "storage_id": int(record.storage_id),
        "run_id": record.run_id,
        "timestamp": float(record.timestamp),
        "metadata": unwrap_metadata(event.metadata if event is not None else None),
    }


def _plain(record: Any) -> Materialization:
    materialization = record.asset_materialization
    tags = dict(materialization.tags or {}) if materialization is not None else {}
    return Materialization(**_stored(record, materialization), tags=tags)


def materializations(
    instance: DagsterInstance, key: AssetKey, *, partitions: Sequence[str] | None = None, limit: int = 2
) -> list[Materialization]:
    """The newest ``limit`` materializations of ``key`` (of ``partitions`` when given), newest first."""
    flt = AssetRecordsFilter(asset_key=key, asset_partitions=list(partitions) if partitions else None)
    return [_plain(r) for r in instance.fetch_materializations(flt, limit=limit).records]


def latest_by_partition(
    instance: DagsterInstance, key: AssetKey, partitions: Iterable[str]
) -> dict[str, Materialization]:
    """The newest materialization of ``key`` for each of ``partitions`` that has one.

    One query of the newest ``4 × len(partitions)`` records; when that many came back, a partition materialized
    many times since another's newest record (a window re-run by late data or repeated backfills) may have crowded
    it out, so the partitions still missing are asked again on their own.
    """
    wanted = list(dict.fromkeys(partitions))
    if not wanted:
        return {}
    limit = len(wanted) * 4
    records = materializations(instance, key, partitions=wanted, limit=limit)
    found = newest_by_partition(records)
    missing = [k for k in wanted if k not in found]
    if len(records) == limit and missing:  # each round finds at least one of them, so this ends
        found.update(latest_by_partition(instance, key, missing))
    return found


def newest_by_partition(newest_first: Iterable[Materialization]) -> dict[str, Materialization]:
    """The first (newest) record of each partition among records read newest first; unpartitioned ones skipped.

    >>> records = [Materialization(p, i, "r", float(i)) for p, i in (("b", 3), ("a", 2), ("b", 1))]
    >>> {k: r.storage_id for k, r in newest_by_partition(records).items()}
    {'b': 3, 'a': 2}
    """
    latest: dict[str, Materialization] = {}
    for record in newest_first:
        if record.partition and record.partition not in latest:
            latest[record.partition] = record
    return latest


def latest_per_partition(instance: DagsterInstance, key: AssetKey) -> dict[str, Materialization]:
    """The newest materialization of every partition of ``key``, reading every page of the log."""
    newest: dict[str, Materialization] = {}
    cursor = None
    while True:
        result = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key), limit=PAGE, cursor=cursor, ascending=True
        )
        for record in result.records:
            if record.partition_key is not None:
                newest[record.partition_key] = _plain(record)
        if not result.has_more:
            return newest
        cursor = result.cursor


def materializations_after(
    instance: DagsterInstance, key: AssetKey, after_storage_id: int | None, *, limit: int = PAGE
) -> list[Materialization]:
    """Materializations of ``key`` stored after ``after_storage_id`` (all when ``None``), oldest first."""
    flt = AssetRecordsFilter(asset_key=key, after_storage_id=after_storage_id)
    return [_plain(r) for r in instance.fetch_materializations(flt, limit=limit, ascending=True).records]


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paged read: its records, the opaque cursor after them and whether more follow."""

    records: list[T]
    cursor: str | None
    has_more: bool


def materializations_page(
    instance: DagsterInstance, key: AssetKey, *, cursor: str | None = None, limit: int = PAGE
) -> Page[Materialization]:
    """Up to ``limit`` materializations of ``key`` after ``cursor`` (from the start when ``None``), oldest first.

    The page's ``cursor`` is Dagster's opaque cursor: pass it back to read on from where this page ended.
    """
    result = instance.fetch_materializations(key, limit=limit, cursor=cursor, ascending=True)
    return Page([_plain(r) for r in result.records], result.cursor, result.has_more)


@dataclass(frozen=True)
class Observation:
    """One stored observation: its partition, ids, time and metadata values (unwrapped)."""

    partition: str | None
    storage_id: int
    run_id: str
    timestamp: float
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _observation(record: Any) -> Observation:
    return Observation(**_stored(record, record.asset_observation))


def observations(
    instance: DagsterInstance, key: AssetKey, *, cursor: str | None = None, limit: int = PAGE
) -> Page[Observation]:
    """Up to ``limit`` observations of ``key`` after ``cursor`` (from the start when ``None``), oldest first."""
    result = instance.fetch_observations(key, limit=limit, cursor=cursor, ascending=True)
    return Page([_observation(r) for r in result.records], result.cursor, result.has_more)


def has_materialization(instance: DagsterInstance, key: AssetKey) -> bool:
    """Whether ``key`` has at least one materialization (one indexed lookup, whatever the history's size)."""
    return instance.get_latest_materialization_event(key) is not None


def materialized_partitions(instance: DagsterInstance, key: AssetKey) -> set[str]:
    """The partition keys of ``key`` that have at least one materialization."""
    return set(instance.get_materialized_partitions(key))


def _evaluation(record: Any) -> CheckEvaluation:
    evaluation = record.event.asset_check_evaluation if record.event else None
    return CheckEvaluation(
        failed=record.status == AssetCheckExecutionRecordStatus.FAILED,
        description=(evaluation.description or "") if evaluation is not None else "",
        passed=evaluation.passed if evaluation is not None else None,
        severity=evaluation.severity if evaluation is not None else None,
        id=int(record.id),
        partition=record.partition,
        run_id=record.run_id,
        metadata=unwrap_metadata(evaluation.metadata if evaluation else None),
    )


def last_check_evaluation(
    instance: DagsterInstance, key: AssetCheckKey, partition: str | None
) -> CheckEvaluation | None:
    """The latest execution of the check ``key`` for ``partition`` (``None``: unpartitioned), if any."""
    history = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=1, partition_filter=PartitionKeyFilter(key=partition)
    )
    return _evaluation(history[0]) if history else None


def check_evaluations(instance: DagsterInstance, key: AssetCheckKey, *, limit: int) -> list[CheckEvaluation]:
    """The newest ``limit`` executions of the check ``key`` over every partition, newest first."""
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=limit)
    return [_evaluation(record) for record in history]


@dataclass(frozen=True)
class Run:
    """One run from the run history: what the gate, the exporter and the demo read of it."""

    run_id: str
    job_name: str
    status: DagsterRunStatus
    tags: Mapping[str, str]
    storage_id: int
    start_time: float | None
    end_time: float | None
    update_time: float
    create_time: float = 0.0


def _run(record: Any) -> Run:
    return Run(
        run_id=record.dagster_run.run_id,
        job_name=record.dagster_run.job_name,
        status=record.dagster_run.status,
        tags=dict(record.dagster_run.tags),
        storage_id=int(record.storage_id),
        start_time=record.start_time,
        end_time=record.end_time,
        update_time=record.update_timestamp.timestamp(),
        create_time=record.create_timestamp.timestamp(),
    )


def runs_tagged(
    instance: DagsterInstance,
    tags: Mapping[str, str | Sequence[str]] | None = None,
    *,
    ascending: bool = False,
    limit: int | None = None,
    run_ids: Sequence[str] | None = None,
    statuses: Sequence[DagsterRunStatus] | None = None,
    created_after: datetime | None = None,
) -> list[Run]:
    """The runs carrying all of ``tags`` (a list value: any of its values), newest first or oldest first.

    ``limit`` bounds the read (``None``: every run that matches); ``run_ids``, ``statuses`` and
    ``created_after`` narrow it.
    """
    flt = RunsFilter(
        tags=dict(tags or {}),
        run_ids=list(run_ids) if run_ids is not None else None,
        statuses=list(statuses) if statuses is not None else None,
        created_after=created_after,
    )
    return [_run(r) for r in instance.get_run_records(flt, limit=limit, ascending=ascending)]


def run(instance: DagsterInstance, run_id: str) -> Run | None:
    """The run ``run_id`` (``None``: no such run); one bounded read."""
    return next(iter(runs_tagged(instance, run_ids=[run_id], limit=1)), None)


def dagster_run(instance: DagsterInstance, run_id: str) -> DagsterRun | None:
    """Dagster's own run object of ``run_id``, for the instance writes that take one (``report_run_failed``)."""
    return instance.get_run_by_id(run_id)


def partition_observations(
    instance: DagsterInstance, key: AssetKey, partition: str, *, limit: int = 20
) -> list[Observation]:
    """The newest ``limit`` observations of one partition of ``key``, newest first."""
    flt = AssetRecordsFilter(asset_key=key, asset_partitions=[partition])
    return [_observation(r) for r in instance.fetch_observations(flt, limit=limit).records]

"""Every Dagster instance query the API makes, in one module (public ``DagsterInstance`` APIs only).

Reads: the newest materialization of each window of a model's assets (and the stored value it points at), the
incidents those windows form, remediation runs by tag, and the audit observations a run logged. Writes: one
runless observation on the model's ``audit_log`` per API drift check.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dagster import (
    AssetKey,
    AssetObservation,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    EventLogRecord,
    RunsFilter,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.windows import filesystem
from resources.history import unwrap_metadata
from resources.safety_gate import INCIDENT_TAG, MODEL_TAG

AUDIT_LOG = "audit_log"
T = TypeVar("T")


def plain_metadata(record: EventLogRecord) -> dict[str, Any]:
    """A record's metadata as plain values (``MetadataValue.value``)."""
    event = record.asset_materialization or record.asset_observation
    return unwrap_metadata(event.metadata if event is not None else None)


class WindowIndex:
    """The newest materialization of each window of each asset, kept in memory and refreshed incrementally.

    Each read asks the instance for the newest storage id per partition (one indexed query, nothing
    deserialized) and fetches only the records whose id changed since the last read, so a read costs the same
    with ten windows or ten thousand, and it is never staler than the instance.
    """

    def __init__(self) -> None:
        self._records: dict[AssetKey, dict[str, EventLogRecord]] = {}
        self._lock = threading.Lock()

    def newest_per_window(self, instance: DagsterInstance, key: AssetKey) -> dict[str, EventLogRecord]:
        """Partition → newest materialization record, ordered by partition key."""
        ids = instance.get_latest_storage_id_by_partition(key, DagsterEventType.ASSET_MATERIALIZATION)
        with self._lock:
            known = dict(self._records.get(key, {}))
        stale = [sid for window, sid in ids.items() if window not in known or known[window].storage_id != sid]
        for start in range(0, len(stale), 500):
            chunk = stale[start : start + 500]
            fetched = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key, storage_ids=chunk), limit=len(chunk)
            ).records
            for record in fetched:
                known[record.partition_key or "__all__"] = record
        current = {window: known[window] for window in sorted(ids) if window in known}
        with self._lock:
            self._records[key] = current
        return current


class ReadCache:
    """Answers of read queries reused for ``ttl`` seconds (``API_READ_CACHE_SECONDS``, default 1; 0 turns it
    off), so a burst of reads costs one round of queries per second, not one per request. Writes, run status
    and everything a write decides on are never read from it."""

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._answers: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        if self.ttl <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._answers) > 10_000:
                self._answers.clear()
            self._answers[key] = (now, value)
        return value


_INDEX = WindowIndex()
READ_CACHE = ReadCache()


def newest_per_window(instance: DagsterInstance, key: AssetKey) -> dict[str, EventLogRecord]:
    """The newest materialization of each partition of ``key``, ordered by partition key (see
    :class:`WindowIndex`; reused for :data:`READ_CACHE`'s ttl)."""
    return READ_CACHE.get(("windows", id(instance), key), lambda: _INDEX.newest_per_window(instance, key))


def newest(instance: DagsterInstance, key: AssetKey, partition: str | None = None) -> EventLogRecord | None:
    """The newest materialization of ``key`` (of one partition when given; reused for the cache's ttl)."""
    return READ_CACHE.get(("newest", id(instance), key, partition), lambda: _newest(instance, key, partition))


def _newest(instance: DagsterInstance, key: AssetKey, partition: str | None) -> EventLogRecord | None:
    records_filter = AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None)
    records = instance.fetch_materializations(records_filter, limit=1, ascending=False).records
    return records[0] if records else None


def stored_path(record: EventLogRecord) -> str:
    """Where the IO manager stored the value of this materialization (its ``path`` metadata)."""
    path = plain_metadata(record).get("path")
    if not path:
        raise DataError(
            f"{record.asset_key.to_user_string() if record.asset_key else 'asset'}: no stored path"
        )
    return str(path)


def stored_json(record: EventLogRecord) -> Any:
    """The JSON value a materialization points at (reports, patterns)."""
    path = stored_path(record)
    fs, location = filesystem(path)
    try:
        with fs.open_input_file(location) as handle:
            return json.loads(handle.read())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the stored value ({type(exc).__name__})") from None


# ------------------------------------------------------------------------------------------- incidents


@dataclass
class IncidentWindows:
    """The drifted windows of one incident, from ``drift_report`` metadata."""

    incident_id: str
    model_id: str
    windows: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    affected: list[str] = field(default_factory=list)
    open: bool = False


def drift_windows(instance: DagsterInstance, spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """Metadata of the newest ``drift_report`` of each window of the model, by window."""
    key = AssetKey([spec.asset_prefix, "drift_report"])
    return {window: plain_metadata(record) for window, record in newest_per_window(instance, key).items()}


def incidents(windows: Mapping[str, Mapping[str, Any]], model_id: str) -> list[IncidentWindows]:
    """Group windows by their incident id; the incident of the newest window is the open one."""
    found: dict[str, IncidentWindows] = {}
    for window, metadata in windows.items():
        incident = str(metadata.get("incident_id") or "")
        if not incident:
            continue
        entry = found.setdefault(incident, IncidentWindows(incident, model_id))
        entry.windows.append(window)
        entry.scores.append(float(metadata.get("drift_score") or 0.0))
        names = str(metadata.get("affected_features") or "")
        entry.affected.extend(n for n in names.split(", ") if n and n != "none" and n not in entry.affected)
    if windows:
        latest = str(list(windows.values())[-1].get("incident_id") or "")
        if latest in found:
            found[latest].open = True
    return list(found.values())


def incident_windows(instance: DagsterInstance, spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """:func:`drift_windows` with each window's incident as the RCA recorded it when the drift report has none
    (a window without data drift can open or continue an incident from its serving signals)."""
    windows = {window: dict(meta) for window, meta in drift_windows(instance, spec).items()}
    key = AssetKey([spec.asset_prefix, "rca_report"])
    for window, record in newest_per_window(instance, key).items():
        incident = str(plain_metadata(record).get("incident_id") or "")
        if incident and window in windows and not windows[window].get("incident_id"):
            windows[window]["incident_id"] = incident
    return windows


def rca_by_incident(instance: DagsterInstance, spec: ModelSpec) -> dict[str, tuple[str, EventLogRecord]]:
    """The newest window's ``rca_report`` record of each incident: incident → (window, record)."""
    key = AssetKey([spec.asset_prefix, "rca_report"])
    out: dict[str, tuple[str, EventLogRecord]] = {}
    for window, record in newest_per_window(instance, key).items():
        incident = str(plain_metadata(record).get("incident_id") or "")
        if incident:
            out[incident] = (window, record)  # windows ascend: the last one wins
    return out


# ------------------------------------------------------------------------------------------------ runs


def remediation_runs(
    instance: DagsterInstance,
    *,
    model_id: str | None = None,
    incident_id: str | None = None,
    limit: int = 200,
) -> list[DagsterRun]:
    """Remediation runs (newest first) by the tags the sensor and the API set."""
    tags = {MODEL_TAG: model_id} if model_id else {}
    if incident_id:
        tags[INCIDENT_TAG] = incident_id
    if not tags:
        raise ValueError("remediation_runs needs a model or an incident")
    key = ("runs", id(instance), model_id, incident_id, limit)
    return READ_CACHE.get(key, lambda: list(instance.get_runs(RunsFilter(tags=tags), limit=limit)))


def run_times(instance: DagsterInstance, run_id: str) -> tuple[float | None, float | None, float | None]:
    """Creation, start and end of a run (Unix seconds; ``None`` when not there yet)."""
    records = instance.get_run_records(RunsFilter(run_ids=[run_id]), limit=1)
    if not records:
        return None, None, None
    record = records[0]
    return record.create_timestamp.timestamp(), record.start_time, record.end_time


def audit_observations(instance: DagsterInstance, run_id: str) -> list[dict[str, Any]]:
    """The ``audit_log`` observations a remediation run logged (gate decision, action, verification …)."""
    out = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_OBSERVATION):
        event = entry.dagster_event
        observation = event.asset_observation_data.asset_observation if event else None
        if observation is None or observation.asset_key.path[-1] != AUDIT_LOG:
            continue
        out.append(unwrap_metadata(observation.metadata))
    return out


def observe_audit(
    instance: DagsterInstance, spec: ModelSpec, description: str, metadata: Mapping[str, Any]
) -> None:
    """Record an API write on the model's ``audit_log`` asset (a runless observation, shown in the UI)."""
    instance.report_runless_asset_event(
        AssetObservation(
            asset_key=AssetKey([spec.asset_prefix, AUDIT_LOG]),
            description=description,
            metadata=dict(metadata),
        )
    )

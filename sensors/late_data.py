"""``<model>_detect_on_late_data``: a closed window whose files changed after it was materialized is redone.

Each tick lists the prediction log's part files written since its cursor (a high-water mark on modification
times, :class:`drift_sentinel.logwatch.LogCursor`; the first tick starts from the present, so the files that were
already there are not news). For each new or rewritten part it reads the time column, finds the closed windows
its rows fall in, and requests the model's detect job for every such window that was already materialized
*before* the file was written (run key ``late:{window}:{file mtime}``, so one file never redoes a window twice).
Windows never materialized are left to the automation (the newest) or a backfill (older ones); the open window
is the live check's. The drift report of the redone window keeps its incident id (it is derived from the model
and the window), and remediation run keys ``{incident}:{action}`` keep it from acting twice; the remediation
sensor acts only when that incident is still current (:mod:`drift_sentinel.remediation_scope`).

A part that cannot be read is named on the tick and retried on the next one; the next good part is still read.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    TimeWindowPartitionsDefinition,
    sensor,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.logwatch import LogCursor, list_parts, read_part
from resources.catalog import ModelCatalogResource
from sensors.live import PRIORITY_TAG, TICK_BUDGET_SECONDS, TRIGGER_TAG
from sentinel_assets import history

LATE_DATA_INTERVAL_SECONDS = 30


def _materialized_at(instance: DagsterInstance, key: AssetKey, partition: str) -> float | None:
    latest = history.materializations(instance, key, partitions=[partition], limit=1)
    return latest[0].timestamp if latest else None


def _partition_keys(
    partitions: TimeWindowPartitionsDefinition, stamps: pd.Series, cadence: str, timezone: str
) -> list[str]:
    """The partitions the timestamps fall in (those outside the partitions' range are ignored)."""
    starts = stamps.dt.tz_convert(timezone).dt.floor("h" if cadence == "hourly" else "D").unique()
    keys = []
    for start in starts:
        try:
            keys.append(partitions.get_partition_key_for_timestamp(pd.Timestamp(start).timestamp()))
        except Exception:  # before the first window or after the last one
            continue
    return keys


def build_late_data_sensor(
    spec: ModelSpec, partitions: TimeWindowPartitionsDefinition, detect_job: str, *, running: bool = True
) -> SensorDefinition:
    """The late-data sensor of ``spec``, requesting ``detect_job`` for each closed window whose files changed."""
    name = f"{spec.asset_prefix}_detect_on_late_data"
    window_key = AssetKey([spec.asset_prefix, "current_window"])

    @sensor(
        name=name,
        job_name=detect_job,
        minimum_interval_seconds=LATE_DATA_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=f"Re-materializes a closed window of {spec.id} when its prediction-log files change after "
        "it was materialized (late data).",
    )
    def late_data_sensor(context: SensorEvaluationContext, catalog: ModelCatalogResource):
        now = datetime.now(UTC)
        log = catalog.resolve(spec.data.prediction_log)
        try:
            parts = list_parts(log)
        except DataError as exc:
            return SkipReason(str(exc))
        cursor = LogCursor.from_json(context.cursor) if context.cursor else LogCursor(mtime_ns=time.time_ns())
        new = cursor.new_parts(parts)
        if not new:
            return SensorResult(
                skip_reason=SkipReason(f"no new part files in {log} ({len(parts)} in all)"),
                cursor=cursor.to_json(),
            )
        deadline = time.monotonic() + TICK_BUDGET_SECONDS
        latest: dict[str, int] = {}  # window -> newest part mtime that touched it
        notes: list[str] = []
        for index, part in enumerate(new):
            if time.monotonic() > deadline:
                notes.append(f"time-boxed: {len(new) - index} part(s) left for the next tick")
                break
            try:
                rows = read_part(part, columns=[], time_column=spec.timestamp_column, now=now)
            except DataError as exc:
                cursor = cursor.advance(part, error=str(exc))
                notes.append(f"{exc} (retried next tick)")
                continue
            notes.extend(rows.notes)
            cursor = cursor.advance(part)
            stamps = rows.frame[spec.timestamp_column]
            if not len(stamps):
                continue
            for key in _partition_keys(partitions, stamps, spec.window.cadence, spec.window.timezone):
                window = partitions.time_window_for_partition_key(key)
                if window.end > now:
                    continue  # the open window is the live check's
                latest[key] = max(latest.get(key, 0), part.mtime_ns)
        requests = []
        for key, mtime_ns in sorted(latest.items()):
            done = _materialized_at(context.instance, window_key, key)
            if done is None or done * 1e9 >= mtime_ns:
                continue  # never materialized (not late: the automation's or a backfill's), or already newer
            requests.append(
                RunRequest(
                    run_key=f"late:{key}:{mtime_ns}",
                    partition_key=key,
                    tags={TRIGGER_TAG: "late_data", PRIORITY_TAG: "1"},
                )
            )
        for note in notes:
            context.log.warning(note)
        if requests:
            return SensorResult(run_requests=requests, cursor=cursor.to_json())
        touched = ", ".join(sorted(latest)) or "none closed"
        text = (
            f"{len(new)} new part(s); windows touched: {touched}; none materialized before the file changed"
        )
        return SensorResult(skip_reason=SkipReason("; ".join([text, *notes])), cursor=cursor.to_json())

    return late_data_sensor

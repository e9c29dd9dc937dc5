"""``<model>_detect_on_live_drift``: the live check of the window that is still open.

Every ``window.live_check`` (default 30 s) for an open-ended model, one tick:

1. reads the prediction log's part files written since its cursor (:class:`drift_sentinel.logwatch.LogCursor`;
   a part that cannot be read is named on the tick and retried next time, the next good part is still read);
2. adds the open window's rows to the window's counts and feeds them to the streaming detectors (ADWIN and
   Page-Hinkley per feature, DDM on the error stream), both kept in the cursor, so they survive a daemon restart;
3. tests the open window so far against the reference profile (:func:`drift_sentinel.live.evaluate_live_window`,
   ``min_samples`` respected);
4. on confirmed drift, requests one run of the model's detect job for the open window (run key
   ``live:{window}``, high run priority): that run materializes the window's reports early, marked
   ``window_state: open``, and the remediation sensor acts on the incident within seconds. When the window
   closes, the automation re-materializes it in full; the incident id is the same (it is derived from the model
   and the window), and the run keys ``{incident}:{action}`` keep remediation from acting twice.

A tick is time-boxed (:data:`TICK_BUDGET_SECONDS`): parts left over are read on the next tick. The heavy work
(the full detection, signals, RCA) is the run's, never the tick's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from dagster import (
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
from drift_sentinel.detection import DetectionConfig, ReferenceProfile, profile_reference
from drift_sentinel.errors import DataError
from drift_sentinel.live import (
    LiveStreams,
    LiveWindow,
    evaluate_live_window,
    live_window_from_dict,
    live_window_to_dict,
)
from drift_sentinel.logwatch import LogCursor, list_parts, read_part
from drift_sentinel.windows import read_table, read_window
from resources.catalog import ModelCatalogResource
from resources.thresholds import ThresholdStoreResource

TICK_BUDGET_SECONDS = 10.0
WINDOW_STATE_TAG = "sentinel/window_state"
TRIGGER_TAG = "sentinel/trigger"
PRIORITY_TAG = "dagster/priority"
LIVE_RUN_PRIORITY = "5"


def detection_settings(spec: ModelSpec) -> DetectionConfig:
    """The model's detection settings with its declared feature kinds (as the drift report uses them)."""
    return spec.detection.model_copy(update={"features": spec.detection.features or spec.feature_kinds})


def log_columns(spec: ModelSpec) -> list[str]:
    """The columns every part must have: the features, the prediction and the declared optional columns."""
    optional = [spec.label_column, spec.latency_column, spec.error_column]
    return [f.name for f in spec.features] + [spec.prediction_column] + [c for c in optional if c]


@lru_cache(maxsize=8)
def _snapshot_profile(uri: str, stamp: int, config_json: str) -> ReferenceProfile:
    return profile_reference(read_table(uri), DetectionConfig.model_validate_json(config_json))


def reference_profile(
    spec: ModelSpec, catalog: ModelCatalogResource, window_start: datetime, window_end: datetime
) -> ReferenceProfile:
    """The reference profile, computed once per process (training snapshot) or per window (trailing)."""
    config = detection_settings(spec)
    if spec.reference.strategy == "training_snapshot" and spec.data.training_snapshot:
        uri = catalog.resolve(spec.data.training_snapshot)
        return _snapshot_profile(uri, _mtime(uri), config.model_dump_json())
    span = window_end - window_start
    return _trailing_profile(
        catalog.resolve(spec.data.prediction_log),
        window_start - spec.reference.windows * span,
        window_start,
        tuple(log_columns(spec)),
        spec.timestamp_column,
        config.model_dump_json(),
    )


@lru_cache(maxsize=8)
def _trailing_profile(
    log: str,
    start: datetime,
    end: datetime,
    columns: tuple[str, ...],
    time_column: str,
    config: DetectionConfig,
) -> ReferenceProfile:
    frame = read_window(log, start=start, end=end, columns=list(columns), time_column=time_column)
    return profile_reference(frame, config)


def _mtime(uri: str) -> int:
    from drift_sentinel.windows import filesystem

    fs, path = filesystem(uri)
    return int(fs.get_file_info(path).mtime_ns or 0)


@dataclass
class LiveState:
    """What the live check keeps between ticks (stored as the sensor's cursor)."""

    window: str
    log: LogCursor
    counts: LiveWindow
    streams: str
    launched: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "window": self.window,
                "log": json.loads(self.log.to_json()),
                "counts": live_window_to_dict(self.counts),
                "streams": self.streams,
                "launched": self.launched,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> LiveState | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(
            window=data["window"],
            log=LogCursor.from_json(json.dumps(data["log"])),
            counts=live_window_from_dict(data["counts"]),
            streams=data.get("streams", ""),
            launched=data.get("launched", ""),
        )


def live_tick(
    spec: ModelSpec,
    partitions: TimeWindowPartitionsDefinition,
    catalog: ModelCatalogResource,
    cursor: str | None,
    *,
    now: datetime | None = None,
    budget: float = TICK_BUDGET_SECONDS,
    thresholds: dict[str, dict[str, float]] | None = None,
) -> tuple[LiveState | None, list[str], Any]:
    """One pass of the live check: the new state, the notes for the tick, and the live verdict (or a skip text).

    ``thresholds`` are the ones in force when ``update_thresholds`` stored a version (as the drift report uses).
    """
    now = now or datetime.now(UTC)
    key = partitions.get_last_partition_key()
    if key is None:
        return None, [], f"no open window yet (windows start {spec.window.start.date()})"
    window = partitions.time_window_for_partition_key(key)
    state = LiveState.from_json(cursor)
    if state is None:  # first tick: parts written before the window opened hold none of its rows
        start_ns = int(window.start.timestamp() * 1e9)
        state = LiveState(key, LogCursor(mtime_ns=start_ns), LiveWindow(key), "")
    if state.window != key:  # the window closed: its counts go, the streams and the log cursor stay
        state = LiveState(key, state.log, LiveWindow(key), state.streams, state.launched)
    log = catalog.resolve(spec.data.prediction_log)
    parts = list_parts(log)  # DataError (log missing) is the caller's to report
    new = state.log.new_parts(parts)
    config = detection_settings(spec)
    profile = reference_profile(spec, catalog, window.start, window.end)
    if thresholds is not None:
        config = config.model_copy(update={"thresholds": thresholds})
    streams = LiveStreams.loads(state.streams)
    notes: list[str] = []
    if not parts:
        notes.append(f"{log}: the prediction log has no part files yet")
    deadline = time.monotonic() + budget
    counts, cursor_ = state.counts, state.log
    read = 0
    for index, part in enumerate(new):
        if time.monotonic() > deadline:
            notes.append(f"time-boxed after {budget:g} s: {len(new) - index} part(s) left for the next tick")
            break
        try:
            rows = read_part(part, columns=log_columns(spec), time_column=spec.timestamp_column, now=now)
        except DataError as exc:
            cursor_ = cursor_.advance(part, error=str(exc))
            notes.append(f"{exc} (retried next tick)")
            continue
        notes.extend(rows.notes)
        stamps = rows.frame[spec.timestamp_column]
        start, end = window.start, window.end
        in_window = rows.frame[(stamps >= start) & (stamps < end)]
        earlier = int((stamps < start).sum())
        if earlier:
            notes.append(
                f"{part.name}: {earlier} row(s) of closed windows (late data, for the late-data sensor)"
            )
        counts = counts.add(in_window, profile, config)
        streams.feed(
            in_window,
            profile,
            time_column=spec.timestamp_column,
            prediction_column=spec.prediction_column,
            label_column=spec.label_column,
        )
        cursor_ = cursor_.advance(part)
        read += 1
    state = LiveState(key, cursor_, counts, streams.dumps(), state.launched)
    verdict = evaluate_live_window(counts, profile, config)
    onset = streams.onset
    summary = (
        f"window {key} (open): {verdict.n_rows} row(s) so far, {verdict.verdict.value}: {verdict.reason}; "
        f"read {read} new part(s)" + (f"; streaming onset {onset.isoformat()}" if onset else "")
    )
    return state, notes, (verdict, summary)


def build_live_sensor(
    spec: ModelSpec, partitions: TimeWindowPartitionsDefinition, detect_job: str, *, running: bool = True
) -> SensorDefinition | None:
    """The live check of ``spec``'s open window (``None`` unless the model is open-ended with live_check on)."""
    if not spec.window.live or spec.window.live_check is None:
        return None
    interval = max(1, int(spec.window.live_check.total_seconds()))
    name = f"{spec.asset_prefix}_detect_on_live_drift"

    @sensor(
        name=name,
        job_name=detect_job,
        minimum_interval_seconds=interval,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=f"Every {interval} s, tests {spec.id}'s open window so far against the reference; on "
        "confirmed drift, materializes that window's reports early.",
    )
    def live_sensor(
        context: SensorEvaluationContext,
        catalog: ModelCatalogResource,
        threshold_store: ThresholdStoreResource,
    ):
        try:
            stored = threshold_store.stored(spec.id)
            state, notes, outcome = live_tick(spec, partitions, catalog, context.cursor, thresholds=stored)
        except DataError as exc:
            return SkipReason(str(exc))  # the cursor stays where it was: nothing is lost
        if state is None:
            return SkipReason(str(outcome))
        verdict, summary = outcome
        for note in notes:
            context.log.warning(note)
        text = "; ".join([summary, *notes])
        if verdict.drift_detected and state.launched != state.window:
            state.launched = state.window
            request = RunRequest(
                run_key=f"live:{state.window}",
                partition_key=state.window,
                tags={WINDOW_STATE_TAG: "open", TRIGGER_TAG: "live_check", PRIORITY_TAG: LIVE_RUN_PRIORITY},
            )
            context.log.info(f"drift confirmed on the open window: {text}")
            return SensorResult(run_requests=[request], cursor=state.to_json())
        return SensorResult(skip_reason=SkipReason(text), cursor=state.to_json())

    return live_sensor

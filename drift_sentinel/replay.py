"""A real-time source: play the sample-data generator into a model's prediction log as it happens.

Every ``part_every`` seconds a new Parquet part file is written to the log folder, holding the requests of the
last ``part_every`` seconds at ``speed`` times the generator's traffic (``rows_per_hour`` requests per hour of
traffic). Rows are re-stamped with the wall-clock time they are written (spread over the seconds since the
previous part), file names carry the date as the window reader expects (``YYYY-MM-DD_HHMMSS_NNNNNN.parquet``)
and each part appears atomically (written under a temporary name, then renamed). From ``drift_after`` seconds
after the start, rows come from the generator's drifted distribution (scenario ``demo``: ``amount`` +0.5 sd and a
new ``device_id`` category on ~25% of the traffic).

>>> import tempfile, pathlib
>>> clock = FakeClock(1_790_000_000.0)
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> summary = run_replay(out, speed=60, part_every=10, drift_after=15, parts=3, seed=1, clock=clock, sleep=clock.sleep)
>>> [p.drifted for p in summary.parts], sorted(f.name for f in out.iterdir())[0]
([False, True, True], '2026-09-21_141330_000001.parquet')
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from drift_sentinel.errors import DataError
from drift_sentinel.sample_data import _day_frame
from drift_sentinel.windows import filesystem

POOL_DAY = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass
class FakeClock:
    """A clock for tests and docs: ``sleep`` advances ``time`` instead of waiting."""

    now: float

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass(frozen=True)
class WrittenPart:
    """One part the replay wrote."""

    path: str
    rows: int
    drifted: bool
    written_at: datetime


@dataclass
class ReplaySummary:
    """What a replay wrote, and when the drift started (wall clock)."""

    started_at: datetime
    drift_at: datetime | None
    parts: list[WrittenPart] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)


class _Pool:
    """Rows from the generator (one day at a time, a fresh seed each), handed out in order."""

    def __init__(self, seed: int, rows_per_hour: int, drifted: bool) -> None:
        self.seed, self.rows_per_hour, self.drifted = seed, rows_per_hour, drifted
        self.round = 0
        self.frame = pd.DataFrame()
        self.offset = 0

    def take(self, n: int) -> pd.DataFrame:
        chunks = []
        while n > 0:
            if self.offset >= len(self.frame):
                rng = np.random.default_rng([self.seed, int(self.drifted), self.round])
                day = POOL_DAY + timedelta(days=self.round)
                drift_start = day if self.drifted else None
                self.frame = _day_frame(
                    rng, day, self.rows_per_hour, "demo", drift_start, day + timedelta(days=3650)
                )
                self.frame = self.frame.sample(frac=1.0, random_state=self.round).reset_index(drop=True)
                self.round, self.offset = self.round + 1, 0
            chunk = self.frame.iloc[self.offset : self.offset + n]
            self.offset += len(chunk)
            n -= len(chunk)
            chunks.append(chunk)
        return pd.concat(chunks, ignore_index=True) if chunks else self.frame.iloc[:0]


def part_name(at: datetime, seq: int) -> str:
    """``YYYY-MM-DD_HHMMSS_NNNNNN.parquet`` in UTC (the date leads, as the window reader expects).

    >>> part_name(datetime(2026, 11, 29, 13, 5, 9, tzinfo=UTC), 12)
    '2026-11-29_130509_000012.parquet'
    """
    return f"{at.astimezone(UTC):%Y-%m-%d_%H%M%S}_{seq:06d}.parquet"


def stamp(
    frame: pd.DataFrame, start: datetime, end: datetime, seq: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``frame`` with timestamps spread uniformly over ``(start, end]`` (sorted) and fresh request ids."""
    n = len(frame)
    lo, hi = pd.Timestamp(start).value, pd.Timestamp(end).value
    stamps = np.sort(rng.integers(lo + 1, hi + 1, size=n)) if n else np.empty(0, dtype=np.int64)
    out = frame.copy()
    out["timestamp"] = pd.to_datetime(stamps, utc=True).astype("datetime64[ns, UTC]")
    out["request_id"] = [f"replay-{seq:06d}-{i:05d}" for i in range(n)]
    return out


def write_part(log_uri: str | Path, frame: pd.DataFrame, name: str) -> str:
    """Write ``frame`` as ``name`` in the log folder, atomically on a local disk (temporary name, rename)."""
    fs, root = filesystem(str(log_uri))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if str(log_uri).startswith("s3://"):
        path = f"{root.rstrip('/')}/{name}"
        pq.write_table(table, path, filesystem=fs)  # an S3 PUT appears whole
        return "s3://" + path
    Path(root).mkdir(parents=True, exist_ok=True)
    final = Path(root) / name
    temporary = final.with_name(f".{name}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, final)
    return str(final)


def run_replay(
    log_uri: str | Path,
    *,
    speed: float = 60.0,
    drift_after: float | None = 60.0,
    part_every: float = 10.0,
    rows_per_hour: int = 300,
    duration: float | None = None,
    parts: int | None = None,
    seed: int = 42,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_part: Callable[[WrittenPart], None] | None = None,
) -> ReplaySummary:
    """Write a part every ``part_every`` seconds until ``duration`` seconds or ``parts`` parts (else forever).

    Parameters
    ----------
    log_uri
        The model's prediction-log folder (local or ``s3://``).
    speed
        Traffic multiplier: each wall-clock second carries ``speed`` seconds of generated traffic.
    drift_after
        Seconds after the start when the drifted distribution takes over (``None``: no drift).
    part_every
        Seconds between part files.
    rows_per_hour
        The generator's mean requests per hour of traffic.
    on_part
        Called with each part written (the command prints it).
    """
    if speed <= 0 or part_every <= 0 or rows_per_hour < 1:
        raise DataError(
            f"replay needs speed > 0, part_every > 0 and rows_per_hour >= 1 "
            f"(got {speed}, {part_every}, {rows_per_hour})"
        )
    rng = np.random.default_rng([seed, 99])
    pools = {False: _Pool(seed, rows_per_hour, False), True: _Pool(seed, rows_per_hour, True)}
    start = clock()
    started_at = datetime.fromtimestamp(start, UTC)
    drift_at = started_at + timedelta(seconds=drift_after) if drift_after is not None else None
    summary = ReplaySummary(started_at=started_at, drift_at=drift_at)
    previous = started_at
    seq = 0
    while (parts is None or seq < parts) and (duration is None or clock() - start < duration):
        seq += 1
        sleep(max(0.0, start + seq * part_every - clock()))
        now = datetime.fromtimestamp(clock(), UTC)
        drifted = drift_at is not None and now >= drift_at
        rate = rows_per_hour * speed / 3600.0
        n = int(rng.poisson(rate * (now - previous).total_seconds()))
        frame = stamp(pools[drifted].take(n), previous, now, seq, rng)
        path = write_part(log_uri, frame, part_name(now, seq))
        part = WrittenPart(path=path, rows=n, drifted=drifted, written_at=now)
        summary.parts.append(part)
        if on_part is not None:
            on_part(part)
        previous = now
    return summary

"""Follow a prediction log folder as it grows: which part files are new since a cursor, read one safely.

A live prediction log is a folder that receives new Parquet part files (``drift-sentinel replay`` writes one
every few seconds; a serving system's log shipper does the same). :class:`LogCursor` is a high-water mark on
the files' modification times (plus the names already seen at that time), so a watcher reads each part once,
in the order it was written, and survives restarts when the cursor is stored. A part that cannot be read
(corrupt, a column missing) is remembered in ``failed`` with the reason and retried on every pass until it
reads: the cursor moves on so the next good part is still processed, and nothing is skipped silently.

>>> import pandas as pd, tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> ts = pd.Timestamp("2026-10-01T10:00Z")
>>> pd.DataFrame({"timestamp": [ts], "x": [1.0]}).to_parquet(root / "2026-10-01_100000_000001.parquet")
>>> cursor = LogCursor()
>>> parts = cursor.new_parts(list_parts(str(root)))
>>> [p.name for p in parts]
['2026-10-01_100000_000001.parquet']
>>> cursor = cursor.advance(parts[0])
>>> cursor.new_parts(list_parts(str(root)))
[]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import PurePosixPath

import pandas as pd
import pyarrow.fs as pafs

from drift_sentinel.errors import DataError
from drift_sentinel.times import utc_times
from drift_sentinel.windows import _read_file, filesystem

PART_SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True, order=True)
class PartFile:
    """One file of the prediction log: ordered by modification time, then path."""

    mtime_ns: int
    path: str
    size: int = 0

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


def list_parts(log_uri: str) -> list[PartFile]:
    """Every part file of a prediction-log folder (or the single file), oldest first.

    Raises :class:`DataError` naming the path when the log does not exist.
    """
    fs, path = filesystem(log_uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise DataError(f"{log_uri}: prediction log not found")
    if info.type == pafs.FileType.File:
        infos = [info]
    else:
        infos = [
            f
            for f in fs.get_file_info(pafs.FileSelector(path, recursive=True))
            if f.type == pafs.FileType.File and f.path.endswith(PART_SUFFIXES)
        ]
    scheme = "s3://" if log_uri.startswith("s3://") else ""
    return sorted(PartFile(int(f.mtime_ns or 0), scheme + f.path, int(f.size or 0)) for f in infos)


@dataclass(frozen=True)
class LogCursor:
    """High-water mark over a log's parts, plus the parts that failed to read (path → reason)."""

    mtime_ns: int = 0
    seen: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)

    def new_parts(self, parts: Sequence[PartFile]) -> list[PartFile]:
        """Parts written after the mark, then the failed ones again (oldest first)."""
        new = [
            p
            for p in parts
            if p.mtime_ns > self.mtime_ns or (p.mtime_ns == self.mtime_ns and p.path not in self.seen)
        ]
        retry = [p for p in parts if p.path in self.failed and p not in new]
        return sorted(set(new) | set(retry))

    def advance(self, part: PartFile, error: str | None = None) -> LogCursor:
        """The cursor after ``part`` was read (``error``: it failed and stays on the retry list)."""
        failed = dict(self.failed)
        if error is None:
            failed.pop(part.path, None)
        else:
            failed[part.path] = error
        if part.mtime_ns > self.mtime_ns:
            return LogCursor(part.mtime_ns, (part.path,), failed)
        if part.mtime_ns == self.mtime_ns and part.path not in self.seen:
            return LogCursor(self.mtime_ns, (*self.seen, part.path), failed)
        return replace(self, failed=failed)

    def to_json(self) -> str:
        return json.dumps({"mtime_ns": self.mtime_ns, "seen": list(self.seen), "failed": self.failed})

    @classmethod
    def from_json(cls, text: str | None) -> LogCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(int(data.get("mtime_ns", 0)), tuple(data.get("seen", ())), dict(data.get("failed", {})))


@dataclass(frozen=True)
class PartRows:
    """The usable rows of one part and what was wrong with the others (one line each)."""

    part: PartFile
    frame: pd.DataFrame
    notes: tuple[str, ...] = ()


def read_part(
    part: PartFile,
    *,
    columns: Sequence[str],
    time_column: str = "timestamp",
    now: datetime | None = None,
    future_tolerance: timedelta = timedelta(minutes=5),
) -> PartRows:
    """Read one part: the ``columns`` checked to exist, rows sorted by time, rows from the future set aside.

    Raises :class:`DataError` naming the file (and the column) when the file cannot be read, a column is
    missing, or the time column holds no timestamps. Rows stamped after ``now + future_tolerance`` are left
    out (they stay in the file) and reported in ``notes``, as are rows that were out of order.
    """
    fs, path = filesystem(part.path)
    wanted = list(dict.fromkeys([time_column, *columns]))
    frame = _read_file(fs, path, columns=wanted, filter_=None)
    times = utc_times(frame[time_column], errors="coerce")
    notes = []
    if len(frame) and times.isna().all():
        raise DataError(f"{part.path}: column {time_column!r} holds no timestamps")
    if times.isna().any():
        notes.append(
            f"{part.name}: {int(times.isna().sum())} row(s) without a valid {time_column!r}; left out"
        )
    frame = frame.assign(**{time_column: times})[times.notna()]
    if not frame[time_column].is_monotonic_increasing:
        notes.append(f"{part.name}: rows out of order in column {time_column!r}; sorted")
        frame = frame.sort_values(time_column, kind="stable")
    if now is not None:
        limit = pd.Timestamp(now) + future_tolerance
        future = frame[time_column] > limit
        if future.any():
            notes.append(
                f"{part.name}: {int(future.sum())} row(s) with {time_column!r} in the future (after "
                f"{limit.isoformat()}); left out"
            )
            frame = frame[~future]
    return PartRows(part, frame.reset_index(drop=True), tuple(notes))

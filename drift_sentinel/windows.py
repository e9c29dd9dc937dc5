"""Cut time windows out of a prediction log and validate them.

A prediction log is a Parquet file, a folder of Parquet files (one per day named ``YYYY-MM-DD.parquet`` is the
convention the sample-data generator follows) or a CSV file, on the local disk or on S3 (``s3://bucket/key``,
endpoint from ``S3_ENDPOINT_URL``). Files whose name is a date outside the window are not opened.

>>> import pandas as pd, tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> ts = pd.date_range("2026-10-01", periods=48, freq="h", tz="UTC")
>>> pd.DataFrame({"timestamp": ts, "x": range(48)}).to_parquet(root / "log.parquet")
>>> w = read_window(str(root / "log.parquet"), start=ts[24], end=ts[24] + pd.Timedelta("1D"), columns=["x"])
>>> len(w), int(w["x"].min())
(24, 24)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePosixPath

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from drift_sentinel.errors import DataError, ExternalServiceError, SentinelError
from drift_sentinel.times import utc_times

_DATED = re.compile(r"(\d{4}-\d{2}-\d{2})")
_LOG = logging.getLogger(__name__)
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
FALLBACK_ENCODING = "cp1252"  # Windows-1252: what a spreadsheet on Windows writes; Latin-1 for its 5 gaps


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and path for a local path or an ``s3://`` URI."""
    if uri.startswith("s3://"):
        endpoint = os.environ.get("S3_ENDPOINT_URL")
        kwargs: dict[str, object] = {"region": os.environ.get("S3_REGION", "us-east-1")}
        if endpoint:
            scheme, _, host = endpoint.partition("://")
            kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
        return pafs.S3FileSystem(**kwargs), uri[len("s3://") :]
    return pafs.LocalFileSystem(), os.path.abspath(uri)


def _files_for(fs: pafs.FileSystem, path: str, start: datetime, end: datetime) -> list[str]:
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise DataError(f"{path}: prediction log not found")
    if info.type == pafs.FileType.File:
        return [path]
    selector = pafs.FileSelector(path, recursive=True)
    files = sorted(
        f.path
        for f in fs.get_file_info(selector)
        if f.type == pafs.FileType.File and f.path.endswith((".parquet", ".csv"))
    )
    if not files:
        raise DataError(f"{path}: no .parquet or .csv files in the prediction log folder")
    kept = []
    for file in files:
        match = _DATED.search(PurePosixPath(file).name)
        if match:
            day = pd.Timestamp(match.group(1), tz="UTC")
            if day + timedelta(days=1) <= pd.Timestamp(start) or day >= pd.Timestamp(end):
                continue
        kept.append(file)
    return kept


def read_table(uri: str, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a whole Parquet or CSV file (local or ``s3://``); errors name the file and column."""
    fs, path = filesystem(uri)
    return _read_file(fs, path, columns=columns, filter_=None)


_NETWORK = ("NETWORK_CONNECTION", "curlCode", "Could not connect", "Connection refused", "timed out")


def _read_error(path: str, fmt: str, exc: Exception) -> SentinelError:
    """An unreachable object store is an :class:`ExternalServiceError` (exit 6), anything else bad data."""
    if any(marker in str(exc) for marker in _NETWORK):
        return ExternalServiceError(f"{path}: object store unreachable: {exc}")
    return DataError(f"{path}: cannot read as {fmt}: {exc}")


def _decode(value: object) -> object:
    """One CSV value: UTF-8 when it is valid UTF-8, else Windows-1252 (Latin-1 for bytes it leaves out)."""
    if not isinstance(value, bytes):
        return value
    for encoding in ("utf-8", FALLBACK_ENCODING):
        try:
            return value.decode(encoding)
        except UnicodeDecodeError:
            continue
    return value.decode("latin-1")


def _sniff_encoding(fs: pafs.FileSystem, path: str) -> str:
    """``utf-16``/``utf-32`` when the file starts with their byte-order mark, else ``utf8``."""
    try:
        with fs.open_input_file(path) as handle:
            head = handle.read(4)
    except (OSError, pa.ArrowInvalid):
        return "utf8"  # the dataset open below reports the problem
    return next((name for bom, name in _BOMS if head.startswith(bom)), "utf8")


def _csv_format(encoding: str) -> ds.CsvFileFormat:
    return ds.CsvFileFormat(read_options=pacsv.ReadOptions(encoding=encoding))


def _read_file(
    fs: pafs.FileSystem, path: str, *, columns: Sequence[str] | None, filter_: ds.Expression | None
) -> pd.DataFrame:
    """Read one Parquet or CSV file. CSV text is decoded consistently: UTF-8 (or UTF-16/32 with a byte-order
    mark); a value or header that is not valid UTF-8 is decoded as Windows-1252 instead of being left as bytes,
    and ``frame.attrs["decoding"]`` (also logged) says which columns and how many values."""
    fmt = "csv" if path.endswith(".csv") else "parquet"
    encoding = _sniff_encoding(fs, path) if fmt == "csv" else "utf8"
    try:
        return _read_dataset(fs, path, fmt, encoding, columns, filter_)
    except UnicodeDecodeError:  # the header (column names) is not UTF-8
        if fmt != "csv" or encoding != "utf8":
            raise DataError(f"{path}: cannot decode the file as {encoding}") from None
    frame = _read_dataset(fs, path, fmt, FALLBACK_ENCODING, columns, filter_)
    note = f"{path}: not UTF-8; the whole file was decoded as {FALLBACK_ENCODING}"
    frame.attrs["decoding"] = note
    _LOG.warning(note)
    return frame


def _read_dataset(
    fs: pafs.FileSystem,
    path: str,
    fmt: str,
    encoding: str,
    columns: Sequence[str] | None,
    filter_: ds.Expression | None,
) -> pd.DataFrame:
    try:
        dataset = ds.dataset(
            path, filesystem=fs, format=_csv_format(encoding) if fmt == "csv" and encoding != "utf8" else fmt
        )
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise _read_error(path, fmt, exc) from None
    if columns is not None:
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}; present: {dataset.schema.names}")
    try:
        table = dataset.to_table(columns=list(columns) if columns is not None else None, filter=filter_)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _read_error(path, fmt, exc) from None
    frame = table.to_pandas()
    if fmt != "csv":
        return frame
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    notes = []
    for name in binary:  # pyarrow leaves a CSV column with invalid UTF-8 as bytes: decode every value
        raw = frame[name]
        fallback = int(raw.map(lambda v: isinstance(v, bytes) and not _is_utf8(v)).sum())
        frame[name] = raw.map(_decode)
        notes.append(f"{name!r} ({fallback} value(s))")
    if notes:
        note = f"{path}: not valid UTF-8 in column(s) {', '.join(notes)}; decoded as {FALLBACK_ENCODING}"
        frame.attrs["decoding"] = note
        _LOG.warning(note)
    elif encoding != "utf8":
        frame.attrs["decoding"] = f"{path}: decoded as {encoding} (byte-order mark)"
    return frame


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_window(
    log_uri: str,
    *,
    start: datetime,
    end: datetime,
    columns: Sequence[str] | None = None,
    time_column: str = "timestamp",
) -> pd.DataFrame:
    """Rows of the prediction log with ``start <= time_column < end``, sorted by time.

    ``columns`` are checked to exist in every file read (``time_column`` is always included).
    An empty result is returned as an empty frame with those columns; callers decide what empty means.
    """
    fs, path = filesystem(log_uri)
    wanted = None if columns is None else list(dict.fromkeys([time_column, *columns]))
    frames = []
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo.tz_convert("UTC")
    hi = hi.tz_localize("UTC") if hi.tzinfo is None else hi.tz_convert("UTC")
    for file in _files_for(fs, path, lo.to_pydatetime(), hi.to_pydatetime()):
        frame = _read_file(fs, file, columns=wanted, filter_=None)
        if time_column not in frame.columns:
            raise DataError(f"{file}: missing time column {time_column!r}")
        times = utc_times(frame[time_column], errors="coerce")
        if times.isna().all() and len(frame):
            raise DataError(f"{file}: column {time_column!r} holds no timestamps")
        frame[time_column] = times
        frames.append(frame[(times >= lo) & (times < hi)])
    if not frames:
        return pd.DataFrame(columns=wanted or [time_column])
    window = pd.concat(frames, ignore_index=True)
    return window.sort_values(time_column, kind="stable").reset_index(drop=True)


def summarize_window(
    frame: pd.DataFrame,
    *,
    prediction_column: str,
    label_column: str | None = None,
    latency_column: str | None = None,
    error_column: str | None = None,
    threshold: float = 0.5,
) -> dict[str, float | int]:
    """Plain numbers describing a window, for metadata and verification.

    ``accuracy`` uses only rows whose label has arrived; it is absent when none has.

    >>> f = pd.DataFrame({"p": [0.9, 0.2, 0.7], "y": [1.0, 0.0, float("nan")], "ms": [10.0, 20.0, 30.0],
    ...                   "err": [False, True, False]})
    >>> s = summarize_window(f, prediction_column="p", label_column="y", latency_column="ms", error_column="err")
    >>> s["accuracy"], s["labeled_rows"], round(s["error_rate"], 3), s["latency_p95_ms"]
    (1.0, 2, 0.333, 29.0)
    """
    out: dict[str, float | int] = {"rows": len(frame)}
    if not len(frame):
        return out
    if prediction_column in frame:
        scores = pd.to_numeric(frame[prediction_column], errors="coerce")
        out["prediction_mean"] = float(scores.mean())
    if label_column and label_column in frame and prediction_column in frame:
        labeled = frame[label_column].notna()
        out["labeled_rows"] = int(labeled.sum())
        if labeled.any():
            predicted = pd.to_numeric(frame.loc[labeled, prediction_column], errors="coerce") >= threshold
            out["accuracy"] = float((predicted == frame.loc[labeled, label_column].astype(bool)).mean())
    if error_column and error_column in frame:
        out["error_rate"] = float(frame[error_column].astype(bool).mean())
    if latency_column and latency_column in frame:
        latency = pd.to_numeric(frame[latency_column], errors="coerce").dropna()
        if len(latency):
            out["latency_p50_ms"] = float(latency.quantile(0.5))
            out["latency_p95_ms"] = float(latency.quantile(0.95))
    return out

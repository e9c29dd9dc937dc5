"""``drift-sentinel correlate``: Pearson and Granger causality between two or more series, as JSON."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from drift_sentinel.commands.options import fraction, frequency, integer
from drift_sentinel.times import utc_times


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "correlate",
        help="correlation and Granger causality (lag, direction) between columns of Parquet/CSV files",
        description="Correlate two or more series. Each --series is FILE:COLUMN (Parquet or CSV); with one "
        "FILE and several --column, the columns of that file. Rows are aligned on --time-column when "
        "given (resampled with --freq), otherwise by position.",
    )
    parser.add_argument("files", nargs="*", help="Parquet/CSV file(s) whose --column(s) to correlate")
    parser.add_argument("--column", "-c", action="append", default=[], help="column name (repeatable)")
    parser.add_argument("--series", "-s", action="append", default=[], help="FILE:COLUMN (repeatable)")
    parser.add_argument("--target", help="correlate every other series with this one only")
    parser.add_argument("--time-column", help="align series on this timestamp column")
    parser.add_argument(
        "--freq", type=frequency, help="resample to this frequency (mean) when aligning on time, e.g. 5min"
    )
    parser.add_argument(
        "--maxlag",
        type=integer("--maxlag", minimum=1, maximum=100),
        default=6,
        help="largest lag tested (1-100)",
    )
    parser.add_argument(
        "--criterion", choices=("bic", "aic"), default="bic", help="information criterion for the lag"
    )
    parser.add_argument(
        "--alpha", type=fraction("--alpha"), default=0.05, help="significance level in (0, 1), default 0.05"
    )
    parser.set_defaults(func=run)


def _read(path: str):
    import pandas as pd

    from drift_sentinel.errors import DataError

    file = Path(path)
    if not file.exists():
        raise DataError(f"{file}: file not found")
    try:
        return pd.read_parquet(file) if file.suffix in (".parquet", ".pq") else pd.read_csv(file)
    except Exception as exc:  # foreign parser errors, wrapped
        raise DataError(f"{file}: cannot read ({exc})") from exc


def load_series(
    files: list[str], columns: list[str], series: list[str], time_column: str | None, freq: str | None
):
    """The series to correlate, one column each (named ``column`` or ``file:column`` on clashes)."""
    import pandas as pd

    from drift_sentinel.errors import DataError

    specs = [(f, c) for f in files for c in columns]
    for item in series:
        file, sep, column = item.rpartition(":")
        if not sep or not file:
            raise DataError(f"--series {item!r}: expected FILE:COLUMN")
        specs.append((file, column))
    if files and not columns:
        raise DataError("give the columns to correlate with --column")
    parts: dict[str, pd.Series] = {}
    cache: dict[str, pd.DataFrame] = {}
    for file, column in specs:
        frame = cache.setdefault(file, _read(file))
        if column not in frame.columns:
            raise DataError(f"{file}: no column {column!r}; have {list(frame.columns)}")
        values = frame[column]
        if time_column:
            if time_column not in frame.columns:
                raise DataError(f"{file}: no time column {time_column!r}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "could not infer format": unparseable values are reported
                times = utc_times(frame[time_column], errors="coerce")
            bad = int(times.isna().sum() - frame[time_column].isna().sum())
            if bad:
                sample = frame[time_column][times.isna() & frame[time_column].notna()].iloc[0]
                raise DataError(
                    f"{file}: time column {time_column!r}: {bad} value(s) are not timestamps (e.g. {sample!r})"
                )
            if freq and times.isna().all():
                raise DataError(f"{file}: time column {time_column!r} holds no timestamps")
            values = pd.Series(values.to_numpy(), index=times)
            values = values[values.index.notna()]
            values = pd.to_numeric(values, errors="coerce")
            values = values.resample(freq).mean() if freq else values.groupby(level=0).mean()
        name = column if column not in parts else f"{file}:{column}"
        parts[name] = values.reset_index(drop=True) if not time_column else values
    if len(parts) < 2:
        raise DataError(f"need at least two series, got {list(parts)}")
    frame = pd.concat(parts, axis=1)
    return frame


def run(args: argparse.Namespace) -> int:
    from drift_sentinel.analysis.correlation import correlate

    frame = load_series(args.files, args.column, args.series, args.time_column, args.freq)
    report = correlate(
        frame, target=args.target, maxlag=args.maxlag, criterion=args.criterion, alpha=args.alpha
    )
    print(json.dumps(report.to_dict(), indent=2))
    return 0

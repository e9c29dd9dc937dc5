"""Reading prediction-log windows: slicing by time, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from drift_sentinel.errors import DataError
from drift_sentinel.windows import read_table, read_window, summarize_window


def _daily_logs(root: Path, days: int = 3) -> Path:
    folder = root / "predictions"
    folder.mkdir()
    for day in range(days):
        ts = pd.date_range(f"2026-10-0{day + 1}", periods=24, freq="h", tz="UTC")
        pd.DataFrame({"timestamp": ts, "x": range(day * 24, day * 24 + 24)}).to_parquet(
            folder / f"2026-10-0{day + 1}.parquet"
        )
    return folder


def test_window_spans_files_and_is_half_open(tmp_path: Path) -> None:
    folder = _daily_logs(tmp_path)
    start = pd.Timestamp("2026-10-01T12:00", tz="UTC")
    frame = read_window(str(folder), start=start, end=start + pd.Timedelta("1D"), columns=["x"])
    assert len(frame) == 24
    assert frame["x"].tolist() == list(range(12, 36))
    assert frame["timestamp"].is_monotonic_increasing


def test_naive_bounds_are_utc(tmp_path: Path) -> None:
    folder = _daily_logs(tmp_path)
    frame = read_window(str(folder), start=pd.Timestamp("2026-10-02"), end=pd.Timestamp("2026-10-03"))
    assert frame["x"].min() == 24 and frame["x"].max() == 47


def test_empty_window_keeps_columns(tmp_path: Path) -> None:
    folder = _daily_logs(tmp_path)
    frame = read_window(
        str(folder), start=pd.Timestamp("2027-01-01"), end=pd.Timestamp("2027-01-02"), columns=["x"]
    )
    assert frame.empty and list(frame.columns) == ["timestamp", "x"]


def test_missing_log_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent: prediction log not found"):
        read_window(
            str(tmp_path / "absent"), start=pd.Timestamp("2026-10-01"), end=pd.Timestamp("2026-10-02")
        )


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    folder = _daily_logs(tmp_path)
    with pytest.raises(DataError, match=r"2026-10-01.parquet: missing column\(s\) \['amount'\]"):
        read_window(
            str(folder), start=pd.Timestamp("2026-10-01"), end=pd.Timestamp("2026-10-02"), columns=["amount"]
        )


def test_corrupt_parquet_is_named(tmp_path: Path) -> None:
    folder = _daily_logs(tmp_path)
    (folder / "2026-10-02.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"2026-10-02.parquet: cannot read as parquet"):
        read_window(str(folder), start=pd.Timestamp("2026-10-02"), end=pd.Timestamp("2026-10-03"))


def test_files_outside_the_window_are_not_opened(tmp_path: Path) -> None:
    folder = _daily_logs(tmp_path)
    (folder / "2026-10-03.parquet").write_bytes(b"corrupt, but outside the window")
    frame = read_window(str(folder), start=pd.Timestamp("2026-10-01"), end=pd.Timestamp("2026-10-02"))
    assert len(frame) == 24


def test_csv_table(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(path, index=False)
    assert read_table(str(path))["a"].tolist() == [1, 2]


def test_summary_of_empty_window() -> None:
    assert summarize_window(pd.DataFrame(columns=["p"]), prediction_column="p") == {"rows": 0}


# ------------------------------------------------------------- CSV text encodings (issue 15 #2)
@pytest.mark.parametrize(
    ("payload", "expected", "note"),
    [
        ("x,cat\n1,café\n2,été\n".encode(), ["café", "été"], None),
        (
            "x,cat\n1,café\n2,été\n".encode("latin-1"),
            ["café", "été"],
            "'cat' (2 value(s)); decoded as cp1252",
        ),
        ("x,cat\n1,€uro\n2,abc\n".encode("cp1252"), ["€uro", "abc"], "'cat' (1 value(s))"),
        ("x,cat\n1,café\n".encode() + "2,été\n".encode("latin-1"), ["café", "été"], "'cat' (1 value(s))"),
        ("x,cat\n1,café\n2,été\n".encode("utf-16"), ["café", "été"], "decoded as utf-16"),
        ("\ufeffx,cat\n1,café\n2,été\n".encode(), ["café", "été"], None),
    ],
)
def test_csv_text_is_decoded_consistently(tmp_path: Path, payload: bytes, expected: list[str], note) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(payload)
    frame = read_table(str(path))
    assert list(frame.columns) == ["x", "cat"] and frame["cat"].tolist() == expected
    assert all(isinstance(v, str) for v in frame["cat"])
    assert (note is None) == ("decoding" not in frame.attrs)
    if note:
        assert note in frame.attrs["decoding"] and str(path) in frame.attrs["decoding"]


def test_a_header_that_is_not_utf8_decodes_the_whole_file(tmp_path: Path, caplog) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes("x,catégorie\n1,été\n".encode("latin-1"))
    with caplog.at_level("WARNING", logger="drift_sentinel.windows"):
        frame = read_table(str(path))
    assert list(frame.columns) == ["x", "catégorie"] and frame["catégorie"].tolist() == ["été"]
    assert "whole file was decoded as cp1252" in frame.attrs["decoding"]
    assert any("decoded as cp1252" in r.getMessage() for r in caplog.records)  # the pipeline's logs say so


def test_read_window_decodes_csv_logs_too(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("timestamp,cat\n2026-10-01T01:00:00Z,été\n2026-10-01T02:00:00Z,a\n".encode("latin-1"))
    frame = read_window(str(path), start=pd.Timestamp("2026-10-01"), end=pd.Timestamp("2026-10-02"))
    assert frame["cat"].tolist() == ["été", "a"]

"""Following a growing prediction log: the cursor, the retry list and the safe part reader."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from drift_sentinel.errors import DataError
from drift_sentinel.logwatch import LogCursor, PartFile, list_parts, read_part


def test_cursor_reads_each_part_once_in_write_order_and_round_trips() -> None:
    a, b, c = PartFile(10, "/log/a"), PartFile(20, "/log/b"), PartFile(20, "/log/c")
    cursor = LogCursor()
    assert cursor.new_parts([c, a, b]) == [a, b, c]
    cursor = cursor.advance(a).advance(b)
    assert cursor.new_parts([a, b, c]) == [c]  # same mtime as b, not yet seen
    cursor = cursor.advance(c)
    assert cursor.new_parts([a, b, c]) == []
    assert LogCursor.from_json(cursor.to_json()) == cursor
    rewritten = PartFile(30, "/log/a")
    assert cursor.new_parts([rewritten, b, c]) == [rewritten]


def test_a_failed_part_is_retried_until_it_reads_and_the_mark_moves_on() -> None:
    bad, good = PartFile(10, "/log/bad"), PartFile(20, "/log/good")
    cursor = LogCursor().advance(bad, error="/log/bad: cannot read").advance(good)
    assert cursor.failed == {"/log/bad": "/log/bad: cannot read"}
    assert cursor.new_parts([bad, good]) == [bad]
    cursor = cursor.advance(bad)
    assert cursor.failed == {} and cursor.new_parts([bad, good]) == []


def test_reader_names_the_file_and_column(tmp_path: Path) -> None:
    stamps = pd.to_datetime(["2026-10-01T10:00:02Z", "2026-10-01T10:00:01Z", "2026-10-02T10:00:00Z"])
    pd.DataFrame({"timestamp": stamps, "x": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "p.parquet")
    (part,) = list_parts(str(tmp_path))
    rows = read_part(part, columns=["x"], now=pd.Timestamp("2026-10-01T12:00Z").to_pydatetime())
    assert rows.frame["x"].tolist() == [2.0, 1.0]
    assert rows.notes == (
        "p.parquet: rows out of order in column 'timestamp'; sorted",
        "p.parquet: 1 row(s) with 'timestamp' in the future (after 2026-10-01T12:05:00+00:00); left out",
    )
    with pytest.raises(DataError, match=r"p.parquet: missing column\(s\) \['y'\]"):
        read_part(part, columns=["y"])
    pd.DataFrame({"timestamp": ["soon"], "x": [1.0]}).to_parquet(tmp_path / "q.parquet")
    q = next(p for p in list_parts(str(tmp_path)) if p.name == "q.parquet")
    with pytest.raises(DataError, match="q.parquet: column 'timestamp' holds no timestamps"):
        read_part(q, columns=["x"])
    with pytest.raises(DataError, match="nope: prediction log not found"):
        list_parts(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    assert list_parts(str(tmp_path / "empty")) == []

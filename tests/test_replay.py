"""``drift-sentinel replay``: the generator's traffic written into a prediction log as it happens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from drift_sentinel.cli import main
from drift_sentinel.replay import FakeClock, run_replay
from drift_sentinel.sample_data import NEW_DEVICE, PREDICTION_COLUMNS
from drift_sentinel.windows import read_window

REPO = Path(__file__).resolve().parents[1]
START = 1_795_000_000.0  # 2026-11-18 07:46:40 UTC


def test_parts_are_restamped_with_the_wall_clock_and_drift_starts_when_asked(tmp_path: Path) -> None:
    clock = FakeClock(START)
    summary = run_replay(
        tmp_path, speed=120, drift_after=30, part_every=10, parts=6, seed=3, clock=clock, sleep=clock.sleep
    )
    assert [p.drifted for p in summary.parts] == [False, False, True, True, True, True]
    assert summary.drift_at == datetime.fromtimestamp(START + 30, UTC)
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [Path(p.path).name for p in summary.parts]
    assert all(f.name.startswith("2026-11-18_") for f in files)
    previous = datetime.fromtimestamp(START, UTC)
    for part in summary.parts:
        frame = pd.read_parquet(part.path)
        assert list(frame.columns) == list(PREDICTION_COLUMNS) and len(frame) == part.rows
        stamps = frame["timestamp"]
        assert stamps.is_monotonic_increasing
        assert (stamps > pd.Timestamp(previous)).all() and (stamps <= pd.Timestamp(part.written_at)).all()
        assert frame["request_id"].is_unique
        previous = part.written_at
    # 120 x 300 requests/hour = 10 per second: 100 per 10-second part on average
    assert 450 <= summary.rows <= 750
    before = pd.concat(pd.read_parquet(p.path) for p in summary.parts[:2])
    after = pd.concat(pd.read_parquet(p.path) for p in summary.parts[2:])
    assert (before["device_id"] == NEW_DEVICE).sum() == 0
    assert 0.15 < (after["device_id"] == NEW_DEVICE).mean() < 0.35
    assert after["amount"].median() > before["amount"].median()
    # the window reader picks the parts up by their date
    day = datetime.fromtimestamp(START, UTC).replace(hour=0, minute=0, second=0)
    window = read_window(str(tmp_path), start=day, end=day + timedelta(days=1), columns=["amount"])
    assert len(window) == summary.rows


def test_without_drift_after_no_part_drifts_and_duration_stops_it(tmp_path: Path) -> None:
    clock = FakeClock(START)
    summary = run_replay(
        tmp_path, drift_after=None, part_every=5, duration=30, clock=clock, sleep=clock.sleep
    )
    assert len(summary.parts) == 6 and not any(p.drifted for p in summary.parts)
    assert summary.drift_at is None


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    clock = FakeClock(START)
    run_replay(tmp_path, parts=3, clock=clock, sleep=clock.sleep)
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]


def _config(tmp_path: Path) -> Path:
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    spec["models"][0]["data"]["prediction_log"] = "log"
    config = tmp_path / "sentinel.yaml"
    config.write_text(yaml.safe_dump(spec))
    return config


def test_the_command_writes_parts_in_real_time_and_reports_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    code = main(
        [
            "replay",
            "--model",
            "fraud-detector-v1",
            "--config",
            str(config),
            "--part-every",
            "0.2",
            "--parts",
            "3",
            "--drift-after",
            "0.3s",
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["parts"] == 3 and summary["log"] == str(tmp_path / "log")
    assert len(list((tmp_path / "log").glob("*.parquet"))) == 3
    assert "drifted" in lines[-2] and "normal" in lines[0]


def test_the_command_rejects_bad_arguments_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["replay", "--model", "nope", "--config", str(config)]) == 5
    assert capsys.readouterr().err.strip().splitlines() == [
        f"drift-sentinel replay: unknown model id 'nope'; declared in {config}: fraud-detector-v1"
    ]
    code = main(
        ["replay", "--model", "fraud-detector-v1", "--config", str(config), "--speed", "0", "--parts", "1"]
    )
    assert code == 3 and "replay needs speed > 0" in capsys.readouterr().err
    assert main(["replay", "--model", "fraud-detector-v1", "--drift-after", "soon"]) == 64  # usage error
    assert "argument --drift-after: invalid duration 'soon'" in capsys.readouterr().err

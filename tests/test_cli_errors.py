"""Every failure of ``drift-sentinel`` is one line with a code that means one thing (issue 15, defects 5 and 6).

Usage errors exit 64 (never 2, which ``check`` uses for INCONCLUSIVE), foreign exceptions that escape a
command exit 70 in one line, ``--debug`` adds the traceback, an unreachable object store exits 6.
"""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drift_sentinel import cli
from drift_sentinel.errors import EXIT_INTERNAL, EXIT_USAGE
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def windows(tmp_path: Path) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(3)
    ref, cur, tiny = tmp_path / "ref.csv", tmp_path / "cur.csv", tmp_path / "tiny.csv"
    pd.DataFrame({"x": rng.normal(size=500)}).to_csv(ref, index=False)
    pd.DataFrame({"x": rng.normal(size=500)}).to_csv(cur, index=False)
    pd.DataFrame({"x": rng.normal(size=4)}).to_csv(tiny, index=False)
    return ref, cur, tiny


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],  # required options missing
        ["check", "--reference", "a.csv"],
        ["check", "--reference", "a", "--current", "b", "--sensitivity", "extreme"],
        ["check", "--reference", "a", "--current", "b", "--no-such-option"],
        ["nope"],
        [],
        ["audit"],
        ["audit", "verify", "--expected-head", "zz"],
        ["audit", "export", "--since", "last tuesday"],
        ["generate", "--days", "many"],
    ],
)
def test_usage_errors_exit_64_not_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == EXIT_USAGE == 64
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_usage_code_differs_from_inconclusive(windows, capsys) -> None:  # type: ignore[no-untyped-def]
    ref, _, tiny = windows
    assert cli.main(["check", "--reference", str(ref), "--current", str(tiny)]) == 2  # INCONCLUSIVE
    assert cli.main(["check", "--reference", str(ref)]) == 64  # usage
    capsys.readouterr()


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "64 usage error" in capsys.readouterr().out
    assert cli.main(["check", "--help"]) == 0


def test_foreign_exception_is_one_line_exit_70_and_debug_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug that escapes a command (simulated by a command whose body raises) is the last line of defence."""
    from drift_sentinel.commands import correlate

    def broken(args):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(correlate, "run", broken)
    assert cli.main(["correlate", "f.csv", "-c", "a"]) == EXIT_INTERNAL == 70
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "drift-sentinel correlate: internal error: ZeroDivisionError: division by zero second line "
        "(rerun with --debug for the traceback)"
    ]
    assert cli.main(["correlate", "--debug", "f.csv", "-c", "a"]) == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err
    monkeypatch.setenv("DRIFT_SENTINEL_DEBUG", "1")
    assert cli.main(["correlate", "f.csv", "-c", "a"]) == 70
    assert "Traceback" in capsys.readouterr().err


def test_debug_shows_the_traceback_of_a_sentinel_error_too(windows, capsys) -> None:  # type: ignore[no-untyped-def]
    ref, _, _ = windows
    assert cli.main(["check", "--reference", str(ref), "--current", "missing.csv"]) == 3
    assert "Traceback" not in capsys.readouterr().err
    assert cli.main(["--debug", "check", "--reference", str(ref), "--current", "missing.csv"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "missing.csv" in err.strip().splitlines()[-1]


def test_split_debug_keeps_a_literal_after_the_terminator() -> None:
    assert cli._split_debug(["--debug", "check", "--", "--debug"]) == (["check", "--", "--debug"], True)
    assert cli._split_debug(["check"]) == (["check"], False)


@pytest.mark.slow
def test_a_subprocess_gets_one_line_and_the_documented_code(tmp_path: Path) -> None:
    bad = tmp_path / "sentinel.yaml"
    bad.write_bytes(b"models:\n  - id: caf\xe9\n")
    env = {**os.environ, "SENTINEL_CONFIG": str(tmp_path)}  # a folder, not a file
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "drift_sentinel.cli",
            "demo",
            "--config",
            str(bad),
            "--home",
            str(tmp_path / "h"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("drift-sentinel demo: ")
    assert "not UTF-8" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.integration
@pytest.mark.slow
def test_check_against_an_unreachable_object_store_exits_6(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    proc = subprocess.run(
        [
            sys.executable, "-m", "drift_sentinel.cli", "check",
            "--reference", "s3://bucket/ref.parquet", "--current", "s3://bucket/cur.parquet",
        ],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "object store unreachable" in proc.stderr and "Traceback" not in proc.stderr


def test_more_hostile_inputs_get_their_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path / "home"))
    assert cli.main(["audit", "verify", "--uri", "s3://b/p", "--endpoint-url", "banana"]) == 4
    assert "Invalid endpoint" in capsys.readouterr().err
    frame = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=60, freq="h").astype(str), "a": range(60)})
    frame.to_csv(tmp_path / "s.csv", index=False)
    assert cli.main(["correlate", str(tmp_path / "s.csv"), "-c", "t", "-c", "a"]) == 3
    err = capsys.readouterr().err
    assert "column 't' is not numeric" in err and "Warning" not in err
    # the demo's state folder cannot be created (the environment is restored by monkeypatch)
    monkeypatch.setenv("SENTINEL_CONFIG", str(REPO / "sentinel.yaml"))
    monkeypatch.setenv("DAGSTER_HOME", "/proc/no-such/dagster_home")
    assert cli.main(["demo", "--home", "/proc/no-such", "--config", str(REPO / "sentinel.yaml")]) == 3
    err = capsys.readouterr().err
    assert "cannot create the demo's state folder" in err and "Traceback" not in err

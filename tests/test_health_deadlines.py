"""``drift-sentinel health`` answers in time when a service accepts connections and never replies.

The hung service is a real loopback TCP server that accepts every connection, holds it open and never
sends a byte (what a wedged PostgreSQL, MLflow or S3 endpoint looks like from the client).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drift_sentinel.settings import Settings
from resources.health import GRACE, check_health, run_with_deadline

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on a free loopback port that accepts and never answers; yields the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)  # keep it open, never read or write

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def _pg_home(tmp_path: Path, port: int, env: dict[str, str]) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    env.update(
        DAGSTER_HOME=str(home),
        DAGSTER_PG_HOST="127.0.0.1",
        DAGSTER_PG_PORT=str(port),
        DAGSTER_PG_USER="postgres",
        DAGSTER_PG_PASSWORD="",
        DAGSTER_PG_DB="never_answers",
    )
    return home


def _local_settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"SENTINEL_HOME": str(tmp_path / "sentinel"), **env})


def test_run_with_deadline_abandons_a_stuck_call_and_keeps_errors() -> None:
    def boom() -> list:
        raise RuntimeError("exploded")

    started = time.monotonic()
    out = run_with_deadline({"ok": lambda: [], "stuck": lambda: time.sleep(30) or [], "boom": boom}, 0.5)
    assert time.monotonic() - started < 2
    assert out["ok"] == [] and out["stuck"] is None
    assert isinstance(out["boom"], RuntimeError)


@pytest.mark.integration
def test_a_database_that_never_answers_is_unreachable_within_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster  # noqa: F401  (the import is not part of what is timed)

    with silent_server() as port:
        env: dict[str, str] = {}
        _pg_home(tmp_path, port, env)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        started = time.monotonic()
        report = check_health(settings=_local_settings(tmp_path), timeout=1.5)
        elapsed = time.monotonic() - started
    assert elapsed < 1.5 + GRACE + 2, elapsed
    assert report.status == "unhealthy" and report.component("database").status == "unreachable"
    assert "no answer within" in report.component("database").detail
    assert report.component("dagster_daemon").status == "not running"
    assert report.component("s3").ok  # the other checks still ran and answered


@pytest.mark.integration
@pytest.mark.parametrize("scheme", ["http", "postgresql"])
def test_an_mlflow_store_that_never_answers_is_unreachable_within_the_deadline(
    tmp_path: Path, scheme: str
) -> None:
    with silent_server() as port:
        uri = f"http://127.0.0.1:{port}" if scheme == "http" else f"postgresql://u:secret@127.0.0.1:{port}/m"
        settings = _local_settings(tmp_path, MLFLOW_TRACKING_URI=uri)
        instance = _ephemeral()
        started = time.monotonic()
        report = check_health(settings=settings, timeout=1.0, instance=instance)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + GRACE + 2, elapsed
    mlflow = report.component("mlflow")
    assert not mlflow.ok and mlflow.status == "unreachable" and report.status == "degraded"
    assert "secret" not in mlflow.detail


@pytest.mark.integration
def test_everything_hung_at_once_still_answers_in_one_deadline(tmp_path: Path, monkeypatch) -> None:
    import dagster  # noqa: F401

    with silent_server() as port:
        env: dict[str, str] = {}
        _pg_home(tmp_path, port, env)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}.items():
            monkeypatch.setenv(k, v)
        settings = _local_settings(
            tmp_path,
            S3_BUCKET="never-answers",
            S3_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}",
        )
        started = time.monotonic()
        report = check_health(settings=settings, timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + GRACE + 2, elapsed  # concurrent: one deadline, not three
    assert report.down == ["database", "s3", "mlflow", "dagster_daemon"]


@pytest.mark.integration
@pytest.mark.slow
def test_cli_answers_json_within_timeout_plus_a_few_seconds(tmp_path: Path) -> None:
    """The reported defect: over 4 minutes on a PostgreSQL that accepts and never answers."""
    with silent_server() as port:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DAGSTER_", "SENTINEL_", "MLFLOW_", "S3_"))
        }
        _pg_home(tmp_path, port, env)
        env["SENTINEL_HOME"] = str(tmp_path / "sentinel")
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "drift_sentinel.cli", "health", "--timeout", "2"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        elapsed = time.monotonic() - started
    # Python start-up and the Dagster import come on top of the deadline (several seconds on a busy machine)
    assert elapsed < 2 + GRACE + 25, elapsed
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    assert report["components"]["database"] == "unreachable"
    assert "no answer within" in report["details"]["database"]
    assert "Traceback" not in proc.stderr


def test_cli_refuses_a_non_positive_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    from drift_sentinel.cli import main

    for bad in ("0", "-1", "nan", "soon"):
        assert main(["health", "--timeout", bad]) == 64
        assert "--timeout" in capsys.readouterr().err


def _ephemeral():  # type: ignore[no-untyped-def]
    from dagster import DagsterInstance

    return DagsterInstance.ephemeral()

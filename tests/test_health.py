"""``drift-sentinel health``: every component checked up and down against the real thing.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth; each test module creates and drops its own
database); S3 is ``moto_server``; MLflow is a real ``mlflow server``; the daemon is a real ``dagster-daemon``
process. "Down" is a stopped server, a port nothing listens on, a missing bucket or an unwritable folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from dagster import DagsterInstance

from drift_sentinel.cli import main as cli_main
from drift_sentinel.settings import Settings
from resources.health import check_daemon, check_database, check_health, check_mlflow, check_s3
from tests.support import servers
from tests.support.fixtures import moto_endpoint, s3_credentials  # noqa: F401
from tests.support.postgres import admin
from tests.support.servers import free_port, moto_server

ROOT = Path(__file__).resolve().parents[1]
STATUS_UP = {"connected", "accessible", "reachable", "running"}
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


_MLFLOW_URL: str | None = None


def shared_mlflow_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One real ``mlflow server`` for all of this project's health and production-loop modules.

    (A session fixture imported into several modules is set up once per module; this one is started once
    per session and stopped when the session ends.)
    """
    global _MLFLOW_URL
    if _MLFLOW_URL is None:
        stack = contextlib.ExitStack()
        request.config.add_cleanup(stack.close)
        _MLFLOW_URL = stack.enter_context(servers.mlflow_server(tmp_path_factory.mktemp("mlflow-server")))
    return _MLFLOW_URL


@pytest.fixture(scope="module")
def mlflow_server_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return shared_mlflow_server(request, tmp_path_factory)


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"SENTINEL_HOME": str(tmp_path / "sentinel"), **env})


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped (connections and all) afterwards."""
    name = f"ds_test_{uuid.uuid4().hex[:12]}"
    admin(f"CREATE DATABASE {name}", host=PG["host"], port=PG["port"])
    try:
        yield name
    finally:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", host=PG["host"], port=PG["port"])


def pg_env(db: str, port: int = 5432) -> dict[str, str]:
    return {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(port),
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": db,
    }


def pg_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME with the project's PostgreSQL instance file (deploy/dagster.postgres.yaml)."""
    home = tmp_path / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    return home


# ---------------------------------------------------------------------------------------- database


@pytest.mark.integration
def test_database_connected_on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with throwaway_database() as db:
        for k, v in pg_env(db).items():
            monkeypatch.setenv(k, v)
        with DagsterInstance.from_config(str(pg_home(tmp_path))) as instance:
            result = check_database(instance)
    assert result.ok and result.status == "connected"
    assert result.detail.startswith("PostgresRunStorage")


@pytest.mark.integration
def test_database_unreachable_when_postgresql_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens on the port: the instance cannot be opened; the report is unhealthy and says why."""
    home = pg_home(tmp_path)
    for k, v in {**pg_env("nothing", port=free_port()), "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(k, v)
    report = check_health(settings=_settings(tmp_path), timeout=2)
    assert report.status == "unhealthy" and report.exit_code == 2
    assert report.component("database").status == "unreachable"
    assert "onnection refused" in report.component("database").detail
    assert report.component("dagster_daemon").status == "not running"
    assert "database" in report.down


def test_database_connected_on_sqlite(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        result = check_database(instance)
    assert result.ok and result.detail.startswith("SqliteRunStorage")


# ---------------------------------------------------------------------------------------------- s3


@pytest.mark.integration
def test_s3_accessible_then_inaccessible(tmp_path: Path, moto_endpoint: str, s3_credentials: None) -> None:  # noqa: F811
    bucket = f"health-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings = _settings(tmp_path, S3_BUCKET=bucket, S3_ENDPOINT_URL=moto_endpoint)
    up = check_s3(settings, timeout=5)
    assert up.ok and up.status == "accessible" and bucket in up.detail
    missing = check_s3(_settings(tmp_path, S3_BUCKET=bucket + "-gone", S3_ENDPOINT_URL=moto_endpoint))
    assert not missing.ok and missing.status == "inaccessible" and bucket + "-gone" in missing.detail
    # the audit bucket is checked too
    audit_missing = check_s3(
        _settings(tmp_path, S3_BUCKET=bucket, S3_AUDIT_BUCKET="no-such-audit", S3_ENDPOINT_URL=moto_endpoint)
    )
    assert not audit_missing.ok and "no-such-audit" in audit_missing.detail


@pytest.mark.integration
def test_s3_inaccessible_when_the_server_stops(tmp_path: Path, s3_credentials: None) -> None:  # noqa: F811
    with moto_server(tmp_path) as endpoint:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="stopping")
        settings = _settings(tmp_path, S3_BUCKET="stopping", S3_ENDPOINT_URL=endpoint)
        assert check_s3(settings, timeout=5).ok
    down = check_s3(settings, timeout=2)
    assert not down.ok and down.status == "inaccessible"


def test_local_storage_writable_or_not(tmp_path: Path) -> None:
    up = check_s3(_settings(tmp_path))
    assert up.ok and up.detail.startswith("local storage dir writable")
    assert (tmp_path / "sentinel" / "storage").is_dir()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the storage folder should be")
    down = check_s3(_settings(tmp_path, DRIFT_STORAGE_URI=str(blocked / "storage")))
    assert not down.ok and down.status == "inaccessible" and str(blocked) in down.detail


def test_production_refuses_local_storage(tmp_path: Path) -> None:
    down = check_s3(_settings(tmp_path, DAGSTER_DEPLOYMENT="production"))
    assert not down.ok and "needs S3_BUCKET" in down.detail
    assert not (tmp_path / "sentinel" / "storage").exists()


# ------------------------------------------------------------------------------------------ mlflow


@pytest.mark.integration
def test_mlflow_server_reachable_and_unreachable(tmp_path: Path, mlflow_server_url: str) -> None:
    up = check_mlflow(_settings(tmp_path, MLFLOW_TRACKING_URI=mlflow_server_url))
    assert up.ok and up.status == "reachable" and "/health" in up.detail
    nothing = f"http://127.0.0.1:{free_port()}"
    down = check_mlflow(_settings(tmp_path, MLFLOW_TRACKING_URI=nothing), timeout=2)
    assert not down.ok and down.status == "unreachable" and nothing in down.detail


def test_mlflow_sqlite_store(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    fresh = check_mlflow(_settings(tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}"))
    assert fresh.ok and "will be created" in fresh.detail
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE experiments (id INTEGER)")
    assert check_mlflow(_settings(tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}")).detail.endswith("opened")
    db.write_bytes(b"this is not a database" * 100)
    corrupt = check_mlflow(_settings(tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}"))
    assert not corrupt.ok and "DatabaseError" in corrupt.detail


def test_production_refuses_the_embedded_mlflow_store(tmp_path: Path) -> None:
    down = check_mlflow(_settings(tmp_path, DAGSTER_DEPLOYMENT="production"))
    assert not down.ok and "needs a tracking server" in down.detail
    assert not (tmp_path / "sentinel").exists()


@pytest.mark.integration
def test_mlflow_postgresql_backend_uri_uses_psycopg2(tmp_path: Path) -> None:
    up = check_mlflow(
        _settings(tmp_path, MLFLOW_TRACKING_URI="postgresql://postgres@127.0.0.1:5432/postgres")
    )
    assert up.ok and up.detail == "postgresql store answered"
    down_uri = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/postgres"
    down = check_mlflow(_settings(tmp_path, MLFLOW_TRACKING_URI=down_uri), timeout=2)
    assert not down.ok and "s3cret" not in down.detail and "postgres:***@" in down.detail


# ---------------------------------------------------------------------------------- daemon and CLI


def test_daemon_not_required_on_an_ephemeral_instance() -> None:
    result = check_daemon(DagsterInstance.ephemeral())
    assert result.ok and result.status == "not required"


def test_daemon_not_running_without_heartbeats(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        result = check_daemon(instance)
    assert not result.ok and result.status == "not running" and "SENSOR: no heartbeat" in result.detail


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.integration
@pytest.mark.slow
def test_healthy_production_stack_then_daemon_stops(
    tmp_path: Path,
    mlflow_server_url: str,
    moto_endpoint: str,  # noqa: F811
    s3_credentials: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PostgreSQL storage + moto S3 + mlflow server + a real dagster-daemon: ``drift-sentinel health`` exits
    0 with every component up; once the daemon is stopped its heartbeats age and the command exits 1, naming
    it. The CLI runs in-process (``drift_sentinel.cli.main``, entry points and all) to spare two interpreter
    start-ups of ~15 s; ``tests/test_exporter.py`` runs the CLI as a real process."""
    bucket = f"stack-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    with throwaway_database() as db:
        home = pg_home(tmp_path)
        defs = tmp_path / "empty_defs.py"
        defs.write_text("from dagster import Definitions\n\ndefs = Definitions()\n")
        env = {
            **pg_env(db),
            "DAGSTER_HOME": str(home),
            "SENTINEL_HOME": str(tmp_path / "sentinel"),
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": moto_endpoint,
            "MLFLOW_TRACKING_URI": mlflow_server_url,
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        log = open(tmp_path / "daemon.log", "wb")  # noqa: SIM115 - closed below
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-f", str(defs)],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            instance = DagsterInstance.from_config(str(home))
            deadline = time.monotonic() + 120
            while not check_daemon(instance).ok:
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-2000:]
                assert time.monotonic() < deadline, check_daemon(instance).detail
                time.sleep(0.5)
            assert cli_main(["health", "--compact"]) == 0
            report = json.loads(capsys.readouterr().out)
            assert report["status"] == "healthy"
            assert report["components"] == {
                "database": "connected",
                "s3": "accessible",
                "mlflow": "reachable",
                "dagster_daemon": "running",
            }
            assert report["version"] and report["uptime"] >= 0
        finally:
            _stop(daemon)
            log.close()
        stopped_at = time.time()
        time.sleep(1.5)
        # the same heartbeats, now older than a 1 s tolerance: the daemon is reported down
        stale = check_daemon(instance, tolerance=1.0)
        assert not stale.ok and stale.status == "not running" and "last heartbeat" in stale.detail
        assert max(b.timestamp for b in instance.get_daemon_heartbeats().values()) <= stopped_at
        instance.dispose()
        assert cli_main(["health", "--daemon-tolerance", "1"]) == 1
        out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["status"] == "degraded"
    assert [k for k, v in report["components"].items() if v not in STATUS_UP] == ["dagster_daemon"]
    assert "degraded: down: dagster_daemon (not running" in out.err


def test_cli_exits_non_zero_naming_the_down_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SQLite home with no daemon: JSON on stdout, exit 1, stderr names dagster_daemon."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path / "sentinel"))
    for name in ("S3_BUCKET", "MLFLOW_TRACKING_URI", "DRIFT_STORAGE_URI", "REMEDIATION_AUDIT_URI"):
        monkeypatch.delenv(name, raising=False)
    code = cli_main(["health"])
    cli = capsys.readouterr()
    assert code == 1, cli.err
    report = json.loads(cli.out)
    assert report["status"] == "degraded"
    assert report["components"] == {
        "database": "connected",
        "s3": "accessible",
        "mlflow": "reachable",
        "dagster_daemon": "not running",
    }
    assert "down: dagster_daemon" in cli.err

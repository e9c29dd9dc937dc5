"""Real parts that a fault test stops and starts again: an ``mlflow server`` and a PostgreSQL cluster that keep
their port and data across a restart, and a TCP server that accepts connections and never answers.

Everything binds 127.0.0.1 on a free port and lives in the test's ``tmp_path``; nothing touches the machine's
shared PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support import servers


class MlflowProcess:
    """An ``mlflow server`` (SQLite backend, served artifacts) on a fixed free port: stop it, start it again."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = servers.free_port()
        self.url = f"http://{servers.LOOPBACK}:{self.port}"
        self.log = self.root / "mlflow-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240.0) -> None:
        argv = [
            servers._venv_bin("mlflow"),
            "server",
            "--host",
            servers.LOOPBACK,
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.root / 'mlflow.db'}",
            "--serve-artifacts",
            "--artifacts-destination",
            str(self.root / "artifacts"),
        ]
        env = {
            **os.environ,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        servers._wait_http(f"{self.url}/health", self.proc, self.log, timeout, "mlflow server")

    def stop(self) -> None:
        if self.proc is not None:
            servers._stop_process_group(self.proc)
            self.proc = None


@contextlib.contextmanager
def mlflow_process(root: Path) -> Iterator[MlflowProcess]:
    server = MlflowProcess(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]), None
    )
    if found is None:
        raise servers.ServerStartError(f"{name} not found (PostgreSQL server binaries)")
    return found


class PostgresCluster:
    """A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a free loopback port, trust auth.

    PostgreSQL refuses to run as root: as root, the cluster lives in a fresh folder owned by the ``postgres``
    system user and its commands run as that user (``runuser``); otherwise in ``root``.
    """

    def __init__(self, root: Path) -> None:
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="sentinel-pg-")) if self.as_root else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "pgdata"
        self.socket_dir = self.root / "sock"
        self.port = servers.free_port()
        self.log = self.root / "postgres.log"
        self.user = "postgres"

    def _run(self, argv: list[str], timeout: float) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        done = subprocess.run(prefix + argv, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise servers.ServerStartError(f"{' '.join(argv[:2])} failed: {done.stderr.strip()[-800:]}")

    def _ctl(self, *args: str, timeout: float = 120) -> None:
        self._run(
            [_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *args], timeout
        )

    def init(self) -> None:
        self._run(
            [
                _pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            timeout=180,
        )
        self._run(["mkdir", "-p", str(self.socket_dir)], timeout=30)
        settings = (
            f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\nfsync = off\nmax_connections = 60\n"
            "shared_buffers = 16MB\n"
        )
        self._run(["sh", "-c", f'printf "{settings}" >> {self.data / "postgresql.conf"}'], timeout=30)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is cut, the server is back when this returns."""
        self._ctl("restart", "-m", "fast")

    def create_database(self, name: str) -> None:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()

    def remove(self) -> None:
        if self.as_root:
            shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster(root: Path) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(root)
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        cluster.remove()
        raise
    try:
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop()
        cluster.remove()


class SilentServer:
    """Accepts TCP connections and never answers (a peer that times out); counts the connections."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((servers.LOOPBACK, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://{servers.LOOPBACK}:{self.port}"
        self.connections: list[float] = []
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections.append(time.monotonic())
            self._held.append(conn)  # read nothing, answer nothing, keep it open

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()


@contextlib.contextmanager
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()

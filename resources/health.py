"""Health of a Drift Sentinel deployment: ``drift-sentinel health``.

Checks each part the loop depends on, for real, with a short timeout:

``database``
    the Dagster instance's storage answers a query (SQLite under ``$DAGSTER_HOME`` or PostgreSQL through
    dagster-postgres): ``connected`` / ``unreachable``.
``s3``
    every ``s3://`` bucket of the settings (windows and reports, audit) answers ``HeadBucket`` on the
    configured endpoint; with no bucket configured, the local storage and audit folders are writable:
    ``accessible`` / ``inaccessible``.
``mlflow``
    the tracking server answers ``GET /health`` (``http(s)://`` URIs); a SQLite / SQL database backend opens
    and answers a query; a file store folder is writable: ``reachable`` / ``unreachable``.
``dagster_daemon``
    every daemon the instance requires (sensors, backfills, run queue, …) sent a heartbeat within the
    tolerance: ``running`` / ``not running`` (``not required`` for an ephemeral instance).

With ``DAGSTER_DEPLOYMENT=production`` the embedded defaults count as down: local storage instead of a bucket,
or a SQLite / file MLflow store instead of a tracking server (production never falls back silently).

Every check has a hard deadline: the checks run at the same time, each in a daemon thread, and one that has
not answered within ``timeout`` (plus a one-second grace) counts as down ("no answer within …"), so a
database or server that accepts connections and never replies cannot hang the command: it answers within
``--timeout`` + about a second (plus the time to import Dagster). Drivers get their own timeouts too
(``connect_timeout`` and ``statement_timeout`` for PostgreSQL, boto3 connect/read timeouts, urllib's).

The database and the object store are critical (``unhealthy`` when down: nothing can be read or stored);
MLflow and the daemon degrade the loop (``degraded``: detection results stay readable, but sensors or
rollbacks stop). The command prints the JSON report and exits 0 when healthy, 1 when degraded and 2 when
unhealthy, naming the down components on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from drift_sentinel.settings import Settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

Status = Literal["healthy", "degraded", "unhealthy"]

#: Components whose failure makes the deployment unhealthy (the others make it degraded).
CRITICAL = ("database", "s3")
DEFAULT_TIMEOUT = 5.0
#: Seconds a check may run past ``timeout`` before it counts as hung.
GRACE = 1.0
#: A daemon counts as running when its last heartbeat is at most this old (dagster writes one every 30 s).
DEFAULT_DAEMON_TOLERANCE = 90.0
_STARTED = time.monotonic()


@dataclass(frozen=True)
class ComponentHealth:
    """One component's check: its status word, whether it is up, and what was checked."""

    name: str
    status: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthReport:
    """The result of :func:`check_health`.

    ``status`` is ``healthy`` (all up), ``degraded`` (MLflow or the daemon down) or ``unhealthy`` (database or
    object store down); ``version`` is the installed drift-sentinel version; ``uptime`` the seconds the process
    that ran the check has been up (meaningful for the exporter's long-running ``/health``).
    """

    status: Status
    components: tuple[ComponentHealth, ...]
    version: str
    uptime: float
    checked_at: str

    @property
    def down(self) -> list[str]:
        """Names of the components that are down."""
        return [c.name for c in self.components if not c.ok]

    @property
    def exit_code(self) -> int:
        return {"healthy": 0, "degraded": 1, "unhealthy": 2}[self.status]

    def component(self, name: str) -> ComponentHealth:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component {name!r}; checked: {', '.join(c.name for c in self.components)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "components": {c.name: c.status for c in self.components},
            "details": {c.name: c.detail for c in self.components},
            "version": self.version,
            "uptime": round(self.uptime, 3),
            "checked_at": self.checked_at,
        }


def _version() -> str:
    try:
        return version("drift-sentinel")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from drift_sentinel import __version__

        return __version__


def _short(exc: BaseException) -> str:
    """``Type: first line``, plus the innermost cause (wrapped driver errors say what really failed)."""

    def line(e: BaseException) -> str:
        text = str(e).strip().splitlines()
        return f"{type(e).__name__}: {text[0] if text else ''}"

    root = exc
    while (root.__cause__ or root.__context__) is not None and root is not (
        root.__cause__ or root.__context__
    ):
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    out = line(exc) if root is exc else f"{line(exc)} ({line(root)})"
    return out[:400]


# -- database -----------------------------------------------------------------------------------------
def dagster_home(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """``$DAGSTER_HOME``, else the demo's ``<SENTINEL_HOME>/dagster_home`` if it exists, else None."""
    env = os.environ if env is None else env
    home = env.get("DAGSTER_HOME")
    if home:
        return home
    local = settings.home / "dagster_home"
    return str(local) if local.is_dir() else None


def open_instance(settings: Settings, env: Mapping[str, str] | None = None) -> DagsterInstance:
    """The Dagster instance of ``$DAGSTER_HOME``, or of the demo's ``<SENTINEL_HOME>/dagster_home``."""
    from dagster import DagsterInstance

    home = dagster_home(settings, env)
    if home is None:
        raise RuntimeError(f"DAGSTER_HOME is not set and {settings.home / 'dagster_home'} does not exist")
    return DagsterInstance.from_config(home)


def check_database(instance: DagsterInstance) -> ComponentHealth:
    """The instance's run and event-log storage answer a query."""
    try:
        runs = instance.get_runs_count()
        instance.get_daemon_heartbeats()
    except Exception as exc:
        return ComponentHealth("database", "unreachable", False, _short(exc))
    kind = type(instance.run_storage).__name__
    return ComponentHealth("database", "connected", True, f"{kind}: {runs} run(s)")


# -- object storage -----------------------------------------------------------------------------------
def _bucket(uri: str) -> str | None:
    return uri[len("s3://") :].split("/", 1)[0] if uri.startswith("s3://") else None


def check_s3(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> ComponentHealth:
    """Buckets answer ``HeadBucket``; without buckets, the local storage and audit folders are writable."""
    uris = [settings.storage_uri, settings.audit_uri]
    buckets = sorted({b for b in map(_bucket, uris) if b})
    if settings.deployment == "production" and len(buckets) == 0:
        detail = "DAGSTER_DEPLOYMENT=production needs S3_BUCKET (no fallback to local storage)"
        return ComponentHealth("s3", "inaccessible", False, detail)
    if buckets:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
        )
        for bucket in buckets:
            try:
                client.head_bucket(Bucket=bucket)
            except Exception as exc:
                return ComponentHealth("s3", "inaccessible", False, f"bucket {bucket}: {_short(exc)}")
        where = settings.s3_endpoint_url or "AWS"
        return ComponentHealth("s3", "accessible", True, f"bucket(s) {', '.join(buckets)} on {where}")
    folders = [Path(u) for u in uris if "://" not in u]
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".health-"):
                pass
        except OSError as exc:
            return ComponentHealth(
                "s3", "inaccessible", False, f"local storage {folder} not writable: {_short(exc)}"
            )
    return ComponentHealth(
        "s3", "accessible", True, "local storage dir writable: " + ", ".join(str(f) for f in folders)
    )


# -- MLflow -------------------------------------------------------------------------------------------
def _sqlalchemy_uri(uri: str) -> str:
    # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the project ships psycopg2.
    return "postgresql+psycopg2://" + uri.split("://", 1)[1] if uri.startswith("postgresql://") else uri


def check_mlflow(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> ComponentHealth:
    """The tracking server's ``/health``, or the backend store opens."""
    uri = settings.mlflow_tracking_uri
    if settings.deployment == "production" and (uri.startswith(("sqlite:", "file:")) or "://" not in uri):
        detail = f"DAGSTER_DEPLOYMENT=production needs a tracking server in MLFLOW_TRACKING_URI, not {uri}"
        return ComponentHealth("mlflow", "unreachable", False, detail)
    try:
        if uri.startswith(("http://", "https://")):
            url = uri.rstrip("/") + "/health"
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) only
                body = response.read(64).decode(errors="replace").strip()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
            return ComponentHealth("mlflow", "reachable", True, f"{url} answered {body or 'HTTP 200'}")
        if uri.startswith("sqlite:///"):
            path = Path(uri[len("sqlite:///") :])
            if path.exists():
                with contextlib.closing(
                    sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
                ) as db:
                    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return ComponentHealth("mlflow", "reachable", True, f"SQLite store {path} opened")
            parent = path.parent
            parent.mkdir(parents=True, exist_ok=True)
            if not os.access(parent, os.W_OK):
                raise PermissionError(f"{parent} is not writable")
            return ComponentHealth("mlflow", "reachable", True, f"SQLite store {path} will be created")
        if "://" in uri and not uri.startswith("file://"):
            import sqlalchemy

            engine = sqlalchemy.create_engine(
                _sqlalchemy_uri(uri),
                connect_args=(
                    {
                        "connect_timeout": max(1, math.ceil(timeout)),
                        "options": f"-c statement_timeout={max(1, int(timeout * 1000))}",
                    }
                    if "postgresql" in uri
                    else {}
                ),
            )
            try:
                with engine.connect() as conn:
                    conn.execute(sqlalchemy.text("SELECT 1"))
            finally:
                engine.dispose()
            return ComponentHealth("mlflow", "reachable", True, f"{uri.split('://', 1)[0]} store answered")
        folder = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
        return ComponentHealth("mlflow", "reachable", True, f"file store {folder} writable")
    except Exception as exc:
        reason = _short(exc.reason) if isinstance(exc, urllib.error.URLError) and exc.reason else _short(exc)
        return ComponentHealth("mlflow", "unreachable", False, f"{_redact(uri)}: {reason}")


def _redact(uri: str) -> str:
    """``scheme://user:secret@host`` → ``scheme://user:***@host`` (health output is logged)."""
    if "://" in uri and "@" in uri.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = uri.split("://", 1)
        creds, host = rest.split("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return uri


# -- daemon -------------------------------------------------------------------------------------------
def check_daemon(
    instance: DagsterInstance, *, tolerance: float = DEFAULT_DAEMON_TOLERANCE, now: float | None = None
) -> ComponentHealth:
    """Every daemon the instance requires sent a heartbeat at most ``tolerance`` seconds ago."""
    try:
        required = list(instance.get_required_daemon_types())
        heartbeats = instance.get_daemon_heartbeats()
    except Exception as exc:
        return ComponentHealth(
            "dagster_daemon", "not running", False, f"cannot read heartbeats: {_short(exc)}"
        )
    if not required:
        return ComponentHealth("dagster_daemon", "not required", True, "ephemeral instance: no daemon needed")
    now = time.time() if now is None else now
    stale = []
    for daemon in required:
        beat = heartbeats.get(daemon)
        if beat is None:
            stale.append(f"{daemon}: no heartbeat")
        elif now - beat.timestamp > tolerance:
            stale.append(f"{daemon}: last heartbeat {now - beat.timestamp:.0f}s ago > {tolerance:.0f}s")
    if stale:
        return ComponentHealth("dagster_daemon", "not running", False, "; ".join(stale))
    return ComponentHealth("dagster_daemon", "running", True, f"{len(required)} daemon(s) heartbeating")


# -- deadlines ----------------------------------------------------------------------------------------
class _LastWarning(logging.Handler):
    """Remembers the last warning each ``health-<name>`` thread logged (e.g. "Retrying failed database
    connection: … Connection refused"), so a check that runs out of time can still say why."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName and record.threadName.startswith("health-"):
            with contextlib.suppress(Exception):
                self.last[record.threadName] = " ".join(record.getMessage().split())[:300]

    def about(self, name: str) -> str:
        message = self.last.get(f"health-{name}")
        return f"; last error: {message}" if message else ""


def run_with_deadline(
    calls: Mapping[str, Callable[[], list[ComponentHealth]]], seconds: float
) -> dict[str, list[ComponentHealth] | Exception | None]:
    """Run ``calls`` at the same time, each in a daemon thread; ``None`` for those still running after
    ``seconds`` (they are abandoned, never joined: a hung socket cannot hold the caller), the exception
    for those that raised.

    >>> out = run_with_deadline({"quick": lambda: [], "stuck": lambda: time.sleep(5) or []}, 0.2)
    >>> out
    {'quick': [], 'stuck': None}
    """
    boxes: dict[str, list[Any]] = {name: [] for name in calls}

    def runner(name: str, call: Callable[[], list[ComponentHealth]]) -> None:
        try:
            boxes[name].append(call())
        except Exception as exc:  # a check that raises is reported, never lost
            boxes[name].append(exc)

    threads = {
        name: threading.Thread(target=runner, args=(name, call), name=f"health-{name}", daemon=True)
        for name, call in calls.items()
    }
    end = time.monotonic() + seconds
    for thread in threads.values():
        thread.start()
    for thread in threads.values():
        thread.join(max(0.0, end - time.monotonic()))
    return {name: boxes[name][0] if boxes[name] else None for name in calls}


# -- all ----------------------------------------------------------------------------------------------
def check_health(
    *,
    instance: DagsterInstance | None = None,
    settings: Settings | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    daemon_tolerance: float = DEFAULT_DAEMON_TOLERANCE,
) -> HealthReport:
    """Check database, object storage, MLflow and the Dagster daemon; never raises for a down component.

    Parameters
    ----------
    instance:
        The Dagster instance; ``None`` opens ``$DAGSTER_HOME`` (or the demo's local home). If it cannot be
        opened, ``database`` is ``unreachable`` and ``dagster_daemon`` ``not running``.
    settings:
        Service settings; ``None`` reads them from the environment (``Settings.from_env()``).
    timeout:
        Seconds each network check may take.
    daemon_tolerance:
        Maximum age in seconds of a daemon heartbeat for the daemon to count as running.
    """
    settings = Settings.from_env() if settings is None else settings
    if (
        instance is None
    ):  # imported before the clock starts: a slow import (10 s under load) is not a slow database
        import dagster  # noqa: F401

        with contextlib.suppress(ImportError):
            import dagster_postgres  # noqa: F401

    def instance_checks() -> list[ComponentHealth]:
        opened = instance
        if opened is None:
            try:
                opened = open_instance(settings)
            except Exception as exc:
                return [
                    ComponentHealth("database", "unreachable", False, _short(exc)),
                    ComponentHealth("dagster_daemon", "not running", False, "database unreachable"),
                ]
        database = check_database(opened)
        if not database.ok:
            return [database, ComponentHealth("dagster_daemon", "not running", False, "database unreachable")]
        return [database, check_daemon(opened, tolerance=daemon_tolerance)]

    budget = timeout + GRACE
    hung = f"no answer within {budget:.1f}s (--timeout {timeout:g} + {GRACE:g}s grace)"
    seen = _LastWarning()
    root = logging.getLogger()
    root.addHandler(seen)  # drivers that retry (dagster-postgres) log why; the deadline message repeats it
    try:
        results = run_with_deadline(
            {
                "instance": instance_checks,
                "s3": lambda: [check_s3(settings, timeout=timeout)],
                "mlflow": lambda: [check_mlflow(settings, timeout=timeout)],
            },
            budget,
        )
    finally:
        root.removeHandler(seen)
    by_name = {c.name: c for group in results.values() if isinstance(group, list) for c in group}
    why = {
        name: (hung + seen.about(name)) if value is None else _short(value)
        for name, value in results.items()
        if not isinstance(value, list)
    }
    fallback = {
        "database": ComponentHealth("database", "unreachable", False, why.get("instance", hung)),
        "s3": ComponentHealth("s3", "inaccessible", False, why.get("s3", hung)),
        "mlflow": ComponentHealth(
            "mlflow",
            "unreachable",
            False,
            f"{_redact(settings.mlflow_tracking_uri)}: {why.get('mlflow', hung)}",
        ),
        "dagster_daemon": ComponentHealth("dagster_daemon", "not running", False, "database did not answer"),
    }
    components = [
        by_name.get(name, fallback[name]) for name in ("database", "s3", "mlflow", "dagster_daemon")
    ]
    down = [c.name for c in components if not c.ok]
    status: Status = (
        "healthy" if not down else "unhealthy" if any(name in CRITICAL for name in down) else "degraded"
    )
    return HealthReport(
        status=status,
        components=tuple(components),
        version=_version(),
        uptime=time.monotonic() - _STARTED,
        checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _run(args: argparse.Namespace) -> int:
    report = check_health(timeout=args.timeout, daemon_tolerance=args.daemon_tolerance)
    print(json.dumps(report.to_dict(), indent=None if args.compact else 2, sort_keys=False))
    if report.down:
        names = ", ".join(f"{c.name} ({c.status}: {c.detail})" for c in report.components if not c.ok)
        print(f"drift-sentinel health: {report.status}: down: {names}", file=sys.stderr)
    return report.exit_code


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``drift-sentinel health`` to the CLI (entry point ``resources.health:register``)."""
    parser = subparsers.add_parser(
        "health",
        help="check database, object storage, MLflow and the Dagster daemon; JSON on stdout",
        description="Exit 0 healthy, 1 degraded (MLflow or daemon down), 2 unhealthy (database or storage).",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        help="seconds each check may take; the whole command answers within about this plus a second",
    )
    parser.add_argument(
        "--daemon-tolerance",
        type=_seconds,
        default=DEFAULT_DAEMON_TOLERANCE,
        help="max age in seconds of a daemon heartbeat (default 90)",
    )
    parser.add_argument("--compact", action="store_true", help="print the JSON on one line")
    parser.set_defaults(func=_run)

"""Real servers on loopback for integration tests, started and stopped by the test that needs them.

Every helper is a context manager that binds ``127.0.0.1`` on a free port, waits until the server
answers, yields something to talk to it, and stops it (and its child processes) on exit:

- :func:`mlflow_server` — a real ``mlflow server`` process (SQLite backend, artifacts served from a
  local folder, one worker, job execution and telemetry off). Yields the tracking URL. ~5 s to start,
  so share one per test session (``tests.support.fixtures.mlflow_server_url``).
- :func:`moto_server` — ``moto_server`` (an S3-compatible server with Object Lock). Yields the
  endpoint URL. Starts in about a second.
- :func:`http_sink` — a threading HTTP server that records every request (method, path, headers,
  body, parsed JSON) and answers 200 ``{"ok": true}``; it can be told to answer e.g. 500 for the
  first N requests (:meth:`HttpSink.fail_next`) or be given a ``responder`` that speaks a small API.
- :func:`smtp_sink` — an aiosmtpd server that records every message (optionally with AUTH LOGIN/PLAIN
  without TLS, to exercise a client's login).

Example (the same shape for every helper)::

    with http_sink() as sink:
        urllib.request.urlopen(sink.url + "/hook", data=b"{}")
        assert sink.requests[0].path == "/hook"
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A test server did not come up; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _venv_bin(name: str) -> str:
    """The console script ``name`` next to the running interpreter (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    raise ServerStartError(f"{name} not found next to {sys.executable}; install the test extras")


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def _wait_http(
    url: str, proc: subprocess.Popen[bytes] | None, log: Path | None, timeout: float, name: str
) -> None:
    """Poll ``url`` until it answers (any HTTP status counts) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = _log_tail(log) if log else ""
            raise ServerStartError(f"{name} exited with status {proc.returncode} before answering:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                return
        except urllib.error.HTTPError:
            return  # it answered, with an error status: it is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    tail = _log_tail(log) if log else ""
    raise ServerStartError(f"{name} did not answer {url} within {timeout:.0f} s:\n{tail}")


def _stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a process started with ``start_new_session=True`` together with its children."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


@contextlib.contextmanager
def _process(
    argv: list[str], *, log: Path, env: Mapping[str, str], health_url: str, timeout: float, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            start_new_session=True,  # its own process group, so workers are stopped with it
        )
        try:
            _wait_http(health_url, proc, log, timeout, name)
            yield proc
        finally:
            _stop_process_group(proc)


# --------------------------------------------------------------------------------------------- mlflow


@contextlib.contextmanager
def mlflow_server(tmp_path: Path, *, timeout: float = 240.0) -> Iterator[str]:
    """Run a real ``mlflow server`` on a free loopback port; yield its tracking URL.

    The backend store is ``sqlite:///<tmp_path>/mlflow.db``; artifacts are served by the server
    (``--serve-artifacts``) from ``<tmp_path>/artifacts``, so clients talk to it over HTTP only.
    ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` keeps it to one process tree of ~300 MB (otherwise it
    spawns job workers), ``--workers 1`` keeps it to one web worker, telemetry is off.
    The server log is ``<tmp_path>/mlflow-server.log``.
    """
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    argv = [
        _venv_bin("mlflow"),
        "server",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--serve-artifacts",
        "--artifacts-destination",
        str(tmp_path / "artifacts"),
    ]
    env = {
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    with _process(
        argv,
        log=tmp_path / "mlflow-server.log",
        env=env,
        health_url=f"{url}/health",
        timeout=timeout,
        name="mlflow server",
    ):
        yield url


# ----------------------------------------------------------------------------------------------- moto


@contextlib.contextmanager
def moto_server(tmp_path: Path | None = None, *, timeout: float = 30.0) -> Iterator[str]:
    """Run ``moto_server`` (S3 and friends, in memory) on a free loopback port; yield its endpoint URL.

    Use it with ``boto3.client("s3", endpoint_url=url, region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing")``. State lives in the process and
    is gone when the context exits. Object Lock works (COMPLIANCE refuses a versioned delete); see
    ``DEPENDENCIES.md`` for what moto does not implement.
    """
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    log_dir = Path(tmp_path) if tmp_path is not None else Path(os.environ.get("TMPDIR", "/tmp"))
    log = log_dir / f"moto-server-{port}.log"
    with _process(
        [_venv_bin("moto_server"), "-H", LOOPBACK, "-p", str(port)],
        log=log,
        env={},
        health_url=f"{url}/moto-api/",
        timeout=timeout,
        name="moto_server",
    ):
        yield url
    if tmp_path is None:
        with contextlib.suppress(OSError):
            log.unlink()


# ------------------------------------------------------------------------------------------ HTTP sink


@dataclass(frozen=True)
class RecordedRequest:
    """One request an :class:`HttpSink` received (``headers`` look up names case-insensitively)."""

    method: str
    path: str
    headers: email.message.Message  # case-insensitive ``headers["content-type"]``
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON (``None`` when it is empty or not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Reply:
    """What a responder answers: a status, a JSON-able body (or raw bytes) and extra headers."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: Mapping[str, str] = field(default_factory=dict)


Responder = Callable[[RecordedRequest], Reply]


class HttpSink:
    """A loopback HTTP server that records requests; see :func:`http_sink`.

    ``url`` is the base URL; ``requests`` the recorded requests in arrival order (thread-safe copy).
    By default it answers ``200 {"ok": true}``; :meth:`fail_next` makes the next N requests get
    another status; a ``responder`` function decides the reply for everything else.
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._failures: list[Reply] = []
        self.responder: Responder | None = responder
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-sink", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def fail_next(self, count: int, status: int = 500, body: Any = "internal error") -> None:
        """Answer the next ``count`` requests with ``status`` (e.g. 500 or 429)."""
        with self._lock:
            self._failures.extend(Reply(status=status, body=body) for _ in range(count))

    def clear(self) -> None:
        """Forget recorded requests and pending failures."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; return them (raises ``TimeoutError``)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"HTTP sink got {len(self._requests)} of {count} requests")
                self._arrived.wait(remaining)
            return list(self._requests)

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return failure
        if self.responder is not None:
            return self.responder(request)
        return Reply()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(
                    method=self.command, path=self.path, headers=self.headers, body=body
                )
                try:
                    reply = sink._reply_for(request)
                except Exception as exc:  # a responder bug must show up in the test, not hang it
                    reply = Reply(status=599, body=f"responder raised {exc!r}")
                raw = reply.body if isinstance(reply.body, bytes) else None
                if raw is None:
                    raw = (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
                content_type = "application/json" if not isinstance(reply.body, str | bytes) else "text/plain"
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.get("Content-Type", content_type))
                self.send_header("Content-Length", str(len(raw)))
                for key, value in reply.headers.items():
                    if key.lower() not in {"content-type", "content-length"}:
                        self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        return Handler

    def start(self) -> HttpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def http_sink(responder: Responder | None = None) -> Iterator[HttpSink]:
    """Run an :class:`HttpSink` on a free loopback port for the duration of the block."""
    sink = HttpSink(responder).start()
    try:
        yield sink
    finally:
        sink.stop()


# ------------------------------------------------------------------------------------------ SMTP sink


class SmtpSink:
    """A loopback SMTP server (aiosmtpd) that records messages; see :func:`smtp_sink`.

    ``host``/``port`` to connect to; ``messages`` are parsed :class:`email.message.EmailMessage`
    objects; ``envelopes`` the (mail_from, rcpt_tos) pairs; ``logins`` the user names that logged in.
    """

    def __init__(self, *, credentials: Mapping[str, str] | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, tuple[str, ...]]] = []
        self.logins: list[str] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
                with sink._arrived:
                    sink._messages.append(message)  # type: ignore[arg-type]
                    sink.envelopes.append((envelope.mail_from, tuple(envelope.rcpt_tos)))
                    sink._arrived.notify_all()
                return "250 Message accepted for delivery"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            if not isinstance(data, LoginPassword) or credentials is None:
                return AuthResult(success=False, handled=False)
            user, password = data.login.decode(), data.password.decode()
            if credentials.get(user) == password:
                with sink._lock:
                    sink.logins.append(user)
                return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        kwargs: dict[str, Any] = {}
        if credentials is not None:
            kwargs = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True}
        self.port = free_port()
        self.host = LOOPBACK
        self._controller = Controller(Handler(), hostname=LOOPBACK, port=self.port, **kwargs)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Block until at least ``count`` messages arrived; return them (raises ``TimeoutError``)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"SMTP sink got {len(self._messages)} of {count} messages")
                self._arrived.wait(remaining)
            return list(self._messages)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@contextlib.contextmanager
def smtp_sink(*, credentials: Mapping[str, str] | None = None) -> Iterator[SmtpSink]:
    """Run an :class:`SmtpSink` on a free loopback port; ``credentials`` ({user: password}) requires AUTH."""
    sink = SmtpSink(credentials=credentials).start()
    try:
        yield sink
    finally:
        sink.stop()

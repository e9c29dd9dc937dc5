"""Pytest fixtures around :mod:`tests.support.servers`.

Import the ones a test module needs (pytest finds fixtures in the module namespace); ruff sees the
imports as unused and the parameters as redefinitions, so add a file-level exemption::

    # ruff: noqa: F401, F811
    from tests.support.fixtures import http_sink, mlflow_server_url

(Or register this module once for the whole suite in a root ``tests/conftest.py``:
``pytest_plugins = ["tests.support.fixtures"]``.)

- ``mlflow_server_url``: one real ``mlflow server`` for the whole session (5-60 s to start, depending on
  the machine's load). Tests share it, so each uses its own registered-model name (``unique_name``).
- ``moto_endpoint``: one ``moto_server`` for the whole session; tests use their own bucket names.

A fixture function imported into several modules is a separate fixture in each (pytest scopes a
fixture defined in a module to that module), so a plain session fixture would start one server per
importing module. These two keep a process-wide singleton instead (:func:`shared_server`), stopped
when the pytest session ends; other helpers can call :func:`shared_mlflow_server` /
:func:`shared_moto_endpoint` to get the same servers.
- ``http_sink`` / ``smtp_sink`` (function): a fresh recording server per test (milliseconds to start).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support import servers


def unique_name(prefix: str) -> str:
    """A name no other test in the session uses (for registered models, buckets, prefixes)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


_SHARED: dict[str, str] = {}


def shared_server(
    config: pytest.Config, key: str, start: Callable[[], contextlib.AbstractContextManager[str]]
) -> str:
    """Start ``start()`` once per pytest session under ``key``; stop it when the session ends."""
    if key not in _SHARED:
        stack = contextlib.ExitStack()
        config.add_cleanup(stack.close)
        _SHARED[key] = stack.enter_context(start())
        stack.callback(_SHARED.pop, key, None)
    return _SHARED[key]


def shared_mlflow_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Tracking URL of the session's one real ``mlflow server``.

    ``DRIFT_SENTINEL_TEST_MLFLOW_URL`` reuses a server you started yourself (saves its start-up on
    repeated local runs); CI leaves it unset.
    """
    external = os.environ.get("DRIFT_SENTINEL_TEST_MLFLOW_URL")
    if external:
        return external.rstrip("/")
    return shared_server(
        request.config, "mlflow", lambda: servers.mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    )


def shared_moto_endpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Endpoint URL of the session's one ``moto_server`` (S3 with Object Lock)."""
    return shared_server(
        request.config, "moto", lambda: servers.moto_server(tmp_path_factory.mktemp("moto-server"))
    )


@pytest.fixture(scope="session")
def mlflow_server_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Tracking URL of a real ``mlflow server`` shared by the session."""
    return shared_mlflow_server(request, tmp_path_factory)


@pytest.fixture(scope="session")
def moto_endpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Endpoint URL of a ``moto_server`` shared by the session (S3 with Object Lock)."""
    return shared_moto_endpoint(request, tmp_path_factory)


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials in the environment, so boto3 signs requests to moto and never finds real ones."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def http_sink() -> Iterator[servers.HttpSink]:
    """A fresh recording HTTP server on loopback."""
    with servers.http_sink() as sink:
        yield sink


@pytest.fixture
def smtp_sink() -> Iterator[servers.SmtpSink]:
    """A fresh recording SMTP server on loopback (no AUTH)."""
    with servers.smtp_sink() as sink:
        yield sink

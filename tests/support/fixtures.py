"""Pytest fixtures around :mod:`tests.support.servers`.

Import the ones a test module needs (pytest finds fixtures in the module namespace); ruff sees the
imports as unused and the parameters as redefinitions, so add a file-level exemption::

    # ruff: noqa: F401, F811
    from tests.support.fixtures import http_sink, mlflow_server_url

(Or register this module once for the whole suite in a root ``tests/conftest.py``:
``pytest_plugins = ["tests.support.fixtures"]``.)

- ``mlflow_server_url`` (session): one real ``mlflow server`` for the whole session (~5 s to start).
  Tests share it, so each test should use its own registered-model name (``unique_name`` helps).
- ``moto_endpoint`` (session): one ``moto_server``; tests should use their own bucket names.
- ``http_sink`` / ``smtp_sink`` (function): a fresh recording server per test (milliseconds to start).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support import servers


def unique_name(prefix: str) -> str:
    """A name no other test in the session uses (for registered models, buckets, prefixes)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def mlflow_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tracking URL of a real ``mlflow server`` shared by the session."""
    with servers.mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a ``moto_server`` shared by the session (S3 with Object Lock)."""
    with servers.moto_server(tmp_path_factory.mktemp("moto-server")) as url:
        yield url


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

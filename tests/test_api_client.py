"""The Python client on its own, against a real recording HTTP server on loopback: retries with backoff on
429/503 (signed again on each attempt), ``Retry-After``, errors mapped to the core's hierarchy, and no server or
Dagster import."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from drift_sentinel.access import ReplayCache, ServiceKey, verify_request
from drift_sentinel.client import (
    BadRequestError,
    NotFoundError,
    RateLimitedError,
    SentinelClient,
    ServiceUnavailableError,
)
from drift_sentinel.errors import (
    ConfigError,
    DataError,
    ExternalServiceError,
    SentinelError,
    UnknownModelError,
)
from tests.support.servers import Reply, http_sink

SECRET = "0123456789abcdef0123"


def test_retries_503_then_succeeds_and_signs_every_attempt_afresh() -> None:
    with http_sink() as sink:
        sink.fail_next(2, status=503, body={"detail": "busy", "code": "unavailable"})
        client = SentinelClient(sink.url, api_key="ci", secret=SECRET, retries=3, backoff=0.01)
        assert client.request("GET", "/api/v1/models").json() == {"ok": True}
        requests = sink.requests
    assert len(requests) == 3
    key = ServiceKey(id="ci", secret=SECRET, role="viewer", teams=())
    cache = ReplayCache()
    for request in requests:  # each attempt verifies and none is a replay of another
        headers = dict(request.headers.items())
        assert verify_request("GET", request.path, headers, b"", {"ci": key}, cache).subject == "service:ci"


def test_gives_up_after_the_retries_with_the_core_error() -> None:
    with http_sink() as sink:
        sink.fail_next(10, status=503, body={"detail": "down", "code": "unavailable"})
        client = SentinelClient(sink.url, token="t", retries=2, backoff=0.01)
        with pytest.raises(ServiceUnavailableError) as failed:
            client.models.list()
        assert len(sink.requests) == 3
    assert isinstance(failed.value, ExternalServiceError) and failed.value.status == 503
    assert "down" in str(failed.value)


def test_waits_retry_after_on_429() -> None:
    answers = iter([Reply(429, {"detail": "slow down", "code": "rate_limited"}, {"Retry-After": "1"})])

    def responder(request):  # noqa: ANN001, ANN202
        return next(answers, Reply(200, {"models": []}))

    with http_sink(responder) as sink:
        client = SentinelClient(sink.url, token="t", retries=1, backoff=0.0)
        started = time.monotonic()
        assert client.models.list().models == []
        assert time.monotonic() - started >= 0.9  # it waited Retry-After, not its own (zero) backoff
    with (
        http_sink(
            lambda r: Reply(429, {"detail": "slow", "code": "rate_limited"}, {"Retry-After": "7"})
        ) as sink,
        pytest.raises(RateLimitedError) as limited,
    ):
        SentinelClient(sink.url, token="t", retries=0).models.list()
    assert limited.value.retry_after == 7.0


def test_errors_map_to_the_core_hierarchy() -> None:
    cases = [
        (404, NotFoundError, UnknownModelError),
        (400, BadRequestError, DataError),
        (422, BadRequestError, DataError),
    ]
    for status, api_class, core_class in cases:
        body = {"detail": f"status {status}", "code": "x", "request_id": "r1"}
        answer = Reply(status, body, {"X-Request-ID": "r1"})
        with http_sink(lambda r, a=answer: a) as sink, pytest.raises(api_class) as raised:
            SentinelClient(sink.url, token="t", retries=0).monitor.health("m")
        assert isinstance(raised.value, core_class) and isinstance(raised.value, SentinelError)
        assert raised.value.status == status and raised.value.request_id == "r1"
        assert f"status {status}" in str(raised.value)


def test_credentials_are_required_and_exclusive() -> None:
    with pytest.raises(ConfigError):
        SentinelClient("http://127.0.0.1:9")
    with pytest.raises(ConfigError):
        SentinelClient("http://127.0.0.1:9", token="t", api_key="k", secret=SECRET)
    with pytest.raises(ConfigError):
        SentinelClient("http://127.0.0.1:9", api_key="k")


def test_client_imports_neither_the_server_nor_dagster() -> None:
    code = (
        "import sys, drift_sentinel.client; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'api', 'fastapi', 'uvicorn')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr

"""Access control of the service API against a real uvicorn server on loopback (an empty Dagster instance).

Refused: expired, wrong-audience, wrong-key, ``alg: none`` and HS256-confusion tokens, a tampered body, a
replayed signature, another team's model (404, not 403), a viewer remediating; plus rate limits, body limits and
error bodies without a stack trace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest

from drift_sentinel.access import (
    ReplayCache,
    ServiceKey,
    SignatureError,
    TokenError,
    TokenVerifier,
    generate_key_pair,
    issue_token,
    sign_request,
    verify_request,
)
from drift_sentinel.client import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SentinelClient,
)
from tests.support.api import (
    AUDIENCE,
    ISSUER,
    Credentials,
    api_server,
    make_credentials,
    project_env,
    write_instance_yaml,
)
from tests.support.project import make_project

pytestmark = pytest.mark.integration

MODEL = "fraud-detector-v1"  # owned by team:ml-platform in the repository's sentinel.yaml


@dataclass
class World:
    url: str
    creds: Credentials
    root: Path

    def client(self, **kwargs: object) -> SentinelClient:
        return SentinelClient(self.url, retries=0, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("api-security")
    project = make_project(root, days=2, rows_per_hour=5)
    env = project_env(root, project.config_file)
    write_instance_yaml(Path(env["DAGSTER_HOME"]))
    creds = make_credentials(root / "keys")
    with api_server(root, env, creds) as url:
        yield World(url, creds, root)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _get(world: World, path: str, token: str) -> httpx.Response:
    return httpx.get(world.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)


# ------------------------------------------------------------------------------------------ tokens (unit)


def test_verifier_accepts_a_fresh_token_and_names_its_principal() -> None:
    pem, jwks = generate_key_pair("k")
    token = issue_token(pem, kid="k", subject="ann", role="admin", teams=["a", "b"], issuer="i", audience="x")
    principal = TokenVerifier(jwks, issuer="i", audience="x").verify(token)
    assert (principal.subject, principal.role, principal.teams, principal.actor) == (
        "ann",
        "admin",
        ("a", "b"),
        "api:ann",
    )


def test_verifier_allows_clock_skew_within_the_leeway_only() -> None:
    pem, jwks = generate_key_pair("k")
    verifier = TokenVerifier(jwks, issuer="i", audience="x", leeway_seconds=30)
    ten_s_late = issue_token(
        pem,
        kid="k",
        subject="s",
        role="viewer",
        teams=[],
        issuer="i",
        audience="x",
        ttl_seconds=60,
        now=time.time() - 70,
    )
    assert verifier.verify(ten_s_late).subject == "s"
    minute_late = issue_token(
        pem,
        kid="k",
        subject="s",
        role="viewer",
        teams=[],
        issuer="i",
        audience="x",
        ttl_seconds=60,
        now=time.time() - 120,
    )
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(minute_late)


def test_verifier_refuses_tokens_living_longer_than_an_hour() -> None:
    pem, jwks = generate_key_pair("k")
    now = int(time.time())
    claims = {"sub": "s", "role": "admin", "teams": [], "iss": "i", "aud": "x", "iat": now, "exp": now + 7200}
    token = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "k"})
    with pytest.raises(TokenError, match="lifetime exceeds 3600"):
        TokenVerifier(jwks, issuer="i", audience="x").verify(token)
    with pytest.raises(Exception, match="ttl 7200"):
        issue_token(
            pem, kid="k", subject="s", role="admin", teams=[], issuer="i", audience="x", ttl_seconds=7200
        )


def test_signature_checks_each_part_of_the_request() -> None:
    key = ServiceKey(id="ci", secret="0123456789abcdef", role="operator", teams=("t",))
    keys, now = {"ci": key}, 1_800_000_000.0
    body = b'{"model_id": "m"}'
    headers = sign_request("ci", key.secret, "POST", "/api/v1/x?a=1", body, now=now)
    cases = {
        "tampered body": ("POST", "/api/v1/x?a=1", headers, b'{"model_id": "n"}', now, "body digest"),
        "other path": ("POST", "/api/v1/x?a=2", headers, body, now, "does not verify"),
        "other method": ("PUT", "/api/v1/x?a=1", headers, body, now, "does not verify"),
        "too old": ("POST", "/api/v1/x?a=1", headers, body, now + 301, "outside the ±300 s window"),
        "from the future": ("POST", "/api/v1/x?a=1", headers, body, now - 301, "outside"),
        "unknown key": (
            "POST",
            "/api/v1/x?a=1",
            {**headers, "X-Sentinel-Key-Id": "zz"},
            body,
            now,
            "unknown",
        ),
    }
    for name, (method, path, hdrs, payload, at, message) in cases.items():
        with pytest.raises(SignatureError, match=message):
            verify_request(method, path, hdrs, payload, keys, ReplayCache(), now=at)
        assert name
    # a digest header recomputed for a tampered body still fails the signature
    forged = {**headers, "X-Sentinel-Content-SHA256": hashlib.sha256(b"{}").hexdigest()}
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request("POST", "/api/v1/x?a=1", forged, b"{}", keys, ReplayCache(), now=now)
    cache = ReplayCache()
    assert (
        verify_request("POST", "/api/v1/x?a=1", headers, body, keys, cache, now=now + 299).key_id == "key:ci"
    )
    with pytest.raises(SignatureError, match="replayed"):
        verify_request("POST", "/api/v1/x?a=1", headers, body, keys, cache, now=now + 299)


# --------------------------------------------------------------------------------------- against the server


def test_a_valid_token_reads_its_teams_models(world: World) -> None:
    models = world.client(token=world.creds.token("viewer")).models.list().models
    assert [m.id for m in models] == [MODEL]
    assert models[0].latest_window is None  # nothing materialized in this instance


@pytest.mark.parametrize(
    "case",
    ["expired", "wrong_audience", "wrong_issuer", "wrong_key", "alg_none", "hs256_confusion", "garbage"],
)
def test_bad_tokens_are_refused_with_401_and_a_reason(world: World, case: str) -> None:
    creds, now = world.creds, time.time()
    if case == "expired":
        token = creds.token("admin", ttl_seconds=60, now=now - 3600)
    elif case == "wrong_audience":
        token = creds.token("admin", audience="someone-else")
    elif case == "wrong_issuer":
        token = creds.token("admin", issuer="evil")
    elif case == "wrong_key":
        other, _ = generate_key_pair("test-1")  # same kid, another key
        token = issue_token(
            other,
            kid="test-1",
            subject="x",
            role="admin",
            teams=["ml-platform"],
            issuer=ISSUER,
            audience=AUDIENCE,
        )
    elif case == "alg_none":
        claims = {
            "sub": "x",
            "role": "admin",
            "teams": ["ml-platform"],
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": int(now),
            "exp": int(now) + 600,
        }
        token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'test-1'})}.{_b64(claims)}."
    elif case == "hs256_confusion":  # HMAC-signed with the public key's JWK bytes as the shared secret
        public = json.loads(creds.jwks.read_text())["keys"][0]
        claims = {
            "sub": "x",
            "role": "admin",
            "teams": ["ml-platform"],
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": int(now),
            "exp": int(now) + 600,
        }
        signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'test-1'})}.{_b64(claims)}"
        secret = json.dumps(public).encode()
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    else:
        token = "not-a-jwt"
    response = _get(world, "/api/v1/models", token)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == "unauthenticated" and body["request_id"]
    expected = {
        "expired": "expired",
        "wrong_audience": "audience",
        "wrong_issuer": "issuer",
        "wrong_key": "signature",
        "alg_none": "'none' refused",
        "hs256_confusion": "'HS256' refused",
        "garbage": "malformed",
    }[case]
    assert expected in body["detail"]
    assert "Traceback" not in response.text


def test_no_credentials_is_401(world: World) -> None:
    response = httpx.get(world.url + "/api/v1/models", timeout=30)
    assert response.status_code == 401 and "no credentials" in response.json()["detail"]


def test_signed_requests_pass_and_a_tampered_body_or_replay_is_refused(world: World) -> None:
    secret = world.creds.secrets["ci-operator"]
    client = world.client(api_key="ci-operator", secret=secret)
    assert [m.id for m in client.models.list().models] == [MODEL]
    # a signed POST: the body is read for the digest and still reaches the handler
    result = client.analysis.correlate(
        {"a": [1.0, 2.0, 3.0, 4.0, 5.0] * 8, "b": [2.0, 1.0, 4.0, 3.0, 5.0] * 8}
    )
    assert result.n_tests == 2 and len(result.pairs) == 1

    path = "/api/v1/analysis/correlate"
    body = json.dumps({"series": {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 4.0]}}).encode()
    headers = sign_request("ci-operator", secret, "POST", path, body)
    tampered = body.replace(b"4.0", b"5.0")
    response = httpx.post(world.url + path, content=tampered, headers=headers, timeout=30)
    assert response.status_code == 401 and "body digest" in response.json()["detail"]

    headers = sign_request("ci-operator", secret, "GET", "/api/v1/models")
    first = httpx.get(world.url + "/api/v1/models", headers=headers, timeout=30)
    again = httpx.get(world.url + "/api/v1/models", headers=headers, timeout=30)
    assert first.status_code == 200
    assert again.status_code == 401 and "replayed" in again.json()["detail"]

    stale = sign_request("ci-operator", secret, "GET", "/api/v1/models", now=time.time() - 400)
    response = httpx.get(world.url + "/api/v1/models", headers=stale, timeout=30)
    assert response.status_code == 401 and "window" in response.json()["detail"]
    with pytest.raises(AuthenticationError):
        world.client(api_key="ci-operator", secret="wrong-secret-0123456789").models.list()


def test_another_teams_model_is_404_exactly_like_an_unknown_one(world: World) -> None:
    payments = world.client(token=world.creds.token("admin", teams=("payments",), subject="p"))
    # admins see every team's models; an operator of another team does not
    operator = world.client(token=world.creds.token("operator", teams=("payments",)))
    assert operator.models.list().models == []
    with pytest.raises(NotFoundError) as theirs:
        operator.monitor.health(MODEL)
    with pytest.raises(NotFoundError) as unknown:
        operator.monitor.health("no-such-model")
    assert theirs.value.status == unknown.value.status == 404
    assert str(theirs.value).replace(MODEL, "X") == str(unknown.value).replace("no-such-model", "X")
    with pytest.raises(NotFoundError):
        operator.monitor.detect_drift(MODEL, window="2026-10-01")
    keyed = world.client(api_key="payments-operator", secret=world.creds.secrets["payments-operator"])
    with pytest.raises(NotFoundError):
        keyed.monitor.incidents(model_id=MODEL)
    assert [m.id for m in payments.models.list().models] == [MODEL]


def test_a_viewer_cannot_remediate_or_run_drift_checks(world: World) -> None:
    viewer = world.client(token=world.creds.token("viewer"))
    with pytest.raises(PermissionDeniedError) as denied:
        viewer.monitor.detect_drift(MODEL, window="2026-10-01")
    assert "'operator' or above" in str(denied.value)
    # remediation looks the incident up first: an unknown incident is 404 for everyone, a known one is 403
    with pytest.raises(NotFoundError):
        viewer.remediation.execute("inc-unknown", "notify_team", safety_check=True)
    response = httpx.post(
        world.url + "/api/v1/remediation/execute",
        json={"incident_id": "inc-x", "action": "notify_team", "safety_check": False},
        headers={"Authorization": f"Bearer {world.creds.token('operator')}"},
        timeout=30,
    )
    assert response.status_code == 422  # the gate cannot be skipped


def test_rate_limit_answers_429_with_retry_after(world: World) -> None:
    secret = world.creds.secrets["slow-viewer"]
    statuses, retry_after = [], None
    for _ in range(5):
        headers = sign_request("slow-viewer", secret, "GET", "/api/v1/models")
        response = httpx.get(world.url + "/api/v1/models", headers=headers, timeout=30)
        statuses.append(response.status_code)
        retry_after = response.headers.get("Retry-After", retry_after)
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    assert retry_after is not None and 1 <= int(retry_after) <= 20  # 3 per minute: one token every 20 s
    client = SentinelClient(
        world.url, api_key="slow-viewer", secret=secret, retries=1, backoff=0.01, max_backoff=0.05
    )
    with pytest.raises(RateLimitedError) as limited:
        client.models.list()
    assert limited.value.retry_after is not None and limited.value.status == 429


def test_bodies_over_the_limit_are_413_and_errors_carry_no_stack_trace(world: World) -> None:
    token = world.creds.token("operator")
    big = {"series": {"a": [1.0] * 20_000, "b": [2.0] * 20_000}}  # > 64 KiB (the test server's limit)
    response = httpx.post(
        world.url + "/api/v1/analysis/correlate",
        json=big,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    # a window that does not exist: one line, the request id, no traceback
    response = httpx.post(
        world.url + "/api/v1/monitoring/drift-check",
        json={"model_id": MODEL, "current_data": "/etc/passwd"},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-123"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": "current_data: /etc/passwd is outside the folders the API may read",
        "code": "source_not_allowed",
        "request_id": "req-123",
    }
    response = httpx.post(
        world.url + "/api/v1/monitoring/drift-check",
        json={"model_id": MODEL, "current_data": str(world.root / "missing.parquet")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 400 and "missing.parquet" in response.json()["detail"]
    response = httpx.post(
        world.url + "/api/v1/monitoring/drift-check",
        json={"model_id": MODEL, "current_data": "data/\u0000.parquet"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 400 and response.json()["code"] == "bad_source"
    assert "Traceback" not in response.text and 'File "' not in response.text

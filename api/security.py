"""Who is calling and whether they may: bearer tokens or signed service requests, roles, teams, rate limits.

``Authorization: Bearer <RS256 JWT>`` or the five ``X-Sentinel-*`` signature headers of a service key (see
:mod:`drift_sentinel.access`). A failed check is a 401 with one line saying why (never a stack trace); a role
that is too weak is a 403; a model of another team is a 404, exactly as an unknown model, so ids do not leak.
Each credential has a token bucket (its rate limit per minute, refilled continuously); an empty bucket is a 429
with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

from fastapi import Request

from drift_sentinel.access import (
    AccessDenied,
    Principal,
    ReplayCache,
    ServiceKey,
    TokenVerifier,
    load_jwks,
    load_service_keys,
    verify_request,
)
from drift_sentinel.access.signatures import KEY_HEADER
from drift_sentinel.config import ModelSpec


class ApiError(Exception):
    """An error the API answers with: HTTP status, stable code, one-line detail, optional headers."""

    def __init__(self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, dict(headers or {})


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", what)


class RateLimiter:
    """A token bucket per credential: ``limit`` requests per minute, bursts up to ``limit``."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, now: float | None = None) -> float:
        """Take one token; 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        rate = limit / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(limit), now))
            tokens = min(float(limit), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


class Authenticator:
    """Verifies either kind of credential, then applies the credential's rate limit."""

    def __init__(
        self,
        verifier: TokenVerifier | None,
        keys: Mapping[str, ServiceKey],
        *,
        rate_limit_per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.verifier, self.keys = verifier, dict(keys)
        self.default_limit = rate_limit_per_minute
        self.replay = ReplayCache()
        self.limiter = RateLimiter()
        self.clock = clock

    @classmethod
    def from_settings(
        cls,
        jwks: str,
        issuer: str,
        audience: str,
        leeway: int,
        service_keys: str | None,
        rate_limit_per_minute: int,
    ) -> Authenticator:
        """JWKS from a file or URL (re-read on an unknown key id), service keys from their file."""
        verifier = TokenVerifier(
            lambda: load_jwks(jwks), issuer=issuer, audience=audience, leeway_seconds=leeway
        )
        keys = load_service_keys(service_keys) if service_keys else {}
        return cls(verifier, keys, rate_limit_per_minute=rate_limit_per_minute)

    async def authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        try:
            if header:
                scheme, _, token = header.partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise AccessDenied("Authorization header: expected 'Bearer <token>'")
                if self.verifier is None:
                    raise AccessDenied("bearer tokens are not configured on this server (API_JWKS)")
                principal = self.verifier.verify(token.strip())
                limit = self.default_limit
            elif request.headers.get(KEY_HEADER):
                body = await request.body()
                path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                principal = verify_request(
                    request.method, path, request.headers, body, self.keys, self.replay, now=self.clock()
                )
                key = self.keys[request.headers[KEY_HEADER]]
                limit = key.rate_limit_per_minute or self.default_limit
            else:
                raise AccessDenied("no credentials: send 'Authorization: Bearer <token>' or a signed request")
        except AccessDenied as exc:
            raise ApiError(
                401, "unauthenticated", str(exc), {"WWW-Authenticate": 'Bearer realm="drift-sentinel"'}
            ) from None
        wait = self.limiter.take(principal.key_id, limit)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"rate limit of {limit} requests per minute exceeded for {principal.key_id}",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        request.state.principal = principal
        return principal


def require_role(principal: Principal, role: str) -> None:
    """403 unless ``principal``'s role includes ``role``."""
    if not principal.can(role):
        raise ApiError(
            403, "forbidden", f"role {principal.role!r} may not do this; {role!r} or above required"
        )


def owned_model(principal: Principal, specs: list[ModelSpec], model_id: str) -> ModelSpec:
    """The model ``model_id`` if the principal's team owns it; 404 both when unknown and when not owned."""
    for spec in specs:
        if model_id in (spec.id, spec.asset_prefix) and principal.owns(spec.owners):
            return spec
    raise not_found(f"unknown model id {model_id!r}")

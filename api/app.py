"""The FastAPI application: routers under ``/api/v1``, ``/health``, ``/metrics``; limits and error bodies.

``uvicorn api.app:create_app --factory`` (``make api``) builds it from the environment. Every error is an
:class:`~drift_sentinel.api_schema.ErrorBody` with a request id: the core's errors map to 400/404/503, anything
unexpected to a 500 whose body names only the request id (the traceback goes to the server log).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.routes import analysis, models, monitoring, remediation
from api.security import ApiError
from api.service import Service
from drift_sentinel.api_schema import ErrorBody
from drift_sentinel.errors import (
    ConfigError,
    DataError,
    ExternalServiceError,
    SentinelError,
    UnknownModelError,
    UnknownNameError,
)

log = logging.getLogger("drift_sentinel.api")

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "bad request (names the field, file or column)",
        401: "missing or invalid credentials",
        403: "the credential's role may not do this",
        404: "unknown (or another team's) model, incident or run",
        409: "conflict with the run's state",
        413: "request body too large",
        429: "rate limit exceeded (see Retry-After)",
        500: "internal error (the body names the request id only)",
        503: "a system the API depends on is unavailable (see Retry-After)",
    }.items()
}


class ServiceHealth(BaseModel):
    """``drift-sentinel health``'s report: overall status and each component's."""

    status: str
    components: dict[str, str]
    details: dict[str, str]
    version: str
    uptime: float
    checked_at: str


class Liveness(BaseModel):
    status: str


def _error(
    status: int, code: str, detail: str, request: Request, headers: dict[str, str] | None = None
) -> Response:
    request_id = getattr(request.state, "request_id", None)
    body = ErrorBody(detail=detail, code=code, request_id=request_id).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413 before the application sees them (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = declared is not None and (not declared.isdigit() or int(declared) > self.limit)
        chunks: list[bytes] = []
        if not too_big and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            size, more = 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.limit:
                    too_big = True
                    break
                chunks.append(chunk)
                more = message.get("more_body", False)
        if too_big:
            body = ErrorBody(
                detail=f"request body exceeds {self.limit} bytes", code="too_large"
            ).model_dump_json()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        if not chunks:
            await self.app(scope, receive, send)
            return
        buffered = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": buffered, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(service: Service | None = None) -> FastAPI:
    """The application for ``service`` (default: from the environment)."""
    service = service or Service.from_env()
    app = FastAPI(
        title="Drift Sentinel API",
        version="1",
        description="Drift checks, incidents, root-cause reports and gated remediation of monitored ML models. "
        "Authenticate with an RS256 bearer token or an HMAC-signed service key request.",
        responses=ERRORS,
    )
    app.state.service = service
    registry = CollectorRegistry()
    requests_total = Counter(
        "drift_sentinel_api_requests", "API requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "drift_sentinel_api_request_seconds",
        "API request latency",
        ["route"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30),
    )

    @app.middleware("http")
    async def request_context(request: Request, call_next: Any) -> Response:
        request.state.request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # anything that escaped the exception handlers
            log.exception("unhandled error (request %s)", request.state.request_id)
            response = _error(500, "internal", "internal error", request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        requests_total.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(route).observe(time.perf_counter() - started)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.detail, request, exc.headers)

    @app.exception_handler(SentinelError)
    async def sentinel_error(request: Request, exc: SentinelError) -> Response:
        if isinstance(exc, UnknownModelError):
            return _error(404, "not_found", str(exc).split(";")[0], request)
        if isinstance(exc, DataError | ConfigError | UnknownNameError):
            return _error(400, "bad_request", str(exc).splitlines()[0][:500], request)
        if isinstance(exc, ExternalServiceError):
            log.warning("dependency unavailable: %s", exc)
            return _error(503, "unavailable", str(exc)[:500], request, {"Retry-After": "5"})
        log.exception("error (request %s)", getattr(request.state, "request_id", ""))
        return _error(500, "internal", "internal error", request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error (request %s)", getattr(request.state, "request_id", ""), exc_info=exc)
        return _error(500, "internal", "internal error", request)

    for module in (models, monitoring, analysis, remediation):
        app.include_router(module.router)

    @app.get(
        "/health", response_model=ServiceHealth, tags=["service"], summary="The deployment's health report"
    )
    def health() -> ServiceHealth:
        cached = service.health_cache
        if cached is None or time.monotonic() - cached[0] > 10.0:
            from resources.health import check_health

            try:
                instance = service.instance
            except Exception:  # check_health reports the database as unreachable
                instance = None
            report = check_health(instance=instance, settings=service.settings.core, timeout=3.0)
            cached = service.health_cache = (time.monotonic(), report.to_dict())
        return ServiceHealth.model_validate(cached[1])

    @app.get(
        "/livez", response_model=Liveness, tags=["service"], summary="Liveness (no dependencies checked)"
    )
    def livez() -> Liveness:
        return Liveness(status="ok")

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        tags=["service"],
        summary="Prometheus metrics of the API",
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(BodyLimit, limit=service.settings.max_body_bytes)
    return app

"""FastAPI dependencies: the shared :class:`~api.service.Service` and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from api.service import Service
from drift_sentinel.access import Principal
from drift_sentinel.access.signatures import KEY_HEADER

# Declared so the OpenAPI document shows both schemes; the Authenticator does the checking.
_bearer = HTTPBearer(auto_error=False, description="RS256 JWT (drift-sentinel token issue)")
_service_key = APIKeyHeader(
    name=KEY_HEADER, auto_error=False, description="service key id; with the X-Sentinel-* signature headers"
)


def service(request: Request) -> Service:
    return request.app.state.service


async def principal(
    request: Request,
    _bearer_token: Annotated[object, Security(_bearer)] = None,
    _key: Annotated[object, Security(_service_key)] = None,
) -> Principal:
    return await request.app.state.service.auth.authenticate(request)


ServiceDep = Annotated[Service, Depends(service)]
PrincipalDep = Annotated[Principal, Depends(principal)]

"""Access control shared by the service API and its client: roles and teams, RS256 tokens, HMAC request signatures.

No web framework and no Dagster here: the server (``api/``) verifies with these functions, the client
(:mod:`drift_sentinel.client`) signs with them, and ``drift-sentinel token`` mints development credentials.
"""

from drift_sentinel.access.principals import ROLES, AccessDenied, Principal, role_allows, team_of_owner
from drift_sentinel.access.signatures import (
    ReplayCache,
    ServiceKey,
    SignatureError,
    load_service_keys,
    sign_request,
    verify_request,
)
from drift_sentinel.access.tokens import TokenError, TokenVerifier, generate_key_pair, issue_token, load_jwks

__all__ = [
    "ROLES",
    "AccessDenied",
    "Principal",
    "ReplayCache",
    "ServiceKey",
    "SignatureError",
    "TokenError",
    "TokenVerifier",
    "generate_key_pair",
    "issue_token",
    "load_service_keys",
    "load_jwks",
    "role_allows",
    "sign_request",
    "team_of_owner",
    "verify_request",
]

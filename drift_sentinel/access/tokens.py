"""Short-lived RS256 JSON Web Tokens: minting (development) and verification (the service).

A token carries ``sub`` (the audit actor), ``role``, ``teams``, ``iss``, ``aud``, ``iat``, ``exp`` (at most one
hour after ``iat``) and ``jti``. Verification accepts RS256 only, with the key named by ``kid`` in a JWKS (a file
or an ``https://`` URL), checks issuer, audience and expiry with a small clock-skew leeway, and refuses
everything else: ``alg: none``, HS256 signed with the public key (algorithm confusion), a wrong key, an expired or
over-long token. See RFC 7519 (JWT), RFC 7517 (JWK) and RFC 8725 (JWT best current practices).

>>> private_pem, jwks = generate_key_pair("k1")
>>> token = issue_token(private_pem, kid="k1", subject="ci", role="operator", teams=["ml-platform"],
...                     issuer="drift-sentinel-dev", audience="drift-sentinel-api")
>>> verifier = TokenVerifier(jwks, issuer="drift-sentinel-dev", audience="drift-sentinel-api")
>>> verifier.verify(token)
Principal(subject='ci', role='operator', teams=('ml-platform',), via='jwt', key_id='jwt:ci')
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from drift_sentinel.access.principals import ROLES, AccessDenied, Principal
from drift_sentinel.errors import ConfigError

ALGORITHM = "RS256"
MAX_TTL_SECONDS = 3600
DEFAULT_LEEWAY_SECONDS = 30


class TokenError(AccessDenied):
    """A bearer token that is malformed, badly signed, expired, or for another issuer or audience."""


def generate_key_pair(kid: str, *, bits: int = 2048) -> tuple[bytes, dict[str, Any]]:
    """A new RSA key pair: the private key as PEM and the public key as a JWKS (``{"keys": [...]}``)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public_jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return private_pem, {"keys": [public_jwk]}


def issue_token(
    private_pem: bytes,
    *,
    kid: str,
    subject: str,
    role: str,
    teams: Sequence[str],
    issuer: str,
    audience: str,
    ttl_seconds: int = MAX_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """Sign a token for ``subject`` with ``role`` and ``teams``; ``ttl_seconds`` must be in (0, 3600]."""
    if role not in ROLES:
        raise ConfigError(f"token role {role!r}: expected one of {', '.join(ROLES)}")
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ConfigError(f"token ttl {ttl_seconds} s: must be between 1 and {MAX_TTL_SECONDS} (one hour)")
    if not subject:
        raise ConfigError("token subject: must not be empty")
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": subject,
        "role": role,
        "teams": list(teams),
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_pem, algorithm=ALGORITHM, headers={"kid": kid})


def load_jwks(source: str | Path, *, timeout: float = 5.0) -> dict[str, Any]:
    """Read a JWKS from a file or an ``http(s)://`` URL; :class:`ConfigError` names the source on failure."""
    text = str(source)
    try:
        if text.startswith(("https://", "http://")):
            with urllib.request.urlopen(text, timeout=timeout) as response:  # noqa: S310 (configured URL)
                data = json.loads(response.read())
        else:
            data = json.loads(Path(text).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"JWKS {text}: cannot read: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ConfigError(f"JWKS {text}: expected an object with a 'keys' list")
    return data


class TokenVerifier:
    """Verifies bearer tokens against a JWKS (a mapping, or a source re-read at most every ``refresh_seconds``
    when a token names an unknown ``kid``, so keys can be rotated without a restart)."""

    def __init__(
        self,
        jwks: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        max_ttl_seconds: int = MAX_TTL_SECONDS,
        refresh_seconds: float = 60.0,
    ) -> None:
        self._load = jwks if callable(jwks) else (lambda: jwks)
        self.issuer, self.audience = issuer, audience
        self.leeway, self.max_ttl, self.refresh = leeway_seconds, max_ttl_seconds, refresh_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._loaded_at = float("-inf")
        self._reload()

    def _reload(self) -> None:
        keys = {}
        for entry in self._load().get("keys", []):
            if entry.get("kty") != "RSA" or not entry.get("kid"):
                continue  # only RSA keys with an id can verify RS256 tokens
            keys[entry["kid"]] = jwt.PyJWK(dict(entry), algorithm=ALGORITHM).key
        self._keys, self._loaded_at = keys, time.monotonic()

    def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is None:
            with self._lock:
                if time.monotonic() - self._loaded_at >= self.refresh:
                    self._reload()
                key = self._keys.get(kid)
        if key is None:
            raise TokenError(f"token key id {kid!r} is not in the JWKS")
        return key

    def verify(self, token: str) -> Principal:
        """The :class:`Principal` of a valid token; :class:`TokenError` says why a token is refused."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("malformed bearer token") from None
        if header.get("alg") != ALGORITHM:
            raise TokenError(f"token algorithm {header.get('alg')!r} refused; only {ALGORITHM} is accepted")
        key = self._key(str(header.get("kid") or ""))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidAudienceError:
            raise TokenError(f"token audience is not {self.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise TokenError(f"token issuer is not {self.issuer!r}") from None
        except jwt.InvalidSignatureError:
            raise TokenError("token signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise TokenError(f"token refused: {exc}") from None
        if int(claims["exp"]) - int(claims["iat"]) > self.max_ttl:
            raise TokenError(f"token lifetime exceeds {self.max_ttl} s")
        role, teams = claims.get("role"), claims.get("teams", [])
        if role not in ROLES:
            raise TokenError(f"token role {role!r}: expected one of {', '.join(ROLES)}")
        if not isinstance(teams, list) or not all(isinstance(t, str) for t in teams):
            raise TokenError("token claim 'teams' must be a list of team names")
        subject = str(claims["sub"])
        return Principal(subject=subject, role=role, teams=tuple(teams), via="jwt", key_id=f"jwt:{subject}")

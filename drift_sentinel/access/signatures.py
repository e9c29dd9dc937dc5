"""HMAC-SHA256 request signatures for service keys, with a ±5 minute window and replay refusal.

A signed request carries five headers: the key id, a Unix timestamp, a random nonce, the SHA-256 of the body and
the signature, ``HMAC-SHA256(secret, METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n BODY-SHA256)`` in hex. The
server recomputes the digest from the body it received (a tampered body fails), checks the timestamp against its
clock, compares signatures in constant time and refuses a signature it has already accepted (a replay).

>>> key = ServiceKey(id="ci", secret="s3cret", role="operator", teams=("ml-platform",))
>>> headers = sign_request("ci", "s3cret", "POST", "/api/v1/x", b'{"a": 1}', now=1_700_000_000)
>>> cache = ReplayCache()
>>> verify_request("POST", "/api/v1/x", headers, b'{"a": 1}', {"ci": key}, cache, now=1_700_000_010).subject
'service:ci'
>>> verify_request("POST", "/api/v1/x", headers, b'{"a": 1}', {"ci": key}, cache, now=1_700_000_011)
Traceback (most recent call last):
...
drift_sentinel.access.signatures.SignatureError: replayed signature refused (key 'ci')
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from drift_sentinel.access.principals import AccessDenied, Principal, Role
from drift_sentinel.errors import ConfigError

KEY_HEADER = "X-Sentinel-Key-Id"
TIMESTAMP_HEADER = "X-Sentinel-Timestamp"
NONCE_HEADER = "X-Sentinel-Nonce"
DIGEST_HEADER = "X-Sentinel-Content-SHA256"
SIGNATURE_HEADER = "X-Sentinel-Signature"
SIGNED_HEADERS = (KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, DIGEST_HEADER, SIGNATURE_HEADER)
WINDOW_SECONDS = 300


class SignatureError(AccessDenied):
    """A signed request that is malformed, stale, tampered with, replayed or signed with an unknown key."""


@dataclass(frozen=True)
class ServiceKey:
    """A service credential: its id, shared secret, role, teams and optional own rate limit (per minute)."""

    id: str
    secret: str = field(repr=False)
    role: Role
    teams: tuple[str, ...]
    subject: str = ""
    rate_limit_per_minute: int | None = None

    def principal(self) -> Principal:
        return Principal(
            subject=self.subject or f"service:{self.id}",
            role=self.role,
            teams=self.teams,
            via="service-key",
            key_id=f"key:{self.id}",
        )


def body_digest(body: bytes) -> str:
    """Hex SHA-256 of the request body (of ``b""`` for a request without one)."""
    return hashlib.sha256(body).hexdigest()


def canonical_request(method: str, path: str, timestamp: str, nonce: str, digest: str) -> bytes:
    """The bytes that are signed: method, path with query, timestamp, nonce and body digest, one per line."""
    return "\n".join([method.upper(), path, timestamp, nonce, digest]).encode()


def sign_request(
    key_id: str, secret: str, method: str, path: str, body: bytes = b"", *, now: float | None = None
) -> dict[str, str]:
    """The five signature headers for one request (``path`` includes the query string, if any)."""
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    digest = body_digest(body)
    message = canonical_request(method, path, timestamp, nonce, digest)
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        DIGEST_HEADER: digest,
        SIGNATURE_HEADER: signature,
    }


class ReplayCache:
    """Signatures accepted within the window; a second use of one is a replay.

    Entries expire once their timestamp is out of the window (a replay after that fails the timestamp check
    anyway). Bounded: beyond ``max_entries`` live signatures new ones are refused rather than old ones forgotten.
    Kept in process memory, so it protects one replica (see docs/api.md).
    """

    def __init__(self, *, window_seconds: int = WINDOW_SECONDS, max_entries: int = 200_000) -> None:
        self.window, self.max_entries = window_seconds, max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, signature: str, timestamp: float, now: float) -> bool:
        """Record ``signature``; ``False`` when it was seen before (or the cache is full)."""
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now:
                    break
                del self._seen[oldest]
            if signature in self._seen or len(self._seen) >= self.max_entries:
                return False
            # expiry is the latest moment the timestamp still passes the window check
            self._seen[signature] = max(timestamp + self.window, now) + 1
            return True

    def __len__(self) -> int:
        return len(self._seen)


def verify_request(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, ServiceKey],
    replay: ReplayCache,
    *,
    now: float | None = None,
    window_seconds: int = WINDOW_SECONDS,
) -> Principal:
    """The principal of a correctly signed, fresh, first-seen request; :class:`SignatureError` otherwise.

    ``headers`` is looked up case-insensitively by the caller's mapping (e.g. Starlette's ``Headers``) or
    given with the exact names of :data:`SIGNED_HEADERS`.
    """
    now = time.time() if now is None else now
    missing = [name for name in SIGNED_HEADERS if not headers.get(name)]
    if missing:
        raise SignatureError(f"signed request is missing header(s) {', '.join(missing)}")
    key_id = headers[KEY_HEADER]
    key = keys.get(key_id)
    if key is None:
        raise SignatureError(f"unknown service key id {key_id!r}")
    timestamp = headers[TIMESTAMP_HEADER]
    try:
        moment = float(int(timestamp))
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} {timestamp!r}: expected Unix seconds") from None
    if abs(now - moment) > window_seconds:
        raise SignatureError(f"request timestamp is outside the ±{window_seconds} s window (key {key_id!r})")
    digest = body_digest(body)
    if not hmac.compare_digest(digest, headers[DIGEST_HEADER].lower()):
        raise SignatureError(f"body digest does not match the body (key {key_id!r})")
    message = canonical_request(method, path, timestamp, headers[NONCE_HEADER], digest)
    expected = hmac.new(key.secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers[SIGNATURE_HEADER].lower()):
        raise SignatureError(f"signature does not verify (key {key_id!r})")
    if not replay.add(expected, moment, now):
        raise SignatureError(f"replayed signature refused (key {key_id!r})")
    return key.principal()


class _KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    secret: str | None = Field(default=None, min_length=16)
    secret_env: str | None = None
    role: Role
    teams: list[str] = Field(default_factory=list)
    subject: str = ""
    rate_limit_per_minute: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_secret(self) -> _KeyEntry:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("give exactly one of 'secret' and 'secret_env'")
        return self


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[_KeyEntry]


def load_service_keys(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> dict[str, ServiceKey]:
    """Read service keys from a YAML/JSON file (``keys: [{id, secret | secret_env, role, teams, …}]``).

    ``secret_env`` names an environment variable holding the secret (the file then holds no secret at all).
    """
    env = os.environ if env is None else env
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text()) or {"keys": []}
        parsed = _KeyFile.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read service keys: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML/JSON: {getattr(exc, 'problem', exc)}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None
    keys: dict[str, ServiceKey] = {}
    for entry in parsed.keys:
        secret = entry.secret if entry.secret is not None else env.get(entry.secret_env or "")
        if not secret:
            raise ConfigError(
                f"{source}: key {entry.id!r}: environment variable {entry.secret_env} is not set"
            )
        if entry.id in keys:
            raise ConfigError(f"{source}: duplicate service key id {entry.id!r}")
        keys[entry.id] = ServiceKey(
            id=entry.id,
            secret=secret,
            role=entry.role,
            teams=tuple(entry.teams),
            subject=entry.subject,
            rate_limit_per_minute=entry.rate_limit_per_minute,
        )
    return keys

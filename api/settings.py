"""The API's settings from the environment (``API_*``; the rest comes from :class:`drift_sentinel.settings.Settings`).

``API_JWKS``                 JWKS file or URL the tokens are verified with (default ``$SENTINEL_HOME/keys/jwks.json``)
``API_JWT_ISSUER``           expected ``iss`` (default ``drift-sentinel-dev``)
``API_JWT_AUDIENCE``         expected ``aud`` (default ``drift-sentinel-api``)
``API_JWT_LEEWAY``           clock-skew leeway in seconds (default 30)
``API_SERVICE_KEYS``         service keys file (default ``$SENTINEL_HOME/keys/service-keys.json`` when present)
``API_RATE_LIMIT``           requests per minute per credential (default 600; a service key may set its own)
``API_MAX_BODY_BYTES``       largest request body (default 1048576)
``API_DATA_ROOTS``           folders drift checks may read files from, ``:``-separated (default: the models
                             file's folder and the storage folder)
``API_DATA_BUCKETS``         buckets drift checks may read ``s3://`` files from, comma-separated (default:
                             ``S3_BUCKET``)
``API_READ_CACHE_SECONDS``   how long read queries are reused (default 1; 0 turns the cache off)
``DAGSTER_GRAPHQL_URL``      the Dagster webserver's GraphQL endpoint that runs are launched through (default
                             ``http://127.0.0.1:3000/graphql``)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from drift_sentinel.commands.token import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from drift_sentinel.errors import ConfigError
from drift_sentinel.settings import Settings


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r}: expected an integer") from None
    if value <= 0:
        raise ConfigError(f"environment variable {name}={raw!r}: must be positive")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r}: expected seconds") from None
    if value < 0:
        raise ConfigError(f"environment variable {name}={raw!r}: must not be negative")
    return value


@dataclass(frozen=True)
class ApiSettings:
    """Resolved settings of the API process."""

    core: Settings
    jwks: str
    issuer: str
    audience: str
    leeway_seconds: int
    service_keys: str | None
    rate_limit_per_minute: int
    max_body_bytes: int
    data_roots: tuple[Path, ...]
    data_buckets: tuple[str, ...]
    graphql_url: str
    read_cache_seconds: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, config_dir: Path | None = None) -> ApiSettings:
        env = os.environ if env is None else env
        core = Settings.from_env(env)
        keys = core.home / "keys"
        service_keys = env.get("API_SERVICE_KEYS") or (
            str(keys / "service-keys.json") if (keys / "service-keys.json").exists() else None
        )
        roots = [Path(p) for p in env.get("API_DATA_ROOTS", "").split(":") if p]
        if not roots:
            roots = [config_dir or Path.cwd()] + (
                [Path(core.storage_uri)] if "://" not in core.storage_uri else []
            )
        buckets = [b for b in env.get("API_DATA_BUCKETS", "").split(",") if b]
        if not buckets and env.get("S3_BUCKET"):
            buckets = [env["S3_BUCKET"]]
        return cls(
            core=core,
            jwks=env.get("API_JWKS", str(keys / "jwks.json")),
            issuer=env.get("API_JWT_ISSUER", DEFAULT_ISSUER),
            audience=env.get("API_JWT_AUDIENCE", DEFAULT_AUDIENCE),
            leeway_seconds=_int(env, "API_JWT_LEEWAY", 30),
            service_keys=service_keys,
            rate_limit_per_minute=_int(env, "API_RATE_LIMIT", 600),
            max_body_bytes=_int(env, "API_MAX_BODY_BYTES", 1 << 20),
            data_roots=tuple(p.resolve() for p in roots),
            data_buckets=tuple(buckets),
            graphql_url=env.get("DAGSTER_GRAPHQL_URL", "http://127.0.0.1:3000/graphql"),
            read_cache_seconds=_seconds(env, "API_READ_CACHE_SECONDS", 1.0),
        )

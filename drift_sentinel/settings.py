"""Service settings from the environment (``DRIFT_*``, ``REMEDIATION_*``, ``ALERT_*``, ``MLFLOW_*``, ``S3_*``).

Everything has an embedded default for one machine: state lives under ``SENTINEL_HOME``
(default ``./.sentinel``). ``.env.example`` at the repository root documents every variable.

>>> s = Settings.from_env({"SENTINEL_HOME": "/tmp/x"})
>>> s.mlflow_tracking_uri, s.deployment
('sqlite:////tmp/x/mlflow.db', 'local')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from drift_sentinel.errors import ConfigError

Deployment = Literal["local", "production"]


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"environment variable {name}={raw!r}: expected true or false")


@dataclass(frozen=True)
class Settings:
    """Resolved service settings (no secrets are kept here except by reference to their variable)."""

    deployment: Deployment
    home: Path
    storage_uri: str
    mlflow_tracking_uri: str
    s3_endpoint_url: str | None
    s3_region: str
    audit_uri: str
    outbox_path: Path
    remediation_dry_run: bool
    auto_remediation: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        deployment = env.get("DAGSTER_DEPLOYMENT", "local")
        if deployment not in ("local", "production"):
            raise ConfigError(f"DAGSTER_DEPLOYMENT={deployment!r}: expected 'local' or 'production'")
        home = Path(env.get("SENTINEL_HOME", ".sentinel")).absolute()
        bucket = env.get("S3_BUCKET")
        prefix = env.get("S3_PREFIX", "drift-sentinel").strip("/")
        default_storage = f"s3://{bucket}/{prefix}/storage" if bucket else str(home / "storage")
        default_audit = (
            f"s3://{env.get('S3_AUDIT_BUCKET', bucket)}/{prefix}/audit" if bucket else str(home / "audit")
        )
        return cls(
            deployment=deployment,  # type: ignore[arg-type]
            home=home,
            storage_uri=env.get("DRIFT_STORAGE_URI", default_storage),
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}"),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            s3_region=env.get("S3_REGION", "us-east-1"),
            audit_uri=env.get("REMEDIATION_AUDIT_URI", default_audit),
            outbox_path=Path(env.get("ALERT_OUTBOX", str(home / "outbox.jsonl"))),
            remediation_dry_run=_flag(env, "REMEDIATION_DRY_RUN", False),
            auto_remediation=_flag(env, "REMEDIATION_AUTO", True),
        )

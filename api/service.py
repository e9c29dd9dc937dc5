"""What every request handler shares: settings, the models file, the Dagster instance, credentials, launcher.

Opened once per process; none of it is state of the API's own (the instance, the audit trail and the threshold
store are the same ones the Dagster deployment uses).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from api import history
from api.launcher import GraphQLLauncher
from api.security import Authenticator
from api.settings import ApiSettings
from drift_sentinel.audit import AuditTrail, open_trail
from drift_sentinel.config import ModelSpec, SentinelConfig, config_path, load_config
from resources.health import open_instance
from resources.thresholds import ThresholdStoreResource


@dataclass
class Service:
    settings: ApiSettings
    config: SentinelConfig
    auth: Authenticator
    launcher: GraphQLLauncher
    instance_override: DagsterInstance | None = None
    _instance: DagsterInstance | None = field(default=None, init=False)
    _trail: AuditTrail | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    health_cache: tuple[float, Any] | None = field(default=None, init=False)

    @classmethod
    def from_env(cls, config_file: Path | None = None, instance: DagsterInstance | None = None) -> Service:
        config_file = config_file or config_path()
        config = load_config(config_file)
        settings = ApiSettings.from_env(config_dir=config.base_dir)
        auth = Authenticator.from_settings(
            settings.jwks,
            settings.issuer,
            settings.audience,
            settings.leeway_seconds,
            settings.service_keys,
            settings.rate_limit_per_minute,
        )
        history.READ_CACHE.ttl = settings.read_cache_seconds
        return cls(settings, config, auth, GraphQLLauncher(settings.graphql_url), instance_override=instance)

    @property
    def specs(self) -> list[ModelSpec]:
        return list(self.config.models)

    @property
    def instance(self) -> DagsterInstance:
        if self.instance_override is not None:
            return self.instance_override
        with self._lock:
            if self._instance is None:
                self._instance = open_instance(self.settings.core)
            return self._instance

    @property
    def trail(self) -> AuditTrail:
        with self._lock:
            if self._trail is None:
                core = self.settings.core
                self._trail = open_trail(
                    core.audit_uri, endpoint_url=core.s3_endpoint_url, region=core.s3_region
                )
            return self._trail

    def thresholds(self, model_id: str) -> dict[str, dict[str, float]] | None:
        """The detection thresholds stored for the model by ``update_thresholds`` (``None``: the configured)."""
        path = os.environ.get("REMEDIATION_THRESHOLDS_PATH", str(self.settings.core.home / "thresholds"))
        return ThresholdStoreResource(path=path).stored(model_id)

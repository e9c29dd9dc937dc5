"""The composition root: the one place things are wired.

Models come from the validated config (``SENTINEL_CONFIG``, default ``./sentinel.yaml``); each gets its
assets, checks, jobs and sensor from :func:`build_model_defs`. One resource set is picked per deployment
(``DAGSTER_DEPLOYMENT=local`` — the embedded default — or ``production``); settings come from the environment
(see ``.env.example``), secrets only through ``EnvVar``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagster import Definitions, EnvVar, in_process_executor

from drift_sentinel.config import SentinelConfig, config_path, load_config
from drift_sentinel.errors import ConfigError
from drift_sentinel.settings import Settings
from io_managers.storage import SentinelIOManager
from jobs.remediation import remediation_jobs
from jobs.thresholds import ThresholdStoreResource
from resources.audit_trail import AuditTrailResource
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from resources.notifier import NotifierResource
from resources.run_launcher import check_targets
from resources.safety_gate import SafetyGateResource
from resources.scaler import KubernetesScaler, RecordingScaler, ScalerResource
from sensors.escalation import build_escalation_sensors, build_reconcile_sensor
from sentinel_assets.factory import build_model_defs

# Secret settings: passed as EnvVar (resolved at run time, never stored in run config or metadata).
_SECRETS = {
    "slack_webhook_url": "ALERT_SLACK_WEBHOOK_URL",
    "pagerduty_routing_key": "ALERT_PAGERDUTY_ROUTING_KEY",
    "smtp_password": "ALERT_SMTP_PASSWORD",
}


def build_scaler(settings: Settings) -> ScalerResource:
    """``KubernetesScaler`` in production (in-cluster service account; ``SCALER_NAMESPACE``,
    ``SCALER_DEPLOYMENT`` and optional ``SCALER_HPA`` name the objects, ``{model_id}`` allowed), else the
    embedded ``RecordingScaler`` (``SCALER_RECORD``, default ``$SENTINEL_HOME/scaling.jsonl``)."""
    env = os.environ
    if settings.deployment == "production":
        return KubernetesScaler(
            namespace=env.get("SCALER_NAMESPACE", "drift-sentinel"),
            deployment=env.get("SCALER_DEPLOYMENT", "{model_id}-serving"),
            hpa=env.get("SCALER_HPA") or None,
            in_cluster=True,
        )
    return RecordingScaler(path=env.get("SCALER_RECORD", str(settings.home / "scaling.jsonl")))


def build_resources(settings: Settings, config_file: Path) -> dict[str, Any]:
    """The resource set for ``settings.deployment``; production refuses to fall back to local defaults."""
    env = os.environ
    if settings.deployment == "production":
        missing = [name for name in ("S3_BUCKET", "MLFLOW_TRACKING_URI") if not env.get(name)]
        if missing:
            raise ConfigError(f"DAGSTER_DEPLOYMENT=production needs {', '.join(missing)} (see .env.example)")
    secrets = {field: EnvVar(var) for field, var in _SECRETS.items() if env.get(var)}
    return {
        "io_manager": SentinelIOManager(base_uri=settings.storage_uri),
        "catalog": ModelCatalogResource(config_path=str(config_file.resolve())),
        "safety_gate": SafetyGateResource(),
        "scaler": build_scaler(settings),
        "threshold_store": ThresholdStoreResource(
            path=os.environ.get("REMEDIATION_THRESHOLDS_PATH", str(settings.home / "thresholds"))
        ),
        "model_registry": ModelRegistryResource(tracking_uri=settings.mlflow_tracking_uri),
        "audit_trail": AuditTrailResource(uri=settings.audit_uri, endpoint_url=settings.s3_endpoint_url),
        "notifier": NotifierResource(
            outbox_path=str(settings.outbox_path),
            pagerduty_url=env.get("ALERT_PAGERDUTY_URL", "https://events.pagerduty.com/v2/enqueue"),
            smtp_host=env.get("ALERT_SMTP_HOST") or None,
            smtp_port=int(env.get("ALERT_SMTP_PORT", "25")),
            smtp_user=env.get("ALERT_SMTP_USER") or None,
            email_from=env.get("ALERT_EMAIL_FROM", "drift-sentinel@localhost"),
            **secrets,
        ),
    }


def build_definitions(config: SentinelConfig | None = None, settings: Settings | None = None) -> Definitions:
    """Everything for the given (or the configured) models and deployment."""
    config_file = Path(config.source) if config is not None and config.source else config_path()
    config = config or load_config(config_file)
    check_targets(config)  # a retrain target naming an unknown code location, job or asset is refused here
    settings = settings or Settings.from_env()
    jobs = remediation_jobs()
    return Definitions.merge(
        *[build_model_defs(spec, jobs, auto_remediation=settings.auto_remediation) for spec in config.models],
        Definitions(
            jobs=jobs,
            sensors=[*build_escalation_sensors(jobs), build_reconcile_sensor()],
            resources=build_resources(settings, config_file),
            executor=in_process_executor,
        ),
    )


defs = build_definitions()

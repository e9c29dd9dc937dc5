"""Dagster resources: the only place that talks to MLflow, S3, Kubernetes, Slack, PagerDuty and SMTP.

Each is a small ``ConfigurableResource`` with a real implementation and an embedded default for one machine.
``sentinel_assets.definitions`` picks one set per deployment.
"""

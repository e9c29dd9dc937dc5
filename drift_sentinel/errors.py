"""One error hierarchy for Drift Sentinel.

Every message names the model, column, file or field it is about, so a user can act on it
without reading a traceback. Foreign exceptions are wrapped at the boundary with ``raise ... from``.
"""

from __future__ import annotations


class SentinelError(Exception):
    """Base class of every error Drift Sentinel raises on purpose."""

    exit_code: int = 3


class ConfigError(SentinelError):
    """A malformed configuration file or setting (names the file, field and line)."""

    exit_code = 4


class DataError(SentinelError):
    """Bad input data: missing file, corrupt Parquet, missing column, empty window, wrong dtype."""

    exit_code = 3


class UnknownModelError(SentinelError):
    """A model id that is not declared in the configuration."""

    exit_code = 5


class UnknownNameError(SentinelError, KeyError):
    """A registry lookup with a name that is not registered; the message lists the accepted names."""

    exit_code = 4

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ExternalServiceError(SentinelError):
    """A call to MLflow, S3, Slack, PagerDuty, SMTP or Kubernetes failed (names the service)."""

    exit_code = 6

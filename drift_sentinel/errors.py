"""One error hierarchy for Drift Sentinel.

Every message names the model, column, file or field it is about, so a user can act on it
without reading a traceback. Foreign exceptions are wrapped at the boundary with ``raise ... from``;
the CLI wraps whatever still escapes as :data:`EXIT_INTERNAL` (a last line of defence, never a traceback
unless ``--debug``).

Exit statuses of ``drift-sentinel`` (the README's table and ``docs/reliability.md`` list them):

====  =====================================================================================
0     success; no drift; audit trail intact; healthy
1     drift (``check``); tampered trail (``audit``); a failed remediation (``demo``); degraded (``health``)
2     inconclusive (``check``: too little data); unhealthy (``health``)
3     bad input data (:class:`DataError`)
4     bad configuration (:class:`ConfigError`, :class:`UnknownNameError`)
5     unknown model id (:class:`UnknownModelError`)
6     an external service failed or is unreachable (:class:`ExternalServiceError`)
64    command-line usage error (:class:`UsageError`; argparse's usage errors too)
70    internal error: an unexpected exception (a bug; ``--debug`` shows the traceback)
130   interrupted (Ctrl-C)
====  =====================================================================================

>>> [cls.exit_code for cls in (DataError, ConfigError, UnknownModelError, ExternalServiceError, UsageError)]
[3, 4, 5, 6, 64]
"""

from __future__ import annotations

EXIT_USAGE = 64
"""Command-line usage error (BSD ``sysexits.h`` ``EX_USAGE``): means nothing else."""

EXIT_INTERNAL = 70
"""An unexpected exception escaped a command (``EX_SOFTWARE``): a bug, reported in one line."""

EXIT_INTERRUPTED = 130


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


class UsageError(SentinelError):
    """A command-line option out of range or contradicting another (names the option)."""

    exit_code = EXIT_USAGE

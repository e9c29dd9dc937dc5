"""The Python client of the Drift Sentinel API (httpx; no Dagster, no server code).

>>> client = SentinelClient("http://127.0.0.1:8000", token="...")        # doctest: +SKIP
>>> report = client.monitor.detect_drift("fraud-detector-v1", window="2026-10-11")  # doctest: +SKIP
>>> report.report.drift_detected                                           # doctest: +SKIP
True
>>> run = client.remediation.execute(report_incident, "notify_team", safety_check=True)  # doctest: +SKIP
>>> client.remediation.wait(run.run_id).gate                               # doctest: +SKIP
'PASSED'
"""

from drift_sentinel.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
)
from drift_sentinel.client.sentinel import SentinelClient

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "SentinelClient",
    "ServiceUnavailableError",
]

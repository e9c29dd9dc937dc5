"""The API's error answers as the core's error hierarchy (every class is a :class:`SentinelError`).

``status`` is the HTTP status, ``code`` the API's stable error code, ``request_id`` what to quote to an operator.
"""

from __future__ import annotations

from drift_sentinel.errors import DataError, ExternalServiceError, SentinelError, UnknownModelError


class ApiError(SentinelError):
    """An error answer from the Drift Sentinel API."""

    def __init__(
        self, message: str, *, status: int = 0, code: str = "", request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.request_id = status, code, request_id


class AuthenticationError(ApiError):
    """401: missing, expired or invalid credentials."""

    exit_code = 7


class PermissionDeniedError(ApiError):
    """403: the credential's role may not do this."""

    exit_code = 7


class NotFoundError(ApiError, UnknownModelError):
    """404: unknown model, incident or run (or one of another team, which looks the same)."""


class BadRequestError(ApiError, DataError):
    """400/422: the request names a bad field, file or column."""


class ConflictError(ApiError):
    """409: the run is already finished."""


class RateLimitedError(ApiError, ExternalServiceError):
    """429 after the client's retries: the credential's rate limit; ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServiceUnavailableError(ApiError, ExternalServiceError):
    """5xx or no connection after the client's retries."""


def error_for(status: int) -> type[ApiError]:
    """The exception class for an HTTP status."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitedError
    if status in (400, 413, 422):
        return BadRequestError
    return ServiceUnavailableError if status >= 500 else ApiError

"""``SentinelClient``: one HTTP session, credentials, retries, and the ``monitor`` / ``analysis`` /
``remediation`` / ``models`` namespaces that mirror the API's endpoints and return its typed bodies."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel

from drift_sentinel.access.signatures import sign_request
from drift_sentinel.api_schema import (
    API_PREFIX,
    AbortResult,
    CorrelateRequest,
    CorrelationResult,
    DriftCheckRequest,
    DriftCheckResult,
    ExecuteAccepted,
    ExecuteRequest,
    IncidentList,
    ModelHealth,
    ModelList,
    PatternList,
    RcaReport,
    RemediationParameters,
    RemediationStatus,
)
from drift_sentinel.client.errors import ApiError, RateLimitedError, ServiceUnavailableError, error_for
from drift_sentinel.errors import ConfigError

T = TypeVar("T", bound=BaseModel)
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class SentinelClient:
    """A client of one Drift Sentinel API.

    Parameters
    ----------
    base_url:
        The API's root, e.g. ``http://drift-sentinel-api:8000``.
    token:
        An RS256 bearer token (``drift-sentinel token issue``), or
    api_key, secret:
        a service key id and its secret: every request is HMAC-signed (timestamp, nonce, body digest).
    retries, backoff:
        429 and 502/503/504 answers, and failed connections, are retried up to ``retries`` times, waiting
        ``Retry-After`` when the server sends it, else ``backoff * 2**attempt`` seconds with jitter (capped).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        secret: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if (token is None) == (api_key is None):
            raise ConfigError("SentinelClient: give either token=... or api_key=... with secret=...")
        if api_key is not None and not secret:
            raise ConfigError("SentinelClient: api_key needs its secret=...")
        self.base_url = base_url.rstrip("/")
        self._token, self._key, self._secret = token, api_key, secret
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.monitor = Monitor(self)
        self.analysis = Analysis(self)
        self.remediation = Remediation(self)
        self.models = Models(self)

    # ------------------------------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SentinelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        else:
            headers.update(sign_request(self._key or "", self._secret or "", method, path, body))
        return headers

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        header = response.headers.get("Retry-After") if response is not None else None
        if header:
            try:
                return min(float(header), self.max_backoff)
            except ValueError:
                pass
        return min(self.backoff * 2**attempt * (0.5 + random.random()), self.max_backoff)

    def request(
        self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """Send a request (signed or with the token), retrying 429/5xx; raise the mapped error otherwise."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        full = path + (f"?{urlencode(query)}" if query else "")
        body = json.dumps(json_body, separators=(",", ":")).encode() if json_body is not None else b""
        response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            # signed again on every attempt: a retried request must not look like a replay
            headers = self._headers(method, full, body)
            try:
                response = self._http.request(method, full, content=body or None, headers=headers)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise ServiceUnavailableError(f"{self.base_url}: {type(exc).__name__}: {exc}") from None
                time.sleep(self._wait(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                time.sleep(self._wait(attempt, response))
                continue
            break
        assert response is not None
        if response.status_code >= 400:
            raise self._error(method, path, response)
        return response

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        try:
            data = response.json()
        except ValueError:
            data = {}
        detail = data.get("detail") if isinstance(data, dict) else None
        if isinstance(detail, list):  # a validation error: the first field and message
            first = detail[0] if detail else {}
            where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
            detail = f"{where}: {first.get('msg', 'invalid')}"
        message = f"{method} {path}: {response.status_code} {detail or response.reason_phrase}"
        cls = error_for(response.status_code)
        kwargs: dict[str, Any] = {
            "status": response.status_code,
            "code": data.get("code", "") if isinstance(data, dict) else "",
            "request_id": response.headers.get("X-Request-ID"),
        }
        if cls is RateLimitedError:
            retry = response.headers.get("Retry-After")
            kwargs["retry_after"] = float(retry) if retry and retry.isdigit() else None
        return cls(message, **kwargs)

    def get(self, path: str, model: type[T], **params: Any) -> T:
        return model.model_validate(self.request("GET", API_PREFIX + path, params=params).json())

    def post(self, path: str, body: BaseModel, model: type[T]) -> T:
        payload = body.model_dump(mode="json", exclude_none=True)
        return model.model_validate(self.request("POST", API_PREFIX + path, json_body=payload).json())

    def health(self) -> dict[str, Any]:
        """The deployment's health report (``GET /health``)."""
        return self.request("GET", "/health").json()

    def metrics(self) -> str:
        """The API's Prometheus metrics (``GET /metrics``)."""
        return self.request("GET", "/metrics").text


class _Namespace:
    def __init__(self, client: SentinelClient) -> None:
        self._client = client


class Monitor(_Namespace):
    """``/api/v1/monitoring``."""

    def detect_drift(
        self,
        model_id: str,
        *,
        reference_data: str | None = None,
        current_data: str | None = None,
        window: str | None = None,
        features: Sequence[str] | None = None,
        threshold: float | None = None,
    ) -> DriftCheckResult:
        """Run a drift check now: a stored ``window``, or files (paths / ``s3://``) the server may read."""
        body = DriftCheckRequest(
            model_id=model_id,
            reference_data=reference_data,
            current_data=current_data,
            window=window,
            features=list(features) if features is not None else None,
            threshold=threshold,
        )
        return self._client.post("/monitoring/drift-check", body, DriftCheckResult)

    def health(self, model_id: str) -> ModelHealth:
        return self._client.get(f"/monitoring/models/{model_id}/health", ModelHealth)

    def incidents(
        self, *, status: str = "open", model_id: str | None = None, limit: int = 100
    ) -> IncidentList:
        return self._client.get(
            "/monitoring/incidents", IncidentList, status=status, model_id=model_id, limit=limit
        )


class Analysis(_Namespace):
    """``/api/v1/analysis``."""

    def get_rca(self, incident_id: str) -> RcaReport:
        return self._client.get(f"/analysis/rca/{incident_id}", RcaReport)

    def patterns(self, model_id: str | None = None) -> PatternList:
        return self._client.get("/analysis/patterns", PatternList, model_id=model_id)

    def correlate(
        self,
        series: Mapping[str, Sequence[float | None]],
        *,
        target: str | None = None,
        maxlag: int = 6,
        criterion: str = "bic",
        alpha: float = 0.05,
    ) -> CorrelationResult:
        body = CorrelateRequest(
            series={k: list(v) for k, v in series.items()},
            target=target,
            maxlag=maxlag,
            criterion=criterion,  # type: ignore[arg-type]
            alpha=alpha,
        )
        return self._client.post("/analysis/correlate", body, CorrelationResult)


class Remediation(_Namespace):
    """``/api/v1/remediation``."""

    def execute(
        self, incident_id: str, action: str, *, safety_check: bool = True, **parameters: Any
    ) -> ExecuteAccepted:
        """Launch a gated remediation; ``safety_check`` must be ``True`` (the server refuses anything else)."""
        body = ExecuteRequest(
            incident_id=incident_id,
            action=action,  # type: ignore[arg-type]
            safety_check=safety_check,  # type: ignore[arg-type]
            parameters=RemediationParameters(**parameters),
        )
        return self._client.post("/remediation/execute", body, ExecuteAccepted)

    def status(self, run_id: str) -> RemediationStatus:
        return self._client.get(f"/remediation/{run_id}", RemediationStatus)

    def abort(self, run_id: str) -> AbortResult:
        response = self._client.request("DELETE", f"{API_PREFIX}/remediation/{run_id}")
        return AbortResult.model_validate(response.json())

    def wait(self, run_id: str, *, timeout: float = 300.0, poll: float = 1.0) -> RemediationStatus:
        """Poll until the run has finished; the last status (``TimeoutError`` after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(run_id)
            if status.finished:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"remediation run {run_id} still {status.status} after {timeout:.0f} s")
            time.sleep(poll)


class Models(_Namespace):
    """``/api/v1/models``."""

    def list(self) -> ModelList:
        return self._client.get("/models", ModelList)

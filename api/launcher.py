"""Writes go through Dagster: remediation runs are submitted and terminated over the webserver's GraphQL API.

The run is queued and launched by the instance's own run coordinator and launcher (in production, one Kubernetes
pod per run), its first op is the safety gate, and its tags are the ones the remediation sensor sets, so the
gate's history and the audit trail see API runs exactly like sensor runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import ExternalServiceError
from drift_sentinel.remediation.actions import severity_of
from jobs.plan import RemediationConfig
from jobs.remediation import REMEDIATION_JOB_PREFIX
from resources.safety_gate import (
    ACTION_TAG,
    ACTOR_TAG,
    CHANGE_LOCK_TAG,
    INCIDENT_TAG,
    MODEL_TAG,
    NOTIFY_ACTIONS,
)


def remediation_tags(spec: ModelSpec, incident_id: str, action: str, actor: str) -> dict[str, str]:
    """The run tags of a remediation: the sensor's (model, incident, action, change lock) with the API actor."""
    return {
        MODEL_TAG: spec.id,
        INCIDENT_TAG: incident_id,
        ACTION_TAG: action,
        ACTOR_TAG: actor,
        **({} if action in NOTIFY_ACTIONS else {CHANGE_LOCK_TAG: spec.id}),
    }


def remediation_run_config(
    spec: ModelSpec, incident_id: str, action: str, parameters: dict[str, Any], message: str
) -> dict[str, Any]:
    """The gate op's config for one API request (``parameters`` already validated by the request model)."""
    config = RemediationConfig(
        model_id=spec.id,
        incident_id=incident_id,
        severity=severity_of(action),
        message=message,
        **{k: v for k, v in parameters.items() if v is not None and k != "message"},
    )
    return {"ops": {"safety_gate": {"config": config.model_dump(exclude_none=True)}}}


class GraphQLLauncher:
    """Submit and terminate runs through a Dagster webserver (``DAGSTER_GRAPHQL_URL``)."""

    def __init__(self, graphql_url: str, *, timeout: int = 30) -> None:
        parsed = urlparse(graphql_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ExternalServiceError(
                f"DAGSTER_GRAPHQL_URL {graphql_url!r}: expected http(s)://host:port/graphql"
            )
        self.url = graphql_url
        prefix = parsed.path.removesuffix("/graphql").rstrip("/")
        self._args = dict(
            hostname=parsed.hostname,
            port_number=parsed.port,
            use_https=parsed.scheme == "https",
            timeout=timeout,
            path_prefix=prefix,
        )
        self._client: DagsterGraphQLClient | None = None

    def _connect(self) -> DagsterGraphQLClient:
        if self._client is None:
            try:
                self._client = DagsterGraphQLClient(**self._args)  # type: ignore[arg-type]
            except Exception as exc:  # the client fetches the schema on construction
                raise ExternalServiceError(
                    f"Dagster webserver {self.url}: unreachable ({type(exc).__name__})"
                ) from None
        return self._client

    def submit(self, action: str, run_config: dict[str, Any], tags: dict[str, str]) -> str:
        """Submit ``remediate_<action>``; the run id."""
        try:
            return self._connect().submit_job_execution(
                f"{REMEDIATION_JOB_PREFIX}{action}", run_config=run_config, tags=tags
            )
        except DagsterGraphQLClientError as exc:
            raise ExternalServiceError(f"Dagster webserver {self.url}: submission refused: {exc}") from None
        except Exception as exc:
            self._client = None
            raise ExternalServiceError(
                f"Dagster webserver {self.url}: unreachable ({type(exc).__name__})"
            ) from None

    def terminate(self, run_id: str) -> None:
        """Ask Dagster to terminate the run (a running step is interrupted; its undo path runs)."""
        try:
            self._connect().terminate_run(run_id)
        except DagsterGraphQLClientError as exc:
            raise ExternalServiceError(f"Dagster webserver {self.url}: termination refused: {exc}") from None
        except Exception as exc:
            self._client = None
            raise ExternalServiceError(
                f"Dagster webserver {self.url}: unreachable ({type(exc).__name__})"
            ) from None

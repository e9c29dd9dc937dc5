"""Scaling the serving deployment through the Kubernetes API, or (embedded default) recording the decision.

- :class:`RecordingScaler` keeps the current bounds per model in a JSON-lines file and appends every
  change to it: the decision is real and inspectable, nothing pretends a cluster was changed.
- :class:`KubernetesScaler` uses the official ``kubernetes`` client: ``AppsV1Api`` reads and patches the
  Deployment's ``scale`` subresource; with an HPA, ``AutoscalingV2Api`` reads and patches its
  ``minReplicas``/``maxReplicas`` instead (the HPA owns the replica count then). Credentials come from
  the in-cluster service account or a kubeconfig; ``api_url`` points at an API server directly.

Both return the bounds that were in force before the change, so the job can restore them in its
rollback path. The decision itself is :func:`drift_sentinel.remediation.scaling.plan_scale_up`.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from drift_sentinel.errors import ExternalServiceError
from drift_sentinel.remediation.scaling import ScaleBounds

_LOCK = threading.Lock()


class ScalerResource(ConfigurableResource):
    """Read and change a model's serving bounds. Subclasses implement :meth:`current` and :meth:`apply`."""

    def current(self, model_id: str) -> ScaleBounds:
        raise NotImplementedError(f"{type(self).__name__} does not implement current()")

    def apply(self, model_id: str, target: ScaleBounds, *, reason: str = "") -> ScaleBounds:
        """Set ``target`` and return the bounds in force before."""
        raise NotImplementedError(f"{type(self).__name__} does not implement apply()")


class RecordingScaler(ScalerResource):
    """Embedded default: record scaling decisions in a JSON-lines file (no cluster is touched).

    A model never scaled before starts from ``initial_replicas`` (and ``initial_hpa`` bounds if given).
    """

    path: str
    initial_replicas: int = 1
    initial_min_replicas: int | None = None
    initial_max_replicas: int | None = None

    def _entries(self) -> list[dict[str, Any]]:
        file = Path(self.path)
        if not file.exists():
            return []
        return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]

    def current(self, model_id: str) -> ScaleBounds:
        for entry in reversed(self._entries()):
            if entry.get("model_id") == model_id:
                return ScaleBounds.from_dict(entry["target"])
        return ScaleBounds(self.initial_replicas, self.initial_min_replicas, self.initial_max_replicas)

    def apply(self, model_id: str, target: ScaleBounds, *, reason: str = "") -> ScaleBounds:
        with _LOCK:
            previous = self.current(model_id)
            entry = {
                "at": datetime.now(UTC).isoformat(),
                "model_id": model_id,
                "previous": previous.to_dict(),
                "target": target.to_dict(),
                "reason": reason,
                "applied_by": "RecordingScaler (no cluster: decision recorded only)",
            }
            file = Path(self.path)
            file.parent.mkdir(parents=True, exist_ok=True)
            with open(file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, sort_keys=True) + "\n")
        return previous


class KubernetesScaler(ScalerResource):
    """Scale a Deployment (or its HPA) through the Kubernetes API.

    ``deployment`` and ``hpa`` may contain ``{model_id}`` (e.g. ``"{model_id}-serving"``). Without an
    ``hpa`` the Deployment's scale subresource is patched; with one, the HPA's bounds are.
    Authentication: ``in_cluster`` (service account), else ``kubeconfig``/``context``, else ``api_url``
    (plain HTTP(S) with an optional bearer ``token``, e.g. ``kubectl proxy``).
    """

    namespace: str
    deployment: str
    hpa: str | None = None
    in_cluster: bool = False
    kubeconfig: str | None = None
    context: str | None = None
    api_url: str | None = None
    token: str | None = None
    verify_ssl: bool = True

    _api_client: Any = PrivateAttr(default=None)

    def _client(self) -> Any:
        if self._api_client is None:
            from kubernetes import client, config

            if self.api_url:
                configuration = client.Configuration()
                configuration.host = self.api_url
                configuration.verify_ssl = self.verify_ssl
                if self.token:
                    configuration.api_key = {"authorization": f"Bearer {self.token}"}
                self._api_client = client.ApiClient(configuration)
            elif self.in_cluster:
                config.load_incluster_config()
                self._api_client = client.ApiClient()
            else:
                configuration = client.Configuration()
                config.load_kube_config(
                    config_file=self.kubeconfig, context=self.context, client_configuration=configuration
                )
                self._api_client = client.ApiClient(configuration)
        return self._api_client

    def _names(self, model_id: str) -> tuple[str, str | None]:
        deployment = self.deployment.format(model_id=model_id)
        hpa = self.hpa.format(model_id=model_id) if self.hpa else None
        return deployment, hpa

    def _error(self, what: str, exc: Exception) -> ExternalServiceError:
        status = getattr(exc, "status", None)
        reason = getattr(exc, "reason", None) or str(exc)
        detail = f"HTTP {status} {reason}" if status else reason
        return ExternalServiceError(f"Kubernetes: {what} in namespace {self.namespace!r} failed: {detail}")

    def current(self, model_id: str) -> ScaleBounds:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        deployment, hpa = self._names(model_id)
        api = self._client()
        try:
            scale = client.AppsV1Api(api).read_namespaced_deployment_scale(deployment, self.namespace)
        except (ApiException, OSError) as exc:
            raise self._error(f"reading the scale of deployment {deployment!r}", exc) from exc
        replicas = int(scale.spec.replicas or 0)
        if hpa is None:
            return ScaleBounds(replicas=replicas)
        try:
            found = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(
                hpa, self.namespace
            )
        except (ApiException, OSError) as exc:
            raise self._error(f"reading HPA {hpa!r}", exc) from exc
        return ScaleBounds(
            replicas=replicas,
            min_replicas=int(found.spec.min_replicas or 1),
            max_replicas=int(found.spec.max_replicas),
        )

    def apply(self, model_id: str, target: ScaleBounds, *, reason: str = "") -> ScaleBounds:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        previous = self.current(model_id)
        deployment, hpa = self._names(model_id)
        api = self._client()
        if hpa is not None and target.has_hpa:
            body = {"spec": {"minReplicas": target.min_replicas, "maxReplicas": target.max_replicas}}
            try:
                client.AutoscalingV2Api(api).patch_namespaced_horizontal_pod_autoscaler(
                    hpa, self.namespace, body
                )
            except (ApiException, OSError) as exc:
                raise self._error(f"patching HPA {hpa!r}", exc) from exc
        else:
            body = {"spec": {"replicas": target.replicas}}
            try:
                client.AppsV1Api(api).patch_namespaced_deployment_scale(deployment, self.namespace, body)
            except (ApiException, OSError) as exc:
                raise self._error(f"scaling deployment {deployment!r}", exc) from exc
        return previous

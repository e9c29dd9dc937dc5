"""The MLflow model registry: champion/challenger aliases, versions, registering and loading sklearn models.

Talks to MLflow only through an ``MlflowClient`` bound to this resource's URIs, so it never touches
MLflow's process-global state (``mlflow.set_tracking_uri``, active runs): runs it creates are
finished, not left RUNNING (``dagster-mlflow`` does both). Works against a local SQLite file (the
embedded default, artifacts in a folder next to it) or a tracking server (``http://…``).
Registry stages are deprecated in MLflow 3: versions are addressed by alias (``champion``).
MLflow failures are raised as :class:`~drift_sentinel.errors.ExternalServiceError` naming the
model and version.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from drift_sentinel.errors import ExternalServiceError


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version as the registry reports it."""

    name: str
    version: str
    status: str
    run_id: str | None
    aliases: tuple[str, ...]
    created_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "run_id": self.run_id,
            "aliases": list(self.aliases),
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def _info(mv: Any) -> VersionInfo:
    created = getattr(mv, "creation_timestamp", None)
    status = getattr(mv, "status", None)
    return VersionInfo(
        name=mv.name,
        version=str(mv.version),
        status=str(getattr(status, "name", status) or "UNKNOWN"),
        run_id=mv.run_id or None,
        aliases=tuple(getattr(mv, "aliases", None) or ()),
        created_at=datetime.fromtimestamp(created / 1000, UTC) if created else None,
    )


def _not_found(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower()


class ModelRegistryResource(ConfigurableResource):
    """Read and move registry aliases, register and load scikit-learn models (MLflow 3).

    ``tracking_uri``: ``sqlite:///path/mlflow.db`` or ``http://host:5000``; ``registry_uri`` defaults to
    it. ``experiment_name``: where registration runs are logged. ``artifact_location``: artifact
    root for that experiment when this resource creates it (default: ``mlartifacts`` next to a SQLite
    file; the server's default for a tracking server).
    """

    tracking_uri: str
    registry_uri: str | None = None
    experiment_name: str = "drift-sentinel"
    artifact_location: str | None = None

    _client: Any = PrivateAttr(default=None)

    # ------------------------------------------------------------------------------------------ plumbing

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        return self._client

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            raise ExternalServiceError(f"MLflow ({self._where()}): {what} failed: {exc.message}") from exc
        except OSError as exc:
            raise ExternalServiceError(f"MLflow ({self._where()}): {what} failed: {exc}") from exc

    def _where(self) -> str:
        uri = self.tracking_uri
        return uri.split("@")[-1] if "@" in uri else uri  # never echo credentials in a URI

    # ------------------------------------------------------------------------------------------- reading

    def champion(self, name: str, alias: str = "champion") -> VersionInfo | None:
        """The version ``name@alias`` points to, or ``None`` when the model or the alias does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return _info(self.client.get_model_version_by_alias(name, alias))
        except MlflowException as exc:
            if _not_found(exc):
                return None
            raise ExternalServiceError(
                f"MLflow ({self._where()}): reading {name}@{alias} failed: {exc.message}"
            ) from exc

    def version(self, name: str, version: str) -> VersionInfo | None:
        """Version ``version`` of ``name``, or ``None`` when it does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return _info(self.client.get_model_version(name, str(version)))
        except MlflowException as exc:
            if _not_found(exc) or getattr(exc, "error_code", "") == "INVALID_PARAMETER_VALUE":
                return None
            raise ExternalServiceError(
                f"MLflow ({self._where()}): reading {name} v{version} failed: {exc.message}"
            ) from exc

    def status_of(self, name: str, version: str | None) -> str | None:
        """The registry status of ``version`` (``READY`` …), ``"MISSING"`` if it does not exist, ``None`` if no version.

        This is the ``target_version_status`` the safety gate's ``version`` check expects.
        """
        if version is None:
            return None
        info = self.version(name, version)
        return info.status if info is not None else "MISSING"

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of ``name``, oldest first (empty when the model is not registered)."""
        with self._calling(f"listing versions of {name}"):
            found = self.client.search_model_versions(f"name = '{name}'")
        infos = [_info(mv) for mv in found]
        # search results do not always carry aliases: read them from the registered model
        aliases: dict[str, list[str]] = {}
        if infos:
            with self._calling(f"reading registered model {name}"):
                model = self.client.get_registered_model(name)
            for alias, version in (getattr(model, "aliases", None) or {}).items():
                aliases.setdefault(str(version), []).append(alias)
        return sorted(
            (
                VersionInfo(
                    i.name,
                    i.version,
                    i.status,
                    i.run_id,
                    tuple(sorted(aliases.get(i.version, []))),
                    i.created_at,
                )
                for i in infos
            ),
            key=lambda i: int(i.version),
        )

    def previous_version(self, name: str, alias: str = "champion") -> str | None:
        """The highest READY version below ``name@alias`` (``None`` if there is none or no alias)."""
        champion = self.champion(name, alias)
        if champion is None:
            return None
        below = [
            v for v in self.versions(name) if v.status == "READY" and int(v.version) < int(champion.version)
        ]
        return max(below, key=lambda v: int(v.version)).version if below else None

    def run_tags(self, run_id: str) -> dict[str, str]:
        """The tags of MLflow run ``run_id`` (empty when it does not exist)."""
        from mlflow.exceptions import MlflowException

        try:
            return dict(self.client.get_run(run_id).data.tags)
        except MlflowException as exc:
            if _not_found(exc):
                return {}
            raise ExternalServiceError(
                f"MLflow ({self._where()}): reading run {run_id} failed: {exc.message}"
            ) from exc

    def versions_from_run(self, name: str, tag: str, value: str) -> list[VersionInfo]:
        """Versions of ``name`` whose source MLflow run has ``tag=value`` (``dagster_run_id``), oldest first."""
        return [v for v in self.versions(name) if v.run_id and self.run_tags(v.run_id).get(tag) == value]

    # ------------------------------------------------------------------------------------------- writing

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``name@alias`` at ``version`` (which must exist)."""
        with self._calling(f"setting {name}@{alias} to v{version}"):
            self.client.set_registered_model_alias(name, alias, str(version))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``name@alias`` (no error if it is absent)."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.delete_registered_model_alias(name, alias)
        except MlflowException as exc:
            if not _not_found(exc):
                raise ExternalServiceError(
                    f"MLflow ({self._where()}): deleting {name}@{alias} failed"
                ) from exc

    def _experiment_id(self) -> str:
        with self._calling(f"reading experiment {self.experiment_name}"):
            experiment = self.client.get_experiment_by_name(self.experiment_name)
            if experiment is not None:
                return str(experiment.experiment_id)
            location = self.artifact_location
            if location is None and self.tracking_uri.startswith("sqlite:///"):
                location = str(Path(self.tracking_uri[len("sqlite:///") :]).parent / "mlartifacts")
            try:
                return str(self.client.create_experiment(self.experiment_name, artifact_location=location))
            except Exception:  # created concurrently by another process
                experiment = self.client.get_experiment_by_name(self.experiment_name)
                if experiment is None:
                    raise
                return str(experiment.experiment_id)

    def register_sklearn(
        self,
        name: str,
        model: Any,
        *,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        alias: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Log ``model`` as an MLflow logged model in a finished run, register it, optionally alias it.

        Returns the new version. Metrics and params go on the run (and the params on the logged model).
        """
        import mlflow.sklearn
        import sklearn
        import skops.io as skops_io
        from mlflow.entities import Metric, Param, RunTag

        experiment_id = self._experiment_id()
        now_ms = int(time.time() * 1000)
        with self._calling(f"registering a new version of {name}"):
            run = self.client.create_run(experiment_id, run_name=f"register-{name}", tags=dict(tags or {}))
            run_id = run.info.run_id
            status = "FAILED"
            try:
                self.client.log_batch(
                    run_id,
                    metrics=[Metric(k, float(v), now_ms, 0) for k, v in (metrics or {}).items()],
                    params=[Param(k, str(v)) for k, v in (params or {}).items()],
                    tags=[RunTag("drift_sentinel.model", name)],
                )
                logged = self.client.create_logged_model(
                    experiment_id,
                    name="model",
                    source_run_id=run_id,
                    params={k: str(v) for k, v in (params or {}).items()},
                    model_type="sklearn",
                )
                with tempfile.TemporaryDirectory(prefix="drift-sentinel-model-") as tmp:
                    local = os.path.join(tmp, "model")
                    # explicit requirements: skips MLflow's slow inference subprocess
                    # skops (MLflow's safe default) refuses types it does not know; we trust exactly the
                    # types of the model we were handed, and the loader gets that list from the MLmodel file
                    trusted = skops_io.get_untrusted_types(data=skops_io.dumps(model))
                    mlflow.sklearn.save_model(
                        model,
                        local,
                        pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                        serialization_format="skops",
                        skops_trusted_types=trusted,
                    )
                    self.client.log_model_artifacts(logged.model_id, local)
                self.client.finalize_logged_model(logged.model_id, "READY")
                try:
                    self.client.create_registered_model(name)
                except Exception as exc:  # already registered (possibly concurrently)
                    if "already exists" not in str(exc).lower() and "RESOURCE_ALREADY_EXISTS" not in str(exc):
                        raise
                version = self.client.create_model_version(
                    name, source=logged.artifact_location, run_id=run_id, model_id=logged.model_id
                )
                status = "FINISHED"
            finally:
                self.client.set_terminated(run_id, status=status)
        if alias:
            self.set_alias(name, alias, str(version.version))
        return str(version.version)

    def load_model(self, name: str, version: str) -> Any:
        """Download version ``version`` of ``name`` and load it as the scikit-learn model it was logged as."""
        import mlflow.artifacts
        import mlflow.sklearn

        with self._calling(f"loading {name} v{version}"):
            uri = self.client.get_model_version_download_uri(name, str(version))
            with tempfile.TemporaryDirectory(prefix="drift-sentinel-load-") as tmp:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=uri,
                    dst_path=tmp,
                    tracking_uri=self.tracking_uri,
                    registry_uri=self.registry_uri,
                )
                return mlflow.sklearn.load_model(local)

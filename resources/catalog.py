"""The monitored-model catalog (``sentinel.yaml``) as a resource: ops read the file the assets were built from."""

from __future__ import annotations

from functools import cached_property

from dagster import ConfigurableResource

from drift_sentinel.config import ModelSpec, SentinelConfig, load_config


class ModelCatalogResource(ConfigurableResource):
    """Loads and validates the models file once per process."""

    config_path: str

    @cached_property
    def config(self) -> SentinelConfig:
        return load_config(self.config_path)

    def model(self, model_id: str) -> ModelSpec:
        """The spec of ``model_id``; ``UnknownModelError`` (listing declared ids) otherwise."""
        return self.config.model(model_id)

    def resolve(self, path: str) -> str:
        return self.config.resolve(path)

"""The versioned, revertible detection thresholds of each model, as a resource.

``update_thresholds`` writes new versions (after the gate's dry-run replay passed); ``drift_report`` reads the
version in force, so an applied change takes effect on the next window and a revert restores the old behaviour.
"""

from __future__ import annotations

from dagster import ConfigurableResource

from drift_sentinel.config import ModelSpec
from drift_sentinel.remediation.thresholds import ThresholdStore, effective_thresholds


class ThresholdStoreResource(ConfigurableResource):
    """Versioned, revertible detection thresholds per model in a local folder (``ThresholdStore``)."""

    path: str

    @property
    def store(self) -> ThresholdStore:
        return ThresholdStore(self.path)

    def stored(self, model_id: str) -> dict[str, dict[str, float]] | None:
        """The newest stored version's thresholds, or ``None`` when none was ever applied."""
        current = self.store.current(model_id)
        return None if current is None else {k: dict(v) for k, v in current.thresholds.items()}

    def in_force(self, spec: ModelSpec) -> dict[str, dict[str, float]]:
        """The thresholds in force: the newest stored version, else the detection config's effective ones."""
        stored = self.stored(spec.id)
        return stored if stored is not None else effective_thresholds(spec.detection)

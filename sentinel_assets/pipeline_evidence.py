"""What changed in the pipeline for one window, from the instance's history: the RCA's pipeline evidence.

- code version: an upstream asset's latest materialization for this window against the previous window's
  (partitioned assets) or against its previous materialization (unpartitioned ones); only declared code
  versions count (Dagster defaults an undeclared one to the run id);
- data version: a user-provided data version that differs from the previous materialization's;
- failed checks: the latest evaluation of :data:`INPUT_CHECKS` for this window (or unpartitioned), and an
  ERROR-severity failure of a check on a declared upstream asset (``upstream_assets``);
- model version: ``feature_importance``'s ``model_version`` metadata changed between its last two
  materializations (the champion moved), timed by that materialization.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    TimeWindowPartitionsDefinition,
)

from drift_sentinel.analysis import FailedCheck, PipelineChange, PipelineEvidence
from drift_sentinel.config import ModelSpec
from resources import history
from resources.keys import asset_key, check_key
from sentinel_assets.checks import upstream_check_keys
from sentinel_assets.partitions import previous_partition_keys

UPSTREAM = ("current_window", "reference_window", "reference_profile", "feature_importance")
# checks on the inputs of the analysis; drift_report's own check fails exactly when drift is found
INPUT_CHECKS = ("current_window_passes_data_quality", "reference_window_has_expected_schema")


def _when(record: history.Materialization, partitioned: bool) -> datetime | None:
    """A partition-scoped change applies to this window's data (no wall-clock time); others carry theirs."""
    return None if partitioned else datetime.fromtimestamp(record.timestamp, UTC)


def _changed(old: str | None, new: str | None) -> bool:
    return bool(new and old and new != old)


class UpstreamReads:
    """The instance reads of :func:`pipeline_evidence`, each asked once per step.

    A range run asks the same ones for every window: the unpartitioned assets' records and checks, and the records
    of the window before, which that window asked for already. Records are the newest two, newest first.
    """

    def __init__(self, instance: DagsterInstance) -> None:
        self.instance = instance
        self._seen: dict[tuple[str, Any, str | None], Any] = {}

    def newest(self, key: AssetKey, partition: str | None) -> list[history.Materialization]:
        """The newest two materializations of ``key`` (of ``partition`` when given), newest first."""
        if ("m", key, partition) not in self._seen:
            only = [partition] if partition else None
            self._seen["m", key, partition] = history.materializations(
                self.instance, key, partitions=only, limit=2
            )
        return self._seen["m", key, partition]

    def check(self, key: AssetCheckKey, partition: str | None) -> history.CheckEvaluation | None:
        """The latest evaluation of ``key`` for ``partition`` (or unpartitioned)."""
        if ("c", key, partition) not in self._seen:
            self._seen["c", key, partition] = history.last_check_evaluation(self.instance, key, partition)
        return self._seen["c", key, partition]


def _asset_changes(
    reads: UpstreamReads,
    prefix: str,
    name: str,
    *,
    partition: str | None,
    previous_partition: str | None,
    model_name: str | None,
) -> tuple[PipelineChange | None, PipelineChange | None, PipelineChange | None]:
    """The code-version, data-version and champion-version change of one upstream asset (each or None)."""
    key = asset_key(prefix, name)
    records = reads.newest(key, partition)
    if not records:
        return None, None, None
    latest = records[0]
    before = records[1] if len(records) > 1 else None
    baseline = before
    if partition is not None and previous_partition:
        previous_window = reads.newest(key, previous_partition)
        baseline = previous_window[0] if previous_window else before
    when = _when(latest, partition is not None)
    code = data = model = None
    old_code = baseline.code_version if baseline is not None else None
    if _changed(old_code, latest.code_version):
        code = PipelineChange(name, old_code, latest.code_version, when)
    if before is not None and _changed(before.data_version, latest.data_version):
        data = PipelineChange(name, before.data_version, latest.data_version, when)
    if name == "feature_importance" and before is not None:
        old_model, new_model = before.text("model_version"), latest.text("model_version")
        if _changed(old_model, new_model):
            model = PipelineChange(model_name or name, old_model, new_model, _when(latest, False))
    return code, data, model


def pipeline_evidence(
    instance: DagsterInstance | UpstreamReads,
    *,
    prefix: str,
    partition: str,
    previous_partition: str | None,
    partitioned: dict[str, bool],
    model_name: str | None = None,
    upstream_checks: Sequence[AssetCheckKey] = (),
) -> PipelineEvidence:
    """What changed in the pipeline for this window (module docstring).

    Parameters
    ----------
    instance
        The Dagster instance (``context.instance``), or the step's :class:`UpstreamReads` of it.
    prefix
        The model's asset-key prefix.
    partition, previous_partition
        This window's partition key and the previous window's (``None`` for the first window).
    partitioned
        For each upstream asset name in :data:`UPSTREAM`, whether it is partitioned like the windows.
    model_name
        The registered model name, for champion version changes (``feature_importance`` metadata).
    upstream_checks
        Checks on other teams' assets the model consumes (``upstream_assets`` in ``sentinel.yaml``); a failed
        one for this window (same partition key, or unpartitioned) is a failed check on that asset.
    """
    reads = instance if isinstance(instance, UpstreamReads) else UpstreamReads(instance)
    code: list[PipelineChange] = []
    data: list[PipelineChange] = []
    models: list[PipelineChange] = []
    for name in UPSTREAM:
        if name not in partitioned:
            continue
        changes = _asset_changes(
            reads,
            prefix,
            name,
            partition=partition if partitioned[name] else None,
            previous_partition=previous_partition,
            model_name=model_name,
        )
        for found, into in zip(changes, (code, data, models), strict=True):
            if found is not None:
                into.append(found)
    failed: list[FailedCheck] = []
    for check in INPUT_CHECKS:
        name = "current_window" if check.startswith("current") else "reference_window"
        if name not in partitioned:
            continue
        evaluation = reads.check(check_key(prefix, name, check), partition if partitioned[name] else None)
        if evaluation is not None and evaluation.failed:
            failed.append(FailedCheck(name, check, None, evaluation.description))
    for upstream in upstream_checks:
        found = reads.check(upstream, partition)
        found = found if found is not None else reads.check(upstream, None)
        # ERROR only: an INCONCLUSIVE drift check (too little data) is a WARN, not evidence of a change
        if found is not None and found.passed is False and found.severity == AssetCheckSeverity.ERROR:
            asset = upstream.asset_key.to_user_string()
            failed.append(FailedCheck(asset, upstream.name, None, found.description))
    return PipelineEvidence(
        code_version_changes=tuple(code),
        data_version_changes=tuple(data),
        failed_checks=tuple(failed),
        model_version_changes=tuple(models),
    )


def upstream_partitioning(spec: ModelSpec) -> dict[str, bool]:
    """For each of :data:`UPSTREAM`, whether the model partitions it like the windows."""
    trailing_reference = spec.reference.strategy == "trailing"
    return {
        "current_window": True,
        "reference_window": trailing_reference,
        "reference_profile": trailing_reference,
        "feature_importance": False,
    }


def window_pipeline_evidence(
    reads: UpstreamReads,
    spec: ModelSpec,
    partitions: TimeWindowPartitionsDefinition,
    *,
    key: str,
    start: datetime,
) -> PipelineEvidence:
    """:func:`pipeline_evidence` of the window ``key`` (starting at ``start``) against the one before it."""
    previous = next(iter(previous_partition_keys(partitions, start, 1)), None)
    return pipeline_evidence(
        reads,
        prefix=spec.asset_prefix,
        partition=key,
        previous_partition=previous,
        partitioned=upstream_partitioning(spec),
        model_name=spec.registered_model_name,
        upstream_checks=upstream_check_keys(spec),
    )

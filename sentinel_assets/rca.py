"""``feature_importance`` and ``rca_report``: why the model drifted, with evidence and confidence.

``rca_report`` hands :func:`drift_sentinel.analysis.analyze_incident` everything the Dagster layer knows
about one window:

- the drift report, the current window and the reference; the window's ``system_signals``,
  ``signal_anomalies`` (PyOD + Prophet) and ``external_events``;
- **history**: the signatures of earlier incidents (``signature`` metadata of the stored ``rca_report``
  materializations, :func:`sentinel_assets.signals.past_signatures`), so a recurring cause is named;
- **pipeline evidence** read from the Dagster instance (:func:`pipeline_evidence`): upstream assets whose
  explicit code version changed since the previous window (or re-materialization), explicit data versions
  that changed, failed asset checks on the window's inputs, and champion model versions that changed;
- **incident onset**: an incident continues over consecutive drifted windows and its id encodes the window
  where it opened (:func:`drift_sentinel.incidents.incident_id`). For a continuing incident the report
  finds that window (:func:`onset_window`), takes its onset (the onset window's RCA ``onset`` metadata, else
  its drift report's ``drift_start``, else its start) as the drift report's ``drift_start``, and adds the
  events around it, so a deploy just before the real onset is still considered a day later.

**Incidents without data drift.** The drift report opens incidents on data drift only. A window with a
serving incident (latency/errors) or label-only concept drift has no drift incident, so ``rca_report`` also
screens every quiet window: it opens an incident (continuing the previous window's RCA incident, else
``incident_id(model, window)``) when the analysis names an ``infrastructure`` cause with confidence >=
:data:`SIGNAL_INCIDENT_MIN_CONFIDENCE` *and* ``signal_anomalies`` shows a latency/error episode (PyOD, and
Prophet where it had history, so a seasonal peak is not an incident), or a ``concept_drift`` cause with that
confidence. Otherwise the report says there is no incident (``incident_id: null``).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    DagsterInstance,
    Output,
    TimeWindowPartitionsDefinition,
    asset,
)
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from drift_sentinel.analysis import (
    FailedCheck,
    PipelineChange,
    PipelineEvidence,
    RcaReport,
    analyze_incident,
)
from drift_sentinel.config import ModelSpec
from drift_sentinel.detection import DriftReport
from drift_sentinel.incidents import assign_incident, incident_id
from drift_sentinel.training import permutation_importance
from drift_sentinel.windows import read_table
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from sentinel_assets.checks import upstream_check_keys
from sentinel_assets.metadata import rca_metadata
from sentinel_assets.signals import (
    past_signatures,
    previous_partition_keys,
    pyod_view,
    read_model_events,
    serving_anomaly,
    signals_from_frame,
    stored_partitions,
)

SIGNAL_INCIDENT_MIN_CONFIDENCE = 0.5
MAX_INCIDENT_WINDOWS = 90
UPSTREAM = ("current_window", "reference_window", "reference_profile", "feature_importance")
# checks on the inputs of the analysis; drift_report's own check fails exactly when drift is found
INPUT_CHECKS = ("current_window_passes_data_quality", "reference_window_has_expected_schema")


# ---------------------------------------------------------------------------------------------------------
# Pipeline evidence from the instance


def _tags(record: Any) -> dict[str, str]:
    materialization = record.asset_materialization
    return dict(materialization.tags or {}) if materialization is not None else {}


def _explicit_code_version(record: Any) -> str | None:
    """The asset's declared code version; ``None`` when Dagster defaulted it to the run id."""
    version = _tags(record).get(CODE_VERSION_TAG)
    return None if not version or version == record.run_id else version


def _explicit_data_version(record: Any) -> str | None:
    """A data version the asset reported itself (not Dagster's hash of code and input versions)."""
    tags = _tags(record)
    return tags.get(DATA_VERSION_TAG) if tags.get(DATA_VERSION_IS_USER_PROVIDED_TAG) == "true" else None


def _latest(instance: DagsterInstance, key: AssetKey, partition: str | None, limit: int = 2) -> list[Any]:
    flt = AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None)
    return list(instance.fetch_materializations(flt, limit=limit).records)


def _when(record: Any, partitioned: bool) -> datetime | None:
    """A partition-scoped change applies to this window's data (no wall-clock time); others carry theirs."""
    return None if partitioned else datetime.fromtimestamp(record.timestamp, UTC)


def pipeline_evidence(
    instance: DagsterInstance,
    *,
    prefix: str,
    partition: str,
    previous_partition: str | None,
    partitioned: dict[str, bool],
    model_name: str | None = None,
    upstream_checks: Sequence[AssetCheckKey] = (),
) -> PipelineEvidence:
    """What changed in the pipeline for this window, read from the instance's event log.

    Parameters
    ----------
    instance
        The Dagster instance (``context.instance``).
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

    Notes
    -----
    - code version: the upstream asset's latest materialization for this window against the previous
      window's (partitioned assets) or against its previous materialization (unpartitioned ones); only
      declared code versions count (Dagster defaults an undeclared one to the run id);
    - data version: a user-provided data version that differs from the previous materialization's;
    - failed checks: the latest evaluation of :data:`INPUT_CHECKS` for this window (or unpartitioned);
    - model version: ``feature_importance``'s ``model_version`` metadata changed between its last two
      materializations (the champion moved), timed by that materialization.
    """
    code: list[PipelineChange] = []
    data: list[PipelineChange] = []
    failed: list[FailedCheck] = []
    models: list[PipelineChange] = []
    for name in UPSTREAM:
        if name not in partitioned:
            continue
        key = AssetKey([prefix, name])
        is_partitioned = partitioned[name]
        records = _latest(instance, key, partition if is_partitioned else None)
        if not records:
            continue
        latest = records[0]
        before = records[1] if len(records) > 1 else None
        if is_partitioned and previous_partition:
            previous_window = _latest(instance, key, previous_partition, limit=1)
            baseline = previous_window[0] if previous_window else before
        else:
            baseline = before
        new_code = _explicit_code_version(latest)
        old_code = _explicit_code_version(baseline) if baseline is not None else None
        if new_code and old_code and new_code != old_code:
            code.append(PipelineChange(name, old_code, new_code, _when(latest, is_partitioned)))
        if before is not None:
            new_data, old_data = _explicit_data_version(latest), _explicit_data_version(before)
            if new_data and old_data and new_data != old_data:
                data.append(PipelineChange(name, old_data, new_data, _when(latest, is_partitioned)))
        if name == "feature_importance" and before is not None:
            new_model = _metadata_value(latest, "model_version")
            old_model = _metadata_value(before, "model_version")
            if new_model and old_model and new_model != old_model:
                models.append(PipelineChange(model_name or name, old_model, new_model, _when(latest, False)))
    for check in INPUT_CHECKS:
        name = "current_window" if check.startswith("current") else "reference_window"
        if name not in partitioned:
            continue
        check_key = AssetCheckKey(AssetKey([prefix, name]), check)
        key_filter = PartitionKeyFilter(key=partition if partitioned[name] else None)
        history = instance.event_log_storage.get_asset_check_execution_history(
            check_key, limit=1, partition_filter=key_filter
        )
        if history and history[0].status == AssetCheckExecutionRecordStatus.FAILED:
            evaluation = history[0].event.asset_check_evaluation if history[0].event else None
            description = (evaluation.description or "") if evaluation is not None else ""
            failed.append(FailedCheck(name, check, None, description))
    for check_key in upstream_checks:
        for key_filter in (PartitionKeyFilter(key=partition), PartitionKeyFilter(key=None)):
            history = instance.event_log_storage.get_asset_check_execution_history(
                check_key, limit=1, partition_filter=key_filter
            )
            if history:
                break
        evaluation = history[0].event.asset_check_evaluation if history and history[0].event else None
        # ERROR only: an INCONCLUSIVE drift check (too little data) is a WARN, not evidence of a change
        if (
            evaluation is not None
            and not evaluation.passed
            and evaluation.severity == AssetCheckSeverity.ERROR
        ):
            failed.append(
                FailedCheck(
                    check_key.asset_key.to_user_string(), check_key.name, None, evaluation.description or ""
                )
            )
    return PipelineEvidence(
        code_version_changes=tuple(code),
        data_version_changes=tuple(data),
        failed_checks=tuple(failed),
        model_version_changes=tuple(models),
    )


def _metadata_value(record: Any, key: str) -> str | None:
    materialization = record.asset_materialization
    entry = materialization.metadata.get(key) if materialization is not None else None
    value = getattr(entry, "value", None)
    return None if value in (None, "", "None") else str(value)


# ---------------------------------------------------------------------------------------------------------
# Incident onset


def onset_window(
    model_id: str,
    incident: str,
    partitions: TimeWindowPartitionsDefinition,
    start: datetime,
    *,
    partition: str,
    max_windows: int = MAX_INCIDENT_WINDOWS,
) -> str | None:
    """The partition key an incident opened in: this one, an earlier one (up to ``max_windows``), or None.

    The id is derived from the model and the opening window only, so the window is found by recomputing
    :func:`drift_sentinel.incidents.incident_id` for the preceding windows.
    """
    if incident_id(model_id, partition) == incident:
        return partition
    for key in previous_partition_keys(partitions, start, max_windows):
        if incident_id(model_id, key) == incident:
            return key
    return None


def incident_onset(
    instance: DagsterInstance, prefix: str, partitions: TimeWindowPartitionsDefinition, key: str
) -> datetime:
    """When the incident began in its opening window ``key``: its RCA onset, its drift start, or its start."""
    for name, field in (("rca_report", "onset"), ("drift_report", "drift_start")):
        records = stored_partitions(instance, AssetKey([prefix, name]), [key])
        if key in records:
            value = _metadata_value(records[key], field)
            if value:
                return pd.Timestamp(value).tz_convert(UTC).to_pydatetime(warn=False)
    return partitions.time_window_for_partition_key(key).start


def _previous_rca_incident(instance: DagsterInstance, rca_key: AssetKey, previous: str | None) -> str | None:
    if previous is None:
        return None
    records = stored_partitions(instance, rca_key, [previous])
    return _metadata_value(records[previous], "incident_id") if previous in records else None


# ---------------------------------------------------------------------------------------------------------


def _opens_signal_incident(rca: RcaReport, anomalies: pd.DataFrame | None) -> bool:
    """Whether a window without data drift has a serving or label incident of its own (module docstring)."""
    cause = rca.root_cause
    if cause.confidence < SIGNAL_INCIDENT_MIN_CONFIDENCE:
        return False
    if cause.type == "concept_drift":
        return True
    if cause.type == "infrastructure":
        strength, _, _ = serving_anomaly(anomalies)
        return strength > 0
    return False


def build_rca_assets(spec: ModelSpec, partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    """The champion's feature importance (once per model version) and the per-window RCA report."""
    prefix = spec.asset_prefix
    importance_key, rca_key = AssetKey([prefix, "feature_importance"]), AssetKey([prefix, "rca_report"])
    trailing_reference = spec.reference.strategy == "trailing"
    upstream_partitioned = {
        "current_window": True,
        "reference_window": trailing_reference,
        "reference_profile": trailing_reference,
        "feature_importance": False,
    }

    @asset(
        key=importance_key,
        group_name=prefix,
        kinds={"mlflow", "scikitlearn"},
        owners=list(spec.owners),
        description=f"Permutation importance of {spec.id}'s champion model on the training snapshot.",
    )
    def feature_importance(
        catalog: ModelCatalogResource, model_registry: ModelRegistryResource
    ) -> Output[dict[str, Any]]:
        name, alias = spec.registered_model_name, spec.registry.champion_alias
        champion = model_registry.champion(name, alias=alias)
        if champion is None or not spec.data.training_snapshot or not spec.label_column:
            reason = "no champion version" if champion is None else "no labelled training snapshot"
            return Output(
                {"model_version": None, "importance": {}, "reason": reason}, metadata={"reason": reason}
            )
        model = model_registry.load_model(name, champion.version)
        frame = read_table(catalog.resolve(spec.data.training_snapshot))
        importance = permutation_importance(
            model, frame, features=spec.feature_kinds, label=spec.label_column, seed=0
        )
        top = max(importance, key=lambda k: importance[k]) if importance else "none"
        return Output(
            {"model_version": champion.version, "importance": importance},
            metadata={
                "model_version": str(champion.version),
                "top_feature": top,
                **{f"importance/{k}": float(v) for k, v in importance.items()},
            },
        )

    @asset(
        key=rca_key,
        ins={
            "drift_report": AssetIn(key=AssetKey([prefix, "drift_report"])),
            "current_window": AssetIn(key=AssetKey([prefix, "current_window"])),
            "reference_window": AssetIn(key=AssetKey([prefix, "reference_window"])),
            "feature_importance": AssetIn(key=importance_key),
            "system_signals": AssetIn(key=AssetKey([prefix, "system_signals"])),
            "signal_anomalies": AssetIn(key=AssetKey([prefix, "signal_anomalies"])),
            "external_events": AssetIn(key=AssetKey([prefix, "external_events"])),
        },
        partitions_def=partitions,
        group_name=prefix,
        kinds={"python"},
        owners=list(spec.owners),
        description=f"Root cause of {spec.id}'s drift in this window: ranked causes, confidence, recommended action.",
    )
    def rca_report(
        context: AssetExecutionContext,
        catalog: ModelCatalogResource,
        drift_report: dict[str, Any],
        current_window: pd.DataFrame,
        reference_window: pd.DataFrame,
        feature_importance: dict[str, Any],
        system_signals: pd.DataFrame,
        signal_anomalies: pd.DataFrame,
        external_events: pd.DataFrame,
    ):
        instance = context.instance
        key = context.partition_key
        window = context.partition_time_window
        previous = next(iter(previous_partition_keys(partitions, window.start, 1)), None)
        incident = drift_report.get("incident_id") or ""
        drift = dict(drift_report)
        events = external_events
        opened = key
        if incident:
            opened = onset_window(spec.id, incident, partitions, window.start, partition=key) or key
            if opened != key:  # a continuing incident: its onset and the events around it
                onset = incident_onset(instance, prefix, partitions, opened)
                drift["drift_start"] = onset.isoformat()
                first = partitions.time_window_for_partition_key(opened)
                events = pd.concat([read_model_events(spec, catalog, first.start, first.end), events])
                events = events.drop_duplicates().reset_index(drop=True)
        detection_time = min(datetime.now(UTC), window.end)
        evidence = pipeline_evidence(
            instance,
            prefix=prefix,
            partition=key,
            previous_partition=previous,
            partitioned=upstream_partitioned,
            model_name=spec.registered_model_name,
            upstream_checks=upstream_check_keys(spec),
        )
        signals = signals_from_frame(system_signals) if len(system_signals) else None
        rca = analyze_incident(
            DriftReport.from_dict(drift),
            incident_id=incident or incident_id(spec.id, key),
            detection_time=detection_time,
            model_id=spec.id,
            feature_importance=feature_importance.get("importance") or None,
            signals=signals,
            events=events,
            anomalies=pyod_view(signal_anomalies) if len(signal_anomalies) else None,
            pipeline=evidence,
            history=past_signatures(instance, rca_key, before=key),
            current=current_window,
            reference=reference_window,
            time_column=spec.timestamp_column,
            prediction_column=spec.prediction_column,
            label_column=spec.label_column or "label",
            latency_column=spec.latency_column,
            error_column=spec.error_column,
        )
        opened_by = "drift_report"
        if not incident:
            if not _opens_signal_incident(rca, signal_anomalies):
                payload = {
                    "incident_id": None,
                    "model_id": spec.id,
                    "window": key,
                    "drift_detected": False,
                    "verdict": drift_report.get("verdict"),
                    "screened": {
                        "root_cause": rca.root_cause.type,
                        "cause": rca.root_cause.cause,
                        "confidence": rca.confidence,
                    },
                    "pipeline": evidence.to_dict(),
                }
                return Output(payload, metadata=rca_metadata(payload, None))
            previous_incident = _previous_rca_incident(instance, rca_key, previous)
            incident = assign_incident(spec.id, key, drifted=True, previous=previous_incident)
            opened_by = f"signals ({rca.root_cause.type})"
            opened = onset_window(spec.id, incident, partitions, window.start, partition=key) or key
            if incident != rca.incident_id:
                rca = _with_incident(rca, incident)
        payload = {
            **rca.to_dict(),
            "model_id": spec.id,
            "window": key,
            "onset_window": opened,
            "opened_by": opened_by,
            "pipeline": evidence.to_dict(),
        }
        return Output(payload, metadata=rca_metadata(payload, rca.to_markdown()))

    return [feature_importance, rca_report]


def _with_incident(rca: RcaReport, incident: str) -> RcaReport:
    """The same report under another incident id (a signal incident continuing the previous window's)."""
    data = rca.to_dict()
    data["incident_id"] = incident
    if data.get("signature"):
        data["signature"]["incident_id"] = incident
    return RcaReport.from_dict(data)

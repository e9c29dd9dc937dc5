"""``feature_importance`` and ``rca_report``: why the model drifted, with evidence and confidence.

``rca_report`` hands :func:`drift_sentinel.analysis.analyze_incident` everything the Dagster layer knows
about one window:

- the drift report, the current window and the reference; the window's ``system_signals``,
  ``signal_anomalies`` (PyOD + Prophet) and ``external_events``;
- **history**: the signatures of earlier incidents (``signature`` metadata of the stored ``rca_report``
  materializations, :func:`sentinel_assets.signals.past_signatures`), so a recurring cause is named;
- **pipeline evidence** read from the Dagster instance
  (:func:`sentinel_assets.pipeline_evidence.pipeline_evidence`): upstream assets whose
  explicit code version changed since the previous window (or re-materialization), explicit data versions
  that changed, failed asset checks on the window's inputs, and champion model versions that changed;
- **incident onset**: an incident continues over consecutive drifted windows and its id encodes the window
  where it opened (:func:`drift_sentinel.incidents.incident_id`). For a continuing incident the report
  finds that window (:func:`onset_window`), takes its onset (:func:`drift_sentinel.incidents.incident_onset`:
  the onset window's RCA ``onset`` metadata, else its drift report's ``drift_start``, else its start) as the
  drift report's ``drift_start``, and adds the events around it, so a deploy just before the real onset is
  still considered a day later.

**Incidents without data drift.** The drift report opens incidents on data drift only. A window with a
serving incident (latency/errors) or label-only concept drift has no drift incident, so ``rca_report`` also
screens every quiet window (:func:`drift_sentinel.incidents.signal_incident`): it opens an incident
(continuing the previous window's RCA incident, else ``incident_id(model, window)``) when the analysis names an
``infrastructure`` cause with confidence >= ``SIGNAL_INCIDENT_MIN_CONFIDENCE`` *and* ``signal_anomalies`` shows
a latency/error episode (PyOD, and Prophet where it had history, so a seasonal peak is not an incident), or a
``concept_drift`` cause with that confidence, or when the window's ``performance_report`` breaches the model's
performance minimum (:mod:`drift_sentinel.performance.incident`; realized, or estimated before labels arrive).
Otherwise the report says there is no incident (``incident_id: null``). The performance report is evidence in
every report: a line in the root cause's evidence, and the action of a breach the analysis cannot explain
(``unknown`` or ``concept_drift``: retrain on enough realized labels, otherwise notify).

The rules are the core's (:mod:`drift_sentinel.incidents`); every read of the instance goes through
:mod:`resources.history`.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    DagsterInstance,
    Output,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    asset,
)

from drift_sentinel.analysis import IncidentSignature, PipelineEvidence, RcaReport, analyze_incident
from drift_sentinel.analysis.anomaly_table import pyod_view, serving_anomaly
from drift_sentinel.config import ModelSpec
from drift_sentinel.detection import DriftReport
from drift_sentinel.incidents import incident_id, incident_onset, opening_window, signal_incident
from drift_sentinel.live import window_state
from drift_sentinel.performance.incident import PerformanceEvidence, apply_performance, performance_incident
from drift_sentinel.training import permutation_importance
from drift_sentinel.windows import read_table
from resources import history
from resources.catalog import ModelCatalogResource
from resources.keys import asset_ins, asset_key
from resources.model_registry import ModelRegistryResource
from sentinel_assets.metadata import rca_metadata
from sentinel_assets.partitions import previous_partition_keys
from sentinel_assets.pipeline_evidence import UpstreamReads, window_pipeline_evidence
from sentinel_assets.ranges import backfill_policy, emit, per_window, run_windows, usable, window_quality
from sentinel_assets.signals import read_model_events, signals_from_frame, signatures_before

MAX_INCIDENT_WINDOWS = 90
RCA_INPUTS = (
    "drift_report",
    "current_window",
    "reference_window",
    "feature_importance",
    "system_signals",
    "signal_anomalies",
    "external_events",
    "performance_report",
)
# labelled rows a performance breach needs to recommend retraining (the RCA policy's default for data drift)
PERFORMANCE_MIN_LABELS = 200


# ---------------------------------------------------------------------------------------------------------
# The incident a window belongs to: the core's rules over what the instance recorded


class RcaHistory:
    """The ``rca_report`` records earlier windows left: those this run computed (a range computes its windows in
    order, each reading the ones before it), then what the instance stored. Reads the instance's signatures once
    per run, and each upstream record the pipeline evidence needs once (``upstream``)."""

    def __init__(self, instance: DagsterInstance, spec: ModelSpec, *, signature_limit: int = 500) -> None:
        self.instance, self.key, self._limit = instance, asset_key(spec, "rca_report"), signature_limit
        self.upstream = UpstreamReads(instance)
        self._in_run: dict[str, history.Materialization] = {}
        self._stored: list[history.Materialization] | None = None
        # per opening window: its incident's onset and the events around it (the same for every window it spans)
        self.openings: dict[str, tuple[datetime, pd.DataFrame]] = {}

    def latest(self, partitions: list[str]) -> dict[str, history.Materialization]:
        """The newest record of each of ``partitions`` that has one."""
        found = {k: self._in_run[k] for k in partitions if k in self._in_run}
        rest = [k for k in partitions if k not in found]
        return {**found, **(history.latest_by_partition(self.instance, self.key, rest) if rest else {})}

    def signatures(self, *, before: str) -> list[IncidentSignature]:
        """:func:`sentinel_assets.signals.past_signatures` as it would read after this run's earlier windows."""
        if self._stored is None:
            self._stored = history.materializations(self.instance, self.key, limit=self._limit)
        newest_first = [*reversed(self._in_run.values()), *self._stored][: self._limit]
        return signatures_before(newest_first, before=before)

    def record(self, key: str, metadata: Mapping[str, Any]) -> None:
        """What this run stored for window ``key`` (its metadata as the instance returns it)."""
        plain = json.loads(json.dumps(history.unwrap_metadata(metadata), default=str))
        self._in_run.pop(key, None)
        self._in_run[key] = history.Materialization(key, 0, "", 0.0, plain)


def onset_window(
    model_id: str,
    incident: str,
    partitions: TimeWindowPartitionsDefinition,
    start: datetime,
    *,
    partition: str,
    max_windows: int = MAX_INCIDENT_WINDOWS,
) -> str | None:
    """The partition key an incident opened in: this one, an earlier one (up to ``max_windows``), or None."""
    earlier = previous_partition_keys(partitions, start, max_windows)
    return opening_window(model_id, incident, [partition, *earlier])


def opening_onset(
    past: RcaHistory, spec: ModelSpec, partitions: TimeWindowPartitionsDefinition, key: str
) -> datetime:
    """When the incident that opened in window ``key`` began, from what that window's reports recorded."""
    rca = past.latest([key]).get(key)
    drift = history.latest_by_partition(past.instance, asset_key(spec, "drift_report"), [key]).get(key)
    return incident_onset(
        partitions.time_window_for_partition_key(key).start,
        rca_onset=rca.text("onset") if rca is not None else None,
        drift_start=drift.text("drift_start") if drift is not None else None,
    )


@dataclass(frozen=True)
class WindowInputs:
    """What ``rca_report`` reads for one window: its asset inputs as stored."""

    drift_report: dict[str, Any]
    current: pd.DataFrame
    reference: pd.DataFrame
    importance: dict[str, Any]
    signals: pd.DataFrame
    anomalies: pd.DataFrame
    events: pd.DataFrame
    performance: dict[str, Any] | None = None

    @property
    def performance_evidence(self) -> PerformanceEvidence | None:
        """The window's performance report as RCA evidence (None before the asset existed)."""
        return PerformanceEvidence.from_report(self.performance) if self.performance else None

    @property
    def incident(self) -> str:
        """The drift incident of the window (``""`` when the drift report opened or continued none)."""
        return self.drift_report.get("incident_id") or ""


def continue_incident(
    past: RcaHistory,
    spec: ModelSpec,
    catalog: ModelCatalogResource,
    partitions: TimeWindowPartitionsDefinition,
    inputs: WindowInputs,
    *,
    key: str,
    start: datetime,
) -> tuple[WindowInputs, str]:
    """The inputs to analyse a window with, and the window its incident opened in.

    A window continuing an incident opened earlier gets that incident's onset as the drift report's
    ``drift_start`` and the events around it; any other window is analysed as it is.
    """
    incident = inputs.incident
    opened = (onset_window(spec.id, incident, partitions, start, partition=key) or key) if incident else key
    if opened == key:
        return inputs, key
    if opened not in past.openings:
        first = partitions.time_window_for_partition_key(opened)
        past.openings[opened] = (
            opening_onset(past, spec, partitions, opened),
            read_model_events(spec, catalog, first.start, first.end),
        )
    onset, opening_events = past.openings[opened]
    events = pd.concat([opening_events, inputs.events])
    return replace(
        inputs,
        drift_report={**inputs.drift_report, "drift_start": onset.isoformat()},
        events=events.drop_duplicates().reset_index(drop=True),
    ), opened


def open_from_signals(
    past: RcaHistory,
    spec: ModelSpec,
    partitions: TimeWindowPartitionsDefinition,
    rca: RcaReport,
    anomalies: pd.DataFrame,
    *,
    key: str,
    start: datetime,
) -> tuple[RcaReport, str] | None:
    """A quiet window's own serving or label incident (its report and opening window), or None."""
    previous = next(iter(previous_partition_keys(partitions, start, 1)), None)
    prior = past.latest([previous]) if previous else {}
    incident = signal_incident(
        spec.id,
        key,
        cause_type=rca.root_cause.type,
        confidence=rca.root_cause.confidence,
        serving_strength=serving_anomaly(anomalies)[0],
        previous=prior[previous].text("incident_id") if previous in prior else None,
    )
    if not incident:
        return None
    opened = onset_window(spec.id, incident, partitions, start, partition=key) or key
    return (rca if incident == rca.incident_id else _with_incident(rca, incident)), opened


def open_from_performance(
    past: RcaHistory,
    spec: ModelSpec,
    partitions: TimeWindowPartitionsDefinition,
    rca: RcaReport,
    evidence: PerformanceEvidence | None,
    *,
    key: str,
    start: datetime,
) -> tuple[RcaReport, str] | None:
    """A quiet window's performance incident (its report and opening window), or None without a breach."""
    if evidence is None or not evidence.breached:
        return None
    previous = next(iter(previous_partition_keys(partitions, start, 1)), None)
    prior = past.latest([previous]) if previous else {}
    incident = performance_incident(
        spec.id, key, evidence, previous=prior[previous].text("incident_id") if previous in prior else None
    )
    opened = onset_window(spec.id, incident, partitions, start, partition=key) or key
    return (rca if incident == rca.incident_id else _with_incident(rca, incident)), opened


def _with_incident(rca: RcaReport, incident: str) -> RcaReport:
    """The same report under another incident id (a signal incident continuing the previous window's)."""
    data = rca.to_dict()
    data["incident_id"] = incident
    if data.get("signature"):
        data["signature"]["incident_id"] = incident
    return RcaReport.from_dict(data)


# ---------------------------------------------------------------------------------------------------------


def analyze_window(
    spec: ModelSpec,
    inputs: WindowInputs,
    *,
    incident: str,
    detection_time: datetime,
    pipeline: PipelineEvidence,
    signatures: list[IncidentSignature],
) -> RcaReport:
    """:func:`drift_sentinel.analysis.analyze_incident` on one window's stored inputs, with the model's columns."""
    return analyze_incident(
        DriftReport.from_dict(inputs.drift_report),
        incident_id=incident,
        detection_time=detection_time,
        model_id=spec.id,
        feature_importance=inputs.importance.get("importance") or None,
        signals=signals_from_frame(inputs.signals) if len(inputs.signals) else None,
        events=inputs.events,
        anomalies=pyod_view(inputs.anomalies) if len(inputs.anomalies) else None,
        pipeline=pipeline,
        history=signatures,
        current=inputs.current,
        reference=inputs.reference,
        time_column=spec.timestamp_column,
        prediction_column=spec.prediction_column,
        label_column=spec.label_column or "label",
        latency_column=spec.latency_column,
        error_column=spec.error_column,
    )


def explain_window(
    past: RcaHistory,
    spec: ModelSpec,
    catalog: ModelCatalogResource,
    partitions: TimeWindowPartitionsDefinition,
    stored: WindowInputs,
    *,
    key: str,
    window: TimeWindow,
) -> tuple[RcaReport, PipelineEvidence, str]:
    """The analysis of one window, the pipeline evidence it used and the window its incident opened in."""
    inputs, opened = continue_incident(past, spec, catalog, partitions, stored, key=key, start=window.start)
    evidence = window_pipeline_evidence(past.upstream, spec, partitions, key=key, start=window.start)
    rca = analyze_window(
        spec,
        inputs,
        incident=stored.incident or incident_id(spec.id, key),
        detection_time=min(datetime.now(UTC), window.end),
        pipeline=evidence,
        signatures=past.signatures(before=key),
    )
    return rca, evidence, opened


def incident_report(
    past: RcaHistory,
    spec: ModelSpec,
    partitions: TimeWindowPartitionsDefinition,
    rca: RcaReport,
    stored: WindowInputs,
    opened: str,
    *,
    key: str,
    start: datetime,
) -> tuple[RcaReport, str, str] | None:
    """The report under the window's incident, the window it opened in and what opened it (None: quiet).

    The drift report's incident comes first; a window without one may open a serving or label incident.
    """
    if stored.incident:
        return rca, opened, "drift_report"
    found = open_from_signals(past, spec, partitions, rca, stored.anomalies, key=key, start=start)
    if found is not None:
        return found[0], found[1], f"signals ({rca.root_cause.type})"
    evidence = stored.performance_evidence
    found = open_from_performance(past, spec, partitions, rca, evidence, key=key, start=start)
    if found is None or evidence is None:
        return None
    return found[0], found[1], f"performance ({evidence.describe()})"


def screened_payload(
    spec: ModelSpec, key: str, drift_report: dict[str, Any], rca: RcaReport, pipeline: PipelineEvidence
) -> dict[str, Any]:
    """The report of a quiet window: no incident, and what the screening analysis found."""
    return {
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
        "pipeline": pipeline.to_dict(),
    }


def window_rca(
    past: RcaHistory,
    spec: ModelSpec,
    catalog: ModelCatalogResource,
    partitions: TimeWindowPartitionsDefinition,
    stored: WindowInputs,
    *,
    key: str,
    window: TimeWindow,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One window's report and its metadata: the incident's analysis, or a quiet window's screening."""
    rca, evidence, opened = explain_window(past, spec, catalog, partitions, stored, key=key, window=window)
    found = incident_report(past, spec, partitions, rca, stored, opened, key=key, start=window.start)
    state = window_state(window.end, datetime.now(UTC))
    if found is None:
        payload = {**screened_payload(spec, key, stored.drift_report, rca, evidence), "window_state": state}
        return payload, rca_metadata(payload, None)
    rca, opened, opened_by = found
    if stored.performance_evidence is not None:
        rca = apply_performance(rca, stored.performance_evidence, min_labels=PERFORMANCE_MIN_LABELS)
    extra = {"model_id": spec.id, "window": key, "onset_window": opened, "opened_by": opened_by}
    payload = {**rca.to_dict(), **extra, "window_state": state, "pipeline": evidence.to_dict()}
    return payload, rca_metadata(payload, rca.to_markdown())


def build_rca_assets(spec: ModelSpec, partitions: TimeWindowPartitionsDefinition) -> list[AssetsDefinition]:
    """The champion's feature importance (once per model version) and the per-window RCA report."""
    prefix = spec.asset_prefix

    @asset(
        key=asset_key(spec, "feature_importance"),
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
        key=asset_key(spec, "rca_report"),
        ins=asset_ins(spec, *RCA_INPUTS),
        partitions_def=partitions,
        backfill_policy=backfill_policy(spec),
        group_name=prefix,
        kinds={"python"},
        owners=list(spec.owners),
        description=f"Root cause of {spec.id}'s drift in this window: ranked causes, confidence, recommended action.",
    )
    def rca_report(
        context: AssetExecutionContext,
        catalog: ModelCatalogResource,
        drift_report: Any,
        current_window: Any,
        reference_window: Any,
        feature_importance: dict[str, Any],
        system_signals: Any,
        signal_anomalies: Any,
        external_events: Any,
        performance_report: Any,
    ):
        windows = run_windows(context)
        keys = [w.key for w in windows]
        inputs = [
            per_window(v, keys)
            for v in (
                drift_report,
                current_window,
                reference_window,
                system_signals,
                signal_anomalies,
                external_events,
                performance_report,
            )
        ]
        quality = window_quality(context.instance, spec, keys)
        past = RcaHistory(context.instance, spec)
        results = {}
        for w in windows:
            drift, current, reference, signals, anomalies, events, performance = (x[w.key] for x in inputs)
            stored = WindowInputs(
                drift,
                usable(current, quality[w.key]),
                reference,
                feature_importance,
                signals,
                anomalies,
                events,
                performance,
            )
            payload, metadata = window_rca(
                past, spec, catalog, partitions, stored, key=w.key, window=w.window
            )
            past.record(w.key, metadata)
            results[w.key] = (payload, metadata)
        return emit(context, results)

    return [feature_importance, rca_report]

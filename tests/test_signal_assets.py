"""The instance-reading parts of the signal/RCA layer, on an ephemeral Dagster instance with real event records.

Materializations and check evaluations are recorded through ``report_runless_asset_event`` (the public API
external pipelines use), then read back by the functions ``rca_report`` and ``recurring_patterns`` use.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DailyPartitionsDefinition,
    MetadataValue,
    materialize,
)

from drift_sentinel.analysis import IncidentSignature
from drift_sentinel.analysis.anomaly_table import anomalies_long, serving_anomaly
from drift_sentinel.config import load_config
from drift_sentinel.incidents import incident_id
from sentinel_assets.pipeline_evidence import pipeline_evidence
from sentinel_assets.rca import onset_window
from sentinel_assets.signals import build_signal_assets, events_between, past_signatures, trailing_signals
from tests.support.project import REPO

PREFIX = "fraud_detector_v1"
PARTITIONS = DailyPartitionsDefinition(start_date="2026-08-01", end_date="2026-11-01")
PARTITIONED = {
    "current_window": True,
    "reference_window": False,
    "reference_profile": False,
    "feature_importance": False,
}


def _key(name: str) -> AssetKey:
    return AssetKey([PREFIX, name])


def _evidence(instance: DagsterInstance, day: str, previous: str | None):
    return pipeline_evidence(
        instance,
        prefix=PREFIX,
        partition=day,
        previous_partition=previous,
        partitioned=PARTITIONED,
        model_name="fraud-detector-v1",
    )


def test_pipeline_evidence_reads_versions_checks_and_champion_changes() -> None:
    instance = DagsterInstance.ephemeral()
    report = instance.report_runless_asset_event
    window = _key("current_window")
    report(AssetMaterialization(window, partition="2026-10-09", tags={"dagster/code_version": "c1"}))
    report(AssetMaterialization(window, partition="2026-10-10", tags={"dagster/code_version": "c1"}))
    assert _evidence(instance, "2026-10-10", "2026-10-09").is_empty  # same code, nothing else happened

    report(AssetMaterialization(window, partition="2026-10-10", tags={"dagster/code_version": "c2"}))
    user_data = {"dagster/data_version_is_user_provided": "true"}
    reference = _key("reference_window")
    report(AssetMaterialization(reference, tags={**user_data, "dagster/data_version": "d1"}))
    report(AssetMaterialization(reference, tags={**user_data, "dagster/data_version": "d2"}))
    # a data version Dagster derived itself is not evidence
    report(AssetMaterialization(_key("reference_profile"), tags={"dagster/data_version": "x1"}))
    report(AssetMaterialization(_key("reference_profile"), tags={"dagster/data_version": "x2"}))
    importance = _key("feature_importance")
    report(AssetMaterialization(importance, metadata={"model_version": "1"}))
    report(AssetMaterialization(importance, metadata={"model_version": "2"}))
    report(
        AssetCheckEvaluation(
            asset_key=window,
            check_name="current_window_passes_data_quality",
            passed=False,
            partition="2026-10-10",
            description="amount: 4% nulls",
        )
    )
    report(
        AssetCheckEvaluation(
            asset_key=window,
            check_name="current_window_passes_data_quality",
            passed=True,
            partition="2026-10-11",
        )
    )

    evidence = _evidence(instance, "2026-10-10", "2026-10-09")
    assert [(c.asset, c.old, c.new, c.time) for c in evidence.code_version_changes] == [
        ("current_window", "c1", "c2", None)
    ]
    assert [(c.asset, c.old, c.new) for c in evidence.data_version_changes] == [
        ("reference_window", "d1", "d2")
    ]
    assert evidence.data_version_changes[0].time is not None  # unpartitioned: timed by its materialization
    assert [(c.asset, c.check, c.description) for c in evidence.failed_checks] == [
        ("current_window", "current_window_passes_data_quality", "amount: 4% nulls")
    ]
    assert [(c.asset, c.old, c.new) for c in evidence.model_version_changes] == [
        ("fraud-detector-v1", "1", "2")
    ]

    # the next window: its check passed and it has no code version of its own to compare
    later = _evidence(instance, "2026-10-11", "2026-10-10")
    assert not later.failed_checks and not later.code_version_changes


def test_onset_window_recovers_the_opening_window_from_the_incident_id() -> None:
    incident = incident_id("fraud-detector-v1", "2026-10-04")
    start = datetime(2026, 10, 7, tzinfo=UTC)
    assert (
        onset_window("fraud-detector-v1", incident, PARTITIONS, start, partition="2026-10-07") == "2026-10-04"
    )
    assert (
        onset_window("fraud-detector-v1", incident, PARTITIONS, start, partition="2026-10-04") == "2026-10-04"
    )
    assert onset_window("other-model", incident, PARTITIONS, start, partition="2026-10-07") is None
    assert (
        onset_window("fraud-detector-v1", incident, PARTITIONS, start, partition="2026-10-07", max_windows=2)
        is None
    )


def _signature(incident: str, when: datetime) -> dict:
    sig = IncidentSignature(
        incident_id=incident,
        model_id="fraud-detector-v1",
        time=when,
        features=("amount",),
        directions={"amount": "up"},
    )
    return sig.to_dict()


def test_recurring_patterns_asset_builds_the_library_from_stored_rca_reports() -> None:
    instance = DagsterInstance.ephemeral()
    rca = _key("rca_report")
    windows = [
        ("2026-08-29", "inc-aug", datetime(2026, 8, 29, 1, tzinfo=UTC)),
        ("2026-08-30", "inc-aug", datetime(2026, 8, 29, 1, tzinfo=UTC)),  # the same incident, continuing
        ("2026-09-28", "inc-sep", datetime(2026, 9, 28, 2, tzinfo=UTC)),
        ("2026-10-29", "inc-oct", datetime(2026, 10, 29, 0, tzinfo=UTC)),
    ]
    for day, incident, when in windows:
        metadata = {"incident_id": incident, "signature": MetadataValue.json(_signature(incident, when))}
        instance.report_runless_asset_event(AssetMaterialization(rca, partition=day, metadata=metadata))
    instance.report_runless_asset_event(  # a quiet window has no signature
        AssetMaterialization(rca, partition="2026-10-01", metadata={"incident_id": ""})
    )

    history = past_signatures(instance, rca, before="2026-10-29")
    assert [s.incident_id for s in history] == ["inc-aug", "inc-sep"]

    spec = load_config(REPO / "sentinel.yaml").models[0]
    assets = {a.key.path[-1]: a for a in build_signal_assets(spec, PARTITIONS)}
    result = materialize([assets["recurring_patterns"]], instance=instance)
    assert result.success
    library = result.output_for_node(f"{PREFIX}__recurring_patterns")
    assert [(p["pattern"], p["count"], p["incident_ids"]) for p in library] == [
        ("end_of_month_seasonality", 3, ["inc-aug", "inc-sep", "inc-oct"])
    ]
    metadata = result.asset_materializations_for_node(f"{PREFIX}__recurring_patterns")[0].metadata
    assert metadata["n_incidents"].value == 3 and metadata["max_recurrence"].value == 3
    assert "end_of_month_seasonality" in metadata["library"].value


def test_trailing_signals_reads_stored_partitions_only(tmp_path) -> None:
    instance = DagsterInstance.ephemeral()
    key = _key("system_signals")
    for day in ("2026-10-08", "2026-10-09"):  # 2026-10-07 was never materialized
        idx = pd.date_range(day, periods=288, freq="5min", tz="UTC")
        path = tmp_path / f"{day}.parquet"
        pd.DataFrame({"timestamp": idx, "latency_p95": np.arange(288.0)}).to_parquet(path)
        instance.report_runless_asset_event(
            AssetMaterialization(key, partition=day, metadata={"path": str(path)})
        )
    history = trailing_signals(instance, key, PARTITIONS, datetime(2026, 10, 10, tzinfo=UTC), windows=3)
    assert history is not None and len(history) == 2 * 288
    assert history.index.is_monotonic_increasing and str(history.index.tz) == "UTC"
    assert trailing_signals(instance, key, PARTITIONS, datetime(2026, 10, 8, tzinfo=UTC)) is None


def test_serving_anomaly_needs_prophet_to_agree_when_it_could_judge() -> None:
    idx = pd.date_range("2026-10-10", periods=48, freq="5min", tz="UTC")
    flagged = np.zeros(48, dtype=bool)
    flagged[10:20] = True
    pyod = pd.DataFrame(
        {
            "anomaly_score": 1.0,
            "is_anomaly": flagged,
            "top_signal": "latency_p95",
            "top_z": 30.0,
            "detector": "iforest",
        },
        index=idx,
    )
    hours = pd.date_range("2026-10-10", periods=4, freq="1h", tz="UTC")

    def prophet(anomalous: list[bool]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "timestamp": hours,
                "signal": "latency_p95",
                "value": 100.0,
                "yhat": 50.0,
                "yhat_lower": 40.0,
                "yhat_upper": 60.0,
                "is_anomaly": anomalous,
            }
        )

    alone, start, length = serving_anomaly(anomalies_long(pyod, None))
    # 10 consecutive bins at robust z 30: (1 - exp(-10/3)) * 30 / (30 + 3), anomaly_strength's definition
    assert (
        alone == pytest.approx((1 - math.exp(-10 / 3)) * 30 / 33)
        and length == 10
        and start == idx[10].to_pydatetime()
    )
    seasonal, _, _ = serving_anomaly(anomalies_long(pyod, prophet([False] * 4)))
    assert seasonal == 0.0  # Prophet saw the peak coming (e.g. a daily or month-end peak)
    both, _, _ = serving_anomaly(anomalies_long(pyod, prophet([False, True, True, False])))
    assert 0 < both < alone


def test_events_between_cuts_the_window_with_its_lookback() -> None:
    events = pd.DataFrame(
        {
            "timestamp": [
                "2026-10-09T17:00:00Z",
                "2026-10-09T20:00:00Z",
                "2026-10-10T05:50:00Z",
                "2026-10-11T00:00:00Z",
            ],
            "event_type": ["campaign", "deploy", "deploy", "holiday"],
        }
    )
    start = datetime(2026, 10, 10, tzinfo=UTC)
    cut = events_between(events, start - timedelta(hours=6), start + timedelta(days=1))
    assert list(cut["event_type"]) == ["deploy", "deploy"]
    with pytest.raises(Exception, match="timestamp"):
        events_between(pd.DataFrame({"event_type": ["deploy"]}), start, start)

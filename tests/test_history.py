"""resources.history on an ephemeral instance: the one place the Dagster layer reads the event log."""

from __future__ import annotations

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetMaterialization,
    DagsterInstance,
    DagsterRunStatus,
    MetadataValue,
    job,
    op,
)

from resources import history
from resources.keys import asset_key, check_key

PREFIX = "fraud_detector_v1"


@pytest.fixture
def instance() -> DagsterInstance:
    return DagsterInstance.ephemeral()


def test_materializations_are_plain_values_newest_first(instance: DagsterInstance) -> None:
    key = asset_key(PREFIX, "drift_report")
    for day, incident in (("2026-10-01", ""), ("2026-10-02", "inc-a"), ("2026-10-02", "inc-b")):
        instance.report_runless_asset_event(
            AssetMaterialization(
                key,
                partition=day,
                metadata={
                    "incident_id": incident,
                    "signature": MetadataValue.json({"incident_id": incident}),
                },
            )
        )
    newest = history.materializations(instance, key, limit=5)
    assert [(m.partition, m.metadata["incident_id"]) for m in newest] == [
        ("2026-10-02", "inc-b"),
        ("2026-10-02", "inc-a"),
        ("2026-10-01", ""),
    ]
    assert newest[0].metadata["signature"] == {"incident_id": "inc-b"}  # unwrapped from MetadataValue
    assert newest[0].storage_id > newest[1].storage_id
    assert newest[0].text("incident_id") == "inc-b" and newest[2].text("incident_id") is None
    only = history.materializations(instance, key, partitions=["2026-10-01"])
    assert [m.partition for m in only] == ["2026-10-01"]
    latest = history.latest_by_partition(instance, key, ["2026-10-02", "2026-10-01", "2026-10-03"])
    assert {k: m.text("incident_id") for k, m in latest.items()} == {
        "2026-10-02": "inc-b",
        "2026-10-01": None,
    }
    assert history.latest_by_partition(instance, key, []) == {}
    assert history.materialized_partitions(instance, key) == {"2026-10-01", "2026-10-02"}
    after = history.materializations_after(instance, key, newest[2].storage_id)
    assert [m.metadata["incident_id"] for m in after] == ["inc-a", "inc-b"]  # oldest first
    assert history.materializations_after(instance, key, newest[0].storage_id) == []


def test_latest_by_partition_finds_a_window_crowded_out_by_another_ones_reruns(
    instance: DagsterInstance,
) -> None:
    """Yesterday's window re-run 12 times after the day before's only record: the newest 4 × 2 records are all
    yesterday's, and the day before must still be found (a trailing history that silently loses it would judge
    the next window on less history than it says)."""
    key = asset_key(PREFIX, "system_signals")
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2026-10-01", metadata={"n": 0}))
    for i in range(12):
        instance.report_runless_asset_event(
            AssetMaterialization(key, partition="2026-10-02", metadata={"n": i + 1})
        )
    latest = history.latest_by_partition(instance, key, ["2026-10-01", "2026-10-02", "2026-10-03"])
    assert {k: m.metadata["n"] for k, m in latest.items()} == {"2026-10-01": 0, "2026-10-02": 12}


def test_latest_per_partition_reads_every_page(instance: DagsterInstance, monkeypatch) -> None:
    key = asset_key(PREFIX, "drift_report")
    monkeypatch.setattr(history, "PAGE", 2)
    for i in range(5):
        day = f"2026-10-0{1 + i % 3}"
        instance.report_runless_asset_event(AssetMaterialization(key, partition=day, metadata={"n": i}))
    instance.report_runless_asset_event(AssetMaterialization(key, metadata={"n": 99}))  # unpartitioned
    newest = history.latest_per_partition(instance, key)
    assert {k: m.metadata["n"] for k, m in newest.items()} == {
        "2026-10-01": 3,
        "2026-10-02": 4,
        "2026-10-03": 2,
    }


def test_declared_versions_only(instance: DagsterInstance) -> None:
    key = asset_key(PREFIX, "current_window")
    instance.report_runless_asset_event(
        AssetMaterialization(
            key,
            tags={
                "dagster/code_version": "c7",
                "dagster/data_version": "d1",
                "dagster/data_version_is_user_provided": "true",
            },
        )
    )
    instance.report_runless_asset_event(AssetMaterialization(key, tags={"dagster/data_version": "x"}))
    derived, declared = history.materializations(instance, key)
    assert declared.code_version == "c7" and declared.data_version == "d1"
    assert derived.code_version is None and derived.data_version is None  # Dagster's own hash is not evidence
    # a code version equal to the run id is Dagster's default, not a declared one
    defaulted = history.Materialization("p", 1, "run-1", 0.0, tags={"dagster/code_version": "run-1"})
    assert defaulted.code_version is None


def test_last_check_evaluation_per_partition(instance: DagsterInstance) -> None:
    asset = asset_key(PREFIX, "current_window")
    check = check_key(PREFIX, "current_window", "current_window_passes_data_quality")
    for day, passed in (("2026-10-01", False), ("2026-10-02", True)):
        instance.report_runless_asset_event(
            AssetCheckEvaluation(
                asset_key=asset,
                check_name=check.name,
                passed=passed,
                partition=day,
                description=f"{day}: {'ok' if passed else '4% nulls'}",
            )
        )
    failed = history.last_check_evaluation(instance, check, "2026-10-01")
    assert failed is not None and failed.failed and failed.passed is False
    assert (failed.description, failed.partition, failed.severity) == (
        "2026-10-01: 4% nulls",
        "2026-10-01",
        AssetCheckSeverity.ERROR,
    )
    passed = history.last_check_evaluation(instance, check, "2026-10-02")
    assert passed is not None and not passed.failed and passed.passed is True
    assert passed.description == "2026-10-02: ok"
    assert history.last_check_evaluation(instance, check, "2026-10-03") is None
    assert history.last_check_evaluation(instance, check, None) is None  # none was unpartitioned
    every = history.check_evaluations(instance, check, limit=10)
    assert [e.partition for e in every] == ["2026-10-02", "2026-10-01"] and every[0].id > every[1].id


def test_runs_tagged(instance: DagsterInstance) -> None:
    @op
    def noop() -> None:
        return None

    @job
    def remediation_notify_team() -> None:
        noop()

    first = remediation_notify_team.execute_in_process(instance=instance, tags={"sentinel/model": "m"})
    second = remediation_notify_team.execute_in_process(
        instance=instance, tags={"sentinel/model": "m", "x": "1"}
    )
    remediation_notify_team.execute_in_process(instance=instance, tags={"sentinel/model": "other"})
    runs = history.runs_tagged(instance, {"sentinel/model": "m"})
    assert [r.run_id for r in runs] == [second.run_id, first.run_id]
    assert all(r.status is DagsterRunStatus.SUCCESS and r.job_name == "remediation_notify_team" for r in runs)
    assert runs[0].tags["x"] == "1" and runs[0].storage_id > runs[1].storage_id
    assert runs[1].start_time is not None and runs[1].end_time >= runs[1].start_time
    assert [r.run_id for r in history.runs_tagged(instance, {"sentinel/model": "m", "x": "1"})] == [
        second.run_id
    ]
    oldest_first = history.runs_tagged(instance, {"sentinel/model": ["m", "other"]}, ascending=True)
    assert [r.run_id for r in oldest_first][:2] == [first.run_id, second.run_id] and len(oldest_first) == 3

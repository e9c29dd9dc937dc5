"""The example feature pipeline, materialized in-process on a real (SQLite) instance, day by day.

Each day runs as a team would run it: the checks' references (``feature_references``), then the pipeline
(``feature_pipeline``). Drift is injected from 5 October by the generator switch.
"""

from pathlib import Path

import pytest
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance

from examples.feature_pipeline.definitions import build_defs

DRIFT_FROM = "2024-10-05"
DAYS = ["2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-05"]
TRAINING_SET = AssetKey(["training", "training_set"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, dict, set[str]]]:
    root: Path = tmp_path_factory.mktemp("feature_pipeline")
    defs = build_defs(storage=str(root / "storage"), drift_from=DRIFT_FROM)
    out = {}
    (root / "dagster").mkdir()
    with DagsterInstance.local_temp(str(root / "dagster")) as instance:
        for day in DAYS:
            refs = defs.resolve_job_def("feature_references").execute_in_process(
                partition_key=day, instance=instance
            )
            assert refs.success
            result = defs.resolve_job_def("feature_pipeline").execute_in_process(
                partition_key=day, instance=instance, raise_on_error=False
            )
            checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
            materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
            out[day] = (result.success, checks, materialized)
        out["training_partitions"] = instance.get_materialized_partitions(TRAINING_SET)
    return out


@pytest.mark.slow
def test_clean_days_pass_every_check(runs: dict) -> None:
    for day in DAYS[1:4]:
        success, checks, materialized = runs[day]
        assert success and set(checks) == {"transactions_shows_no_drift", "transactions_passes_data_quality"}
        assert all(c.passed for c in checks.values()), {n: c.description for n, c in checks.items()}
        assert "training/training_set" in materialized


@pytest.mark.slow
def test_first_day_has_no_trailing_reference_and_is_inconclusive_not_blocked(runs: dict) -> None:
    success, checks, materialized = runs["2024-10-01"]
    assert success and "training/training_set" in materialized
    for check in checks.values():
        assert not check.passed and check.severity is AssetCheckSeverity.WARN
        assert "has no rows" in check.description


@pytest.mark.slow
def test_each_partition_is_checked_against_its_three_previous_days(runs: dict) -> None:
    for i, day in enumerate(DAYS):
        drift = runs[day][1]["transactions_shows_no_drift"]
        assert drift.partition == day
        if i:
            assert drift.metadata["reference_rows"].value == 600 * min(i, 3)
            assert drift.metadata["rows"].value == 600


@pytest.mark.slow
def test_injected_drift_fails_the_blocking_check_and_the_training_set_is_not_built(runs: dict) -> None:
    success, checks, materialized = runs[DRIFT_FROM]
    drift = checks["transactions_shows_no_drift"]
    assert not success and not drift.passed and drift.blocking
    assert drift.severity is AssetCheckSeverity.ERROR
    affected = drift.metadata["affected_features"].value.split(", ")
    assert {"amount", "is_foreign"} <= set(affected) and "hour" not in affected
    assert drift.metadata["verdict"].value == "FAILED"
    assert drift.metadata["feature_magnitude/amount"].value > 0.15
    assert drift.description.startswith(f"asset features/transactions partition {DRIFT_FROM}: FAILED")
    assert "features/transactions" in materialized and "training/training_set" not in materialized
    assert DRIFT_FROM not in runs["training_partitions"] and "2024-10-04" in runs["training_partitions"]

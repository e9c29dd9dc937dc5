"""A finished retrain is recorded on the rca_report of the window it was about (issue 16), on a real instance.

Which window (:func:`jobs.retrain_target.incident_window`), what the observation says
(:func:`jobs.retrain_target.retrain_observation`), and that an op's record is read back through
``resources.history``. The end-to-end path with a real ``mlflow server`` is :mod:`tests.test_retrain_target`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetMaterialization, DagsterEventType, DagsterInstance, job, op

from drift_sentinel.config import ModelSpec, load_config
from drift_sentinel.remediation.retrain import RetrainOutcome, retrain_decision
from jobs.retrain_target import incident_window, record_on_rca_report, retrain_observation
from resources import history
from resources.keys import asset_key

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return load_config(REPO / "sentinel.yaml").models[0]


@pytest.fixture
def instance() -> DagsterInstance:
    return DagsterInstance.ephemeral()


def report(instance: DagsterInstance, spec: ModelSpec, window: str, incident: str) -> None:
    instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key=asset_key(spec, "rca_report"), partition=window, metadata={"incident_id": incident}
        )
    )


def kept() -> RetrainOutcome:
    decision = retrain_decision({"auc": 0.80}, {"auc": 0.805}, margin=0.01)
    return RetrainOutcome(
        decision=decision,
        champion_version="4",
        challenger_version="5",
        promoted=False,
        champion_metrics={"auc": 0.80},
        challenger_metrics={"auc": 0.805},
    )


def test_the_window_is_the_newest_whose_latest_report_names_the_incident(
    instance: DagsterInstance, spec: ModelSpec
) -> None:
    report(instance, spec, "2026-10-01", "inc-a")
    report(instance, spec, "2026-10-02", "inc-b")
    report(instance, spec, "2026-10-03", "inc-b")
    report(instance, spec, "2026-10-03", "inc-c")  # re-materialized: its latest report names another incident
    assert incident_window(instance, spec, "inc-b") == "2026-10-02"
    assert incident_window(instance, spec, "inc-c") == "2026-10-03"
    assert incident_window(instance, spec, "inc-a") == "2026-10-01"
    assert incident_window(instance, spec, "inc-unknown") is None


def test_a_kept_challenger_is_recorded_with_its_metrics_and_no_link_to_a_local_registry(
    spec: ModelSpec,
) -> None:
    seen = retrain_observation(
        spec,
        "2026-10-03",
        remediation_run_id="run-1",
        incident_id="inc-b",
        action="retrain_model",
        outcome="kept",
        result=kept(),
        lineage={"target": "builtin 'gradient_boosting'", "mlflow_run_id": "abc123"},
        registered_model="fraud",
        tracking_uri="sqlite:///tmp/mlflow.db",
    )
    values = {k: getattr(v, "value", v) for k, v in seen.metadata.items()}
    assert seen.asset_key == asset_key(spec, "rca_report") and seen.partition == "2026-10-03"
    assert values["outcome"] == "kept" and values["model_version"] == "5"
    assert values["previous_champion_version"] == "4" and values["mlflow_run_id"] == "abc123"
    assert values["champion_auc"] == pytest.approx(0.80) and values["challenger_auc"] == pytest.approx(0.805)
    assert "mlflow_model_version" not in values and "training_run" not in values
    assert "fraud v5 kept" in (seen.description or "") and "keep the champion" in (seen.description or "")


def test_credentials_in_the_tracking_uri_never_reach_the_link(spec: ModelSpec) -> None:
    seen = retrain_observation(
        spec,
        "2026-10-03",
        remediation_run_id="run-1",
        incident_id="inc-b",
        action="retrain_model",
        outcome="kept",
        result=kept(),
        lineage={},
        registered_model="fraud",
        tracking_uri="https://user:secret@mlflow.example.com",
    )
    assert "mlflow_model_version" not in seen.metadata
    assert not any("secret" in str(getattr(v, "value", v)) for v in seen.metadata.values())


def _record_job(spec: ModelSpec, incident: str):
    @op
    def retrained(context) -> str:  # noqa: ANN001  (dagster reads the annotation; strings are refused)
        window = record_on_rca_report(
            context,
            spec,
            incident,
            action="retrain_model",
            outcome="kept",
            result=kept(),
            lineage={"mlflow_run_id": "abc123", "training_run": {"run_id": "team-run"}},
            registered_model="fraud",
        )
        return window or ""

    @job
    def record() -> None:
        retrained()

    return record


def test_the_op_records_on_the_incident_window_and_history_reads_it_back(
    instance: DagsterInstance, spec: ModelSpec
) -> None:
    report(instance, spec, "2026-10-02", "inc-b")
    report(instance, spec, "2026-10-03", "inc-b")
    result = _record_job(spec, "inc-b").execute_in_process(instance=instance)
    assert result.output_for_node("retrained") == "2026-10-03"
    key = asset_key(spec, "rca_report")
    assert history.partition_observations(instance, key, "2026-10-02") == []
    (seen,) = history.partition_observations(instance, key, "2026-10-03")
    assert seen.run_id == result.run_id and seen.partition == "2026-10-03"
    assert seen.metadata["remediation_run"] == result.run_id and seen.metadata["training_run"] == "team-run"
    assert seen.metadata["incident_id"] == "inc-b" and seen.metadata["outcome"] == "kept"


def test_without_a_report_naming_the_incident_nothing_is_recorded_and_the_log_says_so(
    instance: DagsterInstance, spec: ModelSpec
) -> None:
    report(instance, spec, "2026-10-03", "inc-other")
    result = _record_job(spec, "inc-b").execute_in_process(instance=instance)
    assert result.output_for_node("retrained") == ""
    assert history.partition_observations(instance, asset_key(spec, "rca_report"), "2026-10-03") == []
    messages = [e.message for e in instance.all_logs(result.run_id) if e.dagster_event is None]
    assert any("names inc-b" in m and "audit trail only" in m for m in messages)
    assert not instance.all_logs(result.run_id, of_type=DagsterEventType.ASSET_OBSERVATION)

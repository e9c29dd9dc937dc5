"""One window through the real assets, then the sensor on the real materialization, then a gated remediation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, build_sensor_context

from drift_sentinel.sample_data import DEFAULT_START
from sentinel_assets.definitions import build_definitions
from sentinel_assets.demo import bootstrap_registry
from tests.support.project import Project, make_project

pytestmark = pytest.mark.slow

CLEAN_DAY = (DEFAULT_START + timedelta(days=3)).date().isoformat()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("pipeline"), days=12, rows_per_hour=60)


@pytest.fixture(scope="module")
def defs(project: Project) -> Definitions:
    return build_definitions(project.config, project.settings())


@pytest.fixture(scope="module")
def instance(project: Project, defs: Definitions) -> DagsterInstance:
    instance = DagsterInstance.ephemeral()
    spec = project.config.models[0]
    bootstrap_registry(
        defs.resources["model_registry"], spec, project.config.resolve(spec.data.training_snapshot)
    )
    assert defs.resolve_job_def("fraud_detector_v1_baseline").execute_in_process(instance=instance).success
    return instance


def _report(defs: Definitions, instance: DagsterInstance, day: str) -> dict:
    return defs.load_asset_value(
        AssetKey(["fraud_detector_v1", "drift_report"]), partition_key=day, instance=instance
    )


def test_clean_window_has_no_drift(defs: Definitions, instance: DagsterInstance) -> None:
    result = defs.resolve_job_def("fraud_detector_v1_detect").execute_in_process(
        partition_key=CLEAN_DAY, instance=instance
    )
    assert result.success
    report = _report(defs, instance, CLEAN_DAY)
    assert report["drift_detected"] is False and report["incident_id"] == ""
    window = result.asset_materializations_for_node("fraud_detector_v1__current_window")[0]
    assert window.metadata["dagster/row_count"].value > 500
    checks = result.get_asset_check_evaluations()
    assert {c.check_name: c.passed for c in checks}["current_window_passes_data_quality"] is True


def test_drifted_window_names_the_injected_features_and_requests_gated_remediation(
    project: Project, defs: Definitions, instance: DagsterInstance
) -> None:
    assert project.data.drift_start is not None
    DRIFT_DAY = (
        (project.data.drift_start + timedelta(days=1)).date().isoformat()
    )  # a whole day after the change
    result = defs.resolve_job_def("fraud_detector_v1_detect").execute_in_process(
        partition_key=DRIFT_DAY, instance=instance
    )
    assert result.success
    report = _report(defs, instance, DRIFT_DAY)
    assert report["drift_detected"] is True and report["incident_id"].startswith("inc-fraud-detector-v1-")
    affected = {a["name"] for a in report["affected_features"]}
    assert set(project.data.drifted_features) <= affected

    materialization = result.asset_materializations_for_node("fraud_detector_v1__drift_report")[0]
    assert materialization.metadata["n_drifted"].value == len(affected)
    assert 0.0 < materialization.metadata["drift_score"].value <= 1.0

    sensor = defs.resolve_sensor_def("fraud_detector_v1_remediation_on_rca_report")
    tick = sensor.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs, sensor_name=sensor.name)
    )
    assert tick.run_requests, tick.skip_message
    keys = {r.run_key for r in tick.run_requests}
    assert f"{report['incident_id']}:notify_team" in keys
    assert all(r.tags["sentinel/incident"] == report["incident_id"] for r in tick.run_requests)

    # the cursor moved: the next tick sees nothing new
    again = sensor.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs, sensor_name=sensor.name, cursor=tick.cursor)
    )
    assert not again.run_requests

    notify = next(r for r in tick.run_requests if r.job_name == "remediate_notify_team")
    run = defs.resolve_job_def("remediate_notify_team").execute_in_process(
        run_config=notify.run_config, instance=instance, tags=notify.tags
    )
    assert run.success
    assert instance.get_run_by_id(run.run_id).tags["sentinel/gate"] == "PASSED"
    outbox = project.settings().outbox_path.read_text()
    assert report["incident_id"] in outbox

    # the same incident again, at once: the gate refuses (cooldown since the action that just ran)
    second = defs.resolve_job_def("remediate_notify_team").execute_in_process(
        run_config=notify.run_config, instance=instance, tags=notify.tags
    )
    assert second.success  # the gate withholds its plan; nothing fails, nothing acts
    assert instance.get_run_by_id(second.run_id).tags["sentinel/gate"] != "PASSED"
    assert "notify_team" not in {e.step_key for e in second.get_step_success_events()}


def test_applied_thresholds_take_effect_on_the_next_window(
    project: Project, defs: Definitions, instance: DagsterInstance
) -> None:
    """A threshold version applied to the store (as update_thresholds does) changes the next drift_report."""
    from drift_sentinel.remediation.thresholds import effective_thresholds

    assert project.data.drift_start is not None
    day = (project.data.drift_start + timedelta(days=2)).date().isoformat()
    spec = project.config.models[0]
    store = defs.resources["threshold_store"].store
    configured = effective_thresholds(spec.detection)
    deaf = {"*": {name: 1e9 for name in configured["*"]}}
    store.apply(spec.id, configured, actor="test", reason="baseline: the configured thresholds")
    store.apply(spec.id, deaf, actor="test", reason="thresholds no effect size can pass")
    try:
        result = defs.resolve_job_def("fraud_detector_v1_detect").execute_in_process(
            partition_key=day, instance=instance
        )
        report = _report(defs, instance, day)
        materialization = result.asset_materializations_for_node("fraud_detector_v1__drift_report")[0]
        assert materialization.metadata["thresholds"].value == "stored version"
        assert not any(a["drift_type"] == "distribution" for a in report["affected_features"]), report
    finally:
        store.revert(spec.id, actor="test", reason="back to the configured thresholds")

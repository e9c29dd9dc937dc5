"""A performance breach feeds the loop: the detect job's rca_report opens an incident for it and acts on it.

A quiet window (no drift) of a model whose requirement it cannot meet (accuracy >= 0.99): the performance report
breaches on the realized accuracy, the RCA finds nothing in the data, so the window's rca_report opens an incident
for the breach (by the drift incidents' rule), cites it as evidence and recommends retraining (enough labels).
"""

from __future__ import annotations

import pytest
import yaml
from dagster import AssetKey, DagsterInstance

from drift_sentinel.incidents import incident_id
from sentinel_assets.definitions import build_definitions
from sentinel_assets.demo import bootstrap_registry
from tests.support.project import make_project

pytestmark = pytest.mark.slow

PREFIX = "fraud_detector_v1"


def test_a_performance_breach_opens_an_incident_with_the_policys_action(tmp_path) -> None:
    project = make_project(tmp_path, days=4, rows_per_hour=20, scenario="none")
    config = yaml.safe_load(project.config_file.read_text())
    config["models"][0]["performance"] = {"metric": "accuracy", "min": 0.99, "use_estimate": True}
    project.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    defs = build_definitions(project.config, project.settings())
    spec = project.config.models[0]
    bootstrap_registry(
        defs.resources["model_registry"], spec, project.config.resolve(spec.data.training_snapshot)
    )
    instance = DagsterInstance.ephemeral()
    assert defs.resolve_job_def(f"{PREFIX}_baseline").execute_in_process(instance=instance).success

    day = "2026-10-02"
    result = defs.resolve_job_def(f"{PREFIX}_detect").execute_in_process(partition_key=day, instance=instance)
    assert result.success
    performance = result.asset_materializations_for_node(f"{PREFIX}__performance_report")[0].metadata
    assert performance["verdict"].value == "FAILED" and performance["breached_by"].value == "realized"
    drift = result.asset_materializations_for_node(f"{PREFIX}__drift_report")[0].metadata
    assert drift["incident_id"].value == ""  # no data drift: the drift report opened nothing

    rca = defs.load_asset_value(AssetKey([PREFIX, "rca_report"]), partition_key=day, instance=instance)
    assert rca["incident_id"] == incident_id(spec.id, day)
    assert rca["opened_by"].startswith("performance (realized accuracy")
    assert any(line.startswith("performance: realized accuracy") for line in rca["root_cause"]["evidence"])
    assert rca["root_cause"]["type"] == "unknown", rca["root_cause"]  # nothing in the data explains it
    assert rca["recommended_action"] == "retrain_model"  # > 200 realized labels in a complete window
    assert rca["recommendations"][0]["action"] == "retrain_model"
    metadata = result.asset_materializations_for_node(f"{PREFIX}__rca_report")[0].metadata
    assert metadata["incident_id"].value == rca["incident_id"]

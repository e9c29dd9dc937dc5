"""``performance_report`` end to end on a generated project: real windows, a real MLflow champion, real Dagster runs.

The generator's served score is calibrated before its ``concept_drift`` (the fraud pattern changes on day 10,
labels only) and labels arrive 36 h late, so: a quiet window passes on realized and estimated accuracy; a
drifted window whose labels are in breaches on its realized accuracy while the estimate (which cannot see concept
drift) does not; the last window has no label yet and is judged on its estimate alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, AssetsDefinition, AssetSelection, DagsterInstance, Definitions, materialize

from drift_sentinel.performance import realized_metrics
from sentinel_assets.definitions import build_definitions
from sentinel_assets.demo import bootstrap_registry
from tests.support.project import Project, make_project

pytestmark = pytest.mark.slow

PREFIX = "fraud_detector_v1"


def _run(
    defs: Definitions, instance: DagsterInstance, names: list[str], partition: str | None
) -> dict[str, Any]:
    assets = [a for a in defs.assets if isinstance(a, AssetsDefinition)]
    result = materialize(
        assets,
        selection=AssetSelection.assets(*[AssetKey([PREFIX, n]) for n in names]),
        partition_key=partition,
        resources=defs.resources,
        instance=instance,
    )
    assert result.success
    return {
        n: result.asset_materializations_for_node(f"{PREFIX}__{n}")[0].metadata
        for n in names
        if result.asset_materializations_for_node(f"{PREFIX}__{n}")
    }


def _window(defs: Definitions, instance: DagsterInstance, day: str) -> tuple[dict[str, Any], Any]:
    meta = _run(defs, instance, ["current_window", "performance_report"], day)["performance_report"]
    value = defs.load_asset_value(
        AssetKey([PREFIX, "performance_report"]), partition_key=day, instance=instance
    )
    return {k: v.value for k, v in meta.items()}, value


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Definitions, DagsterInstance]:
    project = make_project(
        tmp_path_factory.mktemp("perf"), days=12, rows_per_hour=20, scenario="concept_drift"
    )
    defs = build_definitions(project.config, project.settings())
    spec = project.config.models[0]
    bootstrap_registry(
        defs.resources["model_registry"], spec, project.config.resolve(spec.data.training_snapshot)
    )
    instance = DagsterInstance.ephemeral()
    _run(defs, instance, ["reference_window"], None)
    return project, defs, instance


def test_quiet_window_has_realized_and_estimated_metrics_as_plain_floats(project) -> None:
    _, defs, instance = project
    meta, value = _window(defs, instance, "2026-10-03")
    for key in ("accuracy", "accuracy_estimated", "roc_auc", "roc_auc_estimated", "labelled_fraction"):
        assert type(meta[key]) is float, key
    assert meta["labelled_fraction"] == 1.0
    assert meta["verdict"] == "PASSED" and meta["breached_by"] == "none"
    assert meta["reference_scores"].startswith("champion v") and meta["model_version"]
    # the realized numbers are the core's on the stored window, exactly
    window = defs.load_asset_value(
        AssetKey([PREFIX, "current_window"]), partition_key="2026-10-03", instance=instance
    )
    realized = realized_metrics(window, min_samples=100)
    assert meta["accuracy"] == realized.accuracy and meta["roc_auc"] == realized.roc_auc
    # the estimate's interval holds the realized accuracy on a calibrated window
    assert meta["accuracy_estimated_lower"] <= realized.accuracy <= meta["accuracy_estimated_upper"]
    assert value["window"] == "2026-10-03" and value["estimated"]["method"] == "CBPE"


def test_concept_drift_breaches_on_realized_accuracy(project) -> None:
    _, defs, instance = project
    meta, value = _window(defs, instance, "2026-10-10")
    assert meta["labelled_fraction"] == 1.0
    assert meta["verdict"] == "FAILED" and meta["breached_by"] == "realized"
    assert meta["accuracy"] < 0.85 <= meta["accuracy_estimated"]  # CBPE cannot see concept drift
    assert meta["performance_value"] == meta["accuracy"]
    assert value["reason"].startswith("realized accuracy")


def test_unlabelled_window_is_judged_on_its_estimate(project) -> None:
    _, defs, instance = project
    meta, _ = _window(defs, instance, "2026-10-12")
    assert meta["labelled_fraction"] == 0.0
    assert "accuracy" not in meta and "roc_auc" not in meta  # undefined metrics are left out, not zero
    assert meta["verdict"] == "PASSED" and meta["performance_value"] == meta["accuracy_estimated"]


def test_without_a_champion_the_estimate_is_inconclusive_and_nothing_raises(tmp_path: Path) -> None:
    project = make_project(tmp_path, days=3, rows_per_hour=20, scenario="none")
    defs = build_definitions(project.config, project.settings())
    instance = DagsterInstance.ephemeral()
    _run(defs, instance, ["reference_window"], None)
    meta, value = _window(defs, instance, "2026-10-01")
    assert "accuracy_estimated" not in meta and "accuracy" in meta
    assert value["estimated"]["verdict"] == "INCONCLUSIVE"
    assert "no prediction scores" in value["estimated"]["reason"]
    assert meta["reference_scores"].startswith(
        "none: the reference has no column 'prediction' and no champion"
    )
    assert meta["verdict"] == "PASSED"  # the realized accuracy is conclusive


def test_late_labels_redo_the_report_through_the_detect_job(project) -> None:
    """The late-data sensor redoes a window with the detect job: the report is in it, and a second run of the
    window (its labels arrived) replaces the report's realized figures."""
    _, defs, instance = project
    key = AssetKey([PREFIX, "performance_report"])
    assert key in defs.resolve_job_def(f"{PREFIX}_detect").asset_layer.executable_asset_keys
    condition = defs.resolve_assets_def(key).specs_by_key[key].automation_condition
    assert condition is not None and "newest closed window" in condition.get_label()
    first, _ = _window(defs, instance, "2026-10-04")
    again, _ = _window(defs, instance, "2026-10-04")
    assert again["accuracy"] == first["accuracy"]  # same labels, same figures: the redo is idempotent


def test_exporter_reads_the_real_reports(project) -> None:
    """model_accuracy: the newest window with a realized accuracy; its estimated twin: the newest window's."""
    from resources.exporter import ModelRef, SentinelCollector

    _, defs, instance = project
    _window(defs, instance, "2026-10-05")
    newest, _ = _window(defs, instance, "2026-10-12")  # no label yet
    collector = SentinelCollector(instance=instance, models=[ModelRef("fraud-detector-v1", PREFIX)])
    families = {f.name: f.samples[0].value for f in collector.collect() if f.samples}
    assert families["drift_sentinel_model_accuracy_estimated"] == pytest.approx(newest["accuracy_estimated"])
    assert families["drift_sentinel_labelled_fraction"] == 0.0
    records = instance.fetch_materializations(AssetKey([PREFIX, "performance_report"]), limit=100).records
    latest = {}
    for record in records:  # newest first
        latest.setdefault(record.partition_key, record.asset_materialization.metadata)
    labelled = max(k for k, md in latest.items() if "accuracy" in md)
    assert labelled < "2026-10-12"
    assert families["drift_sentinel_model_accuracy"] == pytest.approx(latest[labelled]["accuracy"].value)

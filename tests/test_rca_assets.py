"""The Dagster RCA layer end to end: for every generator scenario with a known cause, ``rca_report`` names it first.

Each scenario gets one small generated project (few days, 20 rows per hour), one ephemeral instance, the
champion registered in a local MLflow (``bootstrap_registry``) and the baseline job; then the real per-window
detect job (windows, drift, signals, events, anomalies, RCA) runs on the windows around the injected change.
Assertions read what a user sees: the stored ``rca_report`` values and the materializations' metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import AssetKey, DagsterInstance, Definitions, materialize

from sentinel_assets.definitions import build_definitions
from sentinel_assets.demo import bootstrap_registry
from tests.support.project import Project, make_project

pytestmark = pytest.mark.slow

PREFIX = "fraud_detector_v1"
ROWS_PER_HOUR = 20


@dataclass
class Run:
    """One scenario's project, definitions and instance; ``detect(day)`` runs the per-window job."""

    project: Project
    defs: Definitions
    instance: DagsterInstance
    done: dict[str, dict[str, Any]] = field(default_factory=dict)

    def day(self, offset_days: int, base: Any = None) -> str:
        base = base or self.project.data.drift_start
        return (base + timedelta(days=offset_days)).date().isoformat()

    def detect(self, day: str) -> dict[str, Any]:
        result = self.defs.resolve_job_def(f"{PREFIX}_detect").execute_in_process(
            partition_key=day, instance=self.instance
        )
        assert result.success
        self.done[day] = {
            name: result.asset_materializations_for_node(f"{PREFIX}__{name}")[0].metadata
            for name in ("rca_report", "signal_anomalies", "system_signals", "external_events")
        }
        return self.done[day]

    def ensure(self, day: str) -> dict[str, Any]:
        """The detect job's metadata for ``day``, running it only if this module has not yet."""
        return self.done[day] if day in self.done else self.detect(day)

    def value(self, name: str, day: str | None = None) -> Any:
        return self.defs.load_asset_value(AssetKey([PREFIX, name]), partition_key=day, instance=self.instance)


def _setup(root: Path, scenario: str, days: int) -> Run:
    project = make_project(root, days=days, rows_per_hour=ROWS_PER_HOUR, scenario=scenario)
    # the windows cover exactly the generated range (month_end_amount starts in August)
    config = yaml.safe_load(project.config_file.read_text())
    config["models"][0]["window"]["start"] = project.data.start.date().isoformat()
    config["models"][0]["window"]["end"] = project.data.end.date().isoformat()
    project.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    defs = build_definitions(project.config, project.settings())
    instance = DagsterInstance.ephemeral()
    spec = project.config.models[0]
    bootstrap_registry(
        defs.resources["model_registry"], spec, project.config.resolve(spec.data.training_snapshot)
    )
    assert defs.resolve_job_def(f"{PREFIX}_baseline").execute_in_process(instance=instance).success
    return Run(project, defs, instance)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int], Run]:
    """One set-up per scenario for the whole module (tests of one scenario share its instance)."""
    runs: dict[str, Run] = {}

    def get(name: str, days: int = 6) -> Run:
        if name not in runs:
            runs[name] = _setup(tmp_path_factory.mktemp(name), name, days)
        return runs[name]

    return get


def _v(metadata: dict[str, Any], key: str) -> Any:
    return metadata[key].value


def _first_factor(report: dict[str, Any]) -> str:
    return report["root_cause"]["contributing_factors"][0]["factor"]


def _assert_ui_contract(metadata: dict[str, Any], report: dict[str, Any]) -> None:
    """Confidence and top factors as plottable numbers, the report as Markdown, matching the stored value."""
    assert isinstance(_v(metadata, "confidence"), float)
    assert _v(metadata, "confidence") == pytest.approx(report["root_cause"]["confidence"])
    factors = report["root_cause"]["contributing_factors"]
    assert sum(f["weight"] for f in factors) == pytest.approx(1.0)
    for factor in factors[:5]:
        assert _v(metadata, f"factor_weight/{factor['factor']}") == pytest.approx(factor["weight"])
    markdown = _v(metadata, "report")
    assert markdown.startswith("## Root cause for incident") and report["incident_id"] in markdown
    assert "**Pipeline vs world**" in markdown
    assert _v(metadata, "incident_id") == report["incident_id"]
    assert _v(metadata, "recommended_action") == report["recommended_action"]


def test_new_device_after_deploy_names_the_deploy_also_a_day_later(scenario) -> None:
    run = scenario("new_device_after_deploy")
    data = run.project.data
    onset_day, next_day = run.day(0), run.day(1)
    first = run.ensure(onset_day)
    report = run.value("rca_report", onset_day)
    assert report["root_cause"]["cause"] == "deploy:mobile-app" == _first_factor(report)
    assert report["root_cause"]["cause"].split(":")[0] == data.expected_cause
    assert report["root_cause"]["feature"] == "device_id" and report["root_cause"]["type"] == "data_drift"
    _assert_ui_contract(first["rca_report"], report)
    assert report["onset_window"] == onset_day and report["opened_by"] == "drift_report"
    events = run.value("external_events", onset_day)
    assert "mobile-app" in set(events["source"])

    # the next window continues the incident; the deploy is a day old and not among its own events
    later = run.detect(next_day)
    continued = run.value("rca_report", next_day)
    assert continued["incident_id"] == report["incident_id"]
    assert "mobile-app" not in set(run.value("external_events", next_day)["source"])
    assert continued["onset_window"] == onset_day
    assert continued["root_cause"]["cause"] == "deploy:mobile-app" == _first_factor(continued)
    onset = datetime.fromisoformat(continued["timeline"]["onset"])
    assert abs(onset - data.drift_start) < timedelta(hours=1)
    assert _v(later["rca_report"], "onset_window") == onset_day


def test_pipeline_code_change_in_the_window_is_named_over_the_world(scenario) -> None:
    """Same drift, but the window's input came from new pipeline code: the pipeline is blamed, not the deploy."""
    from dagster import AssetMaterialization

    run = scenario("new_device_after_deploy")
    day, before = run.day(0), run.day(-1)
    run.ensure(day)
    key = AssetKey([PREFIX, "current_window"])
    for partition, version in ((before, "window-code-1"), (day, "window-code-2")):
        run.instance.report_runless_asset_event(
            AssetMaterialization(key, partition=partition, tags={"dagster/code_version": version})
        )
    assets = list(run.defs.resolve_asset_graph().assets_defs)
    result = materialize(
        assets,
        selection=[AssetKey([PREFIX, "rca_report"])],
        partition_key=day,
        instance=run.instance,
    )
    assert result.success
    report = run.value("rca_report", day)
    assert report["pipeline"]["code_version_changes"] == [
        {"asset": "current_window", "old": "window-code-1", "new": "window-code-2", "time": None}
    ]
    assert report["root_cause"]["type"] == "upstream_pipeline_change"
    assert _first_factor(report) == "pipeline:current_window"
    assert report["recommended_action"] == "notify_team"
    metadata = result.asset_materializations_for_node(f"{PREFIX}__rca_report")[0].metadata
    assert _v(metadata, "pipeline/code_version_changes") == 1
    assert "code version of `current_window`: window-code-1 → window-code-2" in _v(metadata, "report")


def test_latency_incident_without_data_drift_opens_an_incident_from_the_signals(scenario) -> None:
    run = scenario("latency_incident")
    data = run.project.data
    quiet = [run.day(-2), run.day(-1)]
    for day in quiet:  # two clean windows: the trailing history Prophet is fitted on
        metadata = run.detect(day)
        assert _v(metadata["rca_report"], "incident_id") == ""
        assert run.value("rca_report", day)["incident_id"] is None
    incident_day = run.day(0)
    metadata = run.detect(incident_day)
    assert run.value("drift_report", incident_day)["incident_id"] == ""  # no data drift at all
    report = run.value("rca_report", incident_day)
    assert report["root_cause"]["cause"] == "upstream_incident:payments-gateway" == _first_factor(report)
    assert report["root_cause"]["cause"].split(":")[0] == data.expected_cause
    assert report["root_cause"]["type"] == "infrastructure"
    assert report["recommended_action"] == "scale_resources"
    assert report["opened_by"] == "signals (infrastructure)"
    assert report["incident_id"].startswith("inc-fraud-detector-v1-")
    _assert_ui_contract(metadata["rca_report"], report)

    # the signal assets behind it
    signals = metadata["system_signals"]
    assert _v(signals, "dagster/row_count") == 24 * 12  # 5-minute bins of one day
    assert _v(signals, "latency_p95_max") > 3 * _v(signals, "latency_p95_median")
    anomalies = metadata["signal_anomalies"]
    assert isinstance(_v(anomalies, "n_anomalies"), int) and _v(anomalies, "n_anomalies") > 0
    assert _v(anomalies, "window_minutes") == 24 * 60
    assert _v(anomalies, "history_bins") == 2 * 24 * 12
    assert "latency_p95" in _v(anomalies, "prophet_signals")
    stored = run.value("signal_anomalies", incident_day)
    prophet = stored[(stored["method"] == "prophet") & (stored["signal"] == "latency_p95")]
    flagged = prophet[prophet["is_anomaly"].astype(bool)]["timestamp"]
    start, end = data.drift_start, data.drift_start + timedelta(hours=3)
    assert len(flagged) >= 2 and all(start - timedelta(hours=1) <= t < end for t in flagged)

    # the sensor reads the incident from the rca_report materialization like any other
    from dagster import build_sensor_context

    sensor = run.defs.resolve_sensor_def(f"{PREFIX}_remediation_on_rca_report")
    tick = sensor.evaluate_tick(
        build_sensor_context(instance=run.instance, definitions=run.defs, sensor_name=sensor.name)
    )
    assert f"{report['incident_id']}:notify_team" in {r.run_key for r in tick.run_requests or []}

    # the PyOD detector is run config of signal_anomalies (Isolation Forest by default)
    op = f"{PREFIX}__signal_anomalies"
    rerun = run.defs.resolve_job_def(f"{PREFIX}_detect").execute_in_process(
        partition_key=incident_day,
        instance=run.instance,
        run_config={"ops": {op: {"config": {"detector": "lof", "contamination": 0.05}}}},
    )
    assert rerun.success
    lof = rerun.asset_materializations_for_node(op)[0].metadata
    assert _v(lof, "detector") == "lof" and _v(lof, "n_pyod_anomalies") > 0
    assert set(run.value("signal_anomalies", incident_day)["method"]) == {"lof", "prophet"}
    assert run.value("rca_report", incident_day)["incident_id"] == report["incident_id"]


def test_label_only_concept_drift_opens_an_incident_from_the_labels(scenario) -> None:
    run = scenario("concept_drift")
    day = run.day(0)
    metadata = run.detect(day)
    assert run.value("drift_report", day)["incident_id"] == ""
    report = run.value("rca_report", day)
    assert report["root_cause"]["cause"] == run.project.data.expected_cause == _first_factor(report)
    assert report["root_cause"]["type"] == "concept_drift"
    assert report["recommended_action"] == "retrain_model"
    assert report["opened_by"] == "signals (concept_drift)"
    _assert_ui_contract(metadata["rca_report"], report)


def test_month_end_shift_recurs_and_the_pattern_library_counts_it(scenario) -> None:
    run = scenario("month_end_amount", 45)
    data = run.project.data
    august = run.day(0)  # the first month end
    september = run.day(30)  # 2026-09-28, the next month end
    assert (august, september) == ("2026-08-29", "2026-09-28")
    run.detect(august)
    first = run.value("rca_report", august)
    assert _first_factor(first) == "end_of_month_seasonality" and first["recurrence"] is None
    metadata = run.detect(september)["rca_report"]
    report = run.value("rca_report", september)
    assert report["incident_id"] != first["incident_id"]
    assert report["root_cause"]["cause"] == data.expected_cause == _first_factor(report)
    assert report["root_cause"]["type"] == "seasonality" and report["root_cause"]["feature"] == "amount"
    assert report["recurrence"]["recurrences"] == 1
    assert report["recurrence"]["incident_ids"] == [first["incident_id"]]
    assert report["recommended_action"] == "update_thresholds"
    assert _v(metadata, "recurrences") == 1
    assert _v(metadata, "signature")["incident_id"] == report["incident_id"]
    _assert_ui_contract(metadata, report)

    patterns = run.defs.resolve_job_def(f"{PREFIX}_patterns").execute_in_process(instance=run.instance)
    assert patterns.success
    library = run.value("recurring_patterns")
    assert [(p["pattern"], p["count"], p["features"][0]) for p in library] == [
        ("end_of_month_seasonality", 2, "amount")
    ]
    assert library[0]["incident_ids"] == [first["incident_id"], report["incident_id"]]
    meta = patterns.asset_materializations_for_node(f"{PREFIX}__recurring_patterns")[0].metadata
    assert _v(meta, "n_patterns") == 1 and _v(meta, "max_recurrence") == 2

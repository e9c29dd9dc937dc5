"""The Prometheus exporter, scraped over HTTP and parsed with prometheus-client's own parser.

Small stand-in assets with the same keys and metadata contract as the real per-model assets are materialized
into a real (SQLite, temp-dir) Dagster instance, and real remediation-shaped runs (``remediate_<action>`` jobs
with the ``sentinel/*`` tags) are executed in it; the exporter then reads that instance.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetKey,
    DagsterInstance,
    MaterializeResult,
    StaticPartitionsDefinition,
    asset,
    job,
    materialize,
    op,
)
from prometheus_client.parser import text_string_to_metric_families

from resources.exporter import METRICS, ModelRef, SentinelCollector, models_from_config, serve
from tests.support.servers import free_port

FRAUD = ModelRef("fraud-detector-v1", "fraud_detector_v1")
CHURN = ModelRef("churn-model", "churn_model")
LEGACY = ModelRef("legacy-model", "legacy_model")  # no performance_report: accuracy from current_window
PARTITIONS = StaticPartitionsDefinition(["2026-10-01-00:00", "2026-10-01-01:00"])
TAGS = {"sentinel/model": FRAUD.model_id, "sentinel/actor": "sensor"}

# metadata per partition: the later partition is materialized FIRST, then the earlier one is backfilled
DRIFT = {
    "2026-10-01-01:00": {
        "drift_score": 0.91,
        "n_drifted": 2,
        "drift_detected": True,
        "verdict": "FAILED",
        "incident_id": "inc-late",
        "feature_magnitude/amount": 0.7,
        "feature_magnitude/location": 0.4,
    },
    "2026-10-01-00:00": {
        "drift_score": 0.12,
        "n_drifted": 0,
        "drift_detected": False,
        "verdict": "PASSED",
        "incident_id": "inc-early",
        "feature_magnitude/amount": 0.05,
        "feature_magnitude/location": 0.01,
    },
}
WINDOW = {
    "2026-10-01-01:00": {
        "dagster/row_count": 1200,
        "accuracy": 0.87,
        "error_rate": 0.02,
        "latency_p95_ms": 140.5,
    },
    "2026-10-01-00:00": {
        "dagster/row_count": 900,
        "accuracy": 0.97,
        "error_rate": 0.01,
        "latency_p95_ms": 90.0,
    },
}
# the newest window has too few labels for a realized accuracy yet (labels arrive late): realized figures come
# from the newest window that has them, estimated ones and the breach flag from the newest window
PERFORMANCE = {
    "2026-10-01-01:00": {
        "accuracy_estimated": 0.88,
        "accuracy_estimated_lower": 0.84,
        "accuracy_estimated_upper": 0.92,
        "roc_auc_estimated": 0.81,
        "labelled_fraction": 0.05,
        "verdict": "FAILED",
    },
    "2026-10-01-00:00": {
        "accuracy": 0.93,
        "accuracy_estimated": 0.95,
        "roc_auc": 0.9,
        "roc_auc_estimated": 0.91,
        "labelled_fraction": 1.0,
        "verdict": "PASSED",
    },
}


def _model_assets(prefix: str, *, performance: bool = True) -> list:
    @asset(key=AssetKey([prefix, "current_window"]), partitions_def=PARTITIONS)
    def current_window(context) -> MaterializeResult:
        return MaterializeResult(metadata=WINDOW[context.partition_key])

    @asset(key=AssetKey([prefix, "drift_report"]), partitions_def=PARTITIONS)
    def drift_report(context) -> MaterializeResult:
        return MaterializeResult(metadata=DRIFT[context.partition_key])

    @asset(key=AssetKey([prefix, "signal_anomalies"]), partitions_def=PARTITIONS)
    def signal_anomalies(context) -> MaterializeResult:
        return MaterializeResult(metadata={"n_anomalies": 6, "window_minutes": 60})

    @asset(key=AssetKey([prefix, "rca_report"]), partitions_def=PARTITIONS)
    def rca_report(context) -> MaterializeResult:
        return MaterializeResult(
            metadata={"confidence": 0.8, "root_cause": "amount shift", "recommended_action": "rollback_model"}
        )

    @asset(key=AssetKey([prefix, "performance_report"]), partitions_def=PARTITIONS)
    def performance_report(context) -> MaterializeResult:
        return MaterializeResult(metadata=PERFORMANCE[context.partition_key])

    assets = [current_window, drift_report, signal_anomalies, rca_report]
    return [*assets, performance_report] if performance else assets


@op
def act() -> None:
    pass


@op
def act_and_fail() -> None:
    raise RuntimeError("notification channel down")


@job
def remediate_rollback_model() -> None:
    act()


@job
def remediate_notify_team() -> None:
    act_and_fail()


@job
def backfill_helper() -> None:  # tagged with the model but not a remediation: must not be counted
    act()


def populate(instance: DagsterInstance) -> None:
    assets = _model_assets(FRAUD.asset_prefix)
    legacy = _model_assets(LEGACY.asset_prefix, performance=False)
    for partition in ["2026-10-01-01:00", "2026-10-01-00:00"]:
        assert materialize(assets, partition_key=partition, instance=instance).success
        assert materialize(legacy, partition_key=partition, instance=instance).success
    ok = remediate_rollback_model.execute_in_process(
        instance=instance,
        tags={**TAGS, "sentinel/incident": "inc-late", "sentinel/action": "rollback_model"},
    )
    assert ok.success
    failed = remediate_notify_team.execute_in_process(
        instance=instance,
        tags={**TAGS, "sentinel/incident": "inc-early", "sentinel/action": "notify_team"},
        raise_on_error=False,
    )
    assert not failed.success
    assert backfill_helper.execute_in_process(instance=instance, tags=TAGS).success


@pytest.fixture(scope="module")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


@pytest.fixture(scope="module")
def instance(dagster_home: Path) -> Iterator[DagsterInstance]:
    with DagsterInstance.from_config(str(dagster_home)) as inst:
        populate(inst)
        yield inst


@pytest.fixture(scope="module")
def scraped(instance: DagsterInstance) -> dict:
    collector = SentinelCollector(instance=instance, models=[FRAUD, CHURN, LEGACY])
    server, thread = serve(collector, host="127.0.0.1", port=0)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
            text = response.read().decode()
            content_type = response.headers["Content-Type"]
        try:
            urllib.request.urlopen(base + "/health", timeout=30)
            health_status = 200
        except urllib.error.HTTPError as exc:
            health_status = exc.code
            health = json.loads(exc.read())
        else:
            health = None
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base + "/nope", timeout=5)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    return {
        "text": text,
        "content_type": content_type,
        "families": {f.name: f for f in text_string_to_metric_families(text)},
        "health_status": health_status,
        "health": health,
        "missing": missing.value.code,
    }


def _samples(scraped: dict, family: str, **labels: str) -> list:
    return [
        s
        for s in scraped["families"][family].samples
        if all(s.labels.get(k) == v for k, v in labels.items()) and not s.name.endswith("_created")
    ]


def _value(scraped: dict, family: str, **labels: str) -> float:
    found = _samples(scraped, family, **labels)
    assert len(found) == 1, (family, labels, found)
    return found[0].value


def test_metrics_endpoint_publishes_every_declared_family(scraped: dict) -> None:
    assert scraped["content_type"].startswith("text/plain")
    assert set(scraped["families"]) == set(METRICS)
    for name, family in scraped["families"].items():
        assert family.type == METRICS[name][0]


def test_latest_partition_wins_over_a_later_backfill(scraped: dict) -> None:
    model = {"model": FRAUD.model_id}
    assert _value(scraped, "drift_sentinel_drift_score", **model) == pytest.approx(0.91)
    assert _value(scraped, "drift_sentinel_drift_detected", **model) == 1.0
    assert _value(scraped, "drift_sentinel_drifted_features", **model) == 2.0
    assert _value(
        scraped, "drift_sentinel_feature_drift_magnitude", feature="amount", **model
    ) == pytest.approx(0.7)
    assert _value(
        scraped, "drift_sentinel_feature_drift_magnitude", feature="location", **model
    ) == pytest.approx(0.4)
    assert _value(scraped, "drift_sentinel_model_accuracy", model=LEGACY.model_id) == pytest.approx(0.87)
    assert _value(scraped, "drift_sentinel_error_rate", **model) == pytest.approx(0.02)
    assert _value(scraped, "drift_sentinel_latency_p95_ms", **model) == pytest.approx(140.5)
    assert _value(scraped, "drift_sentinel_window_rows", **model) == 1200


def test_anomalies_rca_and_freshness(scraped: dict) -> None:
    model = {"model": FRAUD.model_id}
    assert _value(scraped, "drift_sentinel_signal_anomalies", **model) == 6
    assert _value(scraped, "drift_sentinel_anomalies_per_minute", **model) == pytest.approx(6 / 60)
    assert _value(scraped, "drift_sentinel_rca_confidence", **model) == pytest.approx(0.8)
    info = _samples(scraped, "drift_sentinel_rca_info", **model)
    assert [(s.labels["root_cause"], s.labels["recommended_action"], s.value) for s in info] == [
        ("amount shift", "rollback_model", 1.0)
    ]
    stamps = _samples(scraped, "drift_sentinel_last_materialization_timestamp_seconds", **model)
    assert {s.labels["asset"] for s in stamps} == {
        "current_window",
        "drift_report",
        "rca_report",
        "signal_anomalies",
        "performance_report",
    }
    for s in stamps:
        assert time.time() - 600 < s.value <= time.time()


def test_model_accuracy_realized_from_the_newest_labelled_window_and_its_estimated_twin(
    scraped: dict,
) -> None:
    model = {"model": FRAUD.model_id}
    # realized: the newest window has no realized accuracy yet, so the previous window's (not current_window's)
    assert _value(scraped, "drift_sentinel_model_accuracy", **model) == pytest.approx(0.93)
    assert _value(scraped, "drift_sentinel_model_roc_auc", **model) == pytest.approx(0.9)
    # estimated and the breach: the newest window
    assert _value(scraped, "drift_sentinel_model_accuracy_estimated", **model) == pytest.approx(0.88)
    assert _value(scraped, "drift_sentinel_model_accuracy_estimated_lower", **model) == pytest.approx(0.84)
    assert _value(scraped, "drift_sentinel_model_accuracy_estimated_upper", **model) == pytest.approx(0.92)
    assert _value(scraped, "drift_sentinel_model_roc_auc_estimated", **model) == pytest.approx(0.81)
    assert _value(scraped, "drift_sentinel_labelled_fraction", **model) == pytest.approx(0.05)
    assert _value(scraped, "drift_sentinel_performance_breach", **model) == 1.0
    # a model without performance_report publishes no estimate
    assert not _samples(scraped, "drift_sentinel_model_accuracy_estimated", model=LEGACY.model_id)


def test_alert_rules_and_ml_performance_dashboard_use_the_performance_metrics() -> None:
    root = Path(__file__).resolve().parents[1] / "deploy"
    rules = {
        r["alert"]: r
        for group in yaml.safe_load((root / "prometheus" / "alert_rules.yml").read_text())["groups"]
        for r in group["rules"]
    }
    below = rules["ModelAccuracyBelowThreshold"]
    assert re.fullmatch(
        r"drift_sentinel_model_accuracy < 0\.85 or drift_sentinel_model_accuracy_estimated < 0\.85",
        below["expr"],
    )
    assert below["labels"]["severity"] == "critical" and below["for"] == "15m"
    estimated = rules["ModelAccuracyEstimatedLow"]
    assert estimated["expr"] == "drift_sentinel_model_accuracy_estimated < 0.9" and estimated["for"] == "15m"
    assert estimated["labels"]["severity"] == "warning"
    assert rules["ModelPerformanceBreach"]["expr"] == "drift_sentinel_performance_breach == 1"
    board = json.loads((root / "grafana" / "ml_performance.json").read_text())
    exprs = {target["expr"].split("{")[0] for panel in board["panels"] for target in panel["targets"]}
    for name in (
        "drift_sentinel_model_accuracy",
        "drift_sentinel_model_accuracy_estimated",
        "drift_sentinel_model_accuracy_estimated_lower",
        "drift_sentinel_model_accuracy_estimated_upper",
        "drift_sentinel_model_roc_auc",
        "drift_sentinel_model_roc_auc_estimated",
        "drift_sentinel_labelled_fraction",
        "drift_sentinel_performance_breach",
    ):
        assert name in exprs and name in METRICS, name
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))


def test_remediation_runs_success_rate_and_incidents(scraped: dict) -> None:
    model = {"model": FRAUD.model_id}
    runs = {
        (s.labels["action"], s.labels["status"]): s.value
        for s in _samples(scraped, "drift_sentinel_remediation_runs", **model)
        if s.name.endswith("_total")
    }
    assert runs == {("rollback_model", "success"): 1.0, ("notify_team", "failure"): 1.0}
    assert _value(scraped, "drift_sentinel_remediation_success_ratio", **model) == pytest.approx(0.5)
    assert [
        s.value for s in _samples(scraped, "drift_sentinel_incidents", **model) if s.name.endswith("_total")
    ] == [2.0]
    # inc-late was remediated successfully; inc-early's only remediation failed
    assert _value(scraped, "drift_sentinel_open_incidents", **model) == 1.0
    stamps = _samples(scraped, "drift_sentinel_last_remediation_success_timestamp_seconds", **model)
    assert [s.labels["action"] for s in stamps] == ["rollback_model"]


def test_model_without_materializations_publishes_no_figures(scraped: dict) -> None:
    assert not _samples(scraped, "drift_sentinel_drift_score", model=CHURN.model_id)
    assert _value(scraped, "drift_sentinel_open_incidents", model=CHURN.model_id) == 0.0
    assert _value(scraped, "drift_sentinel_up") == 1.0


def test_health_endpoint_reports_json(scraped: dict) -> None:
    # a SQLite instance with no daemon running: degraded, so 503 with the report naming it
    assert scraped["health_status"] == 503
    assert scraped["health"]["components"]["database"] == "connected"
    assert scraped["health"]["components"]["dagster_daemon"] == "not running"
    assert scraped["missing"] == 404


def test_incident_count_is_read_incrementally(instance: DagsterInstance) -> None:
    collector = SentinelCollector(instance=instance, models=[FRAUD])
    families = {f.name: f for f in collector.collect()}
    first = families["drift_sentinel_incidents"].samples[0].value
    assets = _model_assets(FRAUD.asset_prefix)
    DRIFT["2026-10-01-01:00"] = {**DRIFT["2026-10-01-01:00"], "incident_id": "inc-new"}
    try:
        assert materialize(assets, partition_key="2026-10-01-01:00", instance=instance).success
    finally:
        DRIFT["2026-10-01-01:00"] = {**DRIFT["2026-10-01-01:00"], "incident_id": "inc-late"}
    families = {f.name: f for f in collector.collect()}
    assert families["drift_sentinel_incidents"].samples[0].value == first + 1
    # inc-new has no remediation yet
    assert families["drift_sentinel_open_incidents"].samples[0].value == 2.0


def test_unreadable_storage_sets_up_to_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance whose storage cannot be opened (its folder is a file): the scrape answers, with up = 0.

    (PostgreSQL being down is exercised by the health tests; dagster-postgres retries for ~10 s first.)
    """
    home = tmp_path / "home"
    home.mkdir()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    (home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {blocked}/storage\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    collector = SentinelCollector(instance=None, models=[FRAUD])
    families = {f.name: f for f in collector.collect()}
    assert families["drift_sentinel_up"].samples[0].value == 0.0
    assert "drift_sentinel_drift_score" not in families
    assert set(families) == {"drift_sentinel_up", "drift_sentinel_scrape_duration_seconds"}


def test_models_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "sentinel.yaml"
    config.write_text(_CONFIG)
    assert models_from_config(str(config)) == [FRAUD, CHURN]


_CONFIG = """
models:
  - id: fraud-detector-v1
    features: [{name: amount, kind: numeric}, {name: location, kind: categorical}]
    prediction_column: score
    window: {cadence: hourly, start: 2026-10-01}
    data: {prediction_log: data/fraud, training_snapshot: data/fraud/training.parquet}
  - id: churn-model
    features: [{name: tenure, kind: numeric}]
    window: {cadence: daily, start: 2026-10-01}
    data: {prediction_log: data/churn, training_snapshot: data/churn/training.parquet}
"""


@pytest.mark.integration
@pytest.mark.slow
def test_cli_exporter_serves_the_instance_of_dagster_home(
    instance: DagsterInstance, dagster_home: Path, tmp_path: Path
) -> None:
    """``drift-sentinel exporter`` as a process, reading the SQLite instance the fixture populated."""
    config = tmp_path / "sentinel.yaml"
    config.write_text(_CONFIG)
    port = free_port()
    cli = Path(sys.executable).parent / "drift-sentinel"
    proc = subprocess.Popen(
        [str(cli), "exporter", "--host", "127.0.0.1", "--port", str(port), "--config", str(config)],
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        text = None
        while time.monotonic() < deadline and text is None:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
                    text = response.read().decode()
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        assert text is not None, "exporter did not answer"
        families = {f.name: f for f in text_string_to_metric_families(text)}
        scores = {s.labels["model"]: s.value for s in families["drift_sentinel_drift_score"].samples}
        assert scores == {FRAUD.model_id: pytest.approx(0.91)}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/metrics" in err

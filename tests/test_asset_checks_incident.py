"""From a failed check on a team's asset to the loop: incident, gated notification, RCA naming the upstream asset.

The example feature pipeline and a Drift Sentinel model declaring ``upstream_assets: [features/transactions]``
share one real (SQLite) instance, as two code locations of one deployment do.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterInstance, build_sensor_context

from drift_sentinel.analysis import analyze_incident
from drift_sentinel.config import load_config
from drift_sentinel.detection import detect_drift
from drift_sentinel.incidents import incident_id
from drift_sentinel.settings import Settings
from examples.feature_pipeline.definitions import build_defs, transaction_features
from examples.feature_pipeline.generator import generate_transactions
from sentinel_assets.definitions import build_definitions
from sentinel_assets.pipeline_evidence import pipeline_evidence

REPO = Path(__file__).resolve().parents[1]
DRIFT_DAY = "2024-10-05"
CHECK = AssetCheckKey(AssetKey(["features", "transactions"]), "transactions_shows_no_drift")


def _model_config(root: Path, *, upstream: bool) -> Path:
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    model["window"].update(start="2024-10-01", end="2024-10-10")
    model["data"] = {"prediction_log": str(root / "log"), "training_snapshot": str(root / "training.parquet")}
    if upstream:
        model["upstream_assets"] = ["features/transactions"]
    path = root / ("with_upstream.yaml" if upstream else "standalone.yaml")
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three days of the example pipeline with drift injected on the last, on one instance."""
    root = tmp_path_factory.mktemp("upstream")
    (root / "dagster").mkdir()
    (root / "log").mkdir()
    instance = DagsterInstance.local_temp(str(root / "dagster"), overrides={"telemetry": {"enabled": False}})
    pipeline = build_defs(storage=str(root / "storage"), drift_from=DRIFT_DAY)
    for day in ("2024-10-03", "2024-10-04", DRIFT_DAY):
        pipeline.resolve_job_def("feature_references").execute_in_process(
            partition_key=day, instance=instance
        )
        pipeline.resolve_job_def("feature_pipeline").execute_in_process(
            partition_key=day, instance=instance, raise_on_error=False
        )
    settings = Settings.from_env({"SENTINEL_HOME": str(root / "sentinel")})
    return {"root": root, "instance": instance, "settings": settings}


def _defs(world: dict[str, Any], *, upstream: bool):
    config = load_config(_model_config(world["root"], upstream=upstream))
    return config.models[0], build_definitions(config, world["settings"])


@pytest.mark.slow
def test_without_the_declaration_the_check_stands_alone(world: dict[str, Any]) -> None:
    spec, defs = _defs(world, upstream=False)
    names = {s.name for s in defs.get_repository_def().sensor_defs}
    assert f"{spec.asset_prefix}_remediation_on_rca_report" in names
    assert not any(name.endswith("_on_upstream_check") for name in names)


@pytest.mark.slow
def test_failed_upstream_check_opens_an_incident_the_remediation_sensor_notifies(
    world: dict[str, Any],
) -> None:
    spec, defs = _defs(world, upstream=True)
    instance = world["instance"]
    sensor = defs.resolve_sensor_def(f"{spec.asset_prefix}_remediation_on_upstream_check")

    def tick(cursor: str | None) -> Any:
        context = build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs, sensor_name=sensor.name
        )
        return sensor.evaluate_tick(context)

    first = tick(None)
    incident = incident_id(spec.id, DRIFT_DAY)  # the id the model's own drift report gives that window
    assert [r.run_key for r in first.run_requests] == [f"{incident}:notify_team"]
    [request] = first.run_requests
    message = request.run_config["ops"]["safety_gate"]["config"]["message"]
    assert "pipeline:features/transactions" in message and "transactions_shows_no_drift failed" in message
    assert "amount" in message
    result = defs.resolve_job_def(request.job_name).execute_in_process(
        run_config=request.run_config,
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key},
    )
    assert result.success
    outbox = [json.loads(line) for line in world["settings"].outbox_path.read_text().splitlines()]
    notified = [n for n in outbox if incident in json.dumps(n)]
    assert notified and "features/transactions" in json.dumps(notified)
    again = tick(first.cursor)
    assert not again.run_requests and "no new evaluation" in again.skip_message


@pytest.mark.slow
def test_rca_names_the_upstream_asset_as_the_pipeline_cause(world: dict[str, Any]) -> None:
    instance = world["instance"]
    clean = pipeline_evidence(
        instance,
        prefix="m",
        partition="2024-10-04",
        previous_partition=None,
        partitioned={},
        upstream_checks=[CHECK],
    )
    inconclusive = pipeline_evidence(
        instance,
        prefix="m",
        partition="2024-10-03",
        previous_partition=None,
        partitioned={},
        upstream_checks=[CHECK],
    )
    assert clean.failed_checks == () and inconclusive.failed_checks == ()  # WARN is not evidence
    evidence = pipeline_evidence(
        instance,
        prefix="m",
        partition=DRIFT_DAY,
        previous_partition=None,
        partitioned={},
        upstream_checks=[CHECK],
    )
    [failed] = evidence.failed_checks
    assert (failed.asset, failed.check) == ("features/transactions", "transactions_shows_no_drift")

    def features(day: str, drift: bool) -> pd.DataFrame:
        frame = transaction_features(generate_transactions(day, drift=drift))
        return frame[["amount", "hour", "is_foreign", "merchant_category"]]

    reference = pd.concat([features("2024-10-03", False), features("2024-10-04", False)], ignore_index=True)
    report = detect_drift(reference, features(DRIFT_DAY, True))
    assert report.drift_detected
    rca = analyze_incident(
        report,
        incident_id=incident_id("fraud-detector-v1", DRIFT_DAY),
        detection_time=datetime(2024, 10, 6, tzinfo=UTC),
        model_id="fraud-detector-v1",
        pipeline=evidence,
    )
    assert rca.root_cause.type == "upstream_pipeline_change"
    assert rca.root_cause.cause == "pipeline:features/transactions"
    assert rca.recommended_action == "notify_team"

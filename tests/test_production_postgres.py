"""The demo loop end to end with Dagster's storage in PostgreSQL (``deploy/dagster.postgres.yaml``).

A fresh database on the PostgreSQL server at 127.0.0.1:5432 is created and dropped after the session (see
:func:`production_loop`: the same run also has S3 and the MLflow server, checked by the sibling modules).
The loop — sample data, baseline, every window's partitions, drift, the remediation sensor, the gated
remediation, audit — runs through ``sentinel_assets.demo.run_demo`` with only ``DAGSTER_HOME`` (and the
``DAGSTER_PG_*`` variables) changed; the test then reads the runs, tags and materializations straight from
PostgreSQL with psycopg2, and reads the same instance through the exporter and the health check.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pytest
from dagster import DagsterInstance

from drift_sentinel.config import load_config
from resources.exporter import SentinelCollector, models_from_config
from resources.health import check_database
from tests.support import servers
from tests.test_health import PG, pg_env, pg_home, shared_mlflow_server, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


@contextlib.contextmanager
def environment(values: dict[str, str], drop: tuple[str, ...] = ()) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name in drop:
            mp.delenv(name, raising=False)
        for name, value in values.items():
            mp.setenv(name, value)
        yield


def run_demo_in(workdir: Path, env: dict[str, str], *, registered_name: str | None = None) -> dict[str, Any]:
    """``run_demo`` in ``workdir`` with ``env`` (and no DAGSTER_/SENTINEL_/MLFLOW_/S3_ leaking in).

    ``registered_name`` renames the model in the MLflow registry (for a registry shared by the session).
    """
    from sentinel_assets.demo import run_demo

    text = (ROOT / "sentinel.yaml").read_text()
    if registered_name:
        anchor = "    registry:\n"
        assert anchor in text, "sentinel.yaml has no registry section to rename the model in"
        text = text.replace(anchor, f"{anchor}      name: {registered_name}\n", 1)
    (workdir / "sentinel.yaml").write_text(text)
    clean = (
        "DAGSTER_HOME",
        "SENTINEL_HOME",
        "SENTINEL_CONFIG",
        "MLFLOW_TRACKING_URI",
        "S3_BUCKET",
        "S3_AUDIT_BUCKET",
        "S3_ENDPOINT_URL",
        "DRIFT_STORAGE_URI",
        "REMEDIATION_AUDIT_URI",
    )
    with (
        environment({"SENTINEL_HOME": str(workdir / ".sentinel"), **env}, drop=clean),
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.chdir(workdir)
        return run_demo(config_file=workdir / "sentinel.yaml", home=workdir / ".sentinel", progress=False)


_LOOP: dict[str, Any] | None = None
_LOOP_ERROR: BaseException | None = None
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Secret values the loop runs with (moto and PostgreSQL's trust auth accept any): none may show up in the
# event log, run records, stored reports, audit records or any file the run leaves behind.
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "aws-secret-" + uuid.uuid4().hex,
    "DAGSTER_PG_PASSWORD": "pg-password-" + uuid.uuid4().hex,
}


def production_loop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Run the loop once per session in the production configuration and return what the tests need.

    PostgreSQL storage (a fresh database), windows/reports/audit on ``moto_server`` (an Object Lock bucket for
    the audit chain), a real ``mlflow server`` as the registry — all through settings alone. The three
    ``test_production_*`` modules share this one run (a loop takes minutes on 2 cores); everything it starts
    is stopped, and the database dropped, when the session ends.
    """
    global _LOOP, _LOOP_ERROR
    if _LOOP is not None:
        return _LOOP
    if _LOOP_ERROR is not None:  # the run failed for an earlier module: do not spend minutes failing again
        pytest.fail(f"the production loop failed earlier in this session: {_LOOP_ERROR!r}")
    try:
        _LOOP = _run_production_loop(request, tmp_path_factory)
    except BaseException as exc:
        _LOOP_ERROR = exc
        raise
    return _LOOP


def _run_production_loop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    stack = contextlib.ExitStack()
    request.config.add_cleanup(stack.close)
    workdir = tmp_path_factory.mktemp("production-loop")
    db = stack.enter_context(throwaway_database())
    mlflow_url = shared_mlflow_server(request, tmp_path_factory)
    s3_url = stack.enter_context(servers.moto_server(workdir))
    bucket, audit = f"windows-{uuid.uuid4().hex[:8]}", f"audit-{uuid.uuid4().hex[:8]}"
    with environment(CREDENTIALS):
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        s3.create_bucket(Bucket=audit, ObjectLockEnabledForBucket=True)
    home = pg_home(workdir)
    name = f"fraud-detector-v1-{uuid.uuid4().hex[:8]}"
    env = {
        **pg_env(db),
        **CREDENTIALS,
        **SECRETS,
        "DAGSTER_HOME": str(home),
        "S3_BUCKET": bucket,
        "S3_AUDIT_BUCKET": audit,
        "S3_ENDPOINT_URL": s3_url,
        "MLFLOW_TRACKING_URI": mlflow_url,
    }
    summary = run_demo_in(workdir, env, registered_name=name)
    (workdir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))  # for failure triage
    with environment(pg_env(db)):  # read when the instance is built, not kept in the environment
        instance = stack.enter_context(DagsterInstance.from_config(str(home)))
    conn = psycopg2.connect(dbname=db, **PG)
    stack.callback(conn.close)
    return {
        "summary": summary,
        "env": env,
        "workdir": workdir,
        "db": db,
        "conn": conn,
        "instance": instance,
        "bucket": bucket,
        "audit": audit,
        "s3_url": s3_url,
        "mlflow_url": mlflow_url,
        "registered_name": name,
    }


@pytest.fixture(scope="module")
def loop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return production_loop(request, tmp_path_factory)


def _query(loop: dict[str, Any], sql: str, *args: Any) -> list[tuple]:
    with loop["conn"].cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_loop_found_the_incident_and_remediated_it(loop: dict[str, Any]) -> None:
    summary = loop["summary"]
    assert summary["incident"]["incident_id"], summary["incident"]
    launched = [r for r in summary["remediation"] if r["launched"]]
    assert launched and all(r["status"] == "SUCCESS" for r in launched), summary["remediation"]


def test_runs_and_tags_are_in_postgresql(loop: dict[str, Any]) -> None:
    summary = loop["summary"]
    windows = summary["windows"]["total"]
    (total,) = _query(loop, "SELECT count(*) FROM runs")[0]
    assert total >= windows + len(summary["remediation"])  # one run per window, baseline, remediation
    remediation_ids = {r["run_id"] for r in summary["remediation"] if r["launched"]}
    rows = _query(
        loop, "SELECT run_id, pipeline_name, status FROM runs WHERE pipeline_name LIKE 'remediate_%%'"
    )
    assert remediation_ids <= {run_id for run_id, _, _ in rows}
    assert {status for run_id, _, status in rows if run_id in remediation_ids} == {"SUCCESS"}
    incident = summary["incident"]["incident_id"]
    tagged = _query(
        loop, "SELECT DISTINCT run_id FROM run_tags WHERE key = 'sentinel/incident' AND value = %s", incident
    )
    assert remediation_ids <= {run_id for (run_id,) in tagged}


def test_materializations_are_in_postgresql(loop: dict[str, Any]) -> None:
    summary = loop["summary"]
    prefix = load_config(loop["workdir"] / "sentinel.yaml").model(summary["model_id"]).asset_prefix
    rows = _query(
        loop,
        "SELECT DISTINCT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        "AND asset_key = %s",
        f'["{prefix}", "drift_report"]',
    )
    partitions = {p for (p,) in rows}
    assert set(summary["windows"]["with_drift"]) <= partitions
    assert summary["incident"]["window"] in partitions
    # the instance reads the same rows back through dagster-postgres
    assert type(loop["instance"].run_storage).__name__ == "PostgresRunStorage"
    assert check_database(loop["instance"]).status == "connected"


def test_exporter_reads_the_loop_from_postgresql(loop: dict[str, Any]) -> None:
    summary = loop["summary"]
    models = models_from_config(str(loop["workdir"] / "sentinel.yaml"))
    families = {f.name: f for f in SentinelCollector(instance=loop["instance"], models=models).collect()}
    assert families["drift_sentinel_up"].samples[0].value == 1.0
    model = {"model": summary["model_id"]}
    runs = [
        s
        for s in families["drift_sentinel_remediation_runs"].samples
        if s.labels["model"] == model["model"] and s.labels["status"] == "success"
    ]
    assert sum(s.value for s in runs) == len([r for r in summary["remediation"] if r["launched"]])
    incidents = [s.value for s in families["drift_sentinel_incidents"].samples if s.labels == model]
    assert incidents and incidents[0] >= 1
    # the real assets follow the metadata contract the exporter reads
    scores = [s.value for s in families["drift_sentinel_drift_score"].samples if s.labels == model]
    assert len(scores) == 1 and scores[0] >= 0.0
    prefix = load_config(loop["workdir"] / "sentinel.yaml").model(summary["model_id"]).asset_prefix
    (newest,) = _query(
        loop,
        "SELECT max(partition) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        "AND asset_key = %s",
        f'["{prefix}", "drift_report"]',
    )[0]
    if newest == summary["incident"]["window"]:  # the gauge shows the newest window's report
        assert scores[0] == pytest.approx(float(summary["incident"]["drift_score"]))
    features = {s.labels["feature"] for s in families["drift_sentinel_feature_drift_magnitude"].samples}
    spec = load_config(loop["workdir"] / "sentinel.yaml").model(summary["model_id"])
    assert features and features <= {f.name for f in spec.features}
    assets = {
        s.labels["asset"] for s in families["drift_sentinel_last_materialization_timestamp_seconds"].samples
    }
    assert {"current_window", "drift_report", "rca_report"} <= assets


def test_no_secret_value_in_logs_metadata_or_audit(loop: dict[str, Any]) -> None:
    """The secret values the loop ran with appear nowhere it wrote: PostgreSQL, either bucket, local files."""
    dumps = []
    with loop["conn"].cursor() as cur:
        for table in ("event_logs", "runs", "run_tags", "asset_keys"):
            cur.execute(f"SELECT CAST(t AS text) FROM {table} AS t")  # every column of every row
            dumps.extend(row[0] for row in cur.fetchall())
    assert len(dumps) > 100, "the event log should hold the whole loop"
    with environment(CREDENTIALS):
        s3 = boto3.client("s3", endpoint_url=loop["s3_url"], region_name="us-east-1")
        for bucket in (loop["bucket"], loop["audit"]):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    dumps.append(body.decode("latin-1"))
    for path in Path(loop["workdir"]).rglob("*"):
        if path.is_file():
            dumps.append(path.read_bytes().decode("latin-1"))
    text = "\n".join(dumps)
    assert "fraud-detector-v1" in text  # the search does see what the loop wrote
    for name, value in SECRETS.items():
        assert value not in text, f"the value of {name} was written somewhere"

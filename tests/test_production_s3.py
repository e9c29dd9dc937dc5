"""The demo loop end to end with windows, reports and the audit chain on an S3-compatible server.

``moto_server`` (on loopback, stopped at the end of the session) stands in for S3/MinIO. Only the S3 settings
change (``S3_BUCKET``, ``S3_AUDIT_BUCKET``, ``S3_ENDPOINT_URL`` and dummy AWS credentials); the audit bucket
has Object Lock enabled, as in production. The run is the session's one production-configured loop
(``tests.test_production_postgres.production_loop``). The test lists the buckets with boto3, verifies the
audit chain read back from S3, and checks that nothing was written to the local storage folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from drift_sentinel.audit import KEY_FILE_ENV, open_trail
from drift_sentinel.settings import Settings
from resources.health import check_s3
from tests.test_production_postgres import CREDENTIALS, environment, production_loop

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def loop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return production_loop(request, tmp_path_factory)


def _keys(loop: dict[str, Any], bucket: str) -> list[str]:
    with environment(CREDENTIALS):
        s3 = boto3.client("s3", endpoint_url=loop["s3_url"], region_name="us-east-1")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def test_loop_ran_through_the_s3_settings(loop: dict[str, Any]) -> None:
    summary = loop["summary"]
    assert summary["incident"]["incident_id"]
    launched = [r for r in summary["remediation"] if r["launched"]]
    assert launched and all(r["status"] == "SUCCESS" for r in launched), summary["remediation"]
    with environment(CREDENTIALS):
        assert check_s3(Settings.from_env(loop["env"])).status == "accessible"


def test_windows_and_reports_are_objects_in_the_bucket(loop: dict[str, Any]) -> None:
    keys = _keys(loop, loop["bucket"])
    assert keys, "nothing was written to the bucket"
    assert all(k.startswith("drift-sentinel/") for k in keys)
    for asset in ("current_window", "drift_report", "rca_report"):
        assert any(asset in k for k in keys), f"no {asset} object in {sorted(keys)[:20]}"
    incident_window = loop["summary"]["incident"]["window"]
    assert any("drift_report" in k and incident_window in k for k in keys)
    # and nothing went to the local storage folder instead
    local = Path(loop["workdir"]) / ".sentinel" / "storage"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))


def test_audit_chain_is_in_the_object_lock_bucket_and_verifies(loop: dict[str, Any]) -> None:
    keys = _keys(loop, loop["audit"])
    assert keys
    settings = Settings.from_env(loop["env"])
    assert settings.audit_uri.startswith(f"s3://{loop['audit']}/")
    # the records are signed with the key the loop's processes created under their SENTINEL_HOME (workdir)
    writer_key = Path(loop["workdir"]) / ".sentinel" / "audit.key"
    with environment({**CREDENTIALS, KEY_FILE_ENV: str(writer_key)}):
        trail = open_trail(settings.audit_uri, endpoint_url=settings.s3_endpoint_url)
        verification = trail.verify()
        records = list(trail.records())
    assert verification.ok, verification.summary
    assert verification.records == len(records) == len(keys)
    kinds = {r.event.kind for r in records}
    assert {"gate_decision", "action"} <= kinds
    assert loop["summary"]["incident"]["incident_id"] in {r.event.incident_id for r in records}
    local = Path(loop["workdir"]) / ".sentinel" / "audit"
    assert not local.exists() or not any(local.iterdir())

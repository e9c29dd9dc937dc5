"""The audit chain on an S3-compatible server with Object Lock (a real ``moto_server`` on loopback)."""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from drift_sentinel.audit import AuditEvent, AuditTrail, S3AuditStore, open_trail
from drift_sentinel.cli import main
from tests.support.fixtures import moto_endpoint, s3_credentials, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _signing_key_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's key is created under SENTINEL_HOME: keep it out of the working directory."""
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path_factory.mktemp("sentinel_home")))
    monkeypatch.delenv("REMEDIATION_AUDIT_KEY", raising=False)
    monkeypatch.delenv("REMEDIATION_AUDIT_KEY_FILE", raising=False)


@pytest.fixture
def locked_bucket(moto_endpoint: str, s3_credentials: None) -> str:
    bucket = unique_name("audit")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return bucket


def event(i: int) -> AuditEvent:
    return AuditEvent(
        kind="action",
        model_id="fraud",
        incident_id="inc-1",
        actor="user:ana",
        run_id=f"run-{i}",
        action="rollback_model",
        outcome="SUCCESS",
        details={"i": i},
    )


def test_chain_in_a_locked_bucket_cannot_be_deleted_or_overwritten(
    moto_endpoint: str, locked_bucket: str
) -> None:
    store = S3AuditStore(locked_bucket, "prod/audit", endpoint_url=moto_endpoint, object_lock_days=1)
    trail = AuditTrail(store)
    for i in range(3):
        trail.append(event(i))
    assert trail.verify().ok
    s3 = store.client
    key = "prod/audit/000000000002.json"
    head = s3.head_object(Bucket=locked_bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > head["LastModified"]

    # write-once: the store refuses to reuse a sequence number (IfNoneMatch="*")
    assert not store.put_new(2, b"{}")

    # deleting the locked version is refused
    version = s3.list_object_versions(Bucket=locked_bucket, Prefix=key)["Versions"][0]["VersionId"]
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=locked_bucket, Key=key, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert trail.verify().ok

    # a plain overwrite only adds a version on top: verify names the record
    s3.put_object(Bucket=locked_bucket, Key=key, Body=b'{"forged": true}', ChecksumAlgorithm="SHA256")
    result = trail.verify()
    assert not result.ok
    assert {(p.seq, p.kind) for p in result.problems} == {(2, "unreadable"), (2, "overwritten")}
    assert f"s3://{locked_bucket}/{key}" in result.summary


def test_open_trail_and_cli_read_the_s3_trail(
    moto_endpoint: str, locked_bucket: str, capsys, tmp_path
) -> None:
    uri = f"s3://{locked_bucket}/audit"
    trail = open_trail(uri, endpoint_url=moto_endpoint)
    for i in range(2):
        trail.append(event(i))
    assert main(["audit", "verify", "--uri", uri, "--endpoint-url", moto_endpoint]) == 0
    assert "audit trail ok: 2 records" in capsys.readouterr().out
    out = tmp_path / "pack.jsonl"
    args = [
        "audit",
        "export",
        "--uri",
        uri,
        "--endpoint-url",
        moto_endpoint,
        "--format",
        "jsonl",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert len(out.read_text().splitlines()) == 2


def test_missing_bucket_is_an_external_service_error(moto_endpoint: str, s3_credentials: None) -> None:
    from drift_sentinel.errors import ExternalServiceError

    trail = open_trail("s3://no-such-bucket-xyz/audit", endpoint_url=moto_endpoint)
    with pytest.raises(ExternalServiceError, match="no-such-bucket-xyz"):
        trail.append(event(0))


def test_audit_trail_resource_appends_locked_records(moto_endpoint: str, locked_bucket: str) -> None:
    from resources.audit_trail import AuditTrailResource

    resource = AuditTrailResource(
        uri=f"s3://{locked_bucket}/res", endpoint_url=moto_endpoint, object_lock_days=7
    )
    first, second = resource.append(event(0)), resource.append(event(1))
    assert (first.seq, second.seq) == (1, 2) and second.prev_hash == first.hash
    assert resource.verify().ok
    head = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").head_object(
        Bucket=locked_bucket, Key="res/000000000002.json"
    )
    assert head["ObjectLockMode"] == "COMPLIANCE"

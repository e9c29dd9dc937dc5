"""Signed audit records and the cross-check with the heads the Dagster instance recorded.

Forgery, re-hashing and truncation, each tried the way someone with write access to the store (but not the
writer's key) would, and a rewrite by a key holder caught by the instance's recorded heads.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drift_sentinel.audit import (
    AuditEvent,
    AuditKey,
    AuditRecord,
    LocalAuditStore,
    load_audit_key,
    open_trail,
    record_hash,
)
from drift_sentinel.cli import main
from drift_sentinel.errors import ConfigError

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEY = AuditKey(b"writer-secret-" + b"x" * 32, source="test")
OTHER = AuditKey(b"attacker-secret-" + b"y" * 32, source="test")


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path / "home"))
    for name in (
        "REMEDIATION_AUDIT_KEY",
        "REMEDIATION_AUDIT_KEY_FILE",
        "REMEDIATION_AUDIT_URI",
        "DAGSTER_HOME",
    ):
        monkeypatch.delenv(name, raising=False)


def event(i: int) -> AuditEvent:
    return AuditEvent(
        kind="action",
        model_id="fraud",
        incident_id="inc-1",
        actor="sensor:s",
        run_id=f"r{i}",
        action="rollback_model",
        outcome="SUCCESS",
        details={"i": i},
        at=T0 + timedelta(minutes=i),
    )


def filled(path: Path, n: int = 4, key: AuditKey | None = KEY):  # type: ignore[no-untyped-def]
    trail = open_trail(path, key=key)
    for i in range(n):
        trail.append(event(i))
    return trail


def put(path: Path, record: AuditRecord) -> None:
    """Write ``record`` as its file, overwriting (an attacker with write access to the folder)."""
    file = path / f"{record.seq:012d}.json"
    if file.exists():
        os.chmod(file, 0o644)
    file.write_bytes(record.to_bytes())


def read(path: Path, seq: int) -> AuditRecord:
    return AuditRecord.from_bytes((path / f"{seq:012d}.json").read_bytes())


def kinds(result) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(p.seq, p.kind) for p in result.problems]


# ------------------------------------------------------------------------------------------------ keys


def test_first_append_creates_a_private_key_under_sentinel_home(tmp_path: Path) -> None:
    trail = open_trail(tmp_path / "audit")
    record = trail.append(event(0))
    key_file = tmp_path / "home" / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = load_audit_key()
    assert key is not None and record.key_id == key.key_id and key.check(record.hash, record.signature or "")
    # a second trail (another process) uses the same key: the chain stays verifiable
    open_trail(tmp_path / "audit").append(event(1))
    result = open_trail(tmp_path / "audit").verify()
    assert result.ok and result.signed == 2 and result.key_id == key.key_id


def test_concurrent_first_writers_agree_on_one_key(tmp_path: Path) -> None:
    trails = [open_trail(tmp_path / "audit") for _ in range(6)]
    threads = [threading.Thread(target=t.append, args=(event(i),)) for i, t in enumerate(trails)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = open_trail(tmp_path / "audit").verify()
    assert result.ok and result.records == 6 and result.signed == 6


def test_key_from_the_environment_wins_and_must_be_long_enough(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REMEDIATION_AUDIT_KEY", "s" * 40)
    record = open_trail(tmp_path / "audit").append(event(0))
    assert record.key_id == AuditKey(b"s" * 40).key_id
    assert not (tmp_path / "home" / "audit.key").exists()
    monkeypatch.setenv("REMEDIATION_AUDIT_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        open_trail(tmp_path / "audit").append(event(1))
    assert "s" * 40 not in repr(AuditKey(b"s" * 40))


def test_verify_never_creates_a_key(tmp_path: Path) -> None:
    filled(tmp_path / "audit", key=KEY)
    result = open_trail(tmp_path / "audit").verify()
    assert not (tmp_path / "home" / "audit.key").exists()
    assert not result.ok and {k for _, k in kinds(result)} == {"unverifiable"}


# ------------------------------------------------------------------------------------------- forgeries


def test_appended_record_with_a_recomputed_hash_is_caught_even_with_its_head(tmp_path: Path) -> None:
    trail = filled(tmp_path)
    head = read(tmp_path, 4)
    forged = AuditRecord.create(5, event(99), head.hash)  # correct hash, no key
    put(tmp_path, forged)
    assert kinds(trail.verify(expected_head=forged.hash)) == [(5, "unsigned")]
    signed_by_other = AuditRecord.create(5, event(99), head.hash, key=OTHER)
    put(tmp_path, signed_by_other)
    result = trail.verify(expected_head=signed_by_other.hash)
    assert kinds(result) == [(5, "forged")] and OTHER.key_id in result.problems[0].message


def test_a_signature_copied_from_another_record_does_not_fit(tmp_path: Path) -> None:
    trail = filled(tmp_path)
    head = read(tmp_path, 4)
    forged = AuditRecord.create(5, event(99), head.hash)
    put(
        tmp_path,
        AuditRecord(forged.seq, forged.event, forged.prev_hash, forged.hash, head.key_id, head.signature),
    )
    result = trail.verify()
    assert kinds(result) == [(5, "forged")] and "bad signature" in result.problems[0].message


def test_rehashing_the_chain_from_a_point_on_is_caught(tmp_path: Path) -> None:
    trail = filled(tmp_path, 5)
    prev = read(tmp_path, 2).hash
    for seq in range(3, 6):  # rewrite 3..5 with consistent hashes and links, keeping the old signatures
        old = read(tmp_path, seq)
        changed = AuditEvent.from_dict({**old.event.to_dict(), "outcome": "FAILED"})
        digest = record_hash(seq, changed, prev)
        put(tmp_path, AuditRecord(seq, changed, prev, digest, old.key_id, old.signature))
        prev = digest
    result = trail.verify()
    assert kinds(result) == [(3, "forged"), (4, "forged"), (5, "forged")]


def test_wrong_key_reports_forged_not_ok(tmp_path: Path) -> None:
    filled(tmp_path, 2)
    result = open_trail(tmp_path, key=OTHER).verify()
    assert kinds(result) == [(1, "forged"), (2, "forged")]
    assert KEY.key_id in result.problems[0].message and OTHER.key_id in result.problems[0].message


# ----------------------------------------------------------------------------------------------- legacy


def test_legacy_unsigned_trail_fails_unless_allowed_and_never_after_a_signed_record(tmp_path: Path) -> None:
    store = LocalAuditStore(tmp_path)
    prev = "0" * 64
    for seq in (1, 2):  # written by an older version: no signature
        record = AuditRecord.create(seq, event(seq), prev)
        store.put_new(seq, record.to_bytes())
        prev = record.hash
    trail = open_trail(tmp_path, key=KEY)
    assert kinds(trail.verify()) == [(1, "unsigned"), (2, "unsigned")]
    trail.append(event(3))  # the new version signs from here on
    allowed = trail.verify(allow_unsigned=True)
    assert allowed.ok and allowed.unsigned == 2 and allowed.signed == 1
    assert "2 unsigned legacy record(s) accepted" in allowed.summary
    late = AuditRecord.create(4, event(4), read(tmp_path, 3).hash)  # unsigned after a signed one
    store.put_new(4, late.to_bytes())
    assert kinds(trail.verify(allow_unsigned=True)) == [(4, "unsigned")]


# ------------------------------------------------------------------------------- heads recorded outside


def test_known_heads_catch_truncation_without_an_expected_head(tmp_path: Path) -> None:
    trail = filled(tmp_path, 5)
    heads = {seq: read(tmp_path, seq).hash for seq in range(1, 6)}
    (tmp_path / f"{5:012d}.json").unlink()
    one = trail.verify(known_heads=heads)
    assert kinds(one) == [(5, "truncated")] and "record 5 is missing" in one.problems[0].message
    (tmp_path / f"{4:012d}.json").unlink()
    assert trail.verify().ok  # the chain and signatures alone cannot see a cut-off tail
    result = trail.verify(known_heads=heads)
    assert kinds(result) == [(5, "truncated")] and "records 4-5 are missing" in result.problems[0].message
    assert result.heads_checked == 5


def test_known_heads_catch_a_rewrite_by_a_key_holder(tmp_path: Path) -> None:
    trail = filled(tmp_path, 4)
    heads = {seq: read(tmp_path, seq).hash for seq in range(1, 5)}
    prev = read(tmp_path, 2).hash
    for seq in (3, 4):  # re-signed with the real key: chain and signatures check out
        old = read(tmp_path, seq)
        changed = AuditEvent.from_dict({**old.event.to_dict(), "actor": "user:mallory"})
        record = AuditRecord.create(seq, changed, prev, key=KEY)
        put(tmp_path, record)
        prev = record.hash
    assert trail.verify().ok
    assert kinds(trail.verify(known_heads=heads)) == [(3, "rewritten"), (4, "rewritten")]
    # a head recorded for a record that is gone from the middle is named too
    (tmp_path / f"{2:012d}.json").unlink()
    assert (2, "removed") in kinds(trail.verify(known_heads=heads))


def test_expected_head_full_prefix_and_bad_values(tmp_path: Path) -> None:
    trail = filled(tmp_path, 3)
    head = trail.verify().head_hash
    assert len(head) == 64 and head in trail.verify().summary
    assert trail.verify(expected_head=head).ok
    assert trail.verify(expected_head=head[:16]).ok  # the short form older versions printed
    assert trail.verify(expected_head=head.upper()).ok
    assert kinds(trail.verify(expected_head="f" * 64)) == [(3, "truncated")]
    for bad in ("xyz", head[:8], head + "00"):
        with pytest.raises(ConfigError, match="expected head"):
            trail.verify(expected_head=bad)


# ------------------------------------------------------------------------------------------- the CLI


def test_cli_verify_missing_location_is_an_error_not_an_empty_trail(tmp_path: Path, capsys) -> None:
    assert main(["audit", "verify", "--uri", str(tmp_path / "nope")]) == 3
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    (tmp_path / "file").write_text("x")
    assert main(["audit", "verify", "--uri", str(tmp_path / "file")]) == 3
    assert main(["audit", "export", "--uri", str(tmp_path / "nope")]) == 3


def test_cli_record_path_that_is_a_folder_is_reported_not_a_traceback(tmp_path: Path, capsys) -> None:
    filled(tmp_path / "audit", 2, key=None)
    (tmp_path / "audit" / f"{3:012d}.json").mkdir()
    assert main(["audit", "verify", "--uri", str(tmp_path / "audit")]) == 1
    captured = capsys.readouterr()
    assert "unreadable" in captured.err and "Traceback" not in captured.err
    assert (
        main(["audit", "export", "--uri", str(tmp_path / "audit"), "--out", str(tmp_path / "x.jsonl")]) == 1
    )
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_cli_export_to_an_unwritable_path(tmp_path: Path, capsys) -> None:
    filled(tmp_path / "audit", 1, key=None)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["audit", "export", "--uri", str(tmp_path / "audit"), "--out", str(locked / "x.jsonl")]) == 3


def test_cli_export_to_a_folder_or_below_a_file(tmp_path: Path, capsys) -> None:
    filled(tmp_path / "audit", 1, key=None)
    for out in (tmp_path, tmp_path / "audit" / f"{1:012d}.json" / "x.jsonl", "/proc/no/such/x.jsonl"):
        assert main(["audit", "export", "--uri", str(tmp_path / "audit"), "--out", str(out)]) == 3
        err = capsys.readouterr().err
        assert "cannot write the export" in err and "Traceback" not in err


def test_cli_prints_the_full_head_and_accepts_it_back(tmp_path: Path, capsys) -> None:
    filled(tmp_path / "audit", 3, key=None)
    uri = str(tmp_path / "audit")
    assert main(["audit", "verify", "--uri", uri]) == 0
    out = capsys.readouterr().out
    head = out.split("head ", 1)[1].split()[0]
    assert len(head) == 64 and "signatures: 3 checked with key" in out
    assert main(["audit", "verify", "--uri", uri, "--expected-head", head]) == 0
    assert main(["audit", "verify", "--uri", uri, "--expected-head", head[:16]]) == 0
    assert main(["audit", "verify", "--uri", uri, "--expected-head", "not-hex"]) == 64


def test_cli_legacy_trail_needs_allow_unsigned(tmp_path: Path, capsys) -> None:
    store = LocalAuditStore(tmp_path / "audit")
    record = AuditRecord.create(1, event(1), "0" * 64)
    store.put_new(1, record.to_bytes())
    assert main(["audit", "verify", "--uri", str(tmp_path / "audit")]) == 1
    assert "--allow-unsigned" in capsys.readouterr().err
    assert main(["audit", "verify", "--uri", str(tmp_path / "audit"), "--allow-unsigned"]) == 0


# ----------------------------------------------------------------------------- the Dagster instance


def _observe(instance, record: AuditRecord, prefix: str = "fraud") -> None:  # type: ignore[no-untyped-def]
    from dagster import AssetKey, AssetObservation

    instance.report_runless_asset_event(
        AssetObservation(
            asset_key=AssetKey([prefix, "audit_log"]),
            metadata={"kind": "action", "audit_seq": int(record.seq), "audit_hash": record.hash},
        )
    )


@pytest.mark.slow
def test_instance_heads_catch_truncation_through_the_cli(tmp_path: Path, monkeypatch) -> None:
    from dagster import DagsterInstance

    from resources.audit_trail import AuditTrailResource, recorded_heads

    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    audit = tmp_path / "audit"
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("REMEDIATION_AUDIT_URI", str(audit))
    resource = AuditTrailResource(uri=str(audit))
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for i in range(5):  # two models share the one chain, as the jobs and the escalation sensor do
            _observe(instance, resource.append(event(i)), prefix="fraud" if i % 2 else "churn")
        assert recorded_heads(instance) == {seq: read(audit, seq).hash for seq in range(1, 6)}
        assert resource.verify(instance).ok

    def cli(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "drift_sentinel.cli", "audit", "verify", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ),
        )

    ok = cli()
    assert ok.returncode == 0, ok.stderr
    assert "cross-checked against 5 head(s) recorded by the Dagster instance" in ok.stdout
    for seq in (4, 5):
        (audit / f"{seq:012d}.json").unlink()
    cut = cli()
    assert cut.returncode == 1 and "truncated" in cut.stdout + cut.stderr, cut.stdout + cut.stderr
    assert cli("--no-instance").returncode == 0  # the chain alone cannot see it: the cross-check does
    other = cli("--uri", str(tmp_path / "audit-copy"))
    assert other.returncode == 3  # another location is not cross-checked, and must exist

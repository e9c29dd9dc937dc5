"""The hash-chained audit trail in a local folder: append, verify (changed/removed/reordered), export."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drift_sentinel.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    LocalAuditStore,
    canonical_json,
    open_trail,
    read_export,
    record_hash,
)
from drift_sentinel.errors import ConfigError, DataError
from drift_sentinel.verdict import Verdict

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _signing_key_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's key is created under SENTINEL_HOME: keep it out of the working directory."""
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path_factory.mktemp("sentinel_home")))
    monkeypatch.delenv("REMEDIATION_AUDIT_KEY", raising=False)
    monkeypatch.delenv("REMEDIATION_AUDIT_KEY_FILE", raising=False)


def event(i: int, **overrides: object) -> AuditEvent:
    base: dict[str, object] = dict(
        kind="gate_decision" if i % 2 else "action",
        model_id="fraud",
        incident_id=f"inc-{i // 3}",
        actor="sensor:rca_report_sensor",
        run_id=f"run-{i}",
        action="rollback_model",
        outcome="PASSED",
        details={"i": i, "reasons": ("cooldown: no previous action",)},
        at=T0 + timedelta(minutes=i),
    )
    base.update(overrides)
    return AuditEvent(**base)  # type: ignore[arg-type]


def filled(path: Path, n: int = 5):  # type: ignore[no-untyped-def]
    trail = open_trail(path)
    for i in range(n):
        trail.append(event(i))
    return trail


def edit(path: Path, seq: int, mutate) -> None:  # type: ignore[no-untyped-def]
    file = path / f"{seq:012d}.json"
    data = json.loads(file.read_text())
    mutate(data)
    os.chmod(file, 0o644)
    file.write_text(json.dumps(data))


def test_hash_is_sha256_of_canonical_json() -> None:
    import hashlib

    e = event(1)
    expected = hashlib.sha256(
        canonical_json({"seq": 1, "event": e.to_dict(), "prev_hash": GENESIS_HASH})
    ).hexdigest()
    assert record_hash(1, e, GENESIS_HASH) == expected
    assert AuditRecord.create(1, e, GENESIS_HASH).hash == expected


def test_append_chains_records_and_round_trips(tmp_path: Path) -> None:
    trail = filled(tmp_path, 4)
    records = list(trail.records())
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:], strict=False))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i:012d}.json" for i in range(1, 5)]
    assert records[2].event == event(2)  # details normalised: the tuple became a list both times
    assert records[2].event.details["reasons"] == ["cooldown: no previous action"]
    result = trail.verify()
    assert result.ok and result.records == 4 and result.head_hash == records[-1].hash
    assert result.summary.startswith("audit trail ok: 4 records")


def test_records_are_read_only_files(tmp_path: Path) -> None:
    filled(tmp_path, 1)
    assert (tmp_path / "000000000001.json").stat().st_mode & 0o222 == 0


def test_event_normalises_details_and_validates() -> None:
    e = event(
        0,
        details={"at": T0, "verdict": Verdict.FAILED, "nan": float("nan"), "n": 3},
        at=T0.replace(tzinfo=None),
    )
    assert e.details == {"at": T0.isoformat(), "verdict": "FAILED", "nan": "nan", "n": 3}
    assert e.at.tzinfo is not None
    with pytest.raises(DataError, match="'actor'"):
        event(0, actor="")


def test_changed_record_is_named(tmp_path: Path) -> None:
    trail = filled(tmp_path)
    edit(tmp_path, 3, lambda d: d["event"].update(outcome="FAILED"))
    result = trail.verify()
    assert not result.ok
    assert [(p.seq, p.kind) for p in result.problems] == [(3, "changed")]
    assert "record 3" in result.summary and "000000000003.json" in result.summary


def test_rehashed_record_breaks_the_link_to_the_next(tmp_path: Path) -> None:
    trail = filled(tmp_path)

    def forge(d: dict) -> None:
        d["event"]["outcome"] = "FAILED"
        d["hash"] = record_hash(d["seq"], AuditEvent.from_dict(d["event"]), d["prev_hash"])

    edit(tmp_path, 2, forge)
    result = trail.verify()
    # without the key the re-hashed record cannot be re-signed: it is named, and so is the broken link
    assert [(p.seq, p.kind) for p in result.problems] == [(2, "forged"), (3, "reordered")]
    assert "bad signature" in result.problems[0].message
    assert "does not follow record 2" in result.problems[1].message


def test_removed_record_is_named(tmp_path: Path) -> None:
    trail = filled(tmp_path)
    (tmp_path / "000000000002.json").unlink()
    result = trail.verify()
    assert [(p.seq, p.kind) for p in result.problems] == [(3, "removed")]
    assert "record(s) 2 removed" in result.problems[0].message


def test_removed_first_record_is_detected(tmp_path: Path) -> None:
    trail = filled(tmp_path, 3)
    (tmp_path / "000000000001.json").unlink()
    assert [(p.seq, p.kind) for p in trail.verify().problems] == [(2, "removed")]


def test_swapped_records_are_reordered(tmp_path: Path) -> None:
    trail = filled(tmp_path)
    a, b = tmp_path / "000000000002.json", tmp_path / "000000000004.json"
    a_text, b_text = a.read_text(), b.read_text()
    for f in (a, b):
        os.chmod(f, 0o644)
    a.write_text(b_text)
    b.write_text(a_text)
    assert [(p.seq, p.kind) for p in trail.verify().problems] == [(2, "reordered"), (4, "reordered")]


def test_unreadable_record(tmp_path: Path) -> None:
    trail = filled(tmp_path, 3)
    f = tmp_path / "000000000002.json"
    os.chmod(f, 0o644)
    f.write_text("{not json")
    result = trail.verify()
    assert [(p.seq, p.kind) for p in result.problems] == [(2, "unreadable")]


def test_truncation_is_caught_with_an_expected_head(tmp_path: Path) -> None:
    trail = filled(tmp_path, 4)
    head = trail.verify().head_hash
    (tmp_path / "000000000004.json").unlink()
    assert trail.verify().ok  # the chain alone cannot see a cut-off tail
    result = trail.verify(expected_head=head)
    assert [p.kind for p in result.problems] == ["truncated"]


def test_append_refuses_to_chain_onto_an_unreadable_head(tmp_path: Path) -> None:
    trail = filled(tmp_path, 2)
    true_head = trail.verify().head_hash
    f = tmp_path / "000000000002.json"
    os.chmod(f, 0o644)
    f.write_text("garbage")
    with pytest.raises(DataError, match="000000000002.json"):
        open_trail(tmp_path).append(event(9))  # a new writer must read the head: refuses
    # the writer that wrote record 2 remembers its real hash and chains onto it; verify names record 2
    assert trail.append(event(9)).prev_hash == true_head
    assert [(p.seq, p.kind) for p in trail.verify().problems] == [(2, "unreadable")]


def test_a_second_writer_makes_a_cached_head_stale_and_append_recovers(tmp_path: Path) -> None:
    a, b = open_trail(tmp_path), open_trail(tmp_path)
    a.append(event(0))
    b.append(event(1))  # a's cached head is now stale
    third = a.append(event(2))
    assert third.seq == 3
    assert a.verify().ok


def test_store_is_write_once(tmp_path: Path) -> None:
    store = LocalAuditStore(tmp_path)
    assert store.put_new(1, b"first")
    assert not store.put_new(1, b"second")
    assert store.get(1) == b"first" and store.seqs() == [1]
    assert store.get(2) is None


def test_concurrent_threads_build_one_chain(tmp_path: Path) -> None:
    trail = open_trail(tmp_path)
    barrier = threading.Barrier(6)

    def worker(w: int) -> None:
        barrier.wait()
        for j in range(5):
            trail.append(event(w * 10 + j))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = trail.verify()
    assert result.ok, result.problems
    assert result.records == 30
    assert sorted(r.event.details["i"] for r in trail.records()) == sorted(
        w * 10 + j for w in range(6) for j in range(5)
    )


def _process_worker(path: str, w: int) -> None:
    trail = open_trail(path)
    for j in range(4):
        trail.append(event(w * 10 + j))


def test_concurrent_processes_build_one_chain(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_worker, args=(str(tmp_path), w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    result = open_trail(tmp_path).verify()
    assert result.ok and result.records == 12


def test_export_jsonl_since_and_reverify(tmp_path: Path) -> None:
    trail = filled(tmp_path / "trail", 6)
    out = io.StringIO()
    assert trail.export(out, since=T0 + timedelta(minutes=3)) == 3
    records = read_export(out.getvalue())
    assert [r.seq for r in records] == [4, 5, 6]
    assert all(r.hash == record_hash(r.seq, r.event, r.prev_hash) for r in records)
    file = tmp_path / "pack" / "audit.jsonl"
    assert trail.export(file) == 6
    assert len(file.read_text().splitlines()) == 6


def test_export_csv(tmp_path: Path) -> None:
    trail = filled(tmp_path, 3)
    out = tmp_path / "audit.csv"
    assert trail.export(out, fmt="csv") == 3
    rows = list(csv.DictReader(out.open()))
    assert [row["seq"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["kind"] == "action" and rows[1]["run_id"] == "run-1"
    assert json.loads(rows[2]["details"])["i"] == 2
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    with pytest.raises(ConfigError, match="'xml'"):
        trail.export(io.StringIO(), fmt="xml")  # type: ignore[arg-type]


def test_open_trail_rejects_unknown_schemes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gs://bucket"):
        open_trail("gs://bucket/audit")
    assert open_trail(f"file://{tmp_path}").verify().ok

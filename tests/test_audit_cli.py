"""``drift-sentinel audit verify|export`` on a local trail, in process and as a real subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drift_sentinel.audit import AuditEvent, open_trail
from drift_sentinel.cli import main

T0 = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _signing_key_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's key is created under SENTINEL_HOME: keep it out of the working directory."""
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path_factory.mktemp("sentinel_home")))
    monkeypatch.delenv("REMEDIATION_AUDIT_KEY", raising=False)
    monkeypatch.delenv("REMEDIATION_AUDIT_KEY_FILE", raising=False)


def make_trail(path: Path, n: int = 4) -> None:
    trail = open_trail(path)
    for i in range(n):
        trail.append(
            AuditEvent(
                kind="gate_decision",
                model_id="fraud",
                incident_id="inc-1",
                actor="sensor:s",
                run_id=f"r{i}",
                action="notify_team",
                outcome="PASSED",
                details={"i": i},
                at=T0 + timedelta(days=i),
            )
        )


def test_verify_ok_and_tampered_names_the_record(tmp_path: Path, capsys) -> None:
    make_trail(tmp_path)
    assert main(["audit", "verify", "--uri", str(tmp_path)]) == 0
    assert "audit trail ok: 4 records" in capsys.readouterr().out

    # edit a local copy of record 3
    record = tmp_path / "000000000003.json"
    data = json.loads(record.read_text())
    data["event"]["actor"] = "user:mallory"
    os.chmod(record, 0o644)
    record.write_text(json.dumps(data))

    assert main(["audit", "verify", "--uri", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "TAMPERED" in captured.out and "record 3" in captured.out
    assert "000000000003.json" in captured.err

    assert main(["audit", "verify", "--uri", str(tmp_path), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["problems"][0]["seq"] == 3


def test_export_since_as_csv_and_default_uri_from_environment(tmp_path: Path, monkeypatch, capsys) -> None:
    make_trail(tmp_path / "audit")
    monkeypatch.setenv("REMEDIATION_AUDIT_URI", str(tmp_path / "audit"))
    out = tmp_path / "evidence.csv"
    assert main(["audit", "export", "--since", "2026-02-03", "--format", "csv", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [row["seq"] for row in rows] == ["3", "4"]
    err = capsys.readouterr().err
    assert "wrote 2 audit records" in err and "audit trail ok: 4 records" in err
    assert main(["audit", "export", "--since", "2026-02-04T00:00:00Z"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["seq"] == 4


def test_export_of_a_tampered_trail_is_written_but_fails(tmp_path: Path, capsys) -> None:
    make_trail(tmp_path / "audit")
    (tmp_path / "audit" / "000000000002.json").unlink()
    out = tmp_path / "pack.jsonl"
    assert main(["audit", "export", "--uri", str(tmp_path / "audit"), "--out", str(out)]) == 1
    assert len(out.read_text().splitlines()) == 3
    assert "TAMPERED" in capsys.readouterr().err


def test_expected_head_from_an_export_detects_truncation(tmp_path: Path, capsys) -> None:
    make_trail(tmp_path)
    assert main(["audit", "export", "--uri", str(tmp_path), "--out", str(tmp_path / "x.jsonl")]) == 0
    head = capsys.readouterr().err.rsplit("head ", 1)[1].split()[0]
    assert len(head) == 64  # the full head, so that --expected-head can use it as printed
    (tmp_path / "000000000004.json").unlink()
    assert main(["audit", "verify", "--uri", str(tmp_path)]) == 0
    assert main(["audit", "verify", "--uri", str(tmp_path), "--expected-head", head]) == 1
    assert "truncated" in capsys.readouterr().err


def test_cli_subprocess_exit_status(tmp_path: Path) -> None:
    make_trail(tmp_path, 2)
    (tmp_path / "000000000001.json").unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "drift_sentinel.cli", "audit", "verify", "--uri", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "removed" in proc.stdout

"""``drift-sentinel token``: a development token that the API's verifier accepts, and service keys."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drift_sentinel.access import TokenVerifier, load_jwks, load_service_keys
from drift_sentinel.cli import main


def test_issue_creates_a_key_pair_once_and_prints_a_verifiable_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path))
    assert main(["token", "issue", "--role", "operator", "--team", "ml-platform", "--subject", "ann"]) == 0
    token = capsys.readouterr().out.strip()
    keys = tmp_path / "keys"
    assert oct(os.stat(keys / "dev-signing-key.pem").st_mode & 0o777) == "0o600"
    verifier = TokenVerifier(
        load_jwks(keys / "jwks.json"), issuer="drift-sentinel-dev", audience="drift-sentinel-api"
    )
    principal = verifier.verify(token)
    assert (principal.subject, principal.role, principal.teams) == ("ann", "operator", ("ml-platform",))
    pem = (keys / "dev-signing-key.pem").read_bytes()
    assert main(["token", "issue", "--ttl", "60"]) == 0  # the same key pair again
    assert (keys / "dev-signing-key.pem").read_bytes() == pem
    assert verifier.verify(capsys.readouterr().out.strip()).role == "viewer"


def test_ttl_over_an_hour_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path))
    assert main(["token", "issue", "--ttl", "7200"]) == 64  # the CLI's usage-error status
    assert "--ttl 7200: must be between 1 and 3600 seconds" in capsys.readouterr().err
    assert not (tmp_path / "keys").exists()


def test_service_key_is_added_once_and_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTINEL_HOME", str(tmp_path))
    args = ["token", "service-key", "--name", "ci", "--role", "operator", "--team", "ml-platform"]
    assert main([*args, "--rate-limit", "30"]) == 0
    printed = json.loads(capsys.readouterr().out)
    keys = load_service_keys(tmp_path / "keys" / "service-keys.json")
    assert keys["ci"].secret == printed["secret"] and keys["ci"].rate_limit_per_minute == 30
    assert keys["ci"].principal().subject == "service:ci"
    assert main(args) == 4  # ConfigError: exists already
    assert "service key 'ci' exists already" in capsys.readouterr().err

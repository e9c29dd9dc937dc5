"""``drift-sentinel check``: exit statuses, JSON output, one-line errors naming the file or column, S3."""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

from drift_sentinel.cli import main
from tests.support.fixtures import moto_endpoint, s3_credentials, unique_name


@pytest.fixture
def windows(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(11)
    n = 800
    paths = {name: tmp_path / name for name in ("ref.parquet", "drift.csv", "same.parquet", "tiny.parquet")}
    pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n)}).to_parquet(paths["ref.parquet"])
    pd.DataFrame({"a": rng.normal(1.0, 1, n), "b": rng.choice(["x", "y"], n)}).to_csv(
        paths["drift.csv"], index=False
    )
    pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n)}).to_parquet(paths["same.parquet"])
    pd.DataFrame({"a": rng.normal(size=5), "b": ["x"] * 5}).to_parquet(paths["tiny.parquet"])
    return paths


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_drift_exits_1_and_prints_the_report(windows: dict[str, Path], capsys, tmp_path: Path) -> None:
    out_file = tmp_path / "report.json"
    code, out, _ = _run(
        capsys, "--reference", str(windows["ref.parquet"]), "--current", str(windows["drift.csv"]),
        "--output", str(out_file),
    )  # fmt: skip
    report = json.loads(out)
    assert code == 1
    assert report["drift_detected"] is True and report["verdict"] == "FAILED"
    assert [a["name"] for a in report["affected_features"]] == ["a"]
    assert {"drift_score", "timestamp", "affected_features"} <= set(report)
    assert json.loads(out_file.read_text()) == report


def test_no_drift_exits_0(windows: dict[str, Path], capsys) -> None:
    code, out, _ = _run(
        capsys, "--reference", str(windows["ref.parquet"]), "--current", str(windows["same.parquet"])
    )
    assert code == 0 and json.loads(out)["verdict"] == "PASSED"


def test_too_little_data_exits_2(windows: dict[str, Path], capsys) -> None:
    code, out, _ = _run(
        capsys, "--reference", str(windows["ref.parquet"]), "--current", str(windows["tiny.parquet"])
    )
    assert code == 2 and json.loads(out)["verdict"] == "INCONCLUSIVE"


def test_features_and_config_file(windows: dict[str, Path], capsys, tmp_path: Path) -> None:
    cfg = tmp_path / "detection.yaml"
    cfg.write_text("detection:\n  algorithms: [chi_square]\n  sensitivity: high\n")
    code, out, _ = _run(
        capsys, "--reference", str(windows["ref.parquet"]), "--current", str(windows["drift.csv"]),
        "--features", "b", "--config", str(cfg), "--compact",
    )  # fmt: skip
    report = json.loads(out)
    assert code == 0
    assert list(report["features"]) == ["b"]
    assert report["config"]["sensitivity"] == "high"
    assert list(report["features"]["b"]["results"]) == ["chi_square"]


@pytest.mark.parametrize(
    ("case", "needle", "status"),
    [
        ("missing_file", "nope.parquet: file not found", 3),
        ("corrupt", "bad.parquet: cannot read as parquet", 3),
        ("unknown_feature", "unknown feature 'zz'", 3),
        ("no_shared", "share no columns", 3),
        ("empty", "empty.parquet: no rows", 3),
        ("bad_config", "unknown algorithm(s) ['bogus']", 4),
        ("missing_config", "cfg-missing.yaml: config file not found", 4),
    ],
)
def test_bad_input_gives_one_line_naming_the_file_or_column(
    windows: dict[str, Path], tmp_path: Path, capsys, case: str, needle: str, status: int
) -> None:
    ref, cur = str(windows["ref.parquet"]), str(windows["same.parquet"])
    extra: list[str] = []
    if case == "missing_file":
        cur = str(tmp_path / "nope.parquet")
    elif case == "corrupt":
        (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
        cur = str(tmp_path / "bad.parquet")
    elif case == "unknown_feature":
        extra = ["--features", "a,zz"]
    elif case == "no_shared":
        pd.DataFrame({"q": [1.0, 2.0]}).to_parquet(tmp_path / "other.parquet")
        cur = str(tmp_path / "other.parquet")
    elif case == "empty":
        pd.DataFrame({"a": pd.Series([], dtype=float)}).to_parquet(tmp_path / "empty.parquet")
        cur = str(tmp_path / "empty.parquet")
    elif case == "bad_config":
        (tmp_path / "c.yaml").write_text("algorithms: [ks, bogus]\n")
        extra = ["--config", str(tmp_path / "c.yaml")]
    elif case == "missing_config":
        extra = ["--config", str(tmp_path / "cfg-missing.yaml")]
    code, out, err = _run(capsys, "--reference", ref, "--current", cur, *extra)
    assert code == status
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


@pytest.mark.integration
def test_reads_windows_from_s3(moto_endpoint: str, s3_credentials: None, monkeypatch, capsys) -> None:
    """Parquet and CSV on a real S3-compatible server (moto_server on loopback) via pyarrow's S3 client."""
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    bucket = unique_name("check")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    rng = np.random.default_rng(2)
    ref, cur = io.BytesIO(), io.BytesIO()
    pd.DataFrame({"a": rng.normal(size=500)}).to_parquet(ref)
    cur.write(pd.DataFrame({"a": rng.normal(2.0, 1, size=500)}).to_csv(index=False).encode())
    s3.put_object(Bucket=bucket, Key="w/ref.parquet", Body=ref.getvalue())
    s3.put_object(Bucket=bucket, Key="w/cur.csv", Body=cur.getvalue())
    code, out, _ = _run(
        capsys, "--reference", f"s3://{bucket}/w/ref.parquet", "--current", f"s3://{bucket}/w/cur.csv"
    )
    assert code == 1 and json.loads(out)["affected_features"][0]["name"] == "a"
    code, _, err = _run(
        capsys, "--reference", f"s3://{bucket}/w/ref.parquet", "--current", f"s3://{bucket}/w/no.csv"
    )
    assert code == 3 and "no.csv" in err and len(err.strip().splitlines()) == 1

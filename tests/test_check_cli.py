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


# ------------------------------------------------------------------ issue 15: messy data through the CLI
@pytest.fixture(scope="module")
def issue_windows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ref.csv, cur.csv and drift.csv as in the issue: three seeded normal columns x, y, z and a 4-value
    categorical, 5,000 rows; drift.csv has x shifted by one standard deviation."""
    root = tmp_path_factory.mktemp("issue15")
    for name, seed, shift in (("ref", 1, 0.0), ("cur", 2, 0.0), ("drift", 3, 1.0)):
        rng = np.random.default_rng(seed)
        pd.DataFrame(
            {
                "x": rng.normal(shift, 1, 5000),
                "y": rng.normal(size=5000),
                "z": rng.normal(size=5000),
                "cat": rng.choice(["a", "b", "c", "d"], 5000),
            }
        ).to_csv(root / f"{name}.csv", index=False)
    return root


def _edit_csv(
    src: Path, dst: Path, column: str, rows: list[int], values: list[str], encoding: str = "utf-8"
) -> Path:
    lines = src.read_text().splitlines()
    index = lines[0].split(",").index(column)
    for row, value in zip(rows, values, strict=True):
        cells = lines[row + 1].split(",")
        cells[index] = value
        lines[row + 1] = ",".join(cells)
    dst.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return dst


@pytest.mark.parametrize(
    ("source", "values", "status"),
    [
        ("drift", ["N/A?"] * 5, 1),
        ("drift", ["N/A?", "n/a", "-", "#VALUE!", "?"], 1),
        ("cur", ["N/A?"] * 5, 0),
        ("drift", ["oops"] * 50, 1),
    ],
)
def test_stray_strings_in_a_numeric_column_do_not_hide_drift(
    issue_windows: Path, tmp_path: Path, capsys, source: str, values: list[str], status: int
) -> None:
    rows = list(range(3, 3 + 41 * len(values), 41))
    cur = _edit_csv(issue_windows / f"{source}.csv", tmp_path / "strays.csv", "x", rows, values)
    code, out, err = _run(capsys, "--reference", str(issue_windows / "ref.csv"), "--current", str(cur))
    x = json.loads(out)["features"]["x"]
    assert code == status and err == ""
    assert (
        x["kind"] == "numeric"
        and f"{len(values)} value(s) in the current window are not numbers" in x["status"]
    )
    assert x["n_current"] == 5000 - len(values)


def test_declared_kinds_win_from_the_config_file(issue_windows: Path, tmp_path: Path, capsys) -> None:
    cur = _edit_csv(
        issue_windows / "drift.csv", tmp_path / "half.csv", "x", list(range(0, 5000, 2)), ["?"] * 2500
    )
    cfg = tmp_path / "kinds.yaml"
    cfg.write_text("features: {x: numeric, cat: categorical}\n")
    code, out, _ = _run(
        capsys, "--reference", str(issue_windows / "ref.csv"), "--current", str(cur), "--config", str(cfg),
        "--features", "x",
    )  # fmt: skip
    report = json.loads(out)
    assert code == 1 and report["features"]["x"]["kind"] == "numeric"
    assert report["features"]["x"]["null_rate_drifted"] is True


@pytest.mark.parametrize("variant", ["latin1_value", "cp1252_value", "latin1_header", "utf16_bom", "mixed"])
def test_text_that_is_not_utf8_is_decoded_consistently_and_said_so(
    issue_windows: Path, tmp_path: Path, capsys, variant: str
) -> None:
    """One Latin-1 'été' in cat used to turn every category into bytes (all 'new', exit 1)."""
    ref = issue_windows / "ref.csv"
    if variant == "utf16_bom":
        cur = tmp_path / "cur16.csv"
        cur.write_text(
            (issue_windows / "cur.csv").read_text().replace(",a\n", ",été\n", 1), encoding="utf-16"
        )
    elif variant == "latin1_header":
        text = (
            (issue_windows / "cur.csv")
            .read_text()
            .replace("cat", "catégorie", 1)
            .replace(",a\n", ",été\n", 1)
        )
        (cur := tmp_path / "hdr.csv").write_bytes(text.encode("latin-1"))
        ref = tmp_path / "ref_hdr.csv"
        ref.write_text((issue_windows / "ref.csv").read_text().replace("cat", "catégorie", 1))
    else:
        encoding = {"latin1_value": "latin-1", "cp1252_value": "cp1252", "mixed": "latin-1"}[variant]
        value = "café€" if variant == "cp1252_value" else "été"
        cur = _edit_csv(
            issue_windows / "cur.csv", tmp_path / "enc.csv", "cat", [10], [value], encoding=encoding
        )
        if variant == "mixed":  # one more value, valid UTF-8, in the same file
            cur.write_bytes(cur.read_bytes() + "0.1,0.2,0.3,été\n".encode())
    code, out, err = _run(capsys, "--reference", str(ref), "--current", str(cur))
    report = json.loads(out)
    category = next(f for n, f in report["features"].items() if n.startswith("cat"))
    assert code == 0, err
    assert report["verdict"] == "PASSED"
    assert category["kind"] == "categorical"
    assert set(category["new_categories"]) <= {"été", "café€"} and len(category["new_categories"]) == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drift-sentinel check: note: current window")
    assert ("utf-16" if variant == "utf16_bom" else "cp1252") in lines[0]


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        (
            'thresholds:\n  "*":\n    alpha: -0.05\n',
            "line 3: thresholds.*.alpha: must be in (0, 1), got -0.05",
        ),
        ('thresholds: {"*": {ks: -0.5}}\n', "line 1: thresholds.*.ks: must be in [0, 1], got -0.5"),
        ('{"thresholds": {"*": {"psi": -1}}}', "line 1: thresholds.*.psi: must be ≥ 0, got -1"),
        (
            "detection:\n  algorithms: [ks]\n  thresholds:\n    x: {kss: 0.1}\n",
            "line 4: thresholds.x.kss: unknown",
        ),
        ("algorithms: [ks, psi]\nquorum: 5\n", "line 2: quorum: quorum 5 is more than the 2 configured"),
        ("sensitivity: extreme\n", "line 1: sensitivity: Input should be 'low', 'medium' or 'high'"),
    ],
)
def test_config_files_that_would_switch_detection_off_exit_4_naming_file_line_and_field(
    issue_windows: Path, tmp_path: Path, capsys, config: str, needle: str
) -> None:
    path = tmp_path / ("c.json" if config.startswith("{") else "c.yaml")
    path.write_text(config)
    code, out, err = _run(
        capsys, "--reference", str(issue_windows / "ref.csv"), "--current", str(issue_windows / "drift.csv"),
        "--config", str(path),
    )  # fmt: skip
    lines = err.strip().splitlines()
    assert code == 4 and out == "" and len(lines) == 1
    assert lines[0].startswith(f"drift-sentinel check: {path}: ") and needle in lines[0], lines[0]


def test_command_line_overrides_are_named_as_such(issue_windows: Path, tmp_path: Path, capsys) -> None:
    (cfg := tmp_path / "q.yaml").write_text("quorum: 2\n")
    code, _, err = _run(
        capsys, "--reference", str(issue_windows / "ref.csv"), "--current", str(issue_windows / "cur.csv"),
        "--config", str(cfg), "--algorithms", "ks",
    )  # fmt: skip
    assert code == 4 and "q.yaml: line 1: quorum: quorum 2 is more than the 1 configured" in err
    code, _, err = _run(
        capsys, "--reference", str(issue_windows / "ref.csv"), "--current", str(issue_windows / "cur.csv"),
        "--algorithms", "ks,kss",
    )  # fmt: skip
    assert code == 4 and err.startswith("drift-sentinel check: command line: algorithms: unknown algorithm")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_datetime_columns_do_not_make_a_clean_check_inconclusive(tmp_path: Path, capsys, fmt: str) -> None:
    """The demo's training snapshot against a clean day: timestamp is left out and said so (exit 0)."""
    rng = np.random.default_rng(12)
    paths = []
    for name, start in (("training", "2026-09-01"), ("day", "2026-10-01")):
        frame = pd.DataFrame(
            {
                "timestamp": pd.date_range(start, periods=3000, freq="20s", tz="UTC"),
                "amount": rng.lognormal(3, 1, 3000),
                "device_id": rng.choice(["ios-18", "android-14"], 3000),
            }
        )
        path = tmp_path / f"{name}.{fmt}"
        frame.to_parquet(path) if fmt == "parquet" else frame.to_csv(path, index=False)
        paths.append(path)
    code, out, err = _run(capsys, "--reference", str(paths[0]), "--current", str(paths[1]))
    report = json.loads(out)
    assert code == 0 and err == "" and report["verdict"] == "PASSED"
    assert set(report["features"]) == {"amount", "device_id"}
    assert report["excluded_columns"] == {"timestamp": "datetime column: not a feature unless declared"}


def test_a_string_prediction_column_is_reported_as_classes(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(13)
    for name, p in (("ref", 0.3), ("cur", 0.55)):
        pd.DataFrame(
            {"x": rng.normal(size=2000), "pred": np.where(rng.random(2000) < p, "fraud", "ok")}
        ).to_csv(tmp_path / f"{name}.csv", index=False)
    code, out, _ = _run(
        capsys, "--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "cur.csv"),
        "--prediction-column", "pred",
    )  # fmt: skip
    prediction = json.loads(out)["signals"]["prediction"]
    assert code == 1 and prediction["verdict"] == "FAILED" and prediction["drift_type"] == "prediction"
    assert "missing" not in prediction["status"] and prediction["n_current"] == 2000


@pytest.mark.slow
def test_no_runtime_warnings_on_stderr_for_extreme_values(issue_windows: Path, tmp_path: Path) -> None:
    """A real process (warnings print to stderr there): 1e308, -1e308, inf and a constant column."""
    import subprocess
    import sys

    cur = _edit_csv(
        issue_windows / "drift.csv", tmp_path / "huge.csv", "x", [5, 6, 7], ["1e308", "-1e308", "inf"]
    )
    frame = pd.read_csv(cur).assign(k=1.0, t=pd.date_range("2026-10-01", periods=5000, freq="min"))
    frame.to_csv(cur, index=False)
    ref = pd.read_csv(issue_windows / "ref.csv").assign(k=1.0)
    ref.loc[9, "y"] = 1e308
    ref.to_csv(tmp_path / "ref.csv", index=False)
    proc = subprocess.run(
        [
            sys.executable, "-m", "drift_sentinel.cli", "check", "--reference", str(tmp_path / "ref.csv"),
            "--current", str(cur), "--algorithms", "ks,psi,wasserstein,chi_square,adwin,page_hinkley",
            "--time-column", "t", "--compact",
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.stderr == ""
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["affected_features"][0]["name"] == "x"
    for name in ("x", "y"):
        for result in report["features"][name]["results"].values():
            assert isinstance(result["statistic"], float) and isinstance(result["effect_size"], float), name

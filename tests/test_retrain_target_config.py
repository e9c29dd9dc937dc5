"""``retrain:`` in ``sentinel.yaml``: the three forms, and names checked against the workspace when defs load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drift_sentinel.config import load_config, parse_config
from drift_sentinel.errors import ConfigError
from resources.run_launcher import check_targets, main

REPO = Path(__file__).resolve().parents[1]


def write_models(tmp_path: Path, retrain: dict | None) -> Path:
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    if retrain is not None:
        model["retrain"] = retrain
    (tmp_path / "sentinel.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    workspace = {
        "load_from": [
            {
                "python_module": {
                    "module_name": "examples.feature_pipeline.definitions",
                    "attribute": "defs",
                    "location_name": "feature_pipeline",
                    "working_directory": str(REPO),
                }
            }
        ]
    }
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    return tmp_path / "sentinel.yaml"


def test_builtin_is_the_default_and_todays_behaviour() -> None:
    spec = load_config(REPO / "sentinel.yaml").models[0]
    assert spec.retrain.kind == "builtin" and spec.retrain.builtin_kind == "gradient_boosting"


@pytest.mark.parametrize(
    ("retrain", "message"),
    [
        ({"job": "train"}, "a job target needs code_location"),
        ({"job": "a", "asset": "b", "code_location": "x"}, "not job and asset"),
        ({"builtin": "gradient_boosting", "code_location": "x"}, "apply only to a job or asset target"),
        ({"builtin": "xgboost"}, "retrain.builtin"),
        ({"job": "a", "code_location": "x", "timeout_seconds": 0}, "retrain.timeout_seconds"),
        ({"jobb": "a"}, "retrain.jobb"),
    ],
)
def test_a_malformed_target_is_a_config_error_naming_the_field_and_line(
    tmp_path: Path, retrain: dict, message: str
) -> None:
    path = write_models(tmp_path, retrain)
    with pytest.raises(ConfigError, match=r"line \d+: models\.0\.retrain") as caught:
        load_config(path)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "retrain",
    [
        {"job": "train_fraud_model", "code_location": "feature_pipeline"},
        {"asset": "training/training_set", "code_location": "feature_pipeline"},
        {"builtin": "logistic_regression"},
    ],
)
def test_known_targets_pass(tmp_path: Path, retrain: dict) -> None:
    check_targets(load_config(write_models(tmp_path, retrain)))


@pytest.mark.parametrize(
    ("retrain", "message"),
    [
        (
            {"job": "train_fraud_model", "code_location": "team"},
            "unknown code location 'team' in .*workspace.yaml; declared: feature_pipeline",
        ),
        (
            {"job": "train", "code_location": "feature_pipeline"},
            "unknown job 'train' in code location 'feature_pipeline'; jobs: feature_pipeline, "
            "feature_references, train_fraud_model",
        ),
        (
            {"asset": "training/model", "code_location": "feature_pipeline"},
            "unknown asset 'training/model' in code location 'feature_pipeline'; assets: .*training/training_set",
        ),
        (
            {"job": "train_fraud_model", "code_location": "feature_pipeline", "workspace": "nowhere.yaml"},
            "workspace file .*nowhere.yaml not found",
        ),
    ],
)
def test_unknown_names_are_refused_when_the_definitions_load(
    tmp_path: Path, retrain: dict, message: str
) -> None:
    from sentinel_assets.definitions import build_definitions

    config = load_config(write_models(tmp_path, retrain))
    with pytest.raises(ConfigError, match=r"models\[fraud-detector-v1\]\.retrain: " + message):
        build_definitions(config)


@pytest.mark.slow
def test_the_check_command_exits_4_with_one_line(tmp_path: Path) -> None:
    path = write_models(tmp_path, {"job": "train", "code_location": "feature_pipeline"})
    proc = subprocess.run(
        [sys.executable, "-m", "resources.run_launcher", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 4, proc.stderr[-2000:]
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("drift-sentinel:")]
    assert "unknown job 'train'" in line and "Traceback" not in proc.stderr
    good = write_models(tmp_path, {"job": "train_fraud_model", "code_location": "feature_pipeline"})
    assert main([str(good)]) == 0


def test_parse_config_accepts_the_job_form() -> None:
    retrain = (
        "    retrain: {job: train_fraud_model, code_location: feature_pipeline,\n"
        "              run_config: {ops: {train_and_register: {config: {kind: logistic_regression}}}}}\n"
    )
    text = (REPO / "sentinel.yaml").read_text().replace("    registry:\n", retrain + "    registry:\n")
    target = parse_config(text).models[0].retrain
    config = target.run_config["ops"]["train_and_register"]["config"]
    assert target.kind == "job" and config["kind"] == "logistic_regression"

"""Thresholds that would switch detection off, misspelt detector keys and an unreachable quorum are refused
(issue 15 #3, #9) — in a DetectionConfig and in sentinel.yaml's detection section, with file, line and field."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from drift_sentinel.config import load_config
from drift_sentinel.detection import DetectionConfig, detect_drift
from drift_sentinel.errors import ConfigError


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"*": {"alpha": -0.05}}, "thresholds.*.alpha: must be in (0, 1), got -0.05"),
        ({"*": {"alpha": 0.0}}, "thresholds.*.alpha: must be in (0, 1), got 0.0"),
        ({"*": {"alpha": 1.0}}, "thresholds.*.alpha: must be in (0, 1), got 1.0"),
        ({"*": {"ks": -0.5}}, "thresholds.*.ks: must be in [0, 1], got -0.5"),
        ({"amount": {"ks": 1.5}}, "thresholds.amount.ks: must be in [0, 1], got 1.5"),
        ({"*": {"psi": -1}}, "thresholds.*.psi: must be ≥ 0, got -1"),
        ({"*": {"chi_square": 2}}, "thresholds.*.chi_square: must be in [0, 1], got 2"),
        ({"*": {"domain_classifier": 0.6}}, "thresholds.*.domain_classifier: must be in [0, 0.5], got 0.6"),
        ({"*": {"null_rate": -0.1}}, "thresholds.*.null_rate: must be in [0, 1], got -0.1"),
        ({"*": {"wasserstein": math.inf}}, "thresholds.*.wasserstein: must be a finite number, got inf"),
        ({"*": {"ks": math.nan}}, "thresholds.*.ks: must be a finite number, got nan"),
        ({"*": {"ks": True}}, "thresholds.*.ks: must be a finite number, got True"),
        ({"*": {"ks": "0.1"}}, "thresholds.*.ks: must be a finite number, got '0.1'"),
        ({"*": {"kss": 0.1}}, "thresholds.*.kss: unknown threshold key 'kss'; accepted: alpha, null_rate"),
        ({"x": {"Alpha": 0.1}}, "thresholds.x.Alpha: unknown threshold key 'Alpha'"),
        ({"*": 0.1}, "thresholds.*: expected a mapping"),
    ],
)
def test_out_of_range_or_unknown_thresholds_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        DetectionConfig(thresholds=overrides)
    assert message in str(err.value)


def test_thresholds_at_the_edges_of_their_ranges_are_accepted() -> None:
    cfg = DetectionConfig(
        thresholds={
            "*": {"alpha": 0.2, "ks": 0.0, "psi": 5, "error_rate": 1.0, "domain_classifier": 0.5, "ddm": 0},
            "amount": {"ks": 1.0, "chi_square": 1, "null_rate": 0.0, "wasserstein": 3.5, "adwin": 0.25},
        }
    )
    assert cfg.thresholds["amount"]["ks"] == 1.0


@pytest.mark.parametrize(
    ("algorithms", "quorum", "ok"),
    [
        (["ks", "psi", "chi_square"], 3, True),
        (["ks", "psi"], 3, False),
        (["ks", "ks"], 2, False),
        ("all", 8, True),
    ],
)
def test_quorum_above_the_number_of_algorithms_is_refused(algorithms, quorum: int, ok: bool) -> None:
    if ok:
        assert DetectionConfig(algorithms=algorithms, quorum=quorum).quorum == quorum
    else:
        with pytest.raises(ValidationError, match=f"quorum {quorum} is more than the"):
            DetectionConfig(algorithms=algorithms, quorum=quorum)


def test_what_used_to_switch_detection_off_now_cannot() -> None:
    """The issue's reproduction: with alpha -0.05 no drift was ever reported, even a 1-sd shift."""
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=2000)})
    cur = pd.DataFrame({"x": rng.normal(1.0, 1, 2000)})
    with pytest.raises(ConfigError, match="alpha"):
        detect_drift(ref, cur, {"thresholds": {"*": {"alpha": -0.05}}})
    assert detect_drift(ref, cur, {"thresholds": {"*": {"alpha": 0.01}}}).drift_detected


def _sentinel_yaml(tmp_path: Path, detection: str) -> Path:
    path = tmp_path / "sentinel.yaml"
    path.write_text(
        "models:\n"
        "  - id: demo\n"
        "    features: [{name: amount, kind: numeric}]\n"
        "    prediction_column: score\n"
        "    window: {cadence: daily, start: 2026-10-01}\n"
        "    data: {prediction_log: p, training_snapshot: t.parquet}\n"
        "    detection:\n" + detection
    )
    return path


@pytest.mark.parametrize(
    ("detection", "line", "needle"),
    [
        ('      thresholds:\n        "*": {alpha: -0.05}\n', 9, "thresholds.*.alpha: must be in (0, 1)"),
        ("      thresholds:\n        amount: {kss: 0.1}\n", 9, "unknown threshold key 'kss'"),
        ('      thresholds:\n        "*":\n          psi: -1\n', 9, "thresholds.*.psi: must be ≥ 0"),
        ("      algorithms: [ks, psi]\n      quorum: 3\n", 9, "quorum 3 is more than the 2 configured"),
    ],
)
def test_sentinel_yaml_detection_section_is_validated_with_line_and_field(
    tmp_path: Path, detection: str, line: int, needle: str
) -> None:
    path = _sentinel_yaml(tmp_path, detection)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert err.value.exit_code == 4
    assert str(path) in message and needle in message and "models.0.detection" in message
    assert f"line {line}" in message or f"line {line + 1}" in message, message

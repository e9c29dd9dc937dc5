"""The models file: validation errors name the file, field and line; unknown ids list the declared ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from drift_sentinel.config import load_config, parse_config
from drift_sentinel.errors import ConfigError, UnknownModelError

REPO = Path(__file__).resolve().parents[1]

VALID = """\
models:
  - id: m1
    features:
      - {name: amount, kind: numeric}
    window: {cadence: hourly, start: 2026-10-01}
    data: {prediction_log: logs, training_snapshot: train.parquet}
"""


def test_repository_config_is_valid() -> None:
    config = load_config(REPO / "sentinel.yaml")
    spec = config.model("fraud-detector-v1")
    assert spec.asset_prefix == "fraud_detector_v1"
    assert spec.feature_kinds["device_id"] == "categorical"
    assert spec.safety.max_retries == 2


def test_wrong_enum_names_field_and_line() -> None:
    text = VALID.replace("kind: numeric", "kind: numerc")
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="sentinel.yaml")
    assert "sentinel.yaml: line 4: models.0.features.0.kind" in str(err.value)


def test_unknown_field_is_refused_with_its_line() -> None:
    text = VALID.replace("    window:", "    windw: {}\n    window:")
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="s.yaml")
    assert "line 5: models.0.windw: Extra inputs are not permitted" in str(err.value)


def test_missing_required_field_points_at_the_model() -> None:
    text = VALID.replace("    data: {prediction_log: logs, training_snapshot: train.parquet}\n", "")
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="s.yaml")
    assert "line 2: models.0.data: Field required" in str(err.value)


def test_invalid_yaml_reports_line() -> None:
    with pytest.raises(ConfigError, match=r"s.yaml: line \d+ invalid YAML"):
        parse_config("models:\n  - id: [unclosed\n", source="s.yaml")


def test_bad_duration_and_unknown_algorithm() -> None:
    text = VALID + "    safety: {cooldown_period: soon}\n    detection: {algorithms: [ks, magic]}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="s.yaml")
    message = str(err.value)
    assert "models.0.safety.cooldown_period" in message and "invalid duration 'soon'" in message
    assert "unknown algorithm(s) ['magic']" in message and "chi_square" in message


def test_unknown_model_lists_declared_ids() -> None:
    config = parse_config(VALID, source="s.yaml")
    with pytest.raises(UnknownModelError, match="unknown model id 'nope'; declared in s.yaml: m1"):
        config.model("nope")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_snapshot_strategy_requires_a_snapshot() -> None:
    text = VALID.replace(", training_snapshot: train.parquet", "")
    with pytest.raises(ConfigError, match="needs data.training_snapshot"):
        parse_config(text)

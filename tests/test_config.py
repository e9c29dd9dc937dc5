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


# ------------------------------------------------------------------- values to refuse (issue 15, 9)


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ("{cadence: hourly, start: 2026-10-01, end: 2026-09-01}", "models.0.window"),  # end before start
        ("{cadence: hourly, start: 2026-10-01, end: 2026-10-01}", "models.0.window"),  # empty range
        ("{cadence: daily, start: 2026-10-01, end: '2026-10-01T12:00:00'}", "models.0.window"),  # < 1 day
        (
            "{cadence: hourly, start: '2026-10-01T00:00:00+00:00', end: '2026-09-30T23:00:00+00:00'}",
            "models.0.window",
        ),
    ],
)
def test_window_end_must_leave_at_least_one_window(window: str, field: str) -> None:
    text = VALID.replace("{cadence: hourly, start: 2026-10-01}", window)
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="sentinel.yaml")
    message = str(err.value)
    assert f"sentinel.yaml: line 5: {field}" in message and "window.end" in message


def test_window_end_after_start_is_accepted_also_across_time_zones() -> None:
    text = VALID.replace(
        "{cadence: hourly, start: 2026-10-01}",
        "{cadence: hourly, start: 2026-10-01, end: '2026-10-01T02:00:00', timezone: Europe/Paris}",
    )
    window = parse_config(text).models[0].window
    assert window.end is not None and window.timezone == "Europe/Paris"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "UTC+25"])
def test_unknown_timezone_is_refused_with_its_line(zone: str) -> None:
    text = VALID.replace("start: 2026-10-01}", f"start: 2026-10-01, timezone: '{zone}'}}")
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="sentinel.yaml")
    assert "sentinel.yaml: line 5: models.0.window.timezone" in str(err.value)
    assert "unknown time zone" in str(err.value)


@pytest.mark.parametrize("cooldown", ["-300", "-PT5M", "'-5m'"])
def test_negative_cooldown_is_refused(cooldown: str) -> None:
    text = VALID + f"    safety: {{cooldown_period: {cooldown}}}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="sentinel.yaml")
    assert "sentinel.yaml: line 7: models.0.safety.cooldown_period" in str(err.value)


def test_zero_cooldown_is_allowed() -> None:
    spec = parse_config(VALID + "    safety: {cooldown_period: 0s}\n").models[0]
    assert spec.safety.cooldown_period.total_seconds() == 0


# ------------------------------------------------------ files that cannot be read (issue 15, 5)


def test_non_utf8_config_names_file_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "sentinel.yaml"
    path.write_bytes(VALID.replace("amount", "montant_\xe9t\xe9").encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: line 4: not UTF-8 text (byte 0xe9 at offset {VALID.index('amount') + 8}); save the file as UTF-8"
    )


def test_utf8_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sentinel.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_config(path).models[0].id == "m1"


def test_sentinel_config_naming_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match="is a folder"):
        load_config()


@pytest.mark.parametrize("model_id", ["../escaped", "..", "a/b", "UPPER", "-lead"])
def test_model_ids_that_could_name_other_folders_are_refused(model_id: str) -> None:
    with pytest.raises(ConfigError, match="models.0.id"):
        parse_config(VALID.replace("id: m1", f"id: '{model_id}'"))


def test_cli_prints_one_line_for_each_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The commands that read sentinel.yaml (demo) and --config (check) answer exit 4, no traceback."""
    from drift_sentinel.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"detection:\n  sensitivity: caf\xe9\n")
    ref = tmp_path / "ref.csv"
    ref.write_text("x\n" + "\n".join(str(i % 7) for i in range(50)) + "\n")
    assert main(["check", "--reference", str(ref), "--current", str(ref), "--config", str(bad)]) == 4
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["check", "--reference", str(ref), "--current", str(ref), "--config", str(tmp_path)]) == 4
    assert "Traceback" not in capsys.readouterr().err

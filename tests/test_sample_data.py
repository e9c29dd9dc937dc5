"""The sample-data generator: schema, determinism, and that each scenario injects what it says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from drift_sentinel.cli import main
from drift_sentinel.errors import UnknownNameError
from drift_sentinel.sample_data import NEW_DEVICE, PREDICTION_COLUMNS, SCENARIOS, generate


def _log(data) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in data.prediction_files], ignore_index=True)


def test_schema_and_files(tmp_path):
    data = generate(tmp_path, seed=3, scenario="demo", days=4, rows_per_hour=20)
    assert [p.name for p in data.prediction_files] == [
        "2026-10-01.parquet",
        "2026-10-02.parquet",
        "2026-10-03.parquet",
        "2026-10-04.parquet",
    ]
    frame = _log(data)
    assert tuple(frame.columns) == PREDICTION_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    for column in ("amount", "account_age_days", "transaction_velocity", "distance_from_home_km", "label"):
        assert frame[column].dtype == np.float64, column
    assert frame["error"].dtype == bool
    assert frame["prediction"].between(0, 1).all()
    assert frame["request_id"].is_unique
    assert frame["timestamp"].is_monotonic_increasing
    assert set(frame["label"].dropna().unique()) <= {0.0, 1.0}
    # each file holds exactly its day
    for path in data.prediction_files:
        day = pd.read_parquet(path)["timestamp"].dt.strftime("%Y-%m-%d").unique()
        assert list(day) == [path.stem]
    training = pd.read_parquet(data.training_path)
    assert len(training) == 20_000 and training["label"].notna().all()
    assert training["timestamp"].max() < pd.Timestamp(data.start)
    events = pd.read_csv(data.events_path)
    assert list(events.columns) == ["timestamp", "event_type", "source", "description"]
    assert set(events["event_type"]) <= {"deploy", "upstream_incident", "campaign", "holiday"}
    assert json.loads(json.dumps(data.to_dict()))["drifted_features"] == ["amount", "device_id"]


def test_labels_are_delayed_36_hours(tmp_path):
    data = generate(tmp_path, seed=1, scenario="none", days=3, rows_per_hour=20)
    frame = _log(data)
    cutoff = pd.Timestamp(data.end) - pd.Timedelta(hours=36)
    assert frame.loc[frame["timestamp"] >= cutoff, "label"].isna().all()
    assert frame.loc[frame["timestamp"] < cutoff, "label"].notna().all()


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate(tmp_path / "a", seed=5, days=2, rows_per_hour=10)
    b = generate(tmp_path / "b", seed=5, days=2, rows_per_hour=10)
    c = generate(tmp_path / "c", seed=6, days=2, rows_per_hour=10)
    pd.testing.assert_frame_equal(_log(a), _log(b))
    assert not _log(a)["amount"].equals(_log(c)["amount"])
    # a longer range starts with the same days (labels differ only by how many have arrived by the end)
    d = generate(tmp_path / "d", seed=5, days=3, rows_per_hour=10)
    first_a, first_d = pd.read_parquet(a.prediction_files[0]), pd.read_parquet(d.prediction_files[0])
    pd.testing.assert_frame_equal(first_a.drop(columns="label"), first_d.drop(columns="label"))
    arrived = first_a["label"].notna()
    assert arrived.any() and first_a.loc[arrived, "label"].equals(first_d.loc[arrived, "label"])


def test_volume_has_a_daily_cycle(tmp_path):
    frame = _log(generate(tmp_path, seed=2, scenario="none", days=7, rows_per_hour=100))
    by_hour = frame.groupby(frame["timestamp"].dt.hour).size()
    assert by_hour.loc[13:17].mean() > 2 * by_hour.loc[1:5].mean()


def test_demo_injects_amount_shift_and_new_device_at_day_10(tmp_path):
    data = generate(tmp_path, seed=4, scenario="demo", rows_per_hour=40)
    assert data.drift_start == datetime(2026, 10, 10, 6, tzinfo=UTC)
    frame = _log(data)
    before = frame[frame["timestamp"] < pd.Timestamp(data.drift_start)]
    after = frame[frame["timestamp"] >= pd.Timestamp(data.drift_start)]
    assert NEW_DEVICE not in set(before["device_id"])
    share = (after["device_id"] == NEW_DEVICE).mean()
    assert 0.2 < share < 0.3
    shift = np.log(after["amount"]).mean() - np.log(before["amount"]).mean()
    assert 0.3 < shift / np.log(before["amount"]).std() < 0.7
    for column in ("account_age_days", "transaction_velocity", "distance_from_home_km"):
        assert stats.ks_2samp(before[column], after[column]).pvalue > 0.001, column
    events = pd.read_csv(data.events_path)
    deploy = events[(events["event_type"] == "deploy") & (events["source"] == "mobile-app")]
    assert len(deploy) == 1
    assert pd.Timestamp(deploy["timestamp"].iloc[0]) <= pd.Timestamp(data.drift_start)


def test_none_has_no_drift_against_training(tmp_path):
    data = generate(tmp_path, seed=8, scenario="none", days=3, rows_per_hour=60)
    frame, training = _log(data), pd.read_parquet(data.training_path)
    for column in ("amount", "account_age_days", "transaction_velocity", "distance_from_home_km"):
        assert stats.ks_2samp(frame[column], training[column]).pvalue > 0.001, column
    assert set(frame["device_id"]) == set(training["device_id"])


def test_month_end_scenario_default_range_has_two_month_ends(tmp_path):
    data = generate(tmp_path, seed=1, scenario="month_end_amount", rows_per_hour=5)
    assert data.start == datetime(2026, 8, 18, tzinfo=UTC)
    assert data.drift_start == datetime(2026, 8, 29, tzinfo=UTC)
    frame = _log(data)
    log_amount = np.log(frame["amount"])
    month_end = frame["timestamp"].dt.day > frame["timestamp"].dt.days_in_month - 3
    assert month_end.groupby(frame["timestamp"].dt.month).any().loc[[8, 9]].all()
    assert (log_amount[month_end].mean() - log_amount[~month_end].mean()) / log_amount[~month_end].std() > 0.6


def test_latency_incident_spikes_latency_and_errors_only(tmp_path):
    data = generate(tmp_path, seed=1, scenario="latency_incident", days=7, rows_per_hour=40)
    frame = _log(data)
    start = pd.Timestamp(data.drift_start)
    incident = frame["timestamp"].between(start, start + pd.Timedelta(hours=3), inclusive="left")
    assert frame.loc[incident, "latency_ms"].median() > 3 * frame.loc[~incident, "latency_ms"].median()
    assert frame.loc[incident, "error"].mean() > 0.04 > frame.loc[~incident, "error"].mean()
    events = pd.read_csv(data.events_path)
    assert "upstream_incident" in set(events["event_type"])
    assert data.drifted_features == ()


def test_concept_drift_changes_labels_not_features(tmp_path):
    data = generate(tmp_path, seed=1, scenario="concept_drift", days=7, rows_per_hour=60)
    frame = _log(data).dropna(subset=["label"])
    after = frame["timestamp"] >= pd.Timestamp(data.drift_start)
    assert after.sum() > 1000
    accuracy = ((frame["prediction"] >= 0.5) == (frame["label"] == 1)).groupby(after).mean()
    assert accuracy[False] - accuracy[True] > 0.05
    assert stats.ks_2samp(frame.loc[after, "amount"], frame.loc[~after, "amount"]).pvalue > 0.001


def test_gradual_velocity_ramp(tmp_path):
    data = generate(tmp_path, seed=1, scenario="gradual", days=8, rows_per_hour=40)
    frame = _log(data)
    daily = frame.groupby(frame["timestamp"].dt.day)["transaction_velocity"].mean()
    assert daily.iloc[-1] > 1.3 * daily.iloc[0]
    assert daily.iloc[4:].is_monotonic_increasing or daily.iloc[-1] > daily.iloc[5] > daily.iloc[3]


def test_unknown_scenario_lists_names(tmp_path):
    with pytest.raises(UnknownNameError) as info:
        generate(tmp_path, scenario="nope")
    for name in SCENARIOS:
        assert name in str(info.value)


def test_cli_generate(tmp_path, capsys):
    assert (
        main(["generate", "--out", str(tmp_path), "--inject-drift", "--days", "2", "--rows-per-hour", "5"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == "demo" and len(out["prediction_files"]) == 2
    assert main(["generate", "--out", str(tmp_path), "--days", "1", "--rows-per-hour", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"] == "none"
    start = (datetime(2026, 9, 1, tzinfo=UTC) + timedelta(days=0)).isoformat()
    args = ["generate", "--out", str(tmp_path), "--scenario", "gradual", "--start", start, "--days", "2"]
    assert main([*args, "--rows-per-hour", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["start"].startswith("2026-09-01")
    assert main(["generate", "--out", str(tmp_path), "--scenario", "bogus"]) == 4


# --------------------------------------------------------------- refused input (issue 15, 5 and 11)


@pytest.mark.parametrize(
    "argv",
    [
        ["--seed", "-5"],
        ["--seed", "1.5"],
        ["--days", "0"],
        ["--rows-per-hour", "-1"],
        ["--model-id", "../escaped"],
        ["--model-id", ".."],
        ["--model-id", "a/b"],
        ["--model-id", "/abs"],
        ["--start", "yesterday"],
    ],
)
def test_cli_generate_refuses_bad_options_with_the_usage_code(tmp_path, capsys, argv):
    assert main(["generate", "--out", str(tmp_path / "out"), *argv]) == 64
    err = capsys.readouterr().err
    assert argv[0] in err and "Traceback" not in err
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "out").exists()


def test_core_generate_keeps_files_under_out_dir(tmp_path):
    from drift_sentinel.errors import ConfigError, DataError

    for bad in ("../escaped", "..", "x/../../y", ""):
        with pytest.raises(ConfigError, match="model_id"):
            generate(tmp_path / "out", model_id=bad, days=1, rows_per_hour=2)
    with pytest.raises(DataError, match="seed"):
        generate(tmp_path / "out", seed=-5, days=1, rows_per_hour=2)
    assert list(tmp_path.iterdir()) == []


def test_cli_generate_out_that_cannot_hold_files(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for out in (a_file, a_file / "below", "/proc/no-such/dir"):
        assert main(["generate", "--out", str(out), "--days", "1", "--rows-per-hour", "2"]) == 3
        err = capsys.readouterr().err
        assert "cannot write the sample data" in err and "Traceback" not in err

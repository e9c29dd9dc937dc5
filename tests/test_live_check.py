"""The live check of the open window: the core test on counts, the streaming state, the sensor against a real
instance with a real-time replay, bad input on the tick, and the early report it launches."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import AssetKey, DagsterInstance, Definitions, build_sensor_context

from drift_sentinel.config import SentinelConfig, load_config
from drift_sentinel.detection import DetectionConfig, profile_reference
from drift_sentinel.live import (
    LiveStreams,
    LiveWindow,
    evaluate_live_window,
    live_window_from_dict,
    live_window_to_dict,
    window_state,
)
from drift_sentinel.replay import FakeClock, run_replay
from drift_sentinel.sample_data import generate
from drift_sentinel.settings import Settings
from drift_sentinel.verdict import Verdict
from resources.catalog import ModelCatalogResource
from sensors.live import LiveState, live_tick
from sentinel_assets.partitions import window_partitions

REPO = Path(__file__).resolve().parents[1]
MODEL = "fraud-detector-v1"
PREFIX = "fraud_detector_v1"


# --------------------------------------------------------------------------------------------- the core test


@pytest.fixture(scope="module")
def numeric_profile():
    config = DetectionConfig(features={"x": "numeric", "c": "categorical"}, min_samples=100)
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(size=20_000), "c": rng.choice(["a", "b", "c"], 20_000)})
    return config, profile_reference(reference, config)


def test_counts_add_up_over_passes_and_match_one_pass(numeric_profile) -> None:
    config, profile = numeric_profile
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=900), "c": rng.choice(["a", "b", "d"], 900)})
    once = LiveWindow("w").add(frame, profile, config)
    thrice = LiveWindow("w")
    for chunk in np.array_split(np.arange(900), 3):
        thrice = thrice.add(frame.iloc[chunk], profile, config)
    assert once == thrice and once.n_rows == 900 and sum(once.numeric["x"]) == 900
    assert set(once.categorical["c"]) == {"a", "b", "d"}
    assert live_window_from_dict(live_window_to_dict(once)) == once


def test_no_change_passes_a_shift_fails_and_too_few_rows_is_inconclusive(numeric_profile) -> None:
    config, profile = numeric_profile
    rng = np.random.default_rng(3)
    same = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b", "c"], 2000)})
    verdict = evaluate_live_window(LiveWindow("w").add(same, profile, config), profile, config)
    assert verdict.verdict is Verdict.PASSED and verdict.drifted_features == ()
    shifted = same.assign(x=same["x"] + 0.6)
    verdict = evaluate_live_window(LiveWindow("w").add(shifted, profile, config), profile, config)
    assert verdict.verdict is Verdict.FAILED and verdict.drifted_features == ("x",)
    new_category = same.assign(c=np.where(rng.uniform(size=2000) < 0.25, "new", same["c"]))
    verdict = evaluate_live_window(LiveWindow("w").add(new_category, profile, config), profile, config)
    (c,) = [f for f in verdict.features if f.name == "c"]
    assert c.drifted and c.new_categories == ("new",) and verdict.drift_detected
    few = evaluate_live_window(LiveWindow("w").add(shifted.head(99), profile, config), profile, config)
    assert few.verdict is Verdict.INCONCLUSIVE and few.reason == "99 row(s) so far < min_samples 100"


def test_live_psi_equals_the_batch_psi_on_the_same_rows(numeric_profile) -> None:
    from drift_sentinel.detection.univariate import psi

    config, profile = numeric_profile
    rng = np.random.default_rng(4)
    current = rng.normal(0.3, 1, 3000)
    verdict = evaluate_live_window(
        LiveWindow("w").add(pd.DataFrame({"x": current}), profile, config), profile, config
    )
    (x,) = [f for f in verdict.features if f.name == "x"]
    assert x.method == "psi" and x.statistic == pytest.approx(
        psi(profile.features["x"].sorted_values, current)
    )


def test_streaming_state_survives_a_round_trip_and_finds_the_shift(numeric_profile) -> None:
    config, profile = numeric_profile
    rng = np.random.default_rng(5)
    times = pd.date_range("2026-10-01", periods=4000, freq="s", tz="UTC")
    x = np.concatenate([rng.normal(size=2000), rng.normal(1.0, 1, 2000)])
    frame = pd.DataFrame({"timestamp": times, "x": x})
    one = LiveStreams()
    one.feed(frame, profile)
    two = LiveStreams()
    for chunk in np.array_split(np.arange(4000), 4):  # four passes, stored and loaded in between
        two = LiveStreams.loads(two.dumps())
        two.feed(frame.iloc[chunk], profile)
    assert [(d.feature, d.detector, d.at) for d in one.detections] == [
        (d.feature, d.detector, d.at) for d in two.detections
    ]
    assert two.onset is not None and times[2000] <= pd.Timestamp(two.onset) < times[2300]
    assert {d.detector for d in two.detections} >= {"adwin", "page_hinkley"}


def test_window_state() -> None:
    end = datetime(2026, 10, 2, tzinfo=UTC)
    assert window_state(end, end - timedelta(seconds=1)) == "open"
    assert window_state(end, end) == "closed"


# ----------------------------------------------------------------------------- the tick on a real prediction log


@pytest.fixture(scope="module")
def live_config(tmp_path_factory: pytest.TempPathFactory) -> SentinelConfig:
    """An open-ended daily model (windows from yesterday) whose log is an empty folder the tests replay into."""
    root = tmp_path_factory.mktemp("live")
    generate(root / "data", seed=5, scenario="none", days=1, rows_per_hour=5)
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    today = datetime.now(UTC).date()
    model["window"] = {
        "cadence": "daily",
        "start": (today - timedelta(days=1)).isoformat(),
        "live_check": "5s",
    }
    model["data"]["prediction_log"] = "live_log"
    model["detection"]["min_samples"] = 100
    (root / "live_log").mkdir()
    config_file = root / "sentinel.yaml"
    config_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_config(config_file)


def _replay(
    config: SentinelConfig, *, parts: int, drift_after: float | None, seconds_ago: float = 300
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(time.time() - seconds_ago, today.timestamp() + 1)
    clock = FakeClock(start)
    log = config.resolve(config.models[0].data.prediction_log)
    seed = len(list(Path(log).glob("*.parquet")))  # a fresh stream for each call
    run_replay(
        log,
        speed=120,
        part_every=5,
        parts=parts,
        drift_after=drift_after,
        seed=seed,
        clock=clock,
        sleep=clock.sleep,
    )


def _tick(config: SentinelConfig, cursor: str | None, **kwargs: Any) -> tuple[Any, list[str], Any]:
    spec = config.models[0]
    catalog = ModelCatalogResource(config_path=str(config.source))
    return live_tick(spec, window_partitions(spec.window), catalog, cursor, **kwargs)


def test_tick_reads_new_parts_once_and_keeps_state_in_the_cursor(
    live_config: SentinelConfig, tmp_path: Path
) -> None:
    log = Path(live_config.resolve(live_config.models[0].data.prediction_log))
    for stale in log.iterdir():
        stale.unlink()
    state, notes, outcome = _tick(live_config, None)
    assert state is not None and "the prediction log has no part files yet" in notes[0]
    _replay(live_config, parts=4, drift_after=None)
    state, notes, (verdict, summary) = _tick(live_config, state.to_json())
    assert "read 4 new part(s)" in summary and state.counts.n_rows == verdict.n_rows > 100
    assert verdict.verdict is Verdict.PASSED, verdict.reason
    restored = LiveState.from_json(state.to_json())  # what a restarted daemon finds
    again, _, (same, summary) = _tick(live_config, restored.to_json())
    assert "read 0 new part(s)" in summary and same.n_rows == verdict.n_rows
    # time-boxed: nothing read within the budget, nothing lost
    _replay(live_config, parts=2, drift_after=None, seconds_ago=60)
    boxed, notes, (_, summary) = _tick(live_config, again.to_json(), budget=-1.0)
    assert "read 0 new part(s)" in summary and "time-boxed" in notes[-1] and "2 part(s) left" in notes[-1]
    later, _, (_, summary) = _tick(live_config, boxed.to_json())
    assert "read 2 new part(s)" in summary


def test_bad_parts_are_named_retried_and_do_not_stop_the_next_good_part(live_config: SentinelConfig) -> None:
    log = Path(live_config.resolve(live_config.models[0].data.prediction_log))
    for stale in log.iterdir():
        stale.unlink()
    state, _, _ = _tick(live_config, None)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    corrupt = log / f"{today}_000001_corrupt.parquet"
    corrupt.write_bytes(b"not parquet at all")
    time.sleep(0.01)
    frame = pd.DataFrame({"timestamp": [pd.Timestamp.now(tz="UTC")], "amount": [1.0]})
    frame.to_parquet(log / f"{today}_000002_missing.parquet")
    time.sleep(0.01)
    future = pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=2)
    _replay(live_config, parts=1, drift_after=None, seconds_ago=30)
    good = sorted(log.glob(f"{today}_*_000001.parquet"))[-1]
    rows = pd.read_parquet(good)
    rows.loc[rows.index[:3], "timestamp"] = future
    rows.to_parquet(good)
    state, notes, (verdict, summary) = _tick(live_config, state.to_json())
    text = "\n".join(notes)
    assert f"{corrupt}: cannot read as parquet" in text
    assert "missing_column" not in text and "missing.parquet: missing column(s) ['account_age_days'" in text
    assert f"{good.name}: 3 row(s) with 'timestamp' in the future" in text
    assert "read 1 new part(s)" in summary and verdict.n_rows == len(rows) - 3
    assert set(state.log.failed) == {str(corrupt), str(log / f"{today}_000002_missing.parquet")}
    # fixed in place: the retried part is read on the next tick
    pd.read_parquet(good).head(5).to_parquet(corrupt)
    fixed, notes, (_, summary) = _tick(live_config, state.to_json())
    assert "read 1 new part(s)" in summary and str(corrupt) not in fixed.log.failed


def test_stored_thresholds_are_the_ones_the_live_check_uses(live_config: SentinelConfig) -> None:
    log = Path(live_config.resolve(live_config.models[0].data.prediction_log))
    for stale in log.iterdir():
        stale.unlink()
    _replay(live_config, parts=4, drift_after=0, seconds_ago=120)
    _, _, (drifted, _) = _tick(live_config, None)
    assert drifted.drift_detected
    lenient = {"*": {"psi": 10.0, "chi_square": 10.0}}  # effects no shift reaches
    _, _, (held, _) = _tick(live_config, None, thresholds=lenient)
    assert held.verdict is Verdict.PASSED and held.n_rows == drifted.n_rows


def test_a_missing_log_is_one_clear_error(live_config: SentinelConfig, tmp_path: Path) -> None:
    from drift_sentinel.errors import DataError

    spec = live_config.models[0]
    broken = spec.model_copy(
        update={"data": spec.data.model_copy(update={"prediction_log": str(tmp_path / "nope")})}
    )
    catalog = ModelCatalogResource(config_path=str(live_config.source))
    with pytest.raises(DataError, match=f"{tmp_path / 'nope'}: prediction log not found"):
        live_tick(broken, window_partitions(broken.window), catalog, None)


# ---------------------------------------------------------------- through Dagster: the sensor and the early report


@pytest.mark.slow
def test_drift_on_the_open_window_launches_one_early_run_whose_reports_say_open(
    live_config: SentinelConfig, tmp_path: Path
) -> None:
    from sentinel_assets.definitions import build_definitions
    from sentinel_assets.demo import bootstrap_registry

    log = Path(live_config.resolve(live_config.models[0].data.prediction_log))
    for stale in log.iterdir():
        stale.unlink()
    settings = Settings.from_env({"SENTINEL_HOME": str(tmp_path / "sentinel")})
    defs = build_definitions(live_config, settings)
    spec = live_config.models[0]
    home = tmp_path / "home"
    home.mkdir()
    instance = DagsterInstance.local_temp(str(home))
    sensor = defs.resolve_sensor_def(f"{PREFIX}_detect_on_live_drift")
    assert sensor.minimum_interval_seconds == 5

    def tick(cursor: str | None) -> Any:
        return sensor.evaluate_tick(
            build_sensor_context(
                instance=instance,
                cursor=cursor,
                definitions=defs,
                sensor_name=sensor.name,
                resources={
                    "catalog": defs.resources["catalog"],
                    "threshold_store": defs.resources["threshold_store"],
                },
            )
        )

    _replay(live_config, parts=3, drift_after=None, seconds_ago=600)
    quiet = tick(None)
    assert not quiet.run_requests and "PASSED" in quiet.skip_message
    _replay(live_config, parts=6, drift_after=0, seconds_ago=300)
    fired = tick(quiet.cursor)
    (request,) = fired.run_requests
    key = datetime.now(UTC).strftime("%Y-%m-%d")
    assert request.partition_key == key and request.run_key == f"live:{key}"
    assert request.tags["sentinel/window_state"] == "open"
    assert not tick(fired.cursor).run_requests  # launched once per window, across ticks and restarts

    bootstrap_registry(
        defs.resources["model_registry"], spec, live_config.resolve(spec.data.training_snapshot)
    )
    assert defs.resolve_job_def(f"{PREFIX}_baseline").execute_in_process(instance=instance).success
    run = defs.resolve_job_def(f"{PREFIX}_detect").execute_in_process(
        partition_key=key, instance=instance, tags=request.tags
    )
    assert run.success
    report = defs.load_asset_value(AssetKey([PREFIX, "drift_report"]), partition_key=key, instance=instance)
    assert report["window_state"] == "open" and report["drift_detected"] and report["incident_id"]
    rca = run.asset_materializations_for_node(f"{PREFIX}__rca_report")[0].metadata
    assert rca["window_state"].value == "open" and rca["incident_id"].value == report["incident_id"]
    remediation = defs.resolve_sensor_def(f"{PREFIX}_remediation_on_rca_report")
    acted = remediation.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs, sensor_name=remediation.name)
    )
    assert f"{report['incident_id']}:notify_team" in {r.run_key for r in acted.run_requests}
    # more data, the window's report again (as at close): the same incident, the same run keys
    _replay(live_config, parts=2, drift_after=0, seconds_ago=60)
    assert (
        defs.resolve_job_def(f"{PREFIX}_detect")
        .execute_in_process(partition_key=key, instance=instance)
        .success
    )
    again = defs.load_asset_value(AssetKey([PREFIX, "drift_report"]), partition_key=key, instance=instance)
    assert again["incident_id"] == report["incident_id"]
    second = remediation.evaluate_tick(
        build_sensor_context(
            instance=instance, definitions=defs, sensor_name=remediation.name, cursor=acted.cursor
        )
    )
    assert {r.run_key for r in second.run_requests} == {r.run_key for r in acted.run_requests}


def test_a_model_with_an_end_or_live_check_off_has_no_live_sensor(
    live_config: SentinelConfig, tmp_path: Path
) -> None:
    from sentinel_assets.definitions import build_definitions

    spec = yaml.safe_load(Path(str(live_config.source)).read_text())
    spec["models"][0]["window"]["live_check"] = "off"
    path = tmp_path / "sentinel.yaml"
    path.write_text(yaml.safe_dump(spec))
    defs: Definitions = build_definitions(
        load_config(path), Settings.from_env({"SENTINEL_HOME": str(tmp_path)})
    )
    assert not [s for s in defs.sensors if s.name.endswith("_detect_on_live_drift")]


def test_the_event_watcher_reports_each_report_once(tmp_path: Path) -> None:
    from dagster import AssetMaterialization

    from sentinel_assets.live_demo import EventWatcher

    instance = DagsterInstance.local_temp(str(tmp_path))
    watcher = EventWatcher(instance, [PREFIX])
    instance.report_runless_asset_event(
        AssetMaterialization(
            AssetKey([PREFIX, "drift_report"]),
            partition="2026-11-29",
            metadata={"incident_id": "inc-1", "window_state": "open"},
        )
    )
    (event,) = list(watcher.poll())
    assert event.text == f"{PREFIX}/drift_report 2026-11-29 (open), incident inc-1"
    assert event.data["incident"] == "inc-1" and event.data["window_state"] == "open"
    assert list(watcher.poll()) == []

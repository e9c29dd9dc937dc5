"""``make live``: the daemon and a real-time replay together on the embedded default, events printed as they happen.

1. prepares a home (default ``.sentinel/live``): a models file with open-ended daily windows from yesterday
   (``live_check`` every 10 s), the training snapshot and events of the sample data, two registered model
   versions in MLflow (SQLite), a Dagster instance (SQLite, the demo's run queue);
2. starts ``dagster dev`` on it: from then on nothing is launched by this script — the automation sensor
   materializes the baseline, the live check watches the open window, the remediation sensor acts;
3. once the baseline is in, starts ``drift-sentinel replay`` logic in a thread (a part every 10 s, drift after
   60 s by default) and prints each window materialization (with ``window_state``), each incident and each
   run with its outcome, until Ctrl-C (or ``--duration``).

The same pieces (:func:`prepare_live_home`, :class:`DagsterDev`, :class:`EventWatcher`) drive the continuous
latency benchmark and the end-to-end test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
WATCHED = ("current_window", "drift_report", "rca_report")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_live_home(
    home: Path,
    model_ids: Sequence[str] = ("fraud-detector-v1",),
    *,
    live_check: str = "10s",
    cooldown: str | None = None,
) -> dict[str, str]:
    """Models file, sample training data, registry and instance under ``home``; returns the environment."""
    from sentinel_assets.demo import DAGSTER_YAML, home_environment

    home = home.absolute()
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    base = yaml.safe_load((REPO / "sentinel.yaml").read_text())["models"][0]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    models = []
    from drift_sentinel.sample_data import generate

    for model_id in model_ids:
        generate(home / "data", seed=42, scenario="none", days=1, rows_per_hour=5, model_id=model_id)
        model = dict(base)
        model["id"] = model_id
        model["window"] = {"cadence": "daily", "start": yesterday, "live_check": live_check}
        model["data"] = {
            "prediction_log": f"data/{model_id}/live",
            "training_snapshot": f"data/{model_id}/training.parquet",
            "events": f"data/{model_id}/events.csv",
        }
        if cooldown:
            model["safety"] = {**model.get("safety", {}), "cooldown_period": cooldown}
        (home / "data" / model_id / "live").mkdir(parents=True, exist_ok=True)
        models.append(model)
    (home / "sentinel.yaml").write_text(yaml.safe_dump({"models": models}, sort_keys=False))
    env = home_environment(dagster_home, home, home / "sentinel.yaml")
    os.environ.update(env)
    from drift_sentinel.config import load_config
    from drift_sentinel.settings import Settings
    from sentinel_assets.definitions import build_definitions
    from sentinel_assets.demo import bootstrap_registry

    config = load_config(home / "sentinel.yaml")
    defs = build_definitions(config, Settings.from_env())
    for spec in config.models:
        bootstrap_registry(
            defs.resources["model_registry"], spec, config.resolve(spec.data.training_snapshot or "")
        )
    return env


class DagsterDev:
    """``dagster dev`` on ``env``'s instance in its own process group; stopped (SIGINT, then SIGKILL) on exit."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.env, self.log_path, self.port = env, log_path, port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DagsterDev:
        bin_dir = Path(sys.executable).parent
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in __exit__)
        argv = ["env", "--default-signal=INT,TERM", str(bin_dir / "dagster"), "dev", "-w", "workspace.yaml"]
        self.proc = subprocess.Popen(
            [*argv, "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO,
            env={**os.environ, **self.env, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds until the webserver answered."""
        assert self.proc is not None
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=2):
                    return time.monotonic() - start
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"dagster dev did not answer within {timeout:.0f} s; see {self.log_path}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


@dataclass(frozen=True)
class Event:
    """Something that happened on the instance: a materialization or a run status."""

    at: datetime
    kind: str  # "materialization" or "run"
    text: str
    data: dict[str, Any] = field(default_factory=dict)


def _value(metadata: dict[str, Any], key: str) -> Any:
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


class EventWatcher:
    """Polls the instance for new window/report materializations and run status changes."""

    def __init__(self, instance: Any, prefixes: Sequence[str]) -> None:
        self.instance = instance
        self.prefixes = list(prefixes)
        self.cursors: dict[Any, int | None] = {}
        self.statuses: dict[str, str] = {}
        self.since = time.time() - 60.0  # runs created just before the watcher (the baseline's) count too

    def poll(self) -> Iterator[Event]:
        from resources import history
        from resources.keys import asset_key

        for prefix in self.prefixes:
            for name in WATCHED:
                key = asset_key(prefix, name)
                for record in history.materializations_after(
                    self.instance, key, self.cursors.get(key), limit=100
                ):
                    self.cursors[key] = record.storage_id
                    metadata = dict(record.metadata)
                    state = _value(metadata, "window_state") or ""
                    incident = _value(metadata, "incident_id") or ""
                    extra = f" ({state})" if state else ""
                    if name == "current_window":
                        extra += f", {_value(metadata, 'dagster/row_count')} rows"
                    if name != "current_window":
                        extra += f", incident {incident}" if incident else ", no incident"
                    if name == "rca_report" and incident:
                        extra += (
                            f", cause {_value(metadata, 'root_cause_name')}, action "
                            f"{_value(metadata, 'recommended_action')}"
                        )
                    yield Event(
                        datetime.fromtimestamp(record.timestamp, UTC),
                        "materialization",
                        f"{prefix}/{name} {record.partition}{extra}",
                        {
                            "asset": name,
                            "prefix": prefix,
                            "partition": record.partition,
                            "incident": incident,
                            "window_state": state,
                            "timestamp": record.timestamp,
                            "run_id": record.run_id,
                        },
                    )
        for run in history.runs_tagged(
            self.instance, created_after=datetime.fromtimestamp(self.since, UTC), limit=500
        ):
            status = run.status.value
            if self.statuses.get(run.run_id) == status:
                continue
            self.statuses[run.run_id] = status
            tags = run.tags
            gate = (
                history.dagster_run(self.instance, run.run_id).tags.get("sentinel/gate", "")
                if status in TERMINAL
                else ""
            )
            what = tags.get("sentinel/action") or tags.get("dagster/partition") or ""
            trigger = tags.get("sentinel/trigger") or tags.get("dagster/sensor_name") or ""
            text = f"run {run.job_name} [{what}] {status}" + (f" gate {gate}" if gate else "")
            text += f" (by {trigger})" if trigger else ""
            when = run.end_time if status in TERMINAL and run.end_time else time.time()
            yield Event(
                datetime.fromtimestamp(when, UTC),
                "run",
                text,
                {
                    "run_id": run.run_id,
                    "job": run.job_name,
                    "status": status,
                    "action": tags.get("sentinel/action"),
                    "incident": tags.get("sentinel/incident"),
                    "model": tags.get("sentinel/model"),
                    "end_time": run.end_time,
                    "start_time": run.start_time,
                    "create_time": run.create_time,
                    "gate": gate,
                },
            )


def wait_for_baseline(instance: Any, prefixes: Sequence[str], timeout: float) -> float:
    """Seconds until every model's reference profile and feature importance exist (the automation's job)."""
    from resources import history

    start = time.monotonic()
    keys = _baseline_keys(prefixes)
    while time.monotonic() - start < timeout:
        if all(history.has_materialization(instance, k) for k in keys):
            return time.monotonic() - start
        time.sleep(1.0)
    raise RuntimeError(f"the baseline was not materialized within {timeout:.0f} s")


def start_replay(log: str, **kwargs: Any) -> tuple[threading.Thread, threading.Event]:
    """A replay in a daemon thread, stopped by setting the returned event."""
    from drift_sentinel.replay import run_replay

    stop = threading.Event()

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise SystemExit

    def run() -> None:
        with contextlib.suppress(SystemExit):
            run_replay(log, sleep=sleep, **kwargs)

    thread = threading.Thread(target=run, daemon=True, name=f"replay:{log}")
    thread.start()
    return thread, stop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make live", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("SENTINEL_LIVE_HOME", ".sentinel/live"))
    )
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--drift-after", type=float, default=60.0)
    parser.add_argument("--part-every", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    out = sys.stdout

    def say(text: str) -> None:
        print(f"{datetime.now(UTC):%H:%M:%S} {text}", file=out, flush=True)

    say(f"preparing {args.home} (models file, sample training data, MLflow registry, Dagster instance)")
    env = prepare_live_home(args.home)
    from dagster import DagsterInstance

    from drift_sentinel.config import load_config
    from resources import history

    config = load_config(env["SENTINEL_CONFIG"])
    prefixes = [m.asset_prefix for m in config.models]
    with DagsterDev(env, args.home / "dagster-dev.log", args.port) as dev:
        say(f"dagster dev starting on http://127.0.0.1:{dev.port} (log: {dev.log_path})")
        dev.wait_ready()
        say("dagster dev is up; the automation sensor materializes the baseline")
        with DagsterInstance.get() as instance:
            watcher = EventWatcher(instance, prefixes)
            deadline = time.monotonic() + args.duration if args.duration else None
            replays: list[threading.Event] = []
            try:
                while deadline is None or time.monotonic() < deadline:
                    for event in watcher.poll():
                        say(event.text)
                    if not replays and all(
                        history.has_materialization(instance, key) for key in _baseline_keys(prefixes)
                    ):
                        for spec in config.models:
                            log = config.resolve(spec.data.prediction_log)
                            _, stop = start_replay(
                                log,
                                speed=args.speed,
                                drift_after=args.drift_after,
                                part_every=args.part_every,
                            )
                            replays.append(stop)
                            say(
                                f"replay into {log}: a part every {args.part_every:g} s, "
                                f"drift after {args.drift_after:g} s"
                            )
                    time.sleep(1.0)
            except KeyboardInterrupt:
                say("stopping")
            finally:
                for stop in replays:
                    stop.set()
    return 0


def _baseline_keys(prefixes: Sequence[str]) -> list[Any]:
    from resources.keys import asset_key

    return [asset_key(p, n) for p in prefixes for n in ("reference_profile", "feature_importance")]


if __name__ == "__main__":
    sys.exit(main())

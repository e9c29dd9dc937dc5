"""Continuous monitoring latency: drift onset → incident → remediation, with ``dagster dev`` and nothing else.

What it drives: a fresh embedded home (SQLite instance with the demo's run queue, MLflow on SQLite, sample
training data) with three open-ended daily models (copies of the demo's fraud model), ``dagster dev`` on it,
and one real-time replay per model (``drift_sentinel.replay``: a part file every ``--part-every`` seconds at
``--speed`` times the generator's traffic), the drift of model *i* injected at ``T_i = start + drift_after +
i × stagger``. The client launches nothing: the automation sensor materializes the baseline, the live check
(every ``--live-check``) tests the open windows and launches the early detect runs, the remediation sensor
launches the gated remediation runs.

Per incident (one per model) it reads from the instance:

- onset → incident: ``T_i`` → the ``drift_report`` materialization that opens the incident (the early, open-window
  report);
- detection → remediation: that materialization → each remediation run's SUCCESS (``notify_team`` and the
  RCA's recommended action, when it has a job);
- onset → remediation: ``T_i`` → the first remediation run's SUCCESS;

and where the time went: onset → live-run created (the live check: sensor interval, parts written, the test),
created → started (queue and run-worker start: the process imports the code location), started → report,
report → remediation run created (remediation sensor interval), remediation created → started, started → success.
The machine's load average is printed next to the numbers (it is shared; timings are under that load).

Run: ``.venv/bin/python benchmarks/continuous_latency.py [--part-every 5] [--live-check 10s]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODELS = ("fraud-live-a", "fraud-live-b", "fraud-live-c")


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s" if values else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part-every", type=float, default=5.0)
    parser.add_argument("--speed", type=float, default=120.0)
    parser.add_argument("--live-check", default="10s")
    parser.add_argument("--drift-after", type=float, default=30.0)
    parser.add_argument("--stagger", type=float, default=45.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds after the last onset")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from sentinel_assets.live_demo import (
        DagsterDev,
        EventWatcher,
        prepare_live_home,
        start_replay,
        wait_for_baseline,
    )

    root = Path(tempfile.mkdtemp(prefix="sentinel-continuous-"))
    print(f"load average at start: {load()}", file=sys.stderr)
    t0 = time.monotonic()
    env = prepare_live_home(root / "home", MODELS, live_check=args.live_check)
    print(f"setup took {time.monotonic() - t0:.0f} s in {root}", file=sys.stderr)
    from dagster import DagsterInstance, RunsFilter

    from drift_sentinel.config import load_config

    config = load_config(env["SENTINEL_CONFIG"])
    specs = {spec.asset_prefix: spec for spec in config.models}
    onsets: dict[str, float] = {}
    stops = []
    results = []
    try:
        with DagsterDev(env, root / "dagster-dev.log") as dev:
            ready = dev.wait_ready()
            print(f"dagster dev answered after {ready:.0f} s", file=sys.stderr)
            with DagsterInstance.get() as instance:
                baseline = wait_for_baseline(instance, list(specs), timeout=600)
                print(f"baseline materialized by the automation after {baseline:.0f} s", file=sys.stderr)
                watcher = EventWatcher(instance, list(specs))
                for i, (prefix, spec) in enumerate(specs.items()):
                    drift_after = args.drift_after + i * args.stagger
                    onsets[prefix] = time.time() + drift_after
                    _, stop = start_replay(
                        config.resolve(spec.data.prediction_log),
                        speed=args.speed,
                        part_every=args.part_every,
                        drift_after=drift_after,
                        seed=i,
                    )
                    stops.append(stop)
                deadline = time.monotonic() + args.drift_after + len(specs) * args.stagger + args.timeout
                reports: dict[str, dict] = {}
                finished: dict[str, set[str]] = {}
                while time.monotonic() < deadline:
                    for event in watcher.poll():
                        print(f"  {event.at:%H:%M:%S} {event.text}", file=sys.stderr)
                        data = event.data
                        if data.get("asset") == "drift_report" and data["incident"]:
                            reports.setdefault(data["prefix"], data)
                    for prefix, report in reports.items():
                        runs = instance.get_run_records(
                            RunsFilter(tags={"sentinel/incident": report["incident"]})
                        )
                        if runs and all(
                            r.dagster_run.status.value in ("SUCCESS", "FAILURE", "CANCELED") for r in runs
                        ):
                            finished[prefix] = {r.dagster_run.run_id for r in runs}
                    if len(finished) == len(specs):
                        break
                    time.sleep(1.0)
                for prefix, report in reports.items():
                    results.append(measure(instance, prefix, report, onsets[prefix]))
    finally:
        for stop in stops:
            stop.set()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"load average at the end: {load()}")
    print(json.dumps(results, indent=2))
    onset_incident = [r["onset_to_incident"] for r in results]
    detection_remediation = [
        r["detection_to_remediation"] for r in results if r["detection_to_remediation"] is not None
    ]
    onset_remediation = [r["onset_to_remediation"] for r in results if r["onset_to_remediation"] is not None]
    print(f"incidents: {len(results)} of {len(MODELS)}")
    print(f"onset -> incident (drift_report):        median {median(onset_incident)}")
    print(f"detection -> remediation SUCCESS (first): median {median(detection_remediation)}")
    print(f"onset -> remediation SUCCESS:            median {median(onset_remediation)}")
    for part in (
        "live_check",
        "live_run_queue_and_start",
        "live_run_to_report",
        "remediation_sensor",
        "remediation_queue_and_start",
        "remediation_run",
    ):
        print(
            f"  {part}: median {median([r['breakdown'][part] for r in results if r['breakdown'][part] is not None])}"
        )
    return 0


def measure(instance, prefix: str, report: dict, onset: float) -> dict:
    """Latencies of one incident, from the instance's run records and the report's timestamp."""
    from dagster import RunsFilter

    detected = report["timestamp"]
    live = instance.get_run_record_by_id(report["run_id"])
    runs = instance.get_run_records(RunsFilter(tags={"sentinel/incident": report["incident"]}))
    actions = {}
    for record in runs:
        run = record.dagster_run
        actions[run.tags.get("sentinel/action")] = {
            "status": run.status.value,
            "gate": instance.get_run_by_id(run.run_id).tags.get("sentinel/gate", "-"),
            "created": record.create_timestamp.timestamp(),
            "started": record.start_time,
            "ended": record.end_time,
            "detection_to_success": (record.end_time - detected) if run.status.value == "SUCCESS" else None,
        }
    successes = [a["ended"] for a in actions.values() if a["status"] == "SUCCESS" and a["ended"]]
    first = min(successes) if successes else None
    creations = [a["created"] for a in actions.values()]
    first_action = min(actions.values(), key=lambda a: a["created"]) if actions else None
    breakdown = {
        "live_check": live.create_timestamp.timestamp() - onset if live else None,
        "live_run_queue_and_start": (live.start_time - live.create_timestamp.timestamp())
        if live and live.start_time
        else None,
        "live_run_to_report": (detected - live.start_time) if live and live.start_time else None,
        "remediation_sensor": (min(creations) - detected) if creations else None,
        "remediation_queue_and_start": (first_action["started"] - first_action["created"])
        if first_action and first_action["started"]
        else None,
        "remediation_run": (first_action["ended"] - first_action["started"])
        if first_action and first_action["started"] and first_action["ended"]
        else None,
    }
    return {
        "model": prefix,
        "incident": report["incident"],
        "window_state": report["window_state"],
        "onset_to_incident": detected - onset,
        "detection_to_remediation": (first - detected) if first else None,
        "onset_to_remediation": (first - onset) if first else None,
        "actions": {
            k: {"status": v["status"], "gate": v["gate"], "detection_to_success": v["detection_to_success"]}
            for k, v in actions.items()
        },
        "breakdown": breakdown,
    }


if __name__ == "__main__":
    sys.exit(main())

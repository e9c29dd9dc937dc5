"""Range backfills of hourly windows through GraphQL: wall time, runs launched and cost per window.

What it drives: a temporary home (the demo's instance: SQLite storage and run queue; MLflow on SQLite) with one
``sentinel.yaml`` holding two hourly models over the same generated prediction log (``drift_sentinel.sample_data``,
scenario ``demo``: ``--rows`` requests an hour on average, drift from 06:00 on day 19 of a 30-day log, scaled for
shorter ones) and a training-snapshot reference:

- model R (``backfill-range``): ``window.max_partitions_per_run: --max-partitions-per-run`` (default 168), range runs;
- model S (``backfill-single``): ``window.max_partitions_per_run: 1``, one run per window (the baseline).

``window.max_partitions_per_run`` is written only when the installed ``WindowSpec`` accepts it; without it every
window is its own run for both models (the code before range backfills), which the table then shows.

The baseline (reference, profile, feature importance) is materialized in-process first, then ``dagster dev`` (webserver
and daemon) starts. Each measurement: wipe the model's per-window assets (``wipeAssets``) and check through
``assetNodes`` that none is materialized; ``launchPartitionBackfill`` over the newest N windows (every per-window
asset, tag ``sentinel/backfill_model``); poll ``partitionBackfillOrError`` until it ends; then check through
``assetNodes`` (``partitionStats``, ``assetPartitionStatuses``) and the backfill's own per-asset counts that every
partition of every per-window asset in the range is materialized. Wall time is from the launch request to the poll
that sees the backfill end; the runs' timestamps say where it went (launch → first run created by the daemon, queue
and process start, run time, last run → backfill done). Runs the sensors launched meanwhile (a notification for the
newest window's incident) are counted apart. The ranges end at the last window, so each holds drifted windows and an
incident opens.

Every process gets ``DAGSTER_EVENT_BATCH_SIZE=1000`` (``--event-batch-size``; 0 turns batching off), as the demo's
environment and a production instance set it: a range step's materializations go to storage in one batch
(``sentinel_assets/sqlite_storage.py`` writes a batch in one transaction per SQLite file). ``--storage postgres``
keeps the demo's run queue but stores runs and events in a temporary PostgreSQL database
(``deploy/dagster.postgres.yaml``'s storage; dropped at the end). Besides the wall time (launch to the poll that
sees the backfill end) the table gives the moment the last run ended, when every partition is stored: Dagster's
backfill daemon, which ticks every 30 s, marks the backfill done on its next tick.

Sizes: ``--windows`` (default 24,168,720) for R, ``--baseline-windows`` (default 24,72) for S, since 720 single runs
would take hours on 2 cores; S's cost at 720 windows is extrapolated (labelled so). ``--repeat`` measurements per
size up to ``--repeat-up-to`` windows (median reported), one above. The machine is shared: the load average is printed
next to every number. JSON goes to ``.sentinel/bench/backfill_range.json``.

Exit status: 0 when every backfill completed with every partition materialized, 1 otherwise, 2 for bad arguments.

Run: ``.venv/bin/python benchmarks/backfill_range.py [--windows 24,168,720] [--baseline-windows 24,72]
[--storage sqlite|postgres] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RANGE_MODEL, SINGLE_MODEL, LOG_ID = "backfill-range", "backfill-single", "backfill-log"
LOG_START = datetime(2026, 10, 1, tzinfo=UTC)
OUTPUT = REPO / ".sentinel" / "bench" / "backfill_range.json"
QUIET = {
    "loggers": {"console": {"config": {"log_level": "WARNING"}}}
}  # the baseline's run log stays in the instance
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
SUCCEEDED = {"COMPLETED", "COMPLETED_SUCCESS"}

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}"""
POLL = """
query Poll($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on Error { message }
  }
}"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status timestamp endTimestamp
      runs(limit: 100000) { runId status creationTime startTime endTime }
      assetBackfillData { assetBackfillStatuses {
        ... on AssetPartitionsStatusCounts {
          assetKey { path } numPartitionsTargeted numPartitionsMaterialized numPartitionsFailed
        }
      } }
      error { message }
    }
    ... on Error { message }
  }
}"""
STATUS = """
query Status($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    partitionStats { numMaterialized numPartitions numFailed numMaterializing }
    assetPartitionStatuses { ... on TimePartitionStatuses { ranges { startKey endKey status } } }
  }
}"""
WIPE = """
mutation Wipe($ranges: [PartitionsByAssetSelector!]!) {
  wipeAssets(assetPartitionRanges: $ranges) { __typename ... on Error { message } }
}"""
OTHER_RUNS = """
query Others($after: Float) {
  runsOrError(filter: {createdAfter: $after}) {
    ... on Runs { results { runId jobName creationTime startTime endTime } }
  }
}"""
INCIDENTS = """
query Incidents($key: AssetKeyInput!, $partitions: [String!], $limit: Int) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(partitions: $partitions, limit: $limit) {
      partition metadataEntries { label ... on TextMetadataEntry { text } }
    } }
  }
}"""


def load() -> str:
    """The machine's 1, 5 and 15-minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_reference() -> float:
    """Seconds one core takes for 5 million Python additions (median of 3): the machine's speed, so figures taken
    on different machines can be compared."""
    times = []
    for _ in range(3):
        t0, total = time.perf_counter(), 0
        for i in range(5_000_000):
            total += i
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3)


def counts(text: str) -> list[int]:
    """``"24,168,720"`` → ``[24, 168, 720]`` (argparse type; positive integers; ``none`` or empty: no sizes)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated window counts, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"window counts must be integers >= 1, got {text!r}")
    return values


def range_runs_supported() -> bool:
    """Whether the installed config accepts ``window.max_partitions_per_run`` (range backfills)."""
    from drift_sentinel.config import WindowSpec

    return "max_partitions_per_run" in WindowSpec.model_fields


class GraphQL:
    """POSTs queries to the webserver's ``/graphql``; a GraphQL error raises ``RuntimeError`` with its message."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL error: {answer['errors'][0].get('message')}")
        return answer["data"]


def instance_yaml(storage: str) -> str:
    """The demo's ``dagster.yaml`` (SQLite under ``DAGSTER_HOME``), or its run queue with the PostgreSQL storage of
    ``deploy/dagster.postgres.yaml`` (connection from the ``DAGSTER_PG_*`` variables)."""
    from sentinel_assets.demo import DAGSTER_YAML

    if storage == "sqlite":
        return DAGSTER_YAML
    config = yaml.safe_load(DAGSTER_YAML)
    config["storage"] = yaml.safe_load((REPO / "deploy" / "dagster.postgres.yaml").read_text())["storage"]
    return yaml.safe_dump(config, sort_keys=False)


def prepare(
    root: Path,
    *,
    days: int,
    rows: int,
    max_per_run: int,
    storage: str = "sqlite",
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Data, models file, registry and baseline under ``root``; returns the environment and what was written."""
    from sentinel_assets.demo import home_environment

    dagster_home = root / "dagster_home"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text(instance_yaml(storage))
    env = {**home_environment(dagster_home, root, root / "sentinel.yaml"), **(extra_env or {})}
    os.environ.update(env)
    from dagster import DagsterInstance

    from drift_sentinel.config import load_config
    from drift_sentinel.sample_data import generate
    from drift_sentinel.settings import Settings

    # a month that has ended (fixed dates for reproducible data, earlier if the clock is before them)
    start = min(LOG_START, (datetime.now(UTC) - timedelta(days=days + 1)).replace(hour=0, minute=0, second=0))
    start = start.replace(microsecond=0)
    data = generate(
        root / "data", seed=42, scenario="demo", start=start, days=days, rows_per_hour=rows, model_id=LOG_ID
    )
    rows_total = sum(_parquet_rows(p) for p in data.prediction_files)
    base = yaml.safe_load((REPO / "sentinel.yaml").read_text())["models"][0]
    supported = range_runs_supported()
    models = []
    for model_id, per_run in ((RANGE_MODEL, max_per_run), (SINGLE_MODEL, 1)):
        window = {"cadence": "hourly", "start": f"{data.start:%Y-%m-%d}", "end": f"{data.end:%Y-%m-%d}"}
        if supported:
            window["max_partitions_per_run"] = per_run
        models.append(
            {
                **base,
                "id": model_id,
                "description": f"Backfill benchmark ({'range runs' if per_run > 1 else 'one run per window'}).",
                "window": window,
                "reference": {"strategy": "training_snapshot"},
                "data": {
                    "prediction_log": f"data/{LOG_ID}/predictions",
                    "training_snapshot": f"data/{LOG_ID}/training.parquet",
                    "events": f"data/{LOG_ID}/events.csv",
                },
            }
        )
    (root / "sentinel.yaml").write_text(yaml.safe_dump({"models": models}, sort_keys=False))
    config = load_config(root / "sentinel.yaml")
    # the definitions module builds its Definitions from SENTINEL_CONFIG on import: only now does it exist
    from sentinel_assets.definitions import build_definitions
    from sentinel_assets.demo import bootstrap_registry
    from sentinel_assets.factory import baseline_job_name

    defs = build_definitions(config, Settings.from_env())
    with DagsterInstance.get() as instance:
        for spec in config.models:
            bootstrap_registry(
                defs.resources["model_registry"], spec, config.resolve(spec.data.training_snapshot or "")
            )
            result = defs.resolve_job_def(baseline_job_name(spec)).execute_in_process(
                instance=instance, raise_on_error=False, run_config=QUIET
            )
            if not result.success:
                raise RuntimeError(f"{spec.id}: the baseline job failed (run {result.run_id})")
    return {
        "env": env,
        "config": config,
        "range_runs_supported": supported,
        "log": {
            "start": data.start.isoformat(),
            "end": data.end.isoformat(),
            "rows": rows_total,
            "rows_per_hour_mean": rows,
            "drift_start": str(data.drift_start),
        },
    }


def run_queue() -> dict[str, Any]:
    """The run coordinator settings of the demo's instance (Dagster's defaults when unset: 10 runs, 5 s)."""
    from sentinel_assets.demo import DAGSTER_YAML

    config = yaml.safe_load(DAGSTER_YAML)["run_coordinator"]
    settings = config.get("config", {})
    return {
        "class": config["class"],
        "max_concurrent_runs": settings.get("max_concurrent_runs", 10),
        "dequeue_interval_seconds": settings.get("dequeue_interval_seconds", 5),
    }


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def asset_keys(prefix: str) -> list[dict[str, list[str]]]:
    """GraphQL keys of the model's per-window assets."""
    from sentinel_assets.factory import WINDOW_ASSETS

    return [{"path": [prefix, name]} for name in WINDOW_ASSETS]


def materialized(gql: GraphQL, prefix: str) -> dict[str, dict[str, Any]]:
    """Per asset: materialized partition count and the MATERIALIZED key ranges (``assetNodes``)."""
    nodes = gql(STATUS, keys=asset_keys(prefix))["assetNodes"]
    return {
        node["assetKey"]["path"][-1]: {
            **node["partitionStats"],
            "ranges": [
                (r["startKey"], r["endKey"])
                for r in (node["assetPartitionStatuses"] or {}).get("ranges", [])
                if r["status"] == "MATERIALIZED"
            ],
        }
        for node in nodes
    }


def covered(ranges: list[tuple[str, str]], keys: list[str]) -> bool:
    """Whether every key (sortable time-partition keys) falls in one of the ranges.

    >>> covered([("2026-10-01-00:00", "2026-10-01-05:00")], ["2026-10-01-01:00", "2026-10-01-05:00"])
    True
    >>> covered([("2026-10-01-00:00", "2026-10-01-05:00")], ["2026-10-01-06:00"])
    False
    """
    return all(any(lo <= key <= hi for lo, hi in ranges) for key in keys)


def timeline(run: dict[str, Any], launched_at: float) -> list[float | None]:
    """A run's created, started and ended times in seconds after the launch request (None: not yet)."""
    return [
        round(t - launched_at, 1) if t else None
        for t in (run["creationTime"], run["startTime"], run["endTime"])
    ]


def measure(gql: GraphQL, spec: Any, keys: list[str], timeout: float) -> dict[str, Any]:
    """One backfill of ``keys`` for ``spec`` from a wiped state; wall time, runs and the materialization check."""
    from sentinel_assets.ranges import BACKFILL_MODEL_TAG

    prefix = spec.asset_prefix
    wiped = gql(WIPE, ranges=[{"assetKey": key} for key in asset_keys(prefix)])["wipeAssets"]
    if wiped["__typename"] != "AssetWipeSuccess":
        raise RuntimeError(f"{spec.id}: wipeAssets failed: {wiped.get('message', wiped['__typename'])}")
    before = materialized(gql, prefix)
    if any(s["numMaterialized"] for s in before.values()):
        raise RuntimeError(f"{spec.id}: partitions still materialized after wiping: {before}")
    load_before = load()
    params = {
        "partitionsByAssets": [
            {"assetKey": key, "partitions": {"range": {"start": keys[0], "end": keys[-1]}}}
            for key in asset_keys(prefix)
        ],
        "tags": [{"key": BACKFILL_MODEL_TAG, "value": spec.id}],
        "title": f"benchmark {spec.id} {len(keys)} windows",
    }
    started, launched_at = time.monotonic(), time.time()
    launched = gql(LAUNCH, params=params)["launchPartitionBackfill"]
    if launched["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(
            f"{spec.id}: launchPartitionBackfill: {launched.get('message', launched['__typename'])}"
        )
    backfill_id = launched["backfillId"]
    while (
        True
    ):  # a light poll (the status only); the runs and per-asset counts are asked for once, at the end
        polled = gql(POLL, id=backfill_id)["partitionBackfillOrError"]
        if polled["__typename"] != "PartitionBackfill":
            raise RuntimeError(f"{spec.id}: backfill {backfill_id}: {polled.get('message')}")
        if polled["status"] in TERMINAL:
            break
        if time.monotonic() - started > timeout:
            raise RuntimeError(
                f"{spec.id}: backfill {backfill_id} still {polled['status']} after {timeout:.0f} s"
            )
        time.sleep(1.0)
    wall = time.monotonic() - started
    backfill = gql(BACKFILL, id=backfill_id)["partitionBackfillOrError"]
    after = materialized(gql, prefix)
    by_backfill = {
        s["assetKey"]["path"][-1]: s for s in backfill["assetBackfillData"]["assetBackfillStatuses"] if s
    }
    missing = {
        name: {"materialized": s["numMaterialized"], "failed": s["numFailed"]}
        for name, s in after.items()
        if s["numMaterialized"] != len(keys) or s["numFailed"] or not covered(s["ranges"], keys)
    }
    missing.update(
        {
            name: {
                "backfill_materialized": s["numPartitionsMaterialized"],
                "targeted": s["numPartitionsTargeted"],
            }
            for name, s in by_backfill.items()
            if s["numPartitionsMaterialized"] != len(keys) or s["numPartitionsTargeted"] != len(keys)
        }
    )
    runs = backfill["runs"]
    ours = {r["runId"] for r in runs}
    other_runs = [
        r for r in gql(OTHER_RUNS, after=launched_at)["runsOrError"]["results"] if r["runId"] not in ours
    ]
    others = [r["jobName"] for r in other_runs]
    durations = [r["endTime"] - r["startTime"] for r in runs if r["startTime"] and r["endTime"]]
    created = [r["creationTime"] for r in runs if r["creationTime"]]
    waits = [r["startTime"] - r["creationTime"] for r in runs if r["startTime"] and r["creationTime"]]
    ended = [r["endTime"] for r in runs if r["endTime"]]
    breakdown = {  # where the wall time went, from the runs' own timestamps
        "launch_to_first_run_created_s": (min(created) - launched_at) if created else None,
        # every partition is stored when the backfill's last run ends; the daemon marks the backfill done later
        "launch_to_last_run_end_s": (max(ended) - launched_at) if ended else None,
        "run_created_to_started_s_median": statistics.median(waits) if waits else None,
        "run_s_median": statistics.median(durations) if durations else None,
        "run_s_sum": sum(durations),
        "last_run_end_to_backfill_seen_done_s": (launched_at + wall - max(ended)) if ended else None,
    }
    return {
        "model": spec.id,
        "windows": len(keys),
        "first": keys[0],
        "last": keys[-1],
        "backfill_id": backfill_id,
        "status": backfill["status"],
        "error": (backfill.get("error") or {}).get("message"),
        "wall_s": wall,
        "server_s": (backfill["endTimestamp"] - backfill["timestamp"]) if backfill["endTimestamp"] else None,
        "runs": len(runs),
        # seconds after the launch request: created, started, ended (the sensors' runs led by their job)
        "run_timeline": sorted((timeline(r, launched_at) for r in runs), key=lambda row: row[0] or 0.0),
        "other_run_timeline": sorted(
            ([r["jobName"], *timeline(r, launched_at)] for r in other_runs), key=lambda row: row[1] or 0.0
        ),
        "runs_failed": sum(r["status"] != "SUCCESS" for r in runs),
        "breakdown": breakdown,
        "other_runs": {job: others.count(job) for job in sorted(set(others))},  # sensors' runs meanwhile
        "assets": len(after),
        "all_materialized": backfill["status"] in SUCCEEDED
        and not missing
        and len(after) == len(asset_keys(prefix)),
        "missing": missing,
        "incidents": incidents(gql, prefix, keys),
        "load_before": load_before,
        "load_after": load(),
    }


def incidents(gql: GraphQL, prefix: str, keys: list[str]) -> dict[str, Any]:
    """Windows whose drift report names an incident, the distinct incidents and the window each one opened in."""
    data = gql(INCIDENTS, key={"path": [prefix, "drift_report"]}, partitions=keys, limit=len(keys) * 2)
    found = {}
    for event in (data["assetOrError"] or {}).get("assetMaterializations", []):
        text = next((m.get("text") for m in event["metadataEntries"] if m["label"] == "incident_id"), "")
        if text:
            found[event["partition"]] = text
    opened = {}
    for partition in sorted(found):
        opened.setdefault(found[partition], partition)
    return {"windows_with_incident": len(found), "incidents": len(opened), "opened": opened}


def summarize(results: list[dict[str, Any]], model: str) -> dict[int, dict[str, Any]]:
    """Median wall time per window count of one model's measurements."""
    out: dict[int, dict[str, Any]] = {}
    for n in sorted({r["windows"] for r in results if r["model"] == model}):
        same = [r for r in results if r["model"] == model and r["windows"] == n]
        wall = statistics.median(r["wall_s"] for r in same)
        stored = [r["breakdown"]["launch_to_last_run_end_s"] for r in same]
        out[n] = {
            "windows": n,
            "repeats": len(same),
            "runs": statistics.median(r["runs"] for r in same),
            "wall_s": wall,
            "stored_s": statistics.median(stored) if None not in stored else None,
            "s_per_window": wall / n,
            "all_materialized": all(r["all_materialized"] for r in same),
            "load": same[-1]["load_after"],
        }
    return out


def table(summary: dict[str, Any]) -> str:
    """The markdown table: R's curve and S's measured sizes, then S extrapolated to R's largest size."""
    baseline = summary["baseline"]
    per_window = baseline[max(baseline)]["s_per_window"] if baseline else None
    lines = [
        "| model | windows | runs | wall s | every partition stored at | s/window | vs baseline s/window "
        "| all materialized | load (1/5/15 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | --- |",
    ]
    for label, rows in (("R (range)", summary["range"]), ("S (1 run/window)", baseline)):
        for n, row in rows.items():
            ratio = f"{per_window / row['s_per_window']:.1f}x faster" if per_window else "n/a"
            if rows is baseline:
                ratio = "baseline" if n == max(baseline) else "-"
            stored = "-" if row["stored_s"] is None else f"{row['stored_s']:.1f} s"
            lines.append(
                f"| {label} | {n} | {row['runs']:g} | {row['wall_s']:.1f} | {stored} | {row['s_per_window']:.2f} "
                f"| {ratio} | "
                f"{'yes' if row['all_materialized'] else 'NO'} | {row['load']} |"
            )
    if per_window and summary["range"]:
        largest = max(summary["range"])
        lines.append(
            f"| S extrapolated (not measured) | {largest} | {largest} | {per_window * largest:.0f} | - | "
            f"{per_window:.2f} | = S at {max(baseline)} windows | - | - |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--windows", type=counts, default=[24, 168, 720], help="R's sizes (default 24,168,720)"
    )
    parser.add_argument(
        "--baseline-windows", type=counts, default=[24, 72], help="S's sizes (default 24,72; none: skip)"
    )
    parser.add_argument(
        "--rows", type=int, default=10_000, help="mean rows per hourly window (default 10000)"
    )
    parser.add_argument("--max-partitions-per-run", type=int, default=168, help="model R's (default 168)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="measurements per size, median reported (default 3)"
    )
    parser.add_argument(
        "--repeat-up-to", type=int, default=168, help="larger sizes are measured once (default 168)"
    )
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds per backfill (default 7200)")
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help=f"JSON file (default {OUTPUT.relative_to(REPO)})"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary home (and the --storage postgres database)"
    )
    parser.add_argument(
        "--storage",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the instance's storage: the demo's SQLite (default) or PostgreSQL (a temporary database)",
    )
    parser.add_argument("--pg-host", default="127.0.0.1", help="PostgreSQL host for --storage postgres")
    parser.add_argument("--pg-port", type=int, default=5432, help="PostgreSQL port for --storage postgres")
    parser.add_argument(
        "--event-batch-size",
        type=int,
        default=None,
        help="DAGSTER_EVENT_BATCH_SIZE for every process (default 1000, as the demo's environment and "
        "deploy/k8s/configmap.yaml set it; 0 writes every event on its own)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: R 24 windows, S 6, 1000 rows, once each"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.windows, args.baseline_windows, args.rows, args.repeat = [24], [6], 1000, 1
    for name in ("rows", "max_partitions_per_run", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.event_batch_size is not None and args.event_batch_size < 0:
        parser.error(f"--event-batch-size must be >= 0 (0: no batching), got {args.event_batch_size}")
    if not args.windows and not args.baseline_windows:
        parser.error("--windows and --baseline-windows are both empty: nothing to measure")
    days = max(2, math.ceil(max(args.windows + args.baseline_windows) / 24))

    from drift_sentinel.errors import SentinelError
    from sentinel_assets.live_demo import DagsterDev
    from tests.support.api import wait_for_code_location
    from tests.support.postgres import admin

    batch = 1000 if args.event_batch_size is None else args.event_batch_size
    extra_env = {"DAGSTER_EVENT_BATCH_SIZE": str(batch)}
    database = f"ds_backfill_{uuid.uuid4().hex[:12]}" if args.storage == "postgres" else None
    if database:
        try:
            admin(f"CREATE DATABASE {database}", host=args.pg_host, port=args.pg_port)
        except Exception as exc:  # psycopg2.OperationalError and friends: one line, exit 1
            print(
                f"backfill_range: PostgreSQL at {args.pg_host}:{args.pg_port}: {' '.join(str(exc).split())}",
                file=sys.stderr,
            )
            return 1
        extra_env.update(
            DAGSTER_PG_HOST=args.pg_host,
            DAGSTER_PG_PORT=str(args.pg_port),
            DAGSTER_PG_USER="postgres",
            DAGSTER_PG_PASSWORD="",
            DAGSTER_PG_DB=database,
        )
    # after the database: nothing to clean up when it cannot be created
    root = Path(tempfile.mkdtemp(prefix="sentinel-backfill-"))
    cpu = cpu_reference()
    print(f"load average at start: {load()}; CPU reference (5M Python additions): {cpu} s", file=sys.stderr)
    t0 = time.monotonic()
    results: list[dict[str, Any]] = []
    prepared: dict[str, Any] | None = None
    failure = None
    try:
        prepared = prepare(
            root,
            days=days,
            rows=args.rows,
            max_per_run=args.max_partitions_per_run,
            storage=args.storage,
            extra_env=extra_env,
        )
        config = prepared["config"]
        print(
            f"setup (data: {days} days, {prepared['log']['rows']:,} rows; registry; baseline) took "
            f"{time.monotonic() - t0:.0f} s in {root}; range runs supported by the installed code: "
            f"{prepared['range_runs_supported']}",
            file=sys.stderr,
        )
        from sentinel_assets.partitions import window_partitions

        if not prepared["range_runs_supported"] and max(args.windows) > 24:
            print(
                "the installed code has no window.max_partitions_per_run: model R also runs one run per window "
                f"(up to {max(args.windows)} runs; this can take hours on 2 cores)",
                file=sys.stderr,
            )

        with DagsterDev(prepared["env"], root / "dagster-dev.log") as dev:
            ready = dev.wait_ready()
            url = f"http://127.0.0.1:{dev.port}/graphql"
            wait_for_code_location(url, dev.log_path)
            print(f"dagster dev answered after {ready:.0f} s; code locations loaded", file=sys.stderr)
            gql = GraphQL(url)
            plan = [(RANGE_MODEL, n) for n in args.windows] + [
                (SINGLE_MODEL, n) for n in args.baseline_windows
            ]
            for model_id, n in plan:
                spec = config.model(model_id)
                keys = window_partitions(spec.window).get_partition_keys()[-n:]
                for i in range(args.repeat if n <= args.repeat_up_to else 1):
                    result = measure(gql, spec, keys, args.timeout)
                    results.append(result)
                    print(
                        f"  {model_id} {n} windows #{i + 1}: {result['status']}, {result['runs']} runs, "
                        f"{result['wall_s']:.1f} s ({result['wall_s'] / n:.2f} s/window), "
                        f"all materialized: {result['all_materialized']}, incidents {result['incidents']}, "
                        f"other runs meanwhile {result['other_runs'] or 'none'}, load {result['load_after']}",
                        file=sys.stderr,
                    )
                    print(
                        "    "
                        + ", ".join(f"{k} {v:.1f}" for k, v in result["breakdown"].items() if v is not None),
                        file=sys.stderr,
                    )
                    if result["missing"] or result["error"]:
                        print(f"    missing: {result['missing']} error: {result['error']}", file=sys.stderr)
    except (RuntimeError, SentinelError, OSError) as exc:
        failure = str(exc)
        print(f"backfill_range: {exc} (dagster dev log: {root / 'dagster-dev.log'})", file=sys.stderr)
        if prepared is None:
            return 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
            if database:
                admin(
                    f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", host=args.pg_host, port=args.pg_port
                )
    supported = prepared["range_runs_supported"]
    summary = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "range_runs_supported": supported,
        "max_partitions_per_run": args.max_partitions_per_run if supported else 1,
        "run_queue": run_queue(),
        "storage": args.storage,
        "event_batch_size": batch or None,
        "cpu_reference_s": cpu,
        "workers": os.environ.get("SENTINEL_WORKERS") or "default (CPUs this process may use)",
        "log": prepared["log"],
        "error": failure,
        "range": summarize(results, RANGE_MODEL),
        "baseline": summarize(results, SINGLE_MODEL),
        "measurements": results,
        "load_at_end": load(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(
        f"\nRange backfills through GraphQL (dagster dev, demo run queue, {args.storage} storage"
        + (f", DAGSTER_EVENT_BATCH_SIZE {batch}" if batch else "")
        + f"), hourly windows of ~{args.rows:,} rows; "
        f"R: max_partitions_per_run {summary['max_partitions_per_run']}"
        + ("" if supported else " (not supported by the installed code: one run per window)")
        + f"; S: 1; run queue: {summary['run_queue']}; CPU reference (5M Python additions) {cpu} s; "
        f"SENTINEL_WORKERS {summary['workers']}"
    )
    print(table(summary))
    print(f"load average at the end: {load()}; JSON: {args.output}")
    if failure:
        print(f"stopped early: {failure}")
    return 0 if results and not failure and all(r["all_materialized"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Service API load on loopback: p95 latency of the read endpoints at a fixed request rate, and drift-check
throughput on 100k-row windows.

Builds a small project (generated data, the baseline and three windows materialized on a SQLite instance),
starts ``uvicorn api.app:create_app --factory`` (one process) on a free loopback port, then

1. reads: an open-loop schedule of ``--rate`` requests per second for ``--seconds`` seconds, spread over the
   read endpoints (models, model health, incidents, RCA, patterns), sent by a thread pool; latency is measured
   from the scheduled send time (so a server that falls behind is charged for the queueing);
2. drift checks: ``--checks`` sequential ``POST /api/v1/monitoring/drift-check`` calls comparing two files of
   ``--rows`` rows each (resampled from the generated data, with the demo's drift in the current file).

Bounded in requests and time; prints one JSON object with the numbers and ``uptime``'s load average before and
after (the machine is shared: every number is taken under that load).

    .venv/bin/python benchmarks/api_load.py            # 50 req/s for 20 s, 5 checks of 100k rows
    .venv/bin/python benchmarks/api_load.py --quick    # 20 req/s for 5 s, 2 checks of 20k rows
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODEL, PREFIX = "fraud-detector-v1", "fraud_detector_v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def prepare(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Project, instance and keys in ``root`` (reused when ``root/prepared.json`` exists); environment and ids."""
    marker = root / "prepared.json"
    if marker.exists():
        saved = json.loads(marker.read_text())
        os.environ.update(saved["env"])
        return saved["env"], saved["ids"]
    from dagster import DagsterInstance

    from drift_sentinel.access import generate_key_pair
    from drift_sentinel.config import load_config
    from drift_sentinel.sample_data import generate
    from drift_sentinel.settings import Settings
    from sentinel_assets.definitions import build_definitions
    from sentinel_assets.demo import bootstrap_registry

    data = generate(root / "data", seed=7, scenario="demo", days=8, rows_per_hour=40)
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    spec["models"][0]["window"].update(start=data.start.date().isoformat(), end=data.end.date().isoformat())
    (root / "sentinel.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        "SENTINEL_CONFIG": str(root / "sentinel.yaml"),
        "SENTINEL_HOME": str(root / ".sentinel"),
        "DAGSTER_HOME": str(home),
        "REMEDIATION_AUTO": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    os.environ.update(env)
    config = load_config(root / "sentinel.yaml")
    model = config.models[0]
    defs = build_definitions(config, Settings.from_env())
    bootstrap_registry(
        defs.resources["model_registry"], model, config.resolve(model.data.training_snapshot or "")
    )
    instance = DagsterInstance.from_config(str(home))
    assert defs.resolve_job_def(f"{PREFIX}_baseline").execute_in_process(instance=instance).success
    assert data.drift_start is not None
    days = [
        data.start + timedelta(days=2),
        data.drift_start + timedelta(days=1),
        data.drift_start + timedelta(days=2),
    ]
    for day in days:
        key = day.date().isoformat()
        assert (
            defs.resolve_job_def(f"{PREFIX}_detect")
            .execute_in_process(partition_key=key, instance=instance)
            .success
        )
    assert defs.resolve_job_def(f"{PREFIX}_patterns").execute_in_process(instance=instance).success
    drifted = [p for p in data.prediction_files if p.stem >= days[1].date().isoformat()]
    (root / "sources.json").write_text(
        json.dumps({"reference": str(data.training_path), "current": str(drifted[0])})
    )
    pem, jwks = generate_key_pair("bench")
    (root / "jwks.json").write_text(json.dumps(jwks))
    (root / "key.pem").write_bytes(pem)
    incident = defs.load_asset_value(
        [PREFIX, "drift_report"], partition_key=days[-1].date().isoformat(), instance=instance
    )["incident_id"]
    marker.write_text(json.dumps({"env": env, "ids": {"incident": incident}}))
    return env, {"incident": incident}


def big_windows(root: Path, rows: int) -> tuple[Path, Path]:
    """Two window files of ``rows`` rows, resampled from the training snapshot and a drifted day."""
    from drift_sentinel.windows import read_table

    sources = json.loads((root / "sources.json").read_text())
    paths = (root / f"reference-{rows}.parquet", root / f"current-{rows}.parquet")
    for path, source, seed in zip(paths, (sources["reference"], sources["current"]), (1, 2), strict=True):
        if not path.exists():
            read_table(source).sample(n=rows, replace=True, random_state=seed).to_parquet(path, index=False)
    return paths


def server_p95_ms(metrics: str, routes: list[str]) -> float | None:
    """The upper bound of the histogram bucket holding the 95th percentile of the server's own handling time
    (``drift_sentinel_api_request_seconds``) over the read routes (route templates, not paths)."""
    templates = {"/api/v1/monitoring/models/{model_id}/health", "/api/v1/analysis/rca/{incident_id}"}
    templates |= {r for r in routes if "{" not in r and "fraud" not in r and "inc-" not in r}
    buckets: dict[float, float] = {}
    for line in metrics.splitlines():
        if not line.startswith("drift_sentinel_api_request_seconds_bucket{"):
            continue
        labels, value = line.rsplit(" ", 1)
        route = labels.split('route="', 1)[1].split('"', 1)[0]
        bound = labels.split('le="', 1)[1].split('"', 1)[0]
        if route in templates:
            key = float("inf") if bound == "+Inf" else float(bound)
            buckets[key] = buckets.get(key, 0.0) + float(value)
    if not buckets:
        return None
    total = buckets[float("inf")]
    for bound in sorted(buckets):
        if buckets[bound] >= 0.95 * total:
            return bound * 1000
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="read requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the read phase")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in each drift-check window")
    parser.add_argument("--checks", type=int, default=5, help="sequential drift checks (0: reads only)")
    parser.add_argument("--quick", action="store_true", help="20 req/s for 5 s, 2 checks of 20k rows")
    parser.add_argument(
        "--root", help="keep the prepared project in this folder and reuse it on the next run"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.seconds, args.rows, args.checks = 20.0, 5.0, 20_000, 2

    import httpx

    from drift_sentinel.access import issue_token

    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        root = Path(args.root) if args.root else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        env, ids = prepare(root)
        reference_file, current_file = big_windows(root, args.rows)
        prepare_seconds = time.monotonic() - started
        port = free_port()
        server_env = {
            **os.environ,
            **env,
            "API_JWKS": str(root / "jwks.json"),
            "API_DATA_ROOTS": str(root),
            "API_RATE_LIMIT": "1000000",
        }
        argv_server = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
        ]
        argv_server += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
        log = open(root / "api.log", "wb")  # noqa: SIM115 (closed below)
        server = subprocess.Popen(argv_server, env=server_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"{base}/livez", timeout=1).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((root / "api.log").read_text()[-2000:]) from None
                    time.sleep(0.2)
            token = issue_token(
                (root / "key.pem").read_bytes(),
                kid="bench",
                subject="bench",
                role="operator",
                teams=["ml-platform"],
                issuer="drift-sentinel-dev",
                audience="drift-sentinel-api",
            )
            headers = {"Authorization": f"Bearer {token}"}
            paths = [
                "/api/v1/models",
                f"/api/v1/monitoring/models/{MODEL}/health",
                "/api/v1/monitoring/incidents",
                f"/api/v1/analysis/rca/{ids['incident']}",
                "/api/v1/analysis/patterns",
            ]
            with httpx.Client(base_url=base, headers=headers, timeout=30) as warm:
                for path in paths:  # first use opens the instance and imports; not part of the measurement
                    assert warm.get(path).status_code == 200, path

            local = threading.local()
            results: list[tuple[str, float, int, float, float]] = []
            lock = threading.Lock()

            def send(path: str, scheduled: float) -> None:
                delay = scheduled - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                client = getattr(local, "client", None)
                if client is None:
                    client = local.client = httpx.Client(base_url=base, headers=headers, timeout=30)
                sent = time.monotonic()
                try:
                    status = client.get(path).status_code
                except httpx.HTTPError:
                    status = 0
                done = time.monotonic()
                with lock:
                    results.append((path, done - scheduled, status, done - sent, sent - scheduled))

            total = int(args.rate * args.seconds)
            t0 = time.monotonic() + 0.5
            with ThreadPoolExecutor(max_workers=32) as pool:
                for i in range(total):
                    pool.submit(send, paths[i % len(paths)], t0 + i / args.rate)
            read_wall = time.monotonic() - t0
            latencies = [r[1] for r in results]
            reads = {
                "rate_per_s": args.rate,
                "requests": total,
                "wall_s": round(read_wall, 2),
                "errors": sum(1 for r in results if r[2] != 200),
                "p50_ms": round(percentile(latencies, 50) * 1000, 1),
                "p95_ms": round(percentile(latencies, 95) * 1000, 1),
                "p99_ms": round(percentile(latencies, 99) * 1000, 1),
                "p95_ms_from_send": round(percentile([r[3] for r in results], 95) * 1000, 1),
                "p95_ms_send_lateness": round(percentile([r[4] for r in results], 95) * 1000, 1),
                "p95_ms_by_path": {
                    p: round(percentile([r[1] for r in results if r[0] == p], 95) * 1000, 1) for p in paths
                },
            }
            load_mid = load_average()
            with httpx.Client(base_url=base, timeout=30) as plain:
                reads["server_p95_ms_upper_bound"] = server_p95_ms(plain.get("/metrics").text, paths)

            body = {
                "model_id": MODEL,
                "reference_data": str(reference_file),
                "current_data": str(current_file),
            }
            seconds = []
            report: dict = {}
            with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
                for _ in range(args.checks):
                    start = time.monotonic()
                    response = client.post("/api/v1/monitoring/drift-check", json=body)
                    seconds.append(time.monotonic() - start)
                    assert response.status_code == 200, response.text[:500]
                    report = response.json()["report"]
            checks = (
                {}
                if not seconds
                else {
                    "rows_per_window": args.rows,
                    "checks": args.checks,
                    "median_s": round(percentile(seconds, 50), 3),
                    "max_s": round(max(seconds), 3),
                    "checks_per_minute": round(60 / percentile(seconds, 50), 1),
                    "rows_per_s": round(2 * args.rows / percentile(seconds, 50)),
                    "drift_detected": report["drift_detected"],
                }
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    print(
        json.dumps(
            {
                "benchmark": "api_load",
                "prepare_s": round(prepare_seconds, 1),
                "reads": reads,
                "drift_check": checks,
                "load_average_before": load_before,
                "load_average_after_reads": load_mid,
                "load_average_after": load_average(),
                "cpus": os.cpu_count(),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

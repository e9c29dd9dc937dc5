"""Fifty monitored models in one code location: ``dagster definitions validate`` and the code server's load time.

What it measures, for a generated ``sentinel.yaml`` with 1 and with ``--models`` (default 50) models (copies of
the repository's first model under new ids):

- ``dagster definitions validate -m sentinel_assets.definitions`` wall time (a fresh process: imports,
  building the definitions, validating them);
- the code server's load time: ``dagster api grpc -m sentinel_assets.definitions`` from start until its port
  accepts connections (it loads the definitions before it listens);
- in one fresh process, where the time goes: importing the definitions module's dependencies, building the
  ``Definitions`` for the models, and resolving the repository and its snapshot (what the webserver asks the
  code server for);
- that each model's assets are one asset group named for the model (the UI's asset graph per model).

Target: at most 15 s for 50 models. Setup: a temporary ``DAGSTER_HOME`` (SQLite) and config folder.

Run: ``.venv/bin/python benchmarks/fifty_models.py [--models 50] [--quick]``
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import dagster  # noqa: F401
import sentinel_assets.factory  # noqa: F401  (the project's Dagster layer and the core it imports)
t1 = time.perf_counter()
from sentinel_assets.definitions import build_definitions
t2 = time.perf_counter()
defs = build_definitions()
t3 = time.perf_counter()
repo = defs.get_repository_def()
repo.load_all_definitions()
from dagster._core.remote_representation.external_data import RepositorySnap
RepositorySnap.from_def(repo)
t4 = time.perf_counter()
groups = {}
graph = defs.resolve_asset_graph()
for node in graph.asset_nodes:
    groups.setdefault(node.group_name, set()).add(node.key.path[0])
print(json.dumps({
    "import_s": t1 - t0, "definitions_module_s": t2 - t1, "build_s": t3 - t2, "repository_snapshot_s": t4 - t3,
    "assets": len(list(graph.asset_nodes)),
    "groups": {g: sorted(p) for g, p in groups.items()},
}))
"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_config(folder: Path, models: int) -> Path:
    """``sentinel.yaml`` with ``models`` copies of the repository's first model (ids ``model-000``…)."""
    base = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    first = base["models"][0]
    data_root = REPO
    copies = []
    for i in range(models):
        model = copy.deepcopy(first)
        model["id"] = f"model-{i:03d}"
        model["data"] = {k: str(data_root / v) for k, v in first["data"].items()}
        model.pop("upstream_assets", None)
        copies.append(model)
    path = folder / f"sentinel-{models}.yaml"
    path.write_text(yaml.safe_dump({**base, "models": copies}, sort_keys=False))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def code_server_load(env: dict[str, str], timeout: float = 300.0) -> float:
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(BIN / "dagster"),
            "api",
            "grpc",
            "-m",
            "sentinel_assets.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"code server exited with {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return time.perf_counter() - start
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("code server did not listen in time")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def measure(config: Path, home: Path) -> dict[str, object]:
    env = {**os.environ, "SENTINEL_CONFIG": str(config), "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    validate = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "sentinel_assets.definitions"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    validate_s = time.perf_counter() - start
    if validate.returncode != 0:
        raise RuntimeError(f"validate failed: {validate.stderr[-2000:]}")
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        raise RuntimeError(f"probe failed: {probe.stderr[-2000:]}")
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    result["validate_s"] = validate_s
    result["code_server_s"] = code_server_load(env)
    result["load"] = load()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10 models instead of 50")
    args = parser.parse_args(argv)
    many = 10 if args.quick else args.models
    folder = Path(tempfile.mkdtemp(prefix="fifty-models-"))
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    try:
        rows = []
        for count in (1, many):
            result = measure(write_config(folder, count), home)
            groups = result["groups"]
            per_model = all(re.fullmatch(r"model_\d{3}", g) and p == [g] for g, p in groups.items())
            if len(groups) != count or not per_model:
                print(f"asset groups are not one per model: {groups}", file=sys.stderr)
                return 1
            rows.append((count, result))
        print(
            f"\n{'models':>6} {'assets':>6} {'validate s':>10} {'code server s':>13} {'import s':>8} "
            f"{'build s':>7} {'snapshot s':>10}  load average"
        )
        for count, r in rows:
            print(
                f"{count:6d} {r['assets']:6d} {r['validate_s']:10.1f} {r['code_server_s']:13.1f} "
                f"{r['import_s'] + r['definitions_module_s']:8.1f} {r['build_s']:7.1f} "
                f"{r['repository_snapshot_s']:10.1f}  {r['load']}"
            )
        print(f"asset groups: one per model ({many} groups, each holding only its model's assets)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

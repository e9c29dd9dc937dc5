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

Wall times move with the machine's load (other processes share its cores), so each row also gives the CPU
seconds the process used (user + system), which moves much less, and ``--repeat`` reports medians.

Byte code: an environment with ``PYTHONDONTWRITEBYTECODE=1`` and a virtualenv installed without compiled byte
code (uv's default) compiles every imported module from source in every process, a large share of the load time.
``--bytecode`` measures an install with compiled byte code instead (``uv pip install --compile-bytecode`` or
``UV_COMPILE_BYTECODE=1``; neither the Makefile nor deploy/Dockerfile does it yet): byte code written once to a
temporary ``PYTHONPYCACHEPREFIX``, warmed before timing. The table says which case it shows.

Target: at most 15 s for 50 models. Setup: a temporary ``DAGSTER_HOME`` (SQLite) and config folder.

Run: ``.venv/bin/python benchmarks/fifty_models.py [--models 50] [--quick] [--repeat 3] [--bytecode]``
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import re
import resource
import shutil
import socket
import statistics
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


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def code_server_load(env: dict[str, str], timeout: float = 300.0) -> tuple[float, float]:
    """(wall s until the code server's port accepts connections, CPU s of the server process)."""
    port = free_port()
    cpu = children_cpu()
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
                    wall = time.perf_counter() - start
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("code server did not listen in time")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    return wall, children_cpu() - cpu


def environment(config: Path, home: Path, pycache: Path | None) -> dict[str, str]:
    env = {**os.environ, "SENTINEL_CONFIG": str(config), "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def measure(env: dict[str, str]) -> dict[str, object]:
    """One round: validate, the probe, the code server (each a fresh process)."""
    cpu = children_cpu()
    start = time.perf_counter()
    validate = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "sentinel_assets.definitions"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    validate_s = time.perf_counter() - start
    validate_cpu_s = children_cpu() - cpu
    if validate.returncode != 0:
        raise RuntimeError(f"validate failed: {validate.stderr[-2000:]}")
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        raise RuntimeError(f"probe failed: {probe.stderr[-2000:]}")
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    result["validate_s"] = validate_s
    result["validate_cpu_s"] = validate_cpu_s
    result["code_server_s"], result["code_server_cpu_s"] = code_server_load(env)
    result["load"] = load()
    return result


def median_of(rounds: list[dict[str, object]]) -> dict[str, object]:
    """The rounds' median of every number (the other fields from the last round)."""
    out = dict(rounds[-1])
    for key, value in out.items():
        if isinstance(value, float):
            out[key] = statistics.median(float(r[key]) for r in rounds)  # type: ignore[arg-type]
    out["load"] = " / ".join(str(r["load"]) for r in rounds)
    return out


def bytecode_state() -> str:
    """Whether the processes measured read compiled byte code or compile every module from source."""
    spec = importlib.util.find_spec("dagster")
    package = Path(spec.origin).parent if spec is not None and spec.origin else REPO
    cached = (package / "__pycache__").is_dir() or bool(os.environ.get("PYTHONPYCACHEPREFIX"))
    if cached:
        return "cached"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return (
            "not cached: PYTHONDONTWRITEBYTECODE=1 and none installed, every module compiled in every process"
        )
    return "written by the first process"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10 models instead of 50")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per row; the table shows medians")
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="with compiled byte code (a temporary PYTHONPYCACHEPREFIX, warmed)",
    )
    args = parser.parse_args(argv)
    many = 10 if args.quick else args.models
    folder = Path(tempfile.mkdtemp(prefix="fifty-models-"))
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    try:
        pycache = folder / "pycache" if args.bytecode else None
        rows = []
        for count in (1, many):
            env = environment(write_config(folder, count), home, pycache)
            if pycache is not None and count == 1:  # write the byte code once, outside the timings
                subprocess.run(
                    [sys.executable, "-c", "import sentinel_assets.definitions"], cwd=REPO, env=env
                )
                subprocess.run([str(BIN / "dagster"), "--help"], cwd=REPO, env=env, capture_output=True)
            result = median_of([measure(env) for _ in range(max(1, args.repeat))])
            groups = result["groups"]
            per_model = all(re.fullmatch(r"model_\d{3}", g) and p == [g] for g, p in groups.items())
            if len(groups) != count or not per_model:
                print(f"asset groups are not one per model: {groups}", file=sys.stderr)
                return 1
            rows.append((count, result))
        bytecode = "compiled once (--bytecode)" if args.bytecode else bytecode_state()
        rounds = max(1, args.repeat)
        print(
            f"\nbyte code: {bytecode}; {'median of ' + str(rounds) + ' rounds' if rounds > 1 else '1 round'}"
        )
        print(
            f"{'models':>6} {'assets':>6} {'validate s':>10} {'(cpu s)':>7} {'code server s':>13} {'(cpu s)':>7} "
            f"{'import s':>8} {'build s':>7} {'snapshot s':>10}  load average"
        )
        for count, r in rows:
            print(
                f"{count:6d} {r['assets']:6d} {r['validate_s']:10.1f} {r['validate_cpu_s']:7.1f} "
                f"{r['code_server_s']:13.1f} {r['code_server_cpu_s']:7.1f} "
                f"{r['import_s'] + r['definitions_module_s']:8.1f} {r['build_s']:7.1f} "
                f"{r['repository_snapshot_s']:10.1f}  {r['load']}"
            )
        print(f"asset groups: one per model ({many} groups, each holding only its model's assets)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

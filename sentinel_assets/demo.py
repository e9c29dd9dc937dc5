"""``drift-sentinel demo``: the whole loop on the embedded default, in one process, no servers.

1. generate a fortnight of prediction logs for ``fraud-detector-v1`` with drift injected on day 10;
2. register two real scikit-learn versions of the model in MLflow (a local SQLite file), champion = newest;
3. materialize the baseline (reference, profile, feature importance) and backfill every window
   (current window → quality checks → drift report → RCA) with a progress bar;
4. evaluate the remediation sensor against the instance, as the daemon would, and run what it requests
   (each run's key is checked first, so a re-run never repeats an action for the same incident);
5. print a short summary a person can read (the incident, affected features, root cause and confidence, what
   ran and the gate's verdict, where to look in the UI) and write the full JSON (incident, drift report, RCA,
   remediation outcome) to ``<SENTINEL_HOME>/demo-summary.json``; ``--json`` prints the JSON instead.

Exit status: 0 when the loop ran and every remediation run succeeded, 1 when a remediation run failed (or the
baseline could not be built): the demo is also a smoke test.

State lives under ``SENTINEL_HOME`` (default ``./.sentinel``): the Dagster instance (``dagster_home``), the
stored asset values, the MLflow database, the audit trail and the notification outbox. ``make ui`` opens the
same instance in the Dagster UI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from drift_sentinel.errors import SentinelError

DAGSTER_YAML = """# Embedded default instance for the demo: SQLite storage under this folder.
telemetry:
  enabled: false
storage:  # Dagster's SQLite files, its event log keeping an engine per file (sentinel_assets/sqlite_storage.py)
  custom:
    module: sentinel_assets.sqlite_storage
    class: SentinelSqliteStorage
run_coordinator:
  module: dagster._core.run_coordinator.queued_run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1  # Dagster's default 5 s delays each queued run's start by 2.5 s on average
    tag_concurrency_limits:
      - key: sentinel/change_lock
        value: {applyLimitPerUniqueValue: true}
        limit: 1
      - key: sentinel/backfill_model
        value: {applyLimitPerUniqueValue: true}
        limit: 1
"""


EVENT_BATCH_ENV, EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", "1000"
"""A step's asset events go to storage in batches (one transaction per file on the demo's SQLite storage, one per
step on PostgreSQL), as ``deploy/k8s/configmap.yaml`` sets it for production."""

SUMMARY_FILE = "demo-summary.json"


class DemoFailed(SentinelError):
    """A step of the demo's loop failed (names the run to open in the UI)."""

    exit_code = 1


def home_environment(dagster_home: Path, sentinel_home: Path, config_file: Path) -> dict[str, str]:
    """The environment of a throwaway home (live demo, benchmarks): its instance, storage and models file,
    telemetry off."""
    return {
        "DAGSTER_HOME": str(dagster_home),
        "SENTINEL_HOME": str(sentinel_home),
        "SENTINEL_CONFIG": str(config_file),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        EVENT_BATCH_ENV: EVENT_BATCH_SIZE,
    }


def prepare_environment(home: Path, config_file: Path) -> None:
    """Point every setting at ``home`` (unless already set) and create the Dagster instance folder."""
    home = home.absolute()
    os.environ.setdefault("SENTINEL_HOME", str(home))
    os.environ["SENTINEL_CONFIG"] = str(config_file.absolute())
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home / "dagster_home")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault(EVENT_BATCH_ENV, EVENT_BATCH_SIZE)


def _quiet(run_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run config whose console logger shows warnings only (the runs' full logs are in the instance and UI)."""
    return {**(run_config or {}), "loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def bootstrap_registry(registry: Any, spec: Any, training_path: str) -> dict[str, Any]:
    """Make sure the model has two real registered versions and a champion (idempotent)."""
    from drift_sentinel.training import evaluate_model, train_model
    from drift_sentinel.windows import read_table

    name, alias = spec.registered_model_name, spec.registry.champion_alias
    versions = registry.versions(name)
    if len(versions) < 2:
        frame = read_table(training_path)
        cut = int(len(frame) * 0.8)
        train, holdout = frame.iloc[:cut], frame.iloc[cut:]
        for seed, kind in ((1, "logistic_regression"), (2, "gradient_boosting")):
            model = train_model(
                train, features=spec.feature_kinds, label=spec.label_column, seed=seed, kind=kind
            )
            metrics = evaluate_model(model, holdout, label=spec.label_column)
            registry.register_sklearn(
                name, model, metrics=metrics, params={"kind": kind, "seed": seed}, alias=alias
            )
        versions = registry.versions(name)
    champion = registry.champion(name, alias=alias)
    if champion is None:
        registry.set_alias(name, alias, max(versions, key=lambda v: int(v.version)).version)
        champion = registry.champion(name, alias=alias)
    return {"model": name, "versions": sorted(int(v.version) for v in versions), "champion": champion.version}


def run_demo(
    *,
    config_file: Path = Path("sentinel.yaml"),
    home: Path = Path(".sentinel"),
    seed: int = 42,
    progress: bool = True,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Run the loop once and return the summary (see the module docstring)."""
    from drift_sentinel.errors import DataError

    try:
        prepare_environment(home, config_file)
    except OSError as exc:
        raise DataError(
            f"{exc.filename or home}: cannot create the demo's state folder: {exc.strerror or exc}"
        ) from None

    import warnings

    from dagster import BetaWarning, DagsterInstance, PreviewWarning, build_sensor_context

    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    from tqdm import tqdm

    from drift_sentinel.config import load_config
    from drift_sentinel.sample_data import generate
    from drift_sentinel.settings import Settings
    from resources import history
    from sentinel_assets.definitions import build_definitions
    from sentinel_assets.factory import baseline_job_name, detect_job_name

    config = load_config(config_file)
    spec = config.model("fraud-detector-v1")
    settings = Settings.from_env()
    defs = build_definitions(config, settings)
    instance = DagsterInstance.get()

    log(f"[1/5] generating sample data into {config.base_dir / 'data'} (seed {seed}, drift on day 10)")
    data = generate(config.base_dir / "data", seed=seed, scenario="demo", model_id=spec.id)

    log(f"[2/5] MLflow registry at {settings.mlflow_tracking_uri}")
    registry = defs.resources["model_registry"]
    registry_state = bootstrap_registry(registry, spec, config.resolve(spec.data.training_snapshot or ""))

    log("[3/5] baseline: reference window, reference profile, feature importance")
    baseline = defs.resolve_job_def(baseline_job_name(spec)).execute_in_process(
        instance=instance, run_config=_quiet(), raise_on_error=False
    )
    if not baseline.success:
        raise DemoFailed(f"baseline job failed; see run {baseline.run_id} in the Dagster UI (make ui)")

    detect = defs.resolve_job_def(detect_job_name(spec))
    keys = detect.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
    failed = []
    bar = tqdm(keys, desc="[4/5] backfill windows", unit="window", disable=not progress, file=sys.stderr)
    for key in bar:
        bar.set_postfix_str(key)
        result = detect.execute_in_process(
            partition_key=key, instance=instance, run_config=_quiet(), raise_on_error=False
        )
        if not result.success:
            failed.append({"window": key, "run_id": result.run_id})
    if failed:
        log(f"      {len(failed)} window(s) failed or were blocked by a data-quality check: {failed}")

    sensor = next(s for s in defs.sensors if s.name.startswith(spec.asset_prefix))
    log(f"[5/5] evaluating sensor {sensor.name} and running what it requests")
    tick = sensor.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs, sensor_name=sensor.name)
    )
    remediation = []
    for request in tick.run_requests or []:
        tags = {**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": sensor.name}
        previous = history.runs_tagged(
            instance, {"dagster/run_key": request.run_key, "dagster/sensor_name": sensor.name}
        )
        if previous:
            run = previous[0]
            remediation.append(_run_summary(instance, run, request.job_name, skipped=True))
            continue
        job = defs.resolve_job_def(request.job_name)
        outcome = job.execute_in_process(
            run_config=_quiet(request.run_config), instance=instance, tags=tags, raise_on_error=False
        )
        remediation.append(_run_summary(instance, instance.get_run_by_id(outcome.run_id), request.job_name))

    summary = _summary(defs, instance, spec, keys, data, registry_state, remediation, failed)
    summary["ui"] = (
        "make ui   # then open http://127.0.0.1:3000 (DAGSTER_HOME=" + os.environ["DAGSTER_HOME"] + ")"
    )
    return summary


def _run_summary(instance: Any, run: Any, job_name: str, *, skipped: bool = False) -> dict[str, Any]:
    return {
        "job": job_name,
        "run_id": run.run_id,
        "status": run.status.value,
        "gate": instance.get_run_by_id(run.run_id).tags.get("sentinel/gate", "not evaluated"),
        "run_key": run.tags.get("dagster/run_key"),
        "launched": not skipped,
        "note": "already handled by an earlier run with this run key; not launched again" if skipped else "",
    }


def _summary(
    defs: Any,
    instance: Any,
    spec: Any,
    keys: list[str],
    data: Any,
    registry_state: dict[str, Any],
    remediation: list[dict[str, Any]],
    failed: list[dict[str, Any]],
) -> dict[str, Any]:
    from resources.keys import asset_key

    prefix = spec.asset_prefix
    reports = {}
    for key in keys:
        try:
            reports[key] = defs.load_asset_value(
                asset_key(prefix, "drift_report"), partition_key=key, instance=instance
            )
        except Exception:  # a window blocked by a quality check has no report
            continue
    drifted = [k for k, r in reports.items() if r.get("drift_detected")]
    newest = max(drifted) if drifted else None
    rca = (
        defs.load_asset_value(asset_key(prefix, "rca_report"), partition_key=newest, instance=instance)
        if newest
        else None
    )
    report = reports.get(newest) if newest else None
    registry_after = defs.resources["model_registry"].champion(
        spec.registered_model_name, alias=spec.registry.champion_alias
    )
    return {
        "model_id": spec.id,
        "injected": {"drift_start": str(data.drift_start), "features": list(data.drifted_features)},
        "windows": {"total": len(keys), "with_drift": drifted, "failed": failed},
        "incident": {
            "incident_id": report["incident_id"] if report else None,
            "window": newest,
            "drift_score": report["drift_score"] if report else None,
            "affected_features": report["affected_features"] if report else [],
        },
        "drift_report": report,
        "rca": rca,
        "registry": {**registry_state, "champion_now": registry_after.version if registry_after else None},
        "remediation": remediation,
    }


def failed_remediation(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The remediation runs in ``summary`` that did not succeed (launched now or earlier)."""
    return [r for r in summary.get("remediation", []) if r.get("status") != "SUCCESS"]


def _num(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "n/a"


def format_summary(summary: dict[str, Any], json_path: str | None = None) -> str:
    """The demo's outcome in a dozen lines: incident, features, root cause, what ran, where to look.

    >>> print(format_summary({"model_id": "m", "windows": {"total": 3, "with_drift": [], "failed": []},
    ...                       "incident": {"incident_id": None}, "remediation": [], "ui": "make ui"}))
    Drift Sentinel demo: m
      windows      3 checked, 0 with drift, 0 failed
      incident     none: no window drifted
      remediation  nothing requested
      look         make ui
    """
    incident = summary.get("incident") or {}
    windows = summary.get("windows") or {}
    drifted = list(windows.get("with_drift") or [])
    lines = [f"Drift Sentinel demo: {summary.get('model_id')}"]
    span = f" ({min(drifted)} to {max(drifted)})" if drifted else ""
    failed_windows = len(windows.get("failed") or [])
    lines.append(
        f"  windows      {windows.get('total', 0)} checked, {len(drifted)} with drift{span}, {failed_windows} failed"
    )
    injected = summary.get("injected") or {}
    if injected.get("drift_start"):
        lines.append(
            f"  injected     drift from {injected['drift_start']} in {', '.join(injected.get('features') or [])}"
        )
    if not incident.get("incident_id"):
        lines.append("  incident     none: no window drifted")
    else:
        lines.append(
            f"  incident     {incident['incident_id']} (window {incident.get('window')}, "
            f"drift score {_num(incident.get('drift_score'))})"
        )
        features = [
            f"{a.get('name')} ({a.get('drift_type', 'drift')}, magnitude {_num(a.get('magnitude'))})"
            for a in incident.get("affected_features") or []
        ]
        lines.append(f"  affected     {'; '.join(features) or 'none'}")
        root = (summary.get("rca") or {}).get("root_cause") or {}
        if root:
            where = f" in {root['feature']}" if root.get("feature") else ""
            lines.append(
                f"  root cause   {root.get('type')}{where}, confidence {_num(root.get('confidence'))}"
                + (f" (cause: {root['cause']})" if root.get("cause") else "")
            )
    runs = summary.get("remediation") or []
    if not runs:
        lines.append("  remediation  nothing requested")
    for i, run in enumerate(runs):
        label = "  remediation  " if i == 0 else "               "
        note = "" if run.get("launched", True) else " (done by an earlier run; not launched again)"
        lines.append(
            f"{label}{run.get('job')}: run {str(run.get('run_id'))[:8]} {run.get('status')}, "
            f"gate {run.get('gate')}{note}"
        )
    registry = summary.get("registry") or {}
    if registry:
        lines.append(
            f"  model        {registry.get('model')}: champion v{registry.get('champion')} before, "
            f"v{registry.get('champion_now')} now"
        )
    failed = failed_remediation(summary)
    if failed:
        lines.append(f"  FAILED       {len(failed)} remediation run(s) did not succeed; open them in the UI")
    lines.append(f"  look         {summary.get('ui')}")
    if incident.get("window"):
        prefix = str(summary.get("model_id", "")).replace("-", "_").replace(".", "_")
        lines.append(
            f"               Assets > {prefix} > drift_report and rca_report, partition {incident['window']}; "
            "Runs for the remediation"
        )
    if json_path:
        lines.append(f"  full JSON    {json_path}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    """``drift-sentinel demo`` (plugged into the core CLI through an entry point)."""
    parser = subparsers.add_parser(
        "demo", help="run the whole loop on the embedded default and print the incident"
    )
    parser.add_argument(
        "--config", type=Path, default=Path(os.environ.get("SENTINEL_CONFIG", "sentinel.yaml"))
    )
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SENTINEL_HOME", ".sentinel")))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print the full JSON instead of the summary (else in HOME/{SUMMARY_FILE})",
    )
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    summary = run_demo(config_file=args.config, home=args.home, seed=args.seed, progress=not args.no_progress)
    text = json.dumps(summary, indent=2, default=str)
    if args.json:
        print(text, file=out)
    else:
        path = Path(os.environ.get("SENTINEL_HOME", str(args.home))) / SUMMARY_FILE
        try:
            path.write_text(text + "\n")
        except OSError as exc:
            raise DemoFailed(f"{path}: cannot write the demo's JSON: {exc.strerror or exc}") from None
        print(format_summary(summary, str(path)), file=out)
    failed = failed_remediation(summary)
    if failed:
        runs = ", ".join(f"{r['job']} run {r['run_id']} ({r['status']})" for r in failed)
        print(f"drift-sentinel demo: remediation failed: {runs}", file=sys.stderr)
        return 1
    return 0

"""``drift-sentinel demo``: the whole loop on the embedded default, in one process, no servers.

1. generate a fortnight of prediction logs for ``fraud-detector-v1`` with drift injected on day 10;
2. register two real scikit-learn versions of the model in MLflow (a local SQLite file), champion = newest;
3. materialize the baseline (reference, profile, feature importance) and backfill every window
   (current window → quality checks → drift report → RCA) with a progress bar;
4. evaluate the remediation sensor against the instance, as the daemon would, and run what it requests
   (each run's key is checked first, so a re-run never repeats an action for the same incident);
5. print the incident, drift report, RCA and remediation outcome as JSON.

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

DAGSTER_YAML = """# Embedded default instance for the demo: SQLite storage under this folder.
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator.queued_run_coordinator
  class: QueuedRunCoordinator
  config:
    tag_concurrency_limits:
      - key: sentinel/change_lock
        value: {applyLimitPerUniqueValue: true}
        limit: 1
"""


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
    prepare_environment(home, config_file)

    import warnings

    from dagster import BetaWarning, DagsterInstance, PreviewWarning, RunsFilter, build_sensor_context

    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    from tqdm import tqdm

    from drift_sentinel.config import load_config
    from drift_sentinel.sample_data import generate
    from drift_sentinel.settings import Settings
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
        raise RuntimeError(f"baseline job failed; see run {baseline.run_id} in the Dagster UI")

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
        previous = instance.get_runs(
            RunsFilter(tags={"dagster/run_key": request.run_key, "dagster/sensor_name": sensor.name})
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
    from dagster import AssetKey

    prefix = spec.asset_prefix
    reports = {}
    for key in keys:
        try:
            reports[key] = defs.load_asset_value(
                AssetKey([prefix, "drift_report"]), partition_key=key, instance=instance
            )
        except Exception:  # a window blocked by a quality check has no report
            continue
    drifted = [k for k, r in reports.items() if r.get("drift_detected")]
    newest = max(drifted) if drifted else None
    rca = (
        defs.load_asset_value(AssetKey([prefix, "rca_report"]), partition_key=newest, instance=instance)
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
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    summary = run_demo(config_file=args.config, home=args.home, seed=args.seed, progress=not args.no_progress)
    print(json.dumps(summary, indent=2, default=str), file=out)
    print(f"\nOpen the Dagster UI on this instance: {summary['ui']}", file=sys.stderr)
    return 0

"""Launching a run of another code location (a team's training job or model asset) and waiting for it.

Dagster 1.13 has no public in-process call that launches a run of *another* code location: the UI's GraphQL
``launchRun`` and ``dagster job launch`` both build a run from the code location's remote job (its snapshot and
execution plan, read over the code server's gRPC API) with ``instance.create_run`` and hand it to
``instance.submit_run``, which goes through the instance's run coordinator and run launcher like any run. This
module does the same from inside an op: it loads only the named location of the workspace file
(:class:`~dagster._core.workspace.context.WorkspaceProcessContext`, which starts that location's code server),
creates the run with the given tags and submits it, then polls the instance until the run ends or the time box
runs out (a run still going is then terminated). The names come from ``dagster._core`` (no public equivalent).

An asset target's run materializes the asset and what it needs upstream that is stale
(:func:`upstream_to_refresh`): an ancestor in the same code location that was never materialized, whose declared
code version differs from the one its latest materialization recorded, or that reads such an ancestor. Dagster
1.13.27 has no public API for an asset's stale status: the UI's "Stale"/"Missing" comes from
``CachingStaleStatusResolver`` (``dagster._core.definitions.data_version``, which also needs an internal
``LoadingContext``) or the webserver's GraphQL ``assetNodes { staleStatus }``. So the rule above is computed here
from the remote asset graph's nodes (``parent_keys``, ``code_version``, ``partitions_def``, ``is_materializable``)
and the latest materialization of each ancestor read through :mod:`resources.history`. Unlike Dagster's status it
does not call an ancestor stale because *its* upstream data changed (a newer materialization upstream): the team's
own automation keeps data fresh; a retrain rebuilds what is missing or built by old code.

:func:`check_targets` validates the targets when the definitions load, by importing each named location's
Definitions (python_module / python_file entries; a ``grpc_server`` entry is checked at launch).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, Definitions

from drift_sentinel.config import SentinelConfig
from drift_sentinel.errors import ConfigError
from drift_sentinel.remediation.retrain_target import RetrainTarget

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class LaunchedRun:
    """A run of the team's code location, as it ended (or was left when the time box ran out)."""

    run_id: str
    status: str
    timed_out: bool
    seconds: float
    assets: tuple[str, ...] = ()
    """The assets the run was asked to materialize (an asset target: the asset and the stale upstream)."""

    @property
    def ok(self) -> bool:
        return self.status == DagsterRunStatus.SUCCESS.value and not self.timed_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "timed_out": self.timed_out,
            "seconds": self.seconds,
            **({"assets": list(self.assets)} if self.assets else {}),
        }


def workspace_file(config: SentinelConfig, target: RetrainTarget) -> Path:
    """The workspace file naming ``target``'s code location (``workspace.yaml`` next to the models file)."""
    return Path(config.resolve(target.workspace or os.environ.get("SENTINEL_WORKSPACE", "workspace.yaml")))


def _entries(path: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """``location name → (entry type, entry)`` of a workspace file."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the workspace file: {exc}") from None
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in data.get("load_from") or []:
        for kind, entry in (item or {}).items():
            entry = entry if isinstance(entry, dict) else {"module_name": entry}
            name = entry.get("location_name") or entry.get("module_name") or entry.get("relative_path")
            found[str(name)] = (kind, entry)
    return found


def _definitions(path: Path, kind: str, entry: Mapping[str, Any]) -> Definitions | None:
    """The Definitions object a workspace entry points to (``None`` for a grpc_server entry)."""
    base = path.parent
    workdir = str((base / entry.get("working_directory", ".")).resolve())
    attribute = entry.get("attribute") or "defs"
    if kind == "python_module":
        if workdir not in sys.path:
            sys.path.insert(0, workdir)
        module = importlib.import_module(entry["module_name"])
    elif kind == "python_file":
        file = (base / entry["relative_path"]).resolve()
        spec = importlib.util.spec_from_file_location(f"_sentinel_ws_{file.stem}", file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        return None
    defs = getattr(module, attribute, None)
    return defs if isinstance(defs, Definitions) else None


def check_target(config: SentinelConfig, model_id: str, target: RetrainTarget) -> None:
    """Raise :class:`ConfigError` if ``target`` names a code location, job or asset that does not exist."""
    if target.kind == "builtin":
        return
    where = f"{config.source}: models[{model_id}].retrain"
    path = workspace_file(config, target)
    if not path.is_file():
        raise ConfigError(f"{where}: workspace file {path} not found (set retrain.workspace)")
    entries = _entries(path)
    if target.code_location not in entries:
        raise ConfigError(
            f"{where}: unknown code location {target.code_location!r} in {path}; "
            f"declared: {', '.join(sorted(entries)) or 'none'}"
        )
    try:
        defs = _definitions(path, *entries[target.code_location])  # type: ignore[index]
    except Exception as exc:  # a broken team module is the team's error, named here
        raise ConfigError(f"{where}: code location {target.code_location!r} does not load: {exc}") from None
    if defs is None:
        return  # a gRPC server: checked when the run is launched
    repo = defs.get_repository_def()
    if target.kind == "job" and not repo.has_job(str(target.job)):
        jobs = sorted(j for j in repo.job_names if not j.startswith("__"))
        raise ConfigError(
            f"{where}: unknown job {target.job!r} in code location {target.code_location!r}; "
            f"jobs: {', '.join(jobs) or 'none'}"
        )
    if target.kind == "asset":
        keys = repo.asset_graph.get_all_asset_keys()
        if AssetKey(target.asset_path) not in keys:
            raise ConfigError(
                f"{where}: unknown asset {target.asset!r} in code location {target.code_location!r}; "
                f"assets: {', '.join(sorted(k.to_user_string() for k in keys)) or 'none'}"
            )


def check_targets(config: SentinelConfig) -> None:
    """:func:`check_target` for every model of ``config`` (called when the definitions load)."""
    for spec in config.models:
        check_target(config, spec.id, spec.retrain)


# ------------------------------------------------------------------------------------------- stale upstream


def upstream_to_refresh(instance: DagsterInstance, asset_graph: Any, key: AssetKey) -> dict[AssetKey, str]:
    """The ancestors of ``key`` a run materializing ``key`` must materialize too, each with the reason.

    ``asset_graph`` is a code location's asset graph (a remote repository's, or ``Definitions``' own). An ancestor
    is refreshed when it can be materialized in the same run (materializable, same partitioning as ``key``) and it
    was never materialized, its declared code version differs from its latest materialization's, or one of its
    parents is refreshed (its input changes). Ancestors behind one that cannot be materialized in the run (a
    partitioned asset, an external one) are not looked at.
    """
    from resources import history

    partitions = asset_graph.get(key).partitions_def
    reasons: dict[AssetKey, str | None] = {}

    def reason(node_key: AssetKey) -> str | None:
        if node_key not in reasons:
            node = asset_graph.get(node_key)
            why: str | None = None
            if node.is_materializable and node.partitions_def == partitions:
                refreshed = [p.to_user_string() for p in sorted(node.parent_keys) if reason(p) is not None]
                latest = history.materializations(instance, node_key, limit=1)
                if not latest:
                    why = "never materialized"
                elif node.code_version is not None and node.code_version != latest[0].code_version:
                    why = f"code version {node.code_version}, materialized by {latest[0].code_version or 'none'}"
                elif refreshed:
                    why = f"reads {', '.join(refreshed)}, refreshed in this run"
            reasons[node_key] = why
        return reasons[node_key]

    for parent in asset_graph.get(key).parent_keys:
        reason(parent)
    return {k: why for k, why in reasons.items() if why is not None}


# ------------------------------------------------------------------------------------------------ launch


@contextmanager
def _location(instance: DagsterInstance, path: Path, name: str) -> Iterator[Any]:
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceLoadTarget, location_origins_from_yaml_paths

    origins = [o for o in location_origins_from_yaml_paths([str(path)]) if o.location_name == name]
    if not origins:
        raise ConfigError(f"{path}: no code location {name!r}")

    class _One(WorkspaceLoadTarget):
        def create_origins(self) -> Any:
            return origins

    with WorkspaceProcessContext(instance, _One()) as process:
        workspace = process.create_request_context()
        if workspace.has_code_location_error(name):
            raise ConfigError(
                f"code location {name!r} failed to load: {workspace.get_code_location_error(name)}"
            )
        yield workspace


def _create_run(
    instance: DagsterInstance, location: Any, target: RetrainTarget, tags: Mapping[str, str], log: Any = None
) -> Any:
    from dagster._core.definitions.selector import JobSubsetSelector

    (repo,) = location.get_repositories().values()
    if target.kind == "job":
        job_name, assets = str(target.job), None
        if not repo.has_job(job_name):
            raise ConfigError(f"unknown job {job_name!r} in code location {location.name!r}")
    else:
        key = AssetKey(target.asset_path)
        if not repo.asset_graph.has(key):
            raise ConfigError(f"unknown asset {target.asset!r} in code location {location.name!r}")
        upstream = upstream_to_refresh(instance, repo.asset_graph, key)
        if log is not None and upstream:
            log.info(
                "also materializing upstream: "
                + "; ".join(f"{k.to_user_string()} ({why})" for k, why in sorted(upstream.items()))
            )
        assets = {key, *upstream}
        job_name = repo.asset_graph.get_implicit_job_name_for_assets(sorted(assets), repo) or "__ASSET_JOB"
    selector = JobSubsetSelector(
        location_name=location.name,
        repository_name=repo.name,
        job_name=job_name,
        op_selection=None,
        asset_selection=assets,
    )
    remote_job = location.get_job(selector)
    plan = location.get_execution_plan(
        remote_job, dict(target.run_config), step_keys_to_execute=None, known_state=None, instance=instance
    ).execution_plan_snapshot
    return instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=dict(target.run_config),
        resolved_op_selection=remote_job.resolved_op_selection,
        step_keys_to_execute=plan.step_keys_to_execute,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**remote_job.tags, **tags},
        job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_selection=frozenset(assets) if assets else None,
        asset_check_selection=None,
        asset_graph=repo.asset_graph,
    )


def launch_and_wait(
    instance: DagsterInstance,
    workspace: Path,
    target: RetrainTarget,
    *,
    tags: Mapping[str, str],
    poll_seconds: float = 0.5,
    log: Any = None,
) -> LaunchedRun:
    """Submit a run of ``target`` through ``instance`` with ``tags``; wait up to ``target.timeout_seconds``.

    A run still going at the end of the time box is terminated and reported with ``timed_out``.
    """
    started = time.monotonic()
    with _location(instance, workspace, str(target.code_location)) as context:
        location = context.get_code_location(str(target.code_location))
        run = _create_run(instance, location, target, tags, log)
        assets = tuple(sorted(k.to_user_string() for k in run.asset_selection or ()))
        if log is not None:
            log.info(f"launched run {run.run_id} of {target.describe()}")
        instance.submit_run(run.run_id, context)
        deadline = started + target.timeout_seconds
        while True:
            now = instance.get_run_by_id(run.run_id)
            assert now is not None
            if now.status in FINISHED:
                return LaunchedRun(run.run_id, now.status.value, False, time.monotonic() - started, assets)
            if time.monotonic() >= deadline:
                instance.run_coordinator.cancel_run(run.run_id)
                return LaunchedRun(run.run_id, now.status.value, True, time.monotonic() - started, assets)
            time.sleep(poll_seconds)


def main(argv: list[str] | None = None) -> int:
    """``python -m resources.run_launcher [sentinel.yaml]``: check every retrain target; exit 4 naming a bad one."""
    from drift_sentinel.config import load_config
    from drift_sentinel.errors import SentinelError

    args = sys.argv[1:] if argv is None else argv
    try:
        config = load_config(args[0] if args else None)
        check_targets(config)
    except SentinelError as exc:
        print(f"drift-sentinel: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{config.source}: retrain targets OK ({len(config.models)} model(s))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

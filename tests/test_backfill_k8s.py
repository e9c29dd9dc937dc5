"""Range backfills on Kubernetes, at manifest and unit level (no cluster): queue limits, one pod per run, resources.

- The run queue's tag limits (``deploy/dagster.yaml``, the same in the Helm values) are fed to Dagster's own
  ``TagConcurrencyLimitsCounter`` (what the QueuedRunCoordinator daemon uses) with a queue of backfill runs of two
  models and a remediation: one backfill run per model at a time (its ranges run in order), the other model is not
  starved, and a remediation still gets a slot.
- The backfill tags in ``deploy/k8s/backfill-tags.yaml`` are valid ``dagster-k8s/config`` and the Job the
  K8sRunLauncher builds for a multi-partition run is one Job with one pod, asking for those resources.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from dagster import DagsterRun
from dagster._utils.tags import TagConcurrencyLimitsCounter
from dagster_k8s.job import DagsterK8sJobConfig, construct_dagster_k8s_job, get_user_defined_k8s_config
from kubernetes.client import ApiClient

from resources.safety_gate import CHANGE_LOCK_TAG
from sentinel_assets.ranges import BACKFILL_MODEL_TAG

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
K8S_VERSION = "1.33.0"


def _instance() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


def _backfill_tags(model: str) -> dict[str, str]:
    tags = yaml.safe_load((DEPLOY / "k8s" / "backfill-tags.yaml").read_text())["tags"]
    return {k: v.replace("<model-id>", model) for k, v in tags.items()}


def _run(tags: dict[str, str]) -> DagsterRun:
    return DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()), tags=tags)


def _admit(queue: list[DagsterRun], limits: list[dict[str, Any]], max_runs: int) -> list[DagsterRun]:
    """The runs the queue daemon would launch now, in queue order, from an empty cluster."""
    counter = TagConcurrencyLimitsCounter(limits, [])
    admitted: list[DagsterRun] = []
    for run in queue:
        if len(admitted) < max_runs and not counter.is_blocked(run):
            counter.update_counters_with_launched_item(run)
            admitted.append(run)
    return admitted


def test_instance_and_helm_limit_backfill_runs_per_model() -> None:
    runs = _instance()["concurrency"]["runs"]
    per_model = [lim for lim in runs["tag_concurrency_limits"] if lim["key"] == BACKFILL_MODEL_TAG]
    assert per_model == [{"key": BACKFILL_MODEL_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    helm = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    queue = helm["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert per_model[0] in queue["tagConcurrencyLimits"]


def test_queue_admits_one_backfill_run_per_model_and_keeps_room_for_remediation() -> None:
    runs = _instance()["concurrency"]["runs"]
    limits, max_runs = runs["tag_concurrency_limits"], runs["max_concurrent_runs"]
    backfill = {"dagster/backfill": "bf1"}
    queue = [_run({**backfill, **_backfill_tags("model-a")}) for _ in range(10)]
    queue += [_run({"dagster/backfill": "bf2", **_backfill_tags("model-b")}) for _ in range(10)]
    remediation = _run({CHANGE_LOCK_TAG: "model-a", "sentinel/model": "model-a"})
    queue.append(remediation)

    admitted = _admit(queue, limits, max_runs)

    per_model = {
        m: sum(r.tags.get(BACKFILL_MODEL_TAG) == m for r in admitted) for m in ("model-a", "model-b")
    }
    assert per_model == {"model-a": 1, "model-b": 1}  # ranges of one model in order, models in parallel
    assert remediation in admitted
    # without the per-model limit one model's backfill would take every backfill slot first
    unlimited = [lim for lim in limits if lim["key"] != BACKFILL_MODEL_TAG]
    greedy = _admit(queue, unlimited, max_runs)
    assert sum(r.tags.get(BACKFILL_MODEL_TAG) == "model-b" for r in greedy) == 2


def test_a_multi_partition_run_is_one_job_and_one_pod_with_the_backfill_resources() -> None:
    cfg = _instance()["run_launcher"]["config"]
    tags = {
        **_backfill_tags("fraud-detector-v1"),
        "dagster/asset_partition_range_start": "2026-10-01-00:00",
        "dagster/asset_partition_range_end": "2026-10-30-23:00",
    }
    user_defined = get_user_defined_k8s_config(tags)  # what K8sRunLauncher reads from the run's tags
    run_id = str(uuid.uuid4())
    job = construct_dagster_k8s_job(
        job_config=DagsterK8sJobConfig(
            job_image="registry.example.com/drift-sentinel:0.1.0",
            dagster_home=cfg["dagster_home"],
            image_pull_policy=cfg["image_pull_policy"],
            service_account_name=cfg["service_account_name"],
            instance_config_map=cfg["instance_config_map"],
            postgres_password_secret=cfg["postgres_password_secret"],
            env_config_maps=cfg["env_config_maps"],
            env_secrets=cfg["env_secrets"],
            labels=cfg["labels"],
            resources=cfg["resources"],
        ),
        args=["dagster", "api", "execute_run", "<serialized ExecuteRunArgs>"],
        job_name=f"dagster-run-{run_id}",
        pod_name=f"dagster-run-{run_id}",
        component="run_worker",
        user_defined_k8s_config=user_defined,
        labels={"dagster/run-id": run_id},
    )
    manifest = ApiClient().sanitize_for_serialization(job)
    manifest["metadata"]["namespace"] = cfg["job_namespace"]
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    spec = manifest["spec"]
    assert manifest["kind"] == "Job" and spec.get("parallelism", 1) == 1 and spec.get("completions", 1) == 1
    containers = spec["template"]["spec"]["containers"]
    assert len(containers) == 1
    assert containers[0]["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "6Gi"},
    }
    assert containers[0]["resources"] != cfg["resources"], (
        "a range run asks for more than a single-window run"
    )

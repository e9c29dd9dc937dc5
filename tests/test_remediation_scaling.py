"""Scaling: the pure plan within limits, the recording scaler, and the Kubernetes scaler over real HTTP.

There is no Kubernetes cluster here, so ``KubernetesScaler`` is tested with the real ``kubernetes``
client against a loopback HTTP server that speaks just enough of the API (the Deployment ``scale``
subresource and ``autoscaling/v2`` HorizontalPodAutoscalers): real requests, real serialization.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drift_sentinel.errors import ExternalServiceError
from drift_sentinel.remediation.scaling import ScaleBounds, plan_scale_up
from drift_sentinel.safety import GateEvidence, ResourceLimits, SafetyPolicy, evaluate_gate
from drift_sentinel.verdict import Verdict
from resources.scaler import KubernetesScaler, RecordingScaler
from tests.support.servers import RecordedRequest, Reply, http_sink

LIMITS = ResourceLimits(cpu=4, memory_gb=8, max_replicas=6)


# ------------------------------------------------------------------------------------------------ plan


@pytest.mark.parametrize(
    ("current", "target", "cpu"),
    [
        (ScaleBounds(1), ScaleBounds(2), 0.5),  # at least one more
        (ScaleBounds(2), ScaleBounds(3), 0.5),
        (ScaleBounds(4), ScaleBounds(6), 1.0),
        (ScaleBounds(5), ScaleBounds(6), 0.5),  # capped at max_replicas
        (ScaleBounds(2, 2, 4), ScaleBounds(3, 3, 4), 0.5),
        (
            ScaleBounds(3, 2, 3),
            ScaleBounds(5, 5, 5),
            1.0,
        ),  # HPA at its max: both bounds raised
        (ScaleBounds(4, 4, 8), ScaleBounds(6, 6, 6), 1.0),  # HPA max above the cap is brought under it
    ],
)
def test_plan_scale_up_known_answers(current: ScaleBounds, target: ScaleBounds, cpu: float) -> None:
    plan = plan_scale_up(current, limits=LIMITS, factor=1.5, cpu_per_replica=0.5)
    assert plan.verdict is Verdict.PASSED
    assert plan.target == target
    assert plan.requested_cpu == cpu
    assert plan.target.replicas <= LIMITS.max_replicas
    assert plan.rollback().target == current


def test_plan_at_the_cap_fails_with_reason() -> None:
    plan = plan_scale_up(ScaleBounds(3, 6, 6), limits=LIMITS)
    assert plan.verdict is Verdict.FAILED
    assert plan.reason == "scale: already at 6 replicas = max_replicas 6"


def test_plan_feeds_the_gate() -> None:
    plan = plan_scale_up(
        ScaleBounds(2), limits=LIMITS, factor=3, cpu_per_replica=1.0, memory_gb_per_replica=2.0
    )
    assert (plan.target.replicas, plan.requested_cpu, plan.requested_memory_gb) == (6, 4.0, 8.0)
    from datetime import UTC, datetime

    evidence = GateEvidence(
        model_id="fraud",
        action="scale_resources",
        incident_id="inc-1",
        last_action_at=None,
        attempts_for_incident=0,
        running_on_model=0,
        requested_cpu=plan.requested_cpu,
        requested_memory_gb=plan.requested_memory_gb,
        requested_replicas=plan.requested_replicas,
        available_cpu=2.0,
        available_memory_gb=16.0,
    )
    decision = evaluate_gate(SafetyPolicy(resource_limits=LIMITS), evidence, datetime.now(UTC))
    assert decision.blockers == ("headroom: requested cpu 4 > available 2",)


def test_bounds_validation() -> None:
    with pytest.raises(ValueError, match="go together"):
        ScaleBounds(2, min_replicas=1)
    with pytest.raises(ValueError, match="1 <= min <= max"):
        ScaleBounds(2, 3, 2)
    with pytest.raises(ValueError, match="factor"):
        plan_scale_up(ScaleBounds(1), limits=LIMITS, factor=1.0)


# ------------------------------------------------------------------------------------------- recording


def test_recording_scaler_records_and_restores(tmp_path: Path) -> None:
    scaler = RecordingScaler(path=str(tmp_path / "scaling.jsonl"), initial_replicas=2)
    assert scaler.current("fraud") == ScaleBounds(2)
    plan = plan_scale_up(scaler.current("fraud"), limits=LIMITS)
    previous = scaler.apply("fraud", plan.target, reason=plan.reason)
    assert previous == ScaleBounds(2)
    assert scaler.current("fraud") == ScaleBounds(3)
    assert scaler.current("other") == ScaleBounds(2)
    scaler.apply("fraud", plan.rollback().target, reason="rollback")
    assert scaler.current("fraud") == ScaleBounds(2)
    lines = [json.loads(line) for line in (tmp_path / "scaling.jsonl").read_text().splitlines()]
    assert [(e["previous"]["replicas"], e["target"]["replicas"]) for e in lines] == [(2, 3), (3, 2)]
    assert "no cluster" in lines[0]["applied_by"]


# ------------------------------------------------------------------------------------------ kubernetes


class FakeKubeApi:
    """Just enough of the Kubernetes API for one Deployment's scale and one HPA, in memory."""

    def __init__(
        self, namespace: str, deployment: str, replicas: int, hpa: tuple[str, int, int] | None
    ) -> None:
        self.namespace, self.deployment, self.replicas = namespace, deployment, replicas
        self.hpa = hpa

    def _scale(self) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": self.deployment, "namespace": self.namespace},
            "spec": {"replicas": self.replicas},
            "status": {"replicas": self.replicas},
        }

    def _hpa(self) -> dict[str, Any]:
        assert self.hpa is not None
        name, lo, hi = self.hpa
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {
                "minReplicas": lo,
                "maxReplicas": hi,
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.deployment},
            },
        }

    def __call__(self, request: RecordedRequest) -> Reply:
        path = request.path.split("?")[0]
        scale = re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)/scale", path)
        hpa = re.fullmatch(r"/apis/autoscaling/v2/namespaces/([^/]+)/horizontalpodautoscalers/([^/]+)", path)
        if scale and scale.groups() == (self.namespace, self.deployment):
            if request.method == "PATCH":
                self.replicas = int(request.json["spec"]["replicas"])
            return Reply(body=self._scale())
        if hpa and self.hpa and hpa.groups() == (self.namespace, self.hpa[0]):
            if request.method == "PATCH":
                spec = request.json["spec"]
                self.hpa = (
                    self.hpa[0],
                    spec.get("minReplicas", self.hpa[1]),
                    spec.get("maxReplicas", self.hpa[2]),
                )
            return Reply(body=self._hpa())
        return Reply(
            status=404,
            body={
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
            },
        )


@pytest.fixture
def kube() -> Iterator[tuple[FakeKubeApi, str, Any]]:
    api = FakeKubeApi("serving", "fraud-serving", replicas=2, hpa=("fraud-hpa", 2, 4))
    with http_sink(api) as sink:
        yield api, sink.url, sink


def test_kubernetes_scaler_patches_the_deployment_scale(kube) -> None:  # type: ignore[no-untyped-def]
    api, url, sink = kube
    scaler = KubernetesScaler(
        namespace="serving", deployment="{model_id}-serving", api_url=url, token="s3cr3t"
    )
    assert scaler.current("fraud") == ScaleBounds(2)
    previous = scaler.apply("fraud", ScaleBounds(3), reason="drift")
    assert previous == ScaleBounds(2) and api.replicas == 3
    patch = [r for r in sink.requests if r.method == "PATCH"][0]
    assert patch.path == "/apis/apps/v1/namespaces/serving/deployments/fraud-serving/scale"
    assert patch.json == {"spec": {"replicas": 3}}
    assert "patch" in patch.headers["Content-Type"] and patch.headers["Authorization"] == "Bearer s3cr3t"
    scaler.apply("fraud", previous, reason="rollback")
    assert api.replicas == 2


def test_kubernetes_scaler_patches_the_hpa_bounds(kube) -> None:  # type: ignore[no-untyped-def]
    api, url, sink = kube
    scaler = KubernetesScaler(
        namespace="serving", deployment="fraud-serving", hpa="{model_id}-hpa", api_url=url
    )
    current = scaler.current("fraud")
    assert current == ScaleBounds(2, 2, 4)
    plan = plan_scale_up(current, limits=LIMITS)
    previous = scaler.apply("fraud", plan.target)
    assert previous == current
    assert api.hpa == ("fraud-hpa", 3, 4) and api.replicas == 2  # the HPA, not the Deployment, was changed
    patch = [r for r in sink.requests if r.method == "PATCH"][0]
    assert patch.path == "/apis/autoscaling/v2/namespaces/serving/horizontalpodautoscalers/fraud-hpa"
    assert patch.json == {"spec": {"minReplicas": 3, "maxReplicas": 4}}
    scaler.apply("fraud", plan.rollback().target)
    assert api.hpa == ("fraud-hpa", 2, 4)


def test_kubernetes_errors_name_the_deployment(kube) -> None:  # type: ignore[no-untyped-def]
    _, url, _ = kube
    scaler = KubernetesScaler(namespace="serving", deployment="missing", api_url=url)
    with pytest.raises(
        ExternalServiceError, match="deployment 'missing' in namespace 'serving' failed: HTTP 404"
    ):
        scaler.current("fraud")

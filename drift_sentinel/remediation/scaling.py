"""Scaling decisions: new replicas and HPA bounds for a serving deployment, within the policy's limits.

Scaling up multiplies the replicas by ``factor`` (at least one more), never beyond
``ResourceLimits.max_replicas``; with a HorizontalPodAutoscaler the new count becomes its
``minReplicas`` and ``maxReplicas`` is raised to at least that (both capped). The plan says what the
extra replicas ask for (``requested_cpu`` / ``requested_memory_gb`` feed the gate's ``headroom`` and
``resource_limits`` checks) and how to undo it (:meth:`ScalePlan.rollback`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from drift_sentinel.remediation.bounds import ScaleBounds
from drift_sentinel.safety import ResourceLimits
from drift_sentinel.verdict import Verdict


@dataclass(frozen=True)
class ScalePlan:
    """From ``current`` to ``target``: whether it is possible, why, and what the extra replicas request."""

    verdict: Verdict
    current: ScaleBounds
    target: ScaleBounds
    requested_replicas: int
    requested_cpu: float
    requested_memory_gb: float
    reason: str

    def rollback(self) -> ScalePlan:
        """The plan that restores ``current`` (requests nothing: it frees capacity or stays equal)."""
        return ScalePlan(
            verdict=Verdict.PASSED,
            current=self.target,
            target=self.current,
            requested_replicas=self.current.replicas,
            requested_cpu=0.0,
            requested_memory_gb=0.0,
            reason=f"scale rollback: {self.target.describe()} -> {self.current.describe()}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "current": self.current.to_dict(),
            "target": self.target.to_dict(),
            "requested_replicas": self.requested_replicas,
            "requested_cpu": self.requested_cpu,
            "requested_memory_gb": self.requested_memory_gb,
            "reason": self.reason,
        }


def plan_scale_up(
    current: ScaleBounds,
    *,
    limits: ResourceLimits,
    factor: float = 1.5,
    cpu_per_replica: float = 0.5,
    memory_gb_per_replica: float = 1.0,
) -> ScalePlan:
    """Scale ``current`` up by ``factor`` within ``limits.max_replicas``.

    FAILED when the deployment is already at the cap (there is nothing safe to do).

    >>> plan = plan_scale_up(ScaleBounds(2, 2, 4), limits=ResourceLimits(max_replicas=6))
    >>> plan.target, plan.requested_cpu
    (ScaleBounds(replicas=3, min_replicas=3, max_replicas=4), 0.5)
    >>> plan_scale_up(ScaleBounds(6), limits=ResourceLimits(max_replicas=6)).reason
    'scale: already at 6 replicas = max_replicas 6'
    """
    if factor <= 1:
        raise ValueError(f"factor must be > 1 to scale up, got {factor}")
    if cpu_per_replica < 0 or memory_gb_per_replica < 0:
        raise ValueError("cpu_per_replica and memory_gb_per_replica must be >= 0")
    cap = limits.max_replicas
    base = max(current.replicas, current.min_replicas or 0)
    if base >= cap:
        return ScalePlan(
            verdict=Verdict.FAILED,
            current=current,
            target=current,
            requested_replicas=base,
            requested_cpu=0.0,
            requested_memory_gb=0.0,
            reason=f"scale: already at {base} replicas = max_replicas {cap}",
        )
    wanted = max(base + 1, math.ceil(base * factor))
    replicas = min(wanted, cap)
    if current.has_hpa:
        target = ScaleBounds(
            replicas=max(current.replicas, replicas),
            min_replicas=replicas,
            max_replicas=min(cap, max(current.max_replicas or replicas, replicas)),
        )
    else:
        target = ScaleBounds(replicas=replicas)
    extra = target.replicas - current.replicas if not current.has_hpa else replicas - base
    capped = f" (capped from {wanted})" if wanted > cap else ""
    return ScalePlan(
        verdict=Verdict.PASSED,
        current=current,
        target=target,
        requested_replicas=replicas,
        requested_cpu=round(max(extra, 0) * cpu_per_replica, 6),
        requested_memory_gb=round(max(extra, 0) * memory_gb_per_replica, 6),
        reason=f"scale: {current.describe()} -> {target.describe()}{capped}",
    )

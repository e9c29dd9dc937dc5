"""The safety gate: gathers evidence from the Dagster instance and the live systems, then asks the pure policy.

State comes from the instance's run history and tags (``sentinel/model``, ``sentinel/incident``,
``sentinel/action``, ``sentinel/gate``), so the gate is right after restarts and with several daemons. It never
decides anything itself: :func:`drift_sentinel.safety.evaluate_gate` does.

Two details of the evidence:

- *Who came first* is the run's storage id (the run table's autoincrement key, an order the database itself
  assigns), not its ``create_timestamp``, which is written from the creating process's clock (several daemons
  or webservers on different hosts) and can tie. Of two concurrent runs on one model, only the one created
  first may act.
- Notifications (``notify_team``) change nothing on the model, so they neither start a model's cooldown nor
  count as a concurrent remediation for the actions that do change it (and vice versa): telling the team
  about an incident must not block the rollback that fixes it. Each notification still has its own cooldown,
  retry budget and concurrency among notifications.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import ConfigurableResource, DagsterInstance, DagsterRunStatus, RunsFilter

from drift_sentinel.remediation.actions import ACTIONS
from drift_sentinel.remediation.actions import NOTIFY_ACTIONS as _NOTIFY_ACTIONS
from drift_sentinel.safety import GateDecision, GateEvidence, SafetyPolicy, evaluate_gate

MODEL_TAG = "sentinel/model"
INCIDENT_TAG = "sentinel/incident"
ACTION_TAG = "sentinel/action"
ACTOR_TAG = "sentinel/actor"
GATE_TAG = "sentinel/gate"
# One model-changing remediation per model at a time: the run queue limits this tag (notifications do not carry it).
CHANGE_LOCK_TAG = "sentinel/change_lock"

NOTIFY_ACTIONS = _NOTIFY_ACTIONS
"""Actions that only inform people (``changes_model=False`` in the action catalog); their history is kept apart
from the actions that change the model."""

HISTORY_LIMIT = 100
"""Most run records one evidence query reads: newest first, filtered by model, action group and gate verdict
(or incident, or in-progress status), so a gate decision costs the same with 10 or 100,000 past runs."""

_IN_PROGRESS = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class ActionRequest:
    """What the action will ask for; the gate checks it against limits and headroom."""

    cpu: float = 0.0
    memory_gb: float = 0.0
    replicas: int | None = None
    current_version: str | None = None
    target_version: str | None = None
    target_version_status: str | None = None
    replay: object | None = None


def _available_memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        return None
    return None


class SafetyGateResource(ConfigurableResource):
    """Hard gate in front of every remediation (the job factory makes it the first op)."""

    def evidence(
        self,
        instance: DagsterInstance,
        *,
        run_id: str,
        model_id: str,
        action: str,
        incident_id: str,
        request: ActionRequest,
    ) -> GateEvidence:
        """Read the model's remediation history from the instance and the headroom from this host."""
        # Bounded reads only (tag filters + limits): the gate's cost does not grow with the model's run history.
        notifying = action in NOTIFY_ACTIONS
        group = sorted({a for a in (*ACTIONS, action) if (a in NOTIFY_ACTIONS) == notifying})
        this = next(iter(instance.get_run_records(RunsFilter(run_ids=[run_id]), limit=1)), None)
        order = this.storage_id if this is not None else None
        acted = [
            r
            for r in instance.get_run_records(
                RunsFilter(tags={MODEL_TAG: model_id, GATE_TAG: "PASSED", ACTION_TAG: group}),
                limit=HISTORY_LIMIT,
            )
            if r.dagster_run.run_id != run_id
        ]
        starts = [r.start_time for r in acted if r.start_time is not None]
        last_action_at = datetime.fromtimestamp(max(starts), UTC) if starts else None
        attempts = sum(
            1
            for r in instance.get_run_records(
                RunsFilter(
                    tags={
                        MODEL_TAG: model_id,
                        INCIDENT_TAG: incident_id,
                        ACTION_TAG: action,
                        GATE_TAG: "PASSED",
                    }
                ),
                limit=HISTORY_LIMIT,
            )
            if r.dagster_run.run_id != run_id
        )
        running = sum(
            1
            for r in instance.get_run_records(
                RunsFilter(tags={MODEL_TAG: model_id, ACTION_TAG: group}, statuses=_IN_PROGRESS),
                limit=HISTORY_LIMIT,
            )
            if r.dagster_run.run_id != run_id and (order is None or r.storage_id < order)
        )
        return GateEvidence(
            model_id=model_id,
            action=action,
            incident_id=incident_id,
            last_action_at=last_action_at,
            attempts_for_incident=attempts,
            running_on_model=running,
            requested_cpu=request.cpu,
            requested_memory_gb=request.memory_gb,
            requested_replicas=request.replicas,
            available_cpu=float(os.cpu_count() or 1),
            available_memory_gb=_available_memory_gb(),
            current_version=request.current_version,
            target_version=request.target_version,
            target_version_status=request.target_version_status,
            replay=request.replay,  # type: ignore[arg-type]
        )

    def decide(
        self,
        instance: DagsterInstance,
        *,
        run_id: str,
        policy: SafetyPolicy,
        model_id: str,
        action: str,
        incident_id: str,
        request: ActionRequest,
        now: datetime | None = None,
    ) -> tuple[GateEvidence, GateDecision]:
        """Gather evidence, evaluate the policy, and tag the run with the verdict (the gate's own state)."""
        evidence = self.evidence(
            instance,
            run_id=run_id,
            model_id=model_id,
            action=action,
            incident_id=incident_id,
            request=request,
        )
        decision = evaluate_gate(policy, evidence, now or datetime.now(UTC))
        instance.add_run_tags(run_id, {GATE_TAG: decision.verdict.value})
        return evidence, decision

"""Reconcile: a change that was applied but never verified is found and undone, not forgotten.

Before an action changes anything, its run is tagged ``sentinel/change=unverified`` with the undo record
(``sentinel/undo``) and the identity of the process applying it (``sentinel/worker``: host, pid and the pid's
start time). Verification replaces the tag with ``verified``, ``rolled_back`` or ``rollback_failed``; an action
that changed nothing tags ``unchanged``. The tags live in the Dagster instance (its run storage), so they
survive the run worker, the daemon and the webserver.

A change is *orphaned* when nothing will verify it any more: its run ended without verifying it (failed,
canceled), or the run still claims to be in progress but its worker on this host is gone (killed with
SIGKILL, the machine's OOM killer...), or its rollback failed (e.g. MLflow was down) and must be retried.
:func:`reconcile` undoes every orphaned change of a model with the ordered, checked steps of
:mod:`jobs.rollback` (fail closed: an unverified change is undone), records the rollback in the audit trail,
retags the run, and marks a run whose worker is gone as failed (so the run-failure sensor escalates it and
the gate's concurrency check no longer waits for it). The safety gate runs it before every decision and the
``remediation_on_unverified_change`` sensor on every tick.

A worker on another host cannot be checked from here: such a run is left to Dagster's run monitoring (the
Kubernetes run launcher reports a dead run pod as failed) and reconciled once it is marked failed.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from drift_sentinel.audit import AuditEvent
from drift_sentinel.remediation.undo import UndoRecord, undo_from_dict
from jobs.audit import observe_on_audit_log
from jobs.rollback import StepOutcome, rolled_back, run_steps, undo_steps
from resources.safety_gate import ACTION_TAG, INCIDENT_TAG, MODEL_TAG

CHANGE_TAG = "sentinel/change"
UNDO_TAG = "sentinel/undo"
WORKER_TAG = "sentinel/worker"
OPEN = ("unverified", "rollback_failed")
"""Change states that still need someone to act."""

_IN_PROGRESS = {DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}


def _start_time(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (``/proc``), so a reused pid is not mistaken."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def worker_identity() -> str:
    """``host:pid:start`` of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '?'}"


def worker_alive(identity: str) -> bool | None:
    """Whether the process ``identity`` names still runs (``None``: it ran on another host; cannot tell)."""
    host, _, rest = identity.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    now = _start_time(int(pid_text))
    return now is not None and (start in ("", "?") or now == start)


def mark_unverified(instance: DagsterInstance, run_id: str, undo: UndoRecord) -> None:
    """Persist "about to change, not verified yet" with the undo record, before the change is applied."""
    instance.add_run_tags(
        run_id,
        {CHANGE_TAG: "unverified", UNDO_TAG: json.dumps(undo.to_dict()), WORKER_TAG: worker_identity()},
    )


def mark(instance: DagsterInstance, run_id: str, state: str) -> None:
    """Set the run's change state (``verified``, ``rolled_back``, ``rollback_failed``, ``unchanged``)."""
    instance.add_run_tags(run_id, {CHANGE_TAG: state})


def open_changes(instance: DagsterInstance, model_id: str | None = None) -> list[Any]:
    """Runs whose change is not verified or whose rollback failed (of ``model_id``, or of every model)."""
    tags: dict[str, Any] = {CHANGE_TAG: list(OPEN)}
    if model_id:
        tags[MODEL_TAG] = model_id
    return list(instance.get_run_records(RunsFilter(tags=tags), ascending=True))


def orphaned_because(record: Any) -> str | None:
    """Why nothing will verify the change of this run record any more (``None``: its run may still do it)."""
    run = record.dagster_run
    state = run.tags.get(CHANGE_TAG)
    if state == "rollback_failed":
        return f"the rollback in run {run.run_id} failed; retrying it"
    if run.status not in _IN_PROGRESS and run.status is not DagsterRunStatus.QUEUED:
        return f"run {run.run_id} ended ({run.status.value}) after applying the change, before verifying it"
    worker = run.tags.get(WORKER_TAG, "")
    if worker and worker_alive(worker) is False:
        return f"the worker of run {run.run_id} ({worker}) is gone; the change was applied and never verified"
    return None


@dataclass(frozen=True)
class Reconciled:
    """One orphaned change that was undone (or whose undo failed)."""

    run_id: str
    model_id: str
    action: str
    reason: str
    steps: tuple[StepOutcome, ...]

    @property
    def done(self) -> bool:
        return rolled_back(self.steps)


def reconcile(
    instance: DagsterInstance,
    resources: Mapping[str, Any],
    *,
    actor: str,
    model_id: str | None = None,
    skip_run_id: str | None = None,
) -> list[Reconciled]:
    """Undo every orphaned change (of ``model_id``, or of every model); record, retag and fail dead runs.

    ``resources`` by key: ``catalog``, ``audit_trail`` and the ones the undo steps use.
    """
    results = []
    for record in open_changes(instance, model_id):
        run = record.dagster_run
        reason = orphaned_because(record)
        if reason is None or run.run_id == skip_run_id:
            continue
        undo = undo_from_dict(json.loads(run.tags.get(UNDO_TAG) or "{}"))
        steps = run_steps(undo_steps(undo, resources, actor))
        result = Reconciled(
            run.run_id, run.tags.get(MODEL_TAG, ""), run.tags.get(ACTION_TAG, ""), reason, steps
        )
        mark(instance, run.run_id, "rolled_back" if result.done else "rollback_failed")
        _record(instance, resources, run, actor, result, undo)
        if run.status in _IN_PROGRESS:
            instance.report_run_failed(run, message=f"reconcile: {reason}")
        results.append(result)
    return results


def _record(
    instance: DagsterInstance,
    resources: Mapping[str, Any],
    run: Any,
    actor: str,
    result: Reconciled,
    undo: UndoRecord,
) -> None:
    spec = resources["catalog"].model(result.model_id)
    outcome = "succeeded" if result.done else "failed"
    entry = resources["audit_trail"].append(
        AuditEvent(
            kind="rollback",
            model_id=spec.id,
            incident_id=run.tags.get(INCIDENT_TAG, f"run-{run.run_id[:8]}"),
            actor=actor,
            run_id=run.run_id,
            action=result.action,
            outcome=outcome,
            details={
                "reason": f"reconcile: {result.reason}",
                "steps": [s.to_dict() for s in result.steps],
                "undo": undo.to_dict(),
            },
            at=datetime.now(UTC),
        )
    )
    observe_on_audit_log(
        instance,
        spec.asset_prefix,
        entry,
        kind="rollback",
        action=result.action,
        outcome=outcome,
        incident_id=run.tags.get(INCIDENT_TAG, ""),
        run_id=run.run_id,
    )

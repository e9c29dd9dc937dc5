"""The remediation action registry: every action, the safety checks it declares, and whether it can be undone.

The safety gate always runs ``cooldown``, ``retry_budget`` and ``concurrency``; each action adds the
checks it declares here (see :func:`drift_sentinel.safety.evaluate_gate`). A job cannot opt out:
the gate reads this registry, not the job.

>>> action_spec("rollback_model").checks
('version',)
>>> sorted(ACTIONS)
['notify_team', 'retrain_model', 'rollback_model', 'scale_resources', 'update_thresholds']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from drift_sentinel.errors import UnknownNameError

ALWAYS_CHECKS: tuple[str, ...] = ("cooldown", "retry_budget", "concurrency")
"""Checks the gate runs for every action."""

ACTION_CHECKS: tuple[str, ...] = ("resource_limits", "headroom", "version", "dry_run")
"""Checks an action may declare in addition to :data:`ALWAYS_CHECKS`."""


@dataclass(frozen=True)
class ActionSpec:
    """One remediation action: its name, the extra gate checks it declares, whether it can be undone."""

    name: str
    checks: tuple[str, ...]
    rollbackable: bool
    description: str

    def __post_init__(self) -> None:
        unknown = [check for check in self.checks if check not in ACTION_CHECKS]
        if unknown:
            accepted = ", ".join(ACTION_CHECKS)
            raise ValueError(f"action {self.name!r}: unknown check(s) {unknown}; accepted: {accepted}")

    @property
    def all_checks(self) -> tuple[str, ...]:
        """Every check the gate runs for this action, in order."""
        return ALWAYS_CHECKS + self.checks


ACTIONS: Mapping[str, ActionSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            ActionSpec(
                name="retrain_model",
                checks=("resource_limits", "headroom"),
                rollbackable=True,
                description="train a challenger on recent labeled windows, register it, promote it to "
                "champion only if it beats the champion by the configured margin "
                "(rollback: move the alias back)",
            ),
            ActionSpec(
                name="rollback_model",
                checks=("version",),
                rollbackable=True,
                description="move the champion alias to the previous (or a named) READY version "
                "(rollback: move it back)",
            ),
            ActionSpec(
                name="scale_resources",
                checks=("resource_limits", "headroom"),
                rollbackable=True,
                description="change the serving deployment's replicas / HPA bounds "
                "(rollback: restore the previous bounds)",
            ),
            ActionSpec(
                name="update_thresholds",
                checks=("dry_run",),
                rollbackable=True,
                description="apply new detection thresholds after a dry-run replay over past drift reports "
                "(rollback: revert to the previous threshold version)",
            ),
            ActionSpec(
                name="notify_team",
                checks=(),
                rollbackable=False,
                description="notify the team through Slack, PagerDuty and email, routed by severity",
            ),
        )
    }
)
"""Every remediation action, keyed by its short name."""


def action_spec(name: str) -> ActionSpec:
    """The :class:`ActionSpec` registered as ``name``.

    >>> action_spec("retrain").name
    Traceback (most recent call last):
    ...
    drift_sentinel.errors.UnknownNameError: unknown remediation action 'retrain'; accepted: notify_team, ...
    """
    try:
        return ACTIONS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown remediation action {name!r}; accepted: {', '.join(sorted(ACTIONS))}"
        ) from None

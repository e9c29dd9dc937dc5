"""Remediation acts on current incidents only.

A report can name an incident long after that incident ended: a backfill over last month, or a late
re-materialization of an old window, produces reports with the incident ids of that time. Acting on them would
roll back, retrain or rescale today's model for yesterday's problem. The rule: an incident is *current* when it
is the incident of the newest processed window (the latest report of the newest window that has one). Only a
current incident may launch an action that changes the model; a stale one is recorded, and informs people only
when the caller asks for it (a backfill over a drifted month must not page anyone for last month).

An incident that continues into the newest window keeps its id (see :func:`drift_sentinel.incidents.assign_incident`),
so re-materializing an earlier window of the *ongoing* incident is still current, and the run key
``{incident}:{action}`` keeps it from acting twice. Model changes for a current incident follow the newest window's
report, the report of record: an earlier window's report (read in the same backfill, or re-materialized later) may
notify, but its model-changing recommendation is superseded (the RCA's recommendation evolves with the evidence —
e.g. retrain while labels exist, notify once they have not arrived yet).

>>> newest = WindowIncident(window="2026-10-14", incident="inc-b")
>>> actions, changes = ["notify_team", "rollback_model"], lambda action: action != "notify_team"
>>> scope = remediation_scope(WindowIncident("2026-09-03", "inc-a"), actions, newest=newest, changes_model=changes)
>>> scope.allowed, scope.withheld
((), ('notify_team', 'rollback_model'))
>>> print(scope.reason)
inc-a (window 2026-09-03) is not open in the newest processed window 2026-10-14 (incident inc-b)
>>> remediation_scope(WindowIncident("2026-10-14", "inc-b"), actions, newest=newest, changes_model=changes).allowed
('notify_team', 'rollback_model')
>>> earlier = remediation_scope(WindowIncident("2026-10-13", "inc-b"), actions, newest=newest, changes_model=changes)
>>> earlier.allowed, earlier.withheld
(('notify_team',), ('rollback_model',))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowIncident:
    """The incident a window's latest report names (``""`` when the window has none)."""

    window: str
    incident: str = ""


@dataclass(frozen=True)
class RemediationScope:
    """Which of the requested actions may run for a report's incident, which are withheld, and why."""

    incident: str
    current: bool
    allowed: tuple[str, ...]
    withheld: tuple[str, ...]
    reason: str


def is_current(report: WindowIncident, newest: WindowIncident | None) -> bool:
    """Whether ``report``'s incident is open in the newest processed window.

    ``newest`` is ``None`` when no window has been processed yet besides ``report`` itself; a report of the
    newest window (or a later one) is judged by its own incident.

    >>> is_current(WindowIncident("2026-10-10", "inc-a"), WindowIncident("2026-10-11", "inc-a"))
    True
    >>> is_current(WindowIncident("2026-10-10", "inc-a"), WindowIncident("2026-10-11", ""))
    False
    >>> is_current(WindowIncident("2026-10-12", "inc-c"), WindowIncident("2026-10-11", ""))
    True
    >>> is_current(WindowIncident("2026-10-10", ""), None)
    False
    """
    if not report.incident:
        return False
    if newest is None or report.window > newest.window:
        return True
    return report.incident == newest.incident


def remediation_scope(
    report: WindowIncident,
    actions: Sequence[str],
    *,
    newest: WindowIncident | None,
    changes_model: Callable[[str], bool],
    inform_stale: bool = False,
) -> RemediationScope:
    """Split ``actions`` for ``report``'s incident into the ones allowed now and the ones withheld.

    Parameters
    ----------
    report
        The window and incident of the report the caller is reacting to.
    actions
        The actions the policy recommends for it (for example ``notify_team`` and the RCA's action).
    newest
        The newest processed window and the incident its latest report names (``None``: nothing newer).
        Window keys compare as strings, as Dagster's time-partition keys (ISO dates) do.
    changes_model
        Whether an action changes the model or its serving (rollback, retrain, scale, thresholds); the
        action catalog answers it.
    inform_stale
        Let actions that change nothing (notifications) through for a stale incident.

    Returns
    -------
    RemediationScope
        Current incident, newest window's report: every action allowed. Current incident, an earlier window's
        report: model-changing actions withheld (the newest window's report decides them). Stale incident: every
        model-changing action withheld, the others withheld too unless ``inform_stale``. No incident: nothing
        allowed, nothing withheld.
    """
    if not report.incident:
        return RemediationScope("", False, (), (), f"window {report.window} has no incident")
    if is_current(report, newest):
        if newest is None or report.window >= newest.window:
            return RemediationScope(report.incident, True, tuple(actions), (), "current incident")
        allowed = tuple(a for a in actions if not changes_model(a))
        withheld = tuple(a for a in actions if a not in allowed)
        reason = (
            f"{report.incident} (window {report.window}): model changes follow the newest window "
            f"{newest.window}'s report"
        )
        return RemediationScope(report.incident, True, allowed, withheld, reason)
    assert newest is not None  # is_current is True without a newest window
    allowed = tuple(a for a in actions if inform_stale and not changes_model(a))
    withheld = tuple(a for a in actions if a not in allowed)
    newest_incident = newest.incident or "none"
    reason = (
        f"{report.incident} (window {report.window}) is not open in the newest processed window "
        f"{newest.window} (incident {newest_incident})"
    )
    return RemediationScope(report.incident, False, allowed, withheld, reason)

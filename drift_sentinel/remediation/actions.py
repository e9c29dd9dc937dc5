"""The remediation action catalog: every action declared once, and everything else asks it.

An :class:`ActionSpec` says what an action is: its name, the extra safety-gate checks it declares, whether it
changes the model (a notification does not), the severity of the notification when it is the recommended
action, the resources it asks for when the run config does not say, and the type of its undo record (whether
and how it can be undone). The safety gate (:func:`drift_sentinel.safety.evaluate_gate`), the gate resource,
the remediation sensor, the RCA policy and rollback all read this catalog; none of them keeps its own list.
How an action is prepared, applied, read back and undone against live systems is the Dagster layer's half of
the same entry (``jobs/actions.py``), registered under the same name.

The gate always runs ``cooldown``, ``retry_budget`` and ``concurrency``; each action adds the checks it
declares here. A job cannot opt out: the gate reads this catalog, not the job.

Built-in actions are registered with :func:`register_action`, the same way a new one is (see
docs/remediation.md, "Adding an action").

>>> action_spec("rollback_model").checks
('version',)
>>> sorted(ACTIONS)
['notify_team', 'retrain_model', 'rollback_model', 'scale_resources', 'update_thresholds']
>>> ACTION_NAMES
('retrain_model', 'rollback_model', 'scale_resources', 'update_thresholds', 'notify_team')
>>> severity_of("rollback_model"), "notify_team" in NOTIFY_ACTIONS, "rollback_model" in NOTIFY_ACTIONS
('critical', True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from types import MappingProxyType

from drift_sentinel.errors import UnknownNameError
from drift_sentinel.remediation.undo import AliasUndo, NoUndo, ScaleUndo, ThresholdsUndo, UndoRecord

ALWAYS_CHECKS: tuple[str, ...] = ("cooldown", "retry_budget", "concurrency")
"""Checks the gate runs for every action."""

ACTION_CHECKS: tuple[str, ...] = ("resource_limits", "headroom", "version", "dry_run")
"""Checks an action may declare in addition to :data:`ALWAYS_CHECKS`."""

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")


@dataclass(frozen=True)
class ResourceRequest:
    """What an action asks for when the run config does not say (the gate's ``headroom`` needs a request)."""

    cpu: float = 0.0
    memory_gb: float = 0.0

    def __post_init__(self) -> None:
        if self.cpu < 0 or self.memory_gb < 0:
            raise ValueError(
                f"a resource request must be >= 0, got cpu={self.cpu}, memory_gb={self.memory_gb}"
            )


@dataclass(frozen=True)
class ActionSpec:
    """One remediation action, declared once.

    ``checks``: the gate checks it adds to :data:`ALWAYS_CHECKS`. ``rollbackable``: it can be undone (then
    ``undo_record`` is the type of its undo record, and verification follows it). ``severity``: of the
    notification sent when the RCA recommends this action. ``changes_model``: False for actions that only
    inform people; their history is kept apart from the actions that change the model (cooldown,
    concurrency, the run queue's change lock). ``default_request``: what it requests when the run config
    gives no ``cpu`` / ``memory_gb``.
    """

    name: str
    checks: tuple[str, ...]
    rollbackable: bool
    description: str
    severity: str = "warning"
    changes_model: bool = True
    default_request: ResourceRequest = field(default_factory=ResourceRequest)
    undo_record: type[UndoRecord] = NoUndo

    def __post_init__(self) -> None:
        unknown = [check for check in self.checks if check not in ACTION_CHECKS]
        if unknown:
            accepted = ", ".join(ACTION_CHECKS)
            raise ValueError(f"action {self.name!r}: unknown check(s) {unknown}; accepted: {accepted}")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"action {self.name!r}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}"
            )
        if self.rollbackable == (self.undo_record is NoUndo):
            raise ValueError(
                f"action {self.name!r}: rollbackable={self.rollbackable} but undo_record is "
                f"{self.undo_record.__name__} (a rollbackable action declares its undo record type)"
            )

    @property
    def all_checks(self) -> tuple[str, ...]:
        """Every check the gate runs for this action, in order."""
        return ALWAYS_CHECKS + self.checks


_ACTIONS: dict[str, ActionSpec] = {}
ACTIONS: Mapping[str, ActionSpec] = MappingProxyType(_ACTIONS)
"""Every registered remediation action, keyed by its short name, in registration order (read-only)."""


def register_action(spec: ActionSpec) -> ActionSpec:
    """Add ``spec`` to the catalog (a name is registered once) and return it."""
    if spec.name in _ACTIONS:
        raise ValueError(f"remediation action {spec.name!r} is already registered")
    _ACTIONS[spec.name] = spec
    return spec


def action_spec(name: str) -> ActionSpec:
    """The :class:`ActionSpec` registered as ``name``.

    >>> action_spec("retrain").name
    Traceback (most recent call last):
    ...
    drift_sentinel.errors.UnknownNameError: unknown remediation action 'retrain'; accepted: notify_team, ...
    """
    try:
        return _ACTIONS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown remediation action {name!r}; accepted: {', '.join(sorted(_ACTIONS))}"
        ) from None


def severity_of(name: str) -> str:
    """The severity of the notification when ``name`` is the recommended action (``warning`` if unknown)."""
    spec = _ACTIONS.get(name)
    return spec.severity if spec is not None else "warning"


class _Names(Set[str]):
    """A live, read-only view of the registered action names that satisfy a predicate."""

    def __init__(self, keep: Callable[[ActionSpec], bool]) -> None:
        self._keep = keep

    def __contains__(self, name: object) -> bool:
        spec = _ACTIONS.get(name) if isinstance(name, str) else None
        return spec is not None and self._keep(spec)

    def __iter__(self) -> Iterator[str]:
        return (name for name, spec in _ACTIONS.items() if self._keep(spec))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"{{{', '.join(repr(n) for n in self)}}}"


NOTIFY_ACTIONS: Set[str] = _Names(lambda spec: not spec.changes_model)
"""Actions that only inform people (a live view of the catalog)."""

# ------------------------------------------------------------------------------------ the built-in actions

register_action(
    ActionSpec(
        name="retrain_model",
        checks=("resource_limits", "headroom"),
        rollbackable=True,
        description="train a challenger on recent labeled windows, register it, promote it to "
        "champion only if it beats the champion by the configured margin "
        "(rollback: move the alias back)",
        severity="warning",
        default_request=ResourceRequest(cpu=1.0, memory_gb=1.0),
        undo_record=AliasUndo,
    )
)
register_action(
    ActionSpec(
        name="rollback_model",
        checks=("version",),
        rollbackable=True,
        description="move the champion alias to the previous (or a named) READY version "
        "(rollback: move it back)",
        severity="critical",
        undo_record=AliasUndo,
    )
)
register_action(
    ActionSpec(
        name="scale_resources",
        checks=("resource_limits", "headroom"),
        rollbackable=True,
        description="change the serving deployment's replicas / HPA bounds "
        "(rollback: restore the previous bounds)",
        severity="critical",
        undo_record=ScaleUndo,
    )
)
register_action(
    ActionSpec(
        name="update_thresholds",
        checks=("dry_run",),
        rollbackable=True,
        description="apply new detection thresholds after a dry-run replay over past drift reports "
        "(rollback: revert to the previous threshold version)",
        severity="warning",
        undo_record=ThresholdsUndo,
    )
)
register_action(
    ActionSpec(
        name="notify_team",
        checks=(),
        rollbackable=False,
        description="notify the team through Slack, PagerDuty and email, routed by severity",
        severity="warning",
        changes_model=False,
    )
)

ACTION_NAMES: tuple[str, ...] = tuple(_ACTIONS)
"""The built-in actions in declaration order (what the RCA policy may recommend)."""

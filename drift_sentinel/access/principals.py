"""Who is calling: a subject with one role and the teams it acts for.

Roles are ordered: ``viewer`` reads, ``operator`` also runs drift checks and remediation, ``admin`` also changes
thresholds and sees every team's models. Teams scope everything else: a principal sees and acts only on models
whose ``owners`` include ``team:<its team>`` (or the bare team name).

>>> p = Principal(subject="ci", role="operator", teams=("ml-platform",))
>>> p.can("viewer"), p.can("admin")
(True, False)
>>> p.owns(["team:ml-platform", "alice@example.com"]), p.owns(["team:payments"])
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from drift_sentinel.errors import SentinelError

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
"""Every role, weakest first; a role includes everything the ones before it may do."""


class AccessDenied(SentinelError):
    """Missing, invalid or insufficient credentials (the message says which, never a secret)."""

    exit_code = 7


def role_allows(role: str, required: str) -> bool:
    """Whether ``role`` includes ``required`` (unknown roles include nothing).

    >>> role_allows("admin", "operator"), role_allows("viewer", "operator"), role_allows("root", "viewer")
    (True, False, False)
    """
    if role not in ROLES or required not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(required)  # type: ignore[arg-type]


def team_of_owner(owner: str) -> str | None:
    """The team named by a model owner entry (``team:ml-platform`` → ``ml-platform``; a person → ``None``).

    >>> team_of_owner("team:ml-platform"), team_of_owner("alice@example.com")
    ('ml-platform', None)
    """
    if owner.startswith("team:"):
        return owner[len("team:") :] or None
    return None if "@" in owner else owner or None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``subject`` (the audit actor), ``role``, ``teams``; ``via`` is ``jwt`` or
    ``service-key``; ``key_id`` the credential the rate limit is kept for."""

    subject: str
    role: Role
    teams: tuple[str, ...]
    via: str = "jwt"
    key_id: str = ""

    def can(self, required: str) -> bool:
        """Whether this principal's role includes ``required``."""
        return role_allows(self.role, required)

    def owns(self, owners: Iterable[str]) -> bool:
        """Whether a model with these ``owners`` is visible to this principal (admins see every model)."""
        if self.role == "admin":
            return True
        teams = {team_of_owner(owner) for owner in owners}
        return any(team in teams for team in self.teams)

    @property
    def actor(self) -> str:
        """The actor recorded in the audit trail and on run tags (``api:<subject>``)."""
        return f"api:{self.subject}"

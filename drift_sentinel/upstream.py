"""Upstream assets a model consumes: a failed drift check on one opens an incident for the model.

A model in ``sentinel.yaml`` may declare ``upstream_assets: [features/transactions]`` — Dagster assets of other
teams, guarded by :func:`sentinel_assets.checks.build_drift_checks`. When the drift check on one of them fails
(severity ERROR), the model gets an incident whose cause is that upstream asset: the action is ``notify_team``
(fix upstream; do not retrain or roll back on broken inputs), and its id is the one the model's own drift report
would give the same window (:func:`drift_sentinel.incidents.incident_id`), so a window seen by both paths is one
incident and its owners are notified once.

>>> parse_upstream("features/transactions")
UpstreamCheck(asset=('features', 'transactions'), check='transactions_shows_no_drift')
>>> incident = upstream_incident(
...     "fraud-detector-v1", asset="features/transactions", check="transactions_shows_no_drift",
...     partition="2024-10-05", description="FAILED: amount")
>>> incident.incident_id == incident_id("fraud-detector-v1", "2024-10-05"), incident.action
(True, 'notify_team')
>>> incident.cause
'pipeline:features/transactions'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drift_sentinel.incidents import incident_id

__all__ = [
    "UpstreamCheck",
    "UpstreamIncident",
    "default_drift_check_name",
    "default_quality_check_name",
    "parse_upstream",
    "upstream_incident",
]

_COMPONENT = re.compile(r"^[A-Za-z0-9_.-]+$")
UPSTREAM_ACTION = "notify_team"
"""What a failed upstream check asks for: tell the owners; the fix is upstream."""


def default_drift_check_name(asset_name: str) -> str:
    """The drift check's name on an asset whose key ends in ``asset_name``."""
    return f"{asset_name}_shows_no_drift"


def default_quality_check_name(asset_name: str) -> str:
    """The quality check's name on an asset whose key ends in ``asset_name``."""
    return f"{asset_name}_passes_data_quality"


@dataclass(frozen=True)
class UpstreamCheck:
    """One declared upstream asset (key path) and the check whose failure opens an incident."""

    asset: tuple[str, ...]
    check: str

    @property
    def asset_string(self) -> str:
        return "/".join(self.asset)


def parse_upstream(entry: str) -> UpstreamCheck:
    """``"a/b"`` (its default drift check) or ``"a/b:check_name"``; a malformed entry raises ``ValueError``.

    >>> parse_upstream("features/transactions:amount_is_stable").check
    'amount_is_stable'
    >>> parse_upstream("features//x")
    Traceback (most recent call last):
    ...
    ValueError: upstream asset 'features//x': expected an asset key like 'features/transactions' (optionally ':check')
    """
    asset, _, check = entry.partition(":")
    parts = tuple(asset.split("/"))
    if not asset or not all(_COMPONENT.match(p) for p in parts) or (check and not _COMPONENT.match(check)):
        raise ValueError(
            f"upstream asset {entry!r}: expected an asset key like 'features/transactions' (optionally ':check')"
        )
    return UpstreamCheck(parts, check or default_drift_check_name(parts[-1]))


@dataclass(frozen=True)
class UpstreamIncident:
    """An incident of ``model_id`` opened by a failed check on an upstream asset."""

    incident_id: str
    model_id: str
    asset: str
    check: str
    partition: str | None
    description: str

    action: str = UPSTREAM_ACTION
    root_cause: str = "upstream_pipeline_change"

    @property
    def cause(self) -> str:
        """The cause as the RCA names pipeline causes (``pipeline:<asset>``)."""
        return f"pipeline:{self.asset}"

    def message(self) -> str:
        where = f" partition {self.partition}" if self.partition else ""
        return (
            f"{self.model_id}: {self.root_cause} ({self.cause}): check {self.check} failed on {self.asset}{where}"
            f" — {self.description}; recommended action: {self.action} (fix upstream, do not retrain on it)"
        )


def upstream_incident(
    model_id: str,
    *,
    asset: str,
    check: str,
    partition: str | None,
    description: str,
    window_key: str | None = None,
) -> UpstreamIncident:
    """The incident a failed upstream check opens; keyed on the window (the check's partition by default)."""
    key = window_key or partition
    if not key:
        raise ValueError("upstream_incident needs the window: a partition or window_key")
    return UpstreamIncident(incident_id(model_id, key), model_id, asset, check, partition, description)

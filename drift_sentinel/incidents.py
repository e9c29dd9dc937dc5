"""Incident identity: the key every remediation is idempotent on.

An incident is one episode of confirmed drift of one model: it opens in the first drifted window and continues
through every following window that is drifted too (hourly windows of one ongoing shift are one incident, not
twenty-four). Its id is derived from the model and the opening window only, so re-materializing a window (a re-run,
a backfill) names the same incident, and the sensor's run key ``{incident_id}:{action}`` never launches the same
action twice.

>>> incident_id("fraud-detector-v1", "2026-10-10")
'inc-fraud-detector-v1-20261010-84ec9cbd'
>>> remediation_run_key("inc-fraud-detector-v1-20261010-84ec9cbd", "rollback_model")
'inc-fraud-detector-v1-20261010-84ec9cbd:rollback_model'
"""

from __future__ import annotations

import hashlib
import re


def incident_id(model_id: str, window_key: str) -> str:
    """Stable id for drift confirmed on ``model_id`` in the window ``window_key`` (a partition key)."""
    digest = hashlib.sha256(f"{model_id}\x00{window_key}".encode()).hexdigest()[:8]
    compact = re.sub(r"[^0-9A-Za-z]", "", window_key)
    return f"inc-{model_id}-{compact}-{digest}"


def assign_incident(model_id: str, window_key: str, *, drifted: bool, previous: str | None) -> str:
    """The incident a window belongs to: ``""`` without drift, else the previous window's incident or a new one.

    ``previous`` is the incident id of the immediately preceding window (``""``/``None`` when it had none).

    >>> assign_incident("m", "2026-10-02", drifted=True, previous=None)
    'inc-m-20261002-1519099c'
    >>> assign_incident("m", "2026-10-03", drifted=True, previous="inc-m-20261002-1519099c")
    'inc-m-20261002-1519099c'
    >>> assign_incident("m", "2026-10-04", drifted=False, previous="inc-m-20261002-1519099c")
    ''
    """
    if not drifted:
        return ""
    return previous or incident_id(model_id, window_key)


def remediation_run_key(incident: str, action: str) -> str:
    """The idempotency key of one action on one incident."""
    return f"{incident}:{action}"

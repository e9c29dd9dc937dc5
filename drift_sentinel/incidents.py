"""Incident identity: the key every remediation is idempotent on.

An incident is one confirmed drift of one model in one window. Its id is derived from the model and the
window only, so re-materializing the same window (a re-run, a backfill) names the same incident, and the
sensor's run key ``{incident_id}:{action}`` never launches the same action twice.

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


def remediation_run_key(incident: str, action: str) -> str:
    """The idempotency key of one action on one incident."""
    return f"{incident}:{action}"

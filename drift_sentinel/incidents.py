"""Incident identity and lifecycle: the key every remediation is idempotent on, and how incidents open and continue.

An incident is one episode of confirmed drift of one model: it opens in the first drifted window and continues
through every following window that is drifted too (hourly windows of one ongoing shift are one incident, not
twenty-four). Its id is derived from the model and the opening window only, so re-materializing a window (a re-run,
a backfill) names the same incident, and the sensor's run key ``{incident_id}:{action}`` never launches the same
action twice. The lifecycle is pure functions of what past windows recorded (the Dagster layer fetches it):
:func:`assign_incident`, :func:`opening_window`, :func:`incident_onset`, :func:`signal_incident`.

>>> incident_id("fraud-detector-v1", "2026-10-10")
'inc-fraud-detector-v1-20261010-84ec9cbd'
>>> remediation_run_key("inc-fraud-detector-v1-20261010-84ec9cbd", "rollback_model")
'inc-fraud-detector-v1-20261010-84ec9cbd:rollback_model'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime


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


# ---------------------------------------------------------------------------------------------------------
# The lifecycle across windows: where an incident opened, when it began, and incidents opened by signals

SIGNAL_INCIDENT_MIN_CONFIDENCE = 0.5
"""A window without data drift opens an incident of its own only from an RCA at least this confident."""


def opening_window(model_id: str, incident: str, window_keys: Iterable[str]) -> str | None:
    """The window an incident opened in: the first of ``window_keys`` whose :func:`incident_id` it is.

    ``window_keys`` are this window's key and then earlier ones, nearest first (how far back to look is the
    caller's choice). The id encodes the model and the opening window only, so recomputing it finds the window.

    >>> inc = incident_id("m", "2026-10-02")
    >>> opening_window("m", inc, ["2026-10-04", "2026-10-03", "2026-10-02", "2026-10-01"])
    '2026-10-02'
    >>> opening_window("other", inc, ["2026-10-04", "2026-10-03", "2026-10-02"]) is None
    True
    """
    return next((key for key in window_keys if incident_id(model_id, key) == incident), None)


def incident_onset(
    window_start: datetime, *, rca_onset: str | None = None, drift_start: str | None = None
) -> datetime:
    """When an incident began, from what its opening window recorded: the RCA's onset, else the drift report's
    ``drift_start``, else the start of that window (ISO 8601 text; UTC).

    >>> from datetime import UTC
    >>> start = datetime(2026, 10, 2, tzinfo=UTC)
    >>> incident_onset(start, rca_onset="2026-10-02T05:40:00+00:00", drift_start="2026-10-02T01:00:00+00:00")
    datetime.datetime(2026, 10, 2, 5, 40, tzinfo=datetime.timezone.utc)
    >>> incident_onset(start) == start
    True
    """
    for value in (rca_onset, drift_start):
        if value:
            return datetime.fromisoformat(value).astimezone(UTC)
    return window_start


def opens_signal_incident(
    cause_type: str,
    confidence: float,
    serving_strength: float,
    *,
    min_confidence: float = SIGNAL_INCIDENT_MIN_CONFIDENCE,
) -> bool:
    """Whether a window without data drift has a serving or label incident of its own.

    It does when its RCA names ``concept_drift`` with at least ``min_confidence``, or ``infrastructure`` with
    that confidence *and* the window's anomaly detectors agree on a latency/error episode
    (``serving_strength > 0``), so a seasonal peak is not an incident.

    >>> opens_signal_incident("infrastructure", 0.8, 0.4), opens_signal_incident("infrastructure", 0.8, 0.0)
    (True, False)
    >>> opens_signal_incident("concept_drift", 0.6, 0.0), opens_signal_incident("concept_drift", 0.4, 0.0)
    (True, False)
    """
    if confidence < min_confidence:
        return False
    if cause_type == "concept_drift":
        return True
    return cause_type == "infrastructure" and serving_strength > 0


def signal_incident(
    model_id: str,
    window_key: str,
    *,
    cause_type: str,
    confidence: float,
    serving_strength: float,
    previous: str | None,
) -> str:
    """The incident a window without data drift opens or continues from its signals (``""``: none).

    ``previous`` is the preceding window's incident (its RCA's); a signal incident continues it, as a drift
    incident continues over drifted windows (:func:`assign_incident`).

    >>> signal_incident("m", "2026-10-03", cause_type="infrastructure", confidence=0.9, serving_strength=0.5,
    ...                 previous="inc-m-20261002-1519099c")
    'inc-m-20261002-1519099c'
    >>> signal_incident("m", "2026-10-03", cause_type="data_drift", confidence=0.9, serving_strength=0.5,
    ...                 previous=None)
    ''
    """
    opened = opens_signal_incident(cause_type, confidence, serving_strength)
    return assign_incident(model_id, window_key, drifted=opened, previous=previous)

"""The incident lifecycle as pure functions: opening, continuation, onset, incidents opened by signals.

No Dagster instance: these are the rules ``drift_report`` and ``rca_report`` apply to what the instance recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drift_sentinel.incidents import (
    SIGNAL_INCIDENT_MIN_CONFIDENCE,
    assign_incident,
    incident_id,
    incident_onset,
    opening_window,
    opens_signal_incident,
    signal_incident,
)

MODEL = "fraud-detector-v1"
DAYS = [f"2026-10-{d:02d}" for d in range(1, 11)]


def _run(drifted: list[bool]) -> list[str]:
    """assign_incident over consecutive windows, each seeing the previous window's incident."""
    out: list[str] = []
    previous = None
    for day, flag in zip(DAYS, drifted, strict=False):
        current = assign_incident(MODEL, day, drifted=flag, previous=previous if flag else None)
        out.append(current)
        previous = current
    return out


def test_an_episode_of_drifted_windows_is_one_incident_and_its_opening_window_is_found() -> None:
    incidents = _run([False, True, True, True, False, True, True])
    first, second = incident_id(MODEL, DAYS[1]), incident_id(MODEL, DAYS[5])
    assert incidents == ["", first, first, first, "", second, second]
    # from every window of an episode, looking back nearest first, the opening window is recovered
    for i in (1, 2, 3):
        assert opening_window(MODEL, first, DAYS[i::-1]) == DAYS[1]
    assert opening_window(MODEL, second, DAYS[6::-1]) == DAYS[5]
    # too short a look-back, or another model's id, finds nothing
    assert opening_window(MODEL, first, [DAYS[3], DAYS[2]]) is None
    assert opening_window("other-model", first, DAYS[3::-1]) is None


def test_the_onset_prefers_the_rca_then_the_drift_start_then_the_window_start() -> None:
    start = datetime(2026, 10, 2, tzinfo=UTC)
    rca = "2026-10-02T05:40:00+00:00"
    drift = "2026-10-02T03:00:00+02:00"  # 01:00 UTC
    assert incident_onset(start, rca_onset=rca, drift_start=drift) == datetime(2026, 10, 2, 5, 40, tzinfo=UTC)
    assert incident_onset(start, rca_onset="", drift_start=drift) == datetime(2026, 10, 2, 1, tzinfo=UTC)
    assert incident_onset(start, rca_onset=None, drift_start=None) == start
    assert incident_onset(start, drift_start=drift).tzinfo == UTC


@pytest.mark.parametrize(
    ("cause", "confidence", "serving", "opens"),
    [
        ("concept_drift", SIGNAL_INCIDENT_MIN_CONFIDENCE, 0.0, True),  # the bound itself opens
        ("concept_drift", SIGNAL_INCIDENT_MIN_CONFIDENCE - 0.01, 0.0, False),
        ("infrastructure", 0.9, 0.3, True),
        ("infrastructure", 0.9, 0.0, False),  # the detectors do not agree: a seasonal peak, not an incident
        ("infrastructure", 0.4, 0.9, False),
        ("data_drift", 0.99, 0.9, False),  # data drift opens incidents in drift_report, never here
        ("seasonality", 0.99, 0.9, False),
        ("unknown", 0.1, 0.0, False),
    ],
)
def test_a_quiet_window_opens_an_incident_only_on_a_confident_serving_or_label_cause(
    cause: str, confidence: float, serving: float, opens: bool
) -> None:
    assert opens_signal_incident(cause, confidence, serving) is opens
    found = signal_incident(
        MODEL, DAYS[3], cause_type=cause, confidence=confidence, serving_strength=serving, previous=None
    )
    assert found == (incident_id(MODEL, DAYS[3]) if opens else "")


def test_a_signal_incident_continues_the_previous_windows_incident() -> None:
    previous = incident_id(MODEL, DAYS[2])
    kwargs = {"cause_type": "infrastructure", "confidence": 0.8, "serving_strength": 0.5}
    assert signal_incident(MODEL, DAYS[3], previous=previous, **kwargs) == previous
    assert signal_incident(MODEL, DAYS[3], previous="", **kwargs) == incident_id(MODEL, DAYS[3])
    quiet = {**kwargs, "serving_strength": 0.0}
    assert signal_incident(MODEL, DAYS[3], previous=previous, **quiet) == ""
    # the continued incident still names the window it opened in
    assert opening_window(MODEL, previous, DAYS[3::-1]) == DAYS[2]
    assert opening_window(MODEL, previous, DAYS[3::-1]) != opening_window(
        MODEL, incident_id(MODEL, DAYS[3]), DAYS[3::-1]
    )


def test_incident_onset_is_a_time_not_text() -> None:
    start = datetime(2026, 10, 2, tzinfo=UTC)
    onset = incident_onset(start, rca_onset="2026-10-02T05:40:00Z")
    assert onset - start == timedelta(hours=5, minutes=40)

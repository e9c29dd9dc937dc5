"""Incident signatures, phases and the recurring-pattern library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from drift_sentinel.analysis import IncidentSignature, Phase, match_history, recurring_patterns
from drift_sentinel.analysis.temporal import feature_direction, incident_history


def _sig(iid: str, t: datetime, features=("amount",), directions=None, model="m") -> IncidentSignature:
    directions = directions if directions is not None else {f: "up" for f in features}
    return IncidentSignature(
        incident_id=iid, model_id=model, time=t, features=features, directions=directions
    )


def test_phase():
    phase = Phase.of(datetime(2026, 10, 31, 23, tzinfo=UTC))
    assert (phase.hour_of_day, phase.day_of_week, phase.day_of_month) == (23, 5, 31)
    assert phase.month_end and phase.weekend
    assert not Phase.of(datetime(2026, 10, 28, tzinfo=UTC)).month_end
    assert Phase.of(datetime(2028, 2, 27, tzinfo=UTC)).month_end  # leap year: 27, 28, 29


def test_month_end_recurrence_counts_other_months_only():
    now = _sig("sep", datetime(2026, 9, 29, 3, tzinfo=UTC))
    history = [
        _sig("jul", datetime(2026, 7, 30, tzinfo=UTC)),
        _sig("aug", datetime(2026, 8, 30, tzinfo=UTC)),
        _sig("sep-1", datetime(2026, 9, 28, tzinfo=UTC)),  # the same month end: same episode
        _sig("later", datetime(2026, 10, 30, tzinfo=UTC)),  # after this incident
        _sig("other-model", datetime(2026, 6, 29, tzinfo=UTC), model="x"),
    ]
    best = match_history(now, history)[0]
    assert best.pattern == "end_of_month_seasonality"
    assert best.recurrences == 2 and set(best.incident_ids) == {"jul", "aug"}


def test_different_features_or_directions_do_not_match():
    now = _sig("b", datetime(2026, 9, 29, tzinfo=UTC))
    assert match_history(now, [_sig("a", datetime(2026, 8, 30, tzinfo=UTC), features=("velocity",))]) == []
    opposite = _sig("a", datetime(2026, 8, 30, tzinfo=UTC), directions={"amount": "down"})
    assert match_history(now, [opposite]) == []
    overlap = _sig("a", datetime(2026, 8, 30, tzinfo=UTC), features=("amount", "device_id"))
    assert match_history(now, [overlap])[0].similarity == 0.5


def test_weekly_and_time_of_day():
    monday = datetime(2026, 10, 12, 9, tzinfo=UTC)
    weekly = match_history(_sig("b", monday), [_sig("a", monday - timedelta(days=7))])
    assert weekly[0].pattern == "weekly_seasonality"
    daily = match_history(_sig("b", monday), [_sig("a", monday - timedelta(days=2, minutes=30))])
    assert daily[0].pattern == "time_of_day_seasonality"
    assert match_history(_sig("b", monday), [_sig("a", monday - timedelta(hours=5))]) == []


def test_recurring_patterns_library():
    sigs = [_sig(f"me-{m}", datetime(2026, m, 29, 2, tzinfo=UTC)) for m in (5, 6, 7)]
    sigs.append(_sig("one-off", datetime(2026, 6, 12, 15, tzinfo=UTC), features=("velocity",)))
    library = recurring_patterns(sigs)
    assert [(p.pattern, p.count, p.incident_ids) for p in library] == [
        ("end_of_month_seasonality", 3, ("me-5", "me-6", "me-7"))
    ]
    assert library[0].first_seen.month == 5 and library[0].last_seen.month == 7


def test_signature_round_trip_and_direction():
    sig = _sig("a", datetime(2026, 9, 29, tzinfo=UTC))
    assert IncidentSignature.from_dict(sig.to_dict()) == sig
    assert sig.to_dict()["phase"]["month_end"] is True
    assert feature_direction(pd.Series([5.0, 6, 7]), pd.Series([1.0, 2, 3]), "numeric", ()) == "down"
    assert feature_direction(None, pd.Series(["a"]), "categorical", ("new",)) == "new_category"


def test_ongoing_incident_is_recent_similar_and_caused():
    from drift_sentinel.analysis.temporal import ongoing_incident

    t = datetime(2026, 10, 11, tzinfo=UTC)
    caused = IncidentSignature(
        "a", "m", t - timedelta(hours=18), ("amount",), {"amount": "up"}, cause="deploy:app"
    )
    uncaused = IncidentSignature("b", "m", t - timedelta(hours=6), ("amount",), {"amount": "up"})
    old = IncidentSignature("c", "m", t - timedelta(days=5), ("amount",), {"amount": "up"}, cause="holiday:x")
    now = _sig("now", t)
    assert ongoing_incident(now, [caused, uncaused, old]) == (caused, 1.0)
    assert ongoing_incident(now, [old]) is None
    assert ongoing_incident(_sig("now", t, features=("velocity",)), [caused]) is None


def test_incident_history_keeps_each_incidents_opening_window():
    aug = _sig("inc-aug", datetime(2026, 8, 29, 1, tzinfo=UTC))
    later_aug = _sig("inc-aug", datetime(2026, 8, 30, 0, tzinfo=UTC))  # the same incident, a day on
    sep = _sig("inc-sep", datetime(2026, 9, 28, 2, tzinfo=UTC))
    by_window = {
        "2026-09-28": sep.to_dict(),
        "2026-08-30": later_aug.to_dict(),
        "2026-08-29": aug.to_dict(),
        "2026-09-01": None,  # a quiet window stored no signature
        "2026-09-02": {"incident_id": ""},
    }
    history = incident_history(by_window)
    assert [(s.incident_id, s.time) for s in history] == [("inc-aug", aug.time), ("inc-sep", sep.time)]
    assert [s.incident_id for s in incident_history(by_window, before="2026-09-28")] == ["inc-aug"]
    assert incident_history({}) == []

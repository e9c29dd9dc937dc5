"""Temporal patterns: incident signatures, their phase, and recurring causes across history.

An :class:`IncidentSignature` records which features drifted, in which direction (``up``/``down`` for
numeric features by the sign of the median shift, ``new_category``/``shifted`` for categorical ones), and the
phase of the drift start: hour of day, day of week, day of month, and whether it fell in the month end (the
last three days of the month) or on a weekend. :func:`match_history` compares a signature with past ones;
two incidents *match* when their feature sets overlap (Jaccard >= 0.5), shared features moved the same way,
and they share a phase:

- both in the month end of different months → ``end_of_month_seasonality``
- same day of week in different weeks → ``weekly_seasonality``
- start hours within 1 h of each other on different days → ``time_of_day_seasonality``

The pattern with most matches names the recurring cause, with its recurrence count (past matches).
:func:`recurring_patterns` groups a whole history into that library of patterns; :func:`incident_history`
keeps one signature per incident (its opening window's) from what past reports stored.

>>> from datetime import datetime, UTC
>>> past = IncidentSignature(incident_id="a", model_id="m", time=datetime(2026, 8, 30, 2, tzinfo=UTC),
...                          features=("amount",), directions={"amount": "up"})
>>> now = IncidentSignature(incident_id="b", model_id="m", time=datetime(2026, 9, 29, 1, tzinfo=UTC),
...                         features=("amount",), directions={"amount": "up"})
>>> best = match_history(now, [past])[0]
>>> best.pattern, best.recurrences, best.incident_ids
('end_of_month_seasonality', 1, ('a',))
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

MONTH_END_DAYS = 3
PATTERNS: tuple[str, ...] = ("end_of_month_seasonality", "weekly_seasonality", "time_of_day_seasonality")


def is_month_end(t: datetime) -> bool:
    """True in the last ``MONTH_END_DAYS`` days of the month.

    >>> from datetime import datetime
    >>> [is_month_end(datetime(2026, m, d)) for m, d in ((9, 28), (9, 27), (2, 26))]
    [True, False, True]
    """
    return t.day > calendar.monthrange(t.year, t.month)[1] - MONTH_END_DAYS


@dataclass(frozen=True)
class Phase:
    """When in the calendar a time falls."""

    hour_of_day: int
    day_of_week: int
    day_of_month: int
    month_end: bool
    weekend: bool

    @classmethod
    def of(cls, t: datetime) -> Phase:
        return cls(
            hour_of_day=t.hour,
            day_of_week=t.weekday(),
            day_of_month=t.day,
            month_end=is_month_end(t),
            weekend=t.weekday() >= 5,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "hour_of_day": self.hour_of_day,
            "day_of_week": self.day_of_week,
            "day_of_month": self.day_of_month,
            "month_end": self.month_end,
            "weekend": self.weekend,
        }


@dataclass(frozen=True)
class IncidentSignature:
    """Which features moved which way, and when (see the module docstring)."""

    incident_id: str
    model_id: str
    time: datetime
    features: tuple[str, ...]
    directions: Mapping[str, str] = field(default_factory=dict)
    cause: str | None = None
    cause_type: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "directions", dict(self.directions))

    @property
    def phase(self) -> Phase:
        return Phase.of(self.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "model_id": self.model_id,
            "time": self.time.isoformat(),
            "features": list(self.features),
            "directions": dict(self.directions),
            "cause": self.cause,
            "cause_type": self.cause_type,
            "phase": self.phase.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IncidentSignature:
        return cls(
            incident_id=d["incident_id"],
            model_id=d["model_id"],
            time=datetime.fromisoformat(d["time"]),
            features=tuple(d.get("features", ())),
            directions=dict(d.get("directions", {})),
            cause=d.get("cause"),
            cause_type=d.get("cause_type"),
        )

    def __hash__(self) -> int:
        return hash((self.incident_id, self.model_id, self.time))


@dataclass(frozen=True)
class PatternMatch:
    """Past incidents that share this incident's signature and phase."""

    pattern: str
    recurrences: int
    incident_ids: tuple[str, ...]
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "recurrences": self.recurrences,
            "incident_ids": list(self.incident_ids),
            "similarity": self.similarity,
        }


@dataclass(frozen=True)
class RecurringPattern:
    """One entry of the pattern library: a signature that happened more than once."""

    pattern: str
    model_id: str
    features: tuple[str, ...]
    directions: Mapping[str, str]
    count: int
    incident_ids: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "model_id": self.model_id,
            "features": list(self.features),
            "directions": dict(self.directions),
            "count": self.count,
            "incident_ids": list(self.incident_ids),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
        }


def feature_direction(
    reference: pd.Series | None, current: pd.Series | None, kind: str, new: Sequence[str]
) -> str:
    """``up``/``down`` by the median shift of a numeric feature, ``new_category``/``shifted`` otherwise.

    >>> import pandas as pd
    >>> feature_direction(pd.Series([1.0, 2, 3]), pd.Series([2.0, 3, 4]), "numeric", ())
    'up'
    """
    if kind == "categorical" or (current is not None and not pd.api.types.is_numeric_dtype(current)):
        return "new_category" if new else "shifted"
    if reference is None or current is None:
        return "shifted"
    ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float)
    cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if not len(ref) or not len(cur):
        return "shifted"
    shift = float(np.median(cur) - np.median(ref))
    if shift == 0:
        shift = float(np.mean(cur) - np.mean(ref))
    return "up" if shift > 0 else "down" if shift < 0 else "shifted"


def _similarity(a: IncidentSignature, b: IncidentSignature) -> float:
    fa, fb = set(a.features), set(b.features)
    if not fa or not fb:
        return 0.0
    shared = fa & fb
    jaccard = len(shared) / len(fa | fb)
    if any(a.directions.get(f) != b.directions.get(f) for f in shared):
        return 0.0
    return jaccard


def _phase_pattern(a: datetime, b: datetime) -> str | None:
    """The phase two incident times share; the same episode (same month end, week, day) does not recur."""
    pa, pb = Phase.of(a), Phase.of(b)
    if pa.month_end and pb.month_end:
        return "end_of_month_seasonality" if (a.year, a.month) != (b.year, b.month) else None
    if pa.day_of_week == pb.day_of_week and a.isocalendar()[:2] != b.isocalendar()[:2]:
        return "weekly_seasonality"
    hours = abs(pa.hour_of_day - pb.hour_of_day)
    if min(hours, 24 - hours) <= 1 and a.date() != b.date():
        return "time_of_day_seasonality"
    return None


def match_history(
    signature: IncidentSignature, history: Sequence[IncidentSignature], *, min_similarity: float = 0.5
) -> list[PatternMatch]:
    """Patterns this signature shares with earlier incidents of the same model, most recurrences first."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for past in history:
        if past.incident_id == signature.incident_id or past.model_id != signature.model_id:
            continue
        if past.time >= signature.time:
            continue
        similarity = _similarity(signature, past)
        if similarity < min_similarity:
            continue
        pattern = _phase_pattern(signature.time, past.time)
        if pattern is not None:
            groups.setdefault(pattern, []).append((past.incident_id, similarity))
    matches = [
        PatternMatch(
            pattern=name,
            recurrences=len(items),
            incident_ids=tuple(i for i, _ in items),
            similarity=float(np.mean([s for _, s in items])),
        )
        for name, items in groups.items()
    ]
    return sorted(matches, key=lambda m: (-m.recurrences, PATTERNS.index(m.pattern)))


def ongoing_incident(
    signature: IncidentSignature,
    history: Sequence[IncidentSignature],
    *,
    within: timedelta = timedelta(days=3),
    min_similarity: float = 0.5,
) -> tuple[IncidentSignature, float] | None:
    """The most recent earlier incident this one continues: same model, similar signature, a named cause,
    at most ``within`` before it (a drift that outlives its first window is the same incident).

    >>> from datetime import datetime, UTC
    >>> first = IncidentSignature(incident_id="a", model_id="m", time=datetime(2026, 10, 10, 6, tzinfo=UTC),
    ...                           features=("amount",), directions={"amount": "up"}, cause="deploy:app")
    >>> later = IncidentSignature(incident_id="b", model_id="m", time=datetime(2026, 10, 11, tzinfo=UTC),
    ...                           features=("amount",), directions={"amount": "up"})
    >>> past, similarity = ongoing_incident(later, [first])
    >>> past.cause, similarity
    ('deploy:app', 1.0)
    """
    best: tuple[IncidentSignature, float] | None = None
    for past in history:
        if past.incident_id == signature.incident_id or past.model_id != signature.model_id or not past.cause:
            continue
        if not timedelta(0) < signature.time - past.time <= within:
            continue
        similarity = _similarity(signature, past)
        if similarity >= min_similarity and (best is None or past.time > best[0].time):
            best = (past, similarity)
    return best


def recurring_patterns(history: Sequence[IncidentSignature]) -> list[RecurringPattern]:
    """The library of patterns across a history: each signature that recurred, with how often.

    Incidents are taken in time order; each joins the first pattern group whose latest member it matches.

    >>> from datetime import datetime, UTC
    >>> sigs = [IncidentSignature(incident_id=str(m), model_id="m", time=datetime(2026, m, 29, tzinfo=UTC),
    ...                           features=("amount",), directions={"amount": "up"}) for m in (6, 7, 8)]
    >>> [(p.pattern, p.count) for p in recurring_patterns(sigs)]
    [('end_of_month_seasonality', 3)]
    """
    groups: list[tuple[str, list[IncidentSignature]]] = []
    for sig in sorted(history, key=lambda s: s.time):
        placed = False
        for pattern, members in groups:
            last = members[-1]
            if last.model_id != sig.model_id or _similarity(sig, last) < 0.5:
                continue
            if _phase_pattern(sig.time, last.time) == pattern:
                members.append(sig)
                placed = True
                break
        if placed:
            continue
        for i, (_pattern, members) in enumerate(groups):
            if (
                len(members) == 1
                and members[0].model_id == sig.model_id
                and _similarity(sig, members[0]) >= 0.5
            ):
                found = _phase_pattern(sig.time, members[0].time)
                if found is not None:
                    groups[i] = (found, [*members, sig])
                    placed = True
                    break
        if not placed:
            groups.append(("", [sig]))
    return [
        RecurringPattern(
            pattern=pattern,
            model_id=members[0].model_id,
            features=members[-1].features,
            directions=members[-1].directions,
            count=len(members),
            incident_ids=tuple(m.incident_id for m in members),
            first_seen=members[0].time,
            last_seen=members[-1].time,
        )
        for pattern, members in groups
        if len(members) > 1
    ]


def incident_history(
    signatures: Mapping[str, Mapping[str, Any] | None], *, before: str | None = None
) -> list[IncidentSignature]:
    """One signature per incident, from its earliest window: the history RCA matches recurrences against.

    ``signatures`` maps a window's partition key to the ``signature`` its RCA report stored (``None`` or no
    ``incident_id``: a quiet window). ``before`` keeps only windows before that key (time-window keys sort by
    time). Sorted by the incidents' onset.

    >>> sig = lambda inc, t: {"incident_id": inc, "model_id": "m", "time": t, "features": ["amount"]}
    >>> by_window = {"2026-09-01": sig("a", "2026-09-01T02:00:00+00:00"),
    ...              "2026-09-02": sig("a", "2026-09-02T00:00:00+00:00"),
    ...              "2026-09-03": None, "2026-10-01": sig("b", "2026-10-01T00:00:00+00:00")}
    >>> [(s.incident_id, s.time.day) for s in incident_history(by_window)]
    [('a', 1), ('b', 1)]
    >>> [s.incident_id for s in incident_history(by_window, before="2026-10-01")]
    ['a']
    """
    first: dict[str, tuple[str, IncidentSignature]] = {}
    for key, data in signatures.items():
        if before is not None and key >= before:
            continue
        if not isinstance(data, Mapping) or not data.get("incident_id"):
            continue
        signature = IncidentSignature.from_dict(data)
        known = first.get(signature.incident_id)
        if known is None or key < known[0]:
            first[signature.incident_id] = (key, signature)
    return sorted((s for _, s in first.values()), key=lambda s: s.time)

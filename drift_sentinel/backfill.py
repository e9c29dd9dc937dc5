"""A range of windows computed at once: the log read once, the reference profiled once, incidents chained in order.

What a backfill run over many windows needs from the core, each piece equal to doing the windows one by one:

- :func:`split_windows` cuts one read of the prediction log (the whole range) into the windows'
  frames — the same rows, order and columns :func:`drift_sentinel.windows.read_window` gives per window;
- :func:`detect_windows` runs :func:`drift_sentinel.detection.detect_drift` on every window against one cached
  :class:`~drift_sentinel.detection.profile.ReferenceProfile`;
- :func:`chain_incidents` assigns each window its incident exactly as :func:`drift_sentinel.incidents.assign_incident`
  does window after window (continuation, onset and ids), starting from the incident of the window before the range.

>>> from datetime import datetime
>>> frame = pd.DataFrame({"timestamp": pd.to_datetime(["2026-10-01 01:00", "2026-10-02 05:00"], utc=True)})
>>> windows = [("2026-10-01", datetime(2026, 10, 1), datetime(2026, 10, 2)),
...            ("2026-10-02", datetime(2026, 10, 2), datetime(2026, 10, 3))]
>>> {k: len(v) for k, v in split_windows(frame, windows).items()}
{'2026-10-01': 1, '2026-10-02': 1}
>>> from drift_sentinel.incidents import incident_id
>>> chain = chain_incidents("m", {"2026-10-01": True, "2026-10-02": True, "2026-10-03": False}, previous=None)
>>> chain["2026-10-01"] == chain["2026-10-02"] == incident_id("m", "2026-10-01"), chain["2026-10-03"]
(True, '')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import pandas as pd

from drift_sentinel.detection import DetectionConfig, DriftReport, detect_drift
from drift_sentinel.detection.profile import ReferenceProfile
from drift_sentinel.incidents import assign_incident
from drift_sentinel.times import utc_times

Window = tuple[str, datetime, datetime]
"""A window: its key (the partition key), its start (inclusive) and its end (exclusive)."""


def _utc(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def range_bounds(windows: Sequence[Window]) -> tuple[datetime, datetime]:
    """The start of the first window and the end of the last: what to read once for the whole range."""
    if not windows:
        raise ValueError("a range needs at least one window")
    return min(w[1] for w in windows), max(w[2] for w in windows)


def split_windows(
    frame: pd.DataFrame, windows: Sequence[Window], *, time_column: str = "timestamp"
) -> dict[str, pd.DataFrame]:
    """Each window's rows of ``frame`` (``start <= time < end``), sorted by time, index reset.

    ``frame`` is the range read once (:func:`drift_sentinel.windows.read_window` over :func:`range_bounds`); a
    window without rows gets an empty frame with the same columns and no dtypes (an explicit empty window, not a
    missing one), as ``read_window`` returns for a window that no log file covers.
    """
    times = utc_times(frame[time_column])
    ordered = frame.assign(**{time_column: times}).sort_values(time_column, kind="stable")
    sorted_times = ordered[time_column]
    out: dict[str, pd.DataFrame] = {}
    for key, start, end in windows:
        lo = sorted_times.searchsorted(_utc(start), side="left")
        hi = sorted_times.searchsorted(_utc(end), side="left")
        # no rows: an empty frame with the columns only, as read_window gives for a window no log file covers
        out[key] = (
            ordered.iloc[lo:hi].reset_index(drop=True) if hi > lo else pd.DataFrame(columns=frame.columns)
        )
    return out


def detect_windows(
    reference: pd.DataFrame,
    windows: Mapping[str, pd.DataFrame],
    config: DetectionConfig,
    profile: ReferenceProfile,
    *,
    time_column: str | None = None,
    prediction_column: str | None = None,
    label_column: str | None = None,
) -> dict[str, DriftReport]:
    """:func:`detect_drift` of every window against the one cached reference ``profile``, in window order."""
    return {
        key: detect_drift(
            reference,
            current,
            config,
            profile=profile,
            time_column=time_column,
            prediction_column=prediction_column,
            label_column=label_column,
        )
        for key, current in windows.items()
    }


def chain_incidents(model_id: str, drifted: Mapping[str, bool], *, previous: str | None) -> dict[str, str]:
    """Each window's incident id (``""`` without drift), windows in the mapping's (chronological) order.

    ``previous`` is the incident of the window just before the range (``None``/``""`` when it had none): a range
    that starts inside an ongoing incident continues it, as the first window run on its own would.
    """
    out: dict[str, str] = {}
    last = previous or None
    for key, is_drifted in drifted.items():
        incident = assign_incident(model_id, key, drifted=is_drifted, previous=last)
        out[key] = incident
        last = incident or None
    return out

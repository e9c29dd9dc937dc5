"""Every partitioning in the project: one time window per partition, cut per model's window spec."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, HourlyPartitionsDefinition, TimeWindowPartitionsDefinition

from drift_sentinel.config import WindowSpec


def window_partitions(window: WindowSpec) -> TimeWindowPartitionsDefinition:
    """Hourly or daily partitions from ``window.start`` to ``window.end`` (open-ended when None).

    A model checked live (open-ended, ``live_check`` on) also has a partition for the window that is still
    open (``end_offset=1``), so the live check can materialize that window's reports early.
    """
    kwargs = {
        "start_date": window.start,
        "end_date": window.end,
        "timezone": window.timezone,
        "end_offset": 1 if window.live else 0,
    }
    if window.cadence == "hourly":
        return HourlyPartitionsDefinition(**kwargs)
    return DailyPartitionsDefinition(**kwargs)

"""Every partitioning in the project: one time window per partition, cut per model's window spec."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, HourlyPartitionsDefinition, TimeWindowPartitionsDefinition

from drift_sentinel.config import WindowSpec


def window_partitions(window: WindowSpec) -> TimeWindowPartitionsDefinition:
    """Hourly or daily partitions from ``window.start`` to ``window.end`` (open-ended when None)."""
    kwargs = {"start_date": window.start, "end_date": window.end, "timezone": window.timezone}
    if window.cadence == "hourly":
        return HourlyPartitionsDefinition(**kwargs)
    return DailyPartitionsDefinition(**kwargs)

"""Declarative automation of the window assets: every window is materialized shortly after it closes.

- The per-window roots (``current_window``, ``external_events``, and the trailing ``reference_window``) are
  requested on the model's cadence (``0 * * * *`` hourly, ``0 0 * * *`` daily, in the window's time zone) for the
  newest *closed* window; their partitioned descendants (``drift_report``, ``system_signals``,
  ``signal_anomalies``, ``rca_report``, a trailing ``reference_profile``) follow eagerly, in the same run when
  requested in the same evaluation. A model checked live has a partition for the open window too
  (:func:`sentinel_assets.partitions.window_partitions`); the conditions skip it, it belongs to the live check.
- A model whose windows all ended (``window.end`` in the past when the definitions load) only fills a missing
  last window, instead of re-running it at every cron tick.
- The unpartitioned baseline (training-snapshot ``reference_window``, ``reference_profile``,
  ``feature_importance``) is materialized once when missing, so a fresh instance needs no click.
- Older windows whose files change are re-materialized by the late-data sensor (:mod:`sensors.late_data`), which
  requests the whole detect job for that window.

One :class:`AutomationConditionSensorDefinition` per model (``<model>_window_automation``, running by default)
evaluates the conditions; it is listed on the UI's Automation page with every evaluation it made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
)

from drift_sentinel.config import CADENCE_LENGTH, ModelSpec, WindowSpec
from resources.keys import asset_key

PER_WINDOW_ROOTS = ("current_window", "external_events", "reference_window")
BASELINE = ("reference_window", "reference_profile", "feature_importance")
AUTOMATION_INTERVAL_SECONDS = 15
_CRON = {"hourly": "0 * * * *", "daily": "0 0 * * *"}


def window_cron(window: WindowSpec) -> str:
    """The cron schedule on which a window closes.

    >>> start = datetime(2026, 10, 1)
    >>> window_cron(WindowSpec(start=start)), window_cron(WindowSpec(cadence="hourly", start=start))
    ('0 0 * * *', '0 * * * *')
    """
    return _CRON[window.cadence]


def window_span(window: WindowSpec) -> timedelta:
    """The length of one window."""
    return CADENCE_LENGTH[window.cadence]


def newest_closed_window(window: WindowSpec) -> AutomationCondition:
    """The newest window that has closed (the latest partition, or the one before the open window's)."""
    return _newest_closed_window(window.cadence, window.live)


# Conditions are immutable and depend on a few fields of the window only: built once per distinct window shape
# and shared by every model and asset with that shape (fifty models would otherwise build hundreds of equal trees).
@cache
def _newest_closed_window(cadence: str, live: bool) -> AutomationCondition:
    if not live:
        return AutomationCondition.in_latest_time_window()
    return (
        AutomationCondition.in_latest_time_window(2 * CADENCE_LENGTH[cadence])
        & ~AutomationCondition.in_latest_time_window()
    )


def _ended(window: WindowSpec, now: datetime) -> bool:
    if window.end is None:
        return False
    end = window.end if window.end.tzinfo else window.end.replace(tzinfo=UTC)
    return end <= now


def root_condition(window: WindowSpec, now: datetime | None = None) -> AutomationCondition:
    """Per-window roots: the newest closed window, once per cron tick (only when missing once all ended)."""
    now = now or datetime.now(UTC)
    return _root_condition(window.cadence, window.live, window.timezone, _ended(window, now))


@cache
def _root_condition(cadence: str, live: bool, timezone: str, ended: bool) -> AutomationCondition:
    condition = (
        _newest_closed_window(cadence, live)
        & AutomationCondition.cron_tick_passed(_CRON[cadence], timezone).since_last_handled()
        & ~AutomationCondition.in_progress()
    )
    if ended:
        condition = condition & AutomationCondition.missing()
    return condition.with_label(f"window closed ({cadence})")


def downstream_condition(window: WindowSpec) -> AutomationCondition:
    """Partitioned descendants: eager, for the newest closed window (the open one is the live check's)."""
    return _downstream_condition(window.cadence, window.live)


@cache
def _downstream_condition(cadence: str, live: bool) -> AutomationCondition:
    return (
        AutomationCondition.eager()
        .replace("in_latest_time_window", _newest_closed_window(cadence, live))
        .with_label("eager (newest closed window)")
    )


@cache
def baseline_condition() -> AutomationCondition:
    """The unpartitioned baseline: materialized when missing (and not after a failed attempt)."""
    return (
        AutomationCondition.missing()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.in_progress()
        & ~AutomationCondition.execution_failed()
    ).with_label("baseline missing")


def condition_for(spec: ModelSpec, asset: AssetSpec, roots: set[AssetKey]) -> AutomationCondition | None:
    """The automation condition of one of the model's assets (``None``: not automated)."""
    name = asset.key.path[-1]
    if asset.partitions_def is None:
        return baseline_condition() if name in BASELINE else None
    if asset.key in roots:
        return root_condition(spec.window)
    return downstream_condition(spec.window)


def with_window_automation(spec: ModelSpec, assets: list[AssetsDefinition]) -> list[AssetsDefinition]:
    """The model's assets with their automation conditions attached (window, signal, RCA and baseline assets)."""
    roots = {asset_key(spec, name) for name in PER_WINDOW_ROOTS}

    def attach(asset: AssetSpec) -> AssetSpec:
        condition = condition_for(spec, asset, roots)
        return asset if condition is None else asset.replace_attributes(automation_condition=condition)

    def automated(a: AssetsDefinition) -> bool:
        return any(condition_for(spec, s, roots) is not None for s in a.specs)

    return [a.map_asset_specs(attach) if automated(a) else a for a in assets]


def automated_keys(assets: list[AssetsDefinition]) -> list[AssetKey]:
    """Keys of the assets that carry an automation condition."""
    return [spec.key for a in assets for spec in a.specs if spec.automation_condition is not None]


def build_automation_sensor(
    spec: ModelSpec, assets: list[AssetsDefinition], *, running: bool = True
) -> AutomationConditionSensorDefinition:
    """``<model>_window_automation``: evaluates the model's automation conditions (running by default)."""
    return AutomationConditionSensorDefinition(
        f"{spec.asset_prefix}_window_automation",
        target=AssetSelection.assets(*automated_keys(assets)),
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
        description=f"Materializes each {spec.window.cadence} window of {spec.id} shortly after it closes "
        "(current window, drift, signals, RCA), and the baseline when it is missing.",
    )

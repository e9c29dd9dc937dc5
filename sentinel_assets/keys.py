"""Every asset key of a monitored model comes from here: ``[asset_prefix, name]``.

>>> asset_key("fraud_detector_v1", "drift_report").to_user_string()
'fraud_detector_v1/drift_report'
>>> check_key("m", "current_window", "current_window_passes_data_quality").name
'current_window_passes_data_quality'
>>> sorted(asset_ins("m", "current_window", "drift_report"))
['current_window', 'drift_report']
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetCheckKey, AssetIn, AssetKey, AssetSelection

from drift_sentinel.config import ModelSpec


def _prefix(model: ModelSpec | str) -> str:
    return model if isinstance(model, str) else model.asset_prefix


def asset_key(model: ModelSpec | str, name: str) -> AssetKey:
    """The key of the asset ``name`` (``"drift_report"``, ``"rca_report"``…) of ``model`` (a spec or its prefix)."""
    return AssetKey([_prefix(model), name])


def check_key(model: ModelSpec | str, asset: str, check: str) -> AssetCheckKey:
    """The key of the check ``check`` on the model's asset ``asset``."""
    return AssetCheckKey(asset_key(model, asset), check)


def asset_ins(model: ModelSpec | str, *names: str) -> dict[str, AssetIn]:
    """``ins=`` of an asset that reads the model's assets ``names`` (each input named like its asset)."""
    return {name: AssetIn(key=asset_key(model, name)) for name in names}


def asset_selection(model: ModelSpec | str, names: Iterable[str]) -> AssetSelection:
    """A selection of the model's assets ``names`` (for jobs)."""
    return AssetSelection.assets(*[asset_key(model, name) for name in names])

"""Threshold changes: the versioned store as a resource, and the replay history read from the instance.

The history of a model's ``drift_report`` is what the instance knows: the newest materialization of every
partition, whose stored value (the ``path`` the IO manager recorded) is read back and turned into a replay
window with :func:`drift_sentinel.remediation.thresholds.replay_window`. The replay itself is the core's
:func:`~drift_sentinel.remediation.thresholds.replay_thresholds`.
"""

from __future__ import annotations

import json
from typing import Any

from dagster import DagsterInstance

from drift_sentinel.config import ModelSpec
from drift_sentinel.errors import DataError
from drift_sentinel.remediation.thresholds import (
    Thresholds,
    replay_window,
)
from drift_sentinel.windows import filesystem
from resources import history
from resources.keys import asset_key
from resources.thresholds import ThresholdStoreResource

__all__ = ["ThresholdStoreResource", "drift_report_history", "scaled"]


def scaled(thresholds: Thresholds, factor: float) -> dict[str, dict[str, float]]:
    """Every threshold times ``factor`` (the default proposal: fewer, stronger alerts when ``factor > 1``).

    >>> scaled({"*": {"psi": 0.2, "ks": 0.1}}, 1.5)
    {'*': {'psi': 0.3, 'ks': 0.15}}
    """
    if factor <= 0:
        raise ValueError(f"threshold scale must be > 0, got {factor}")
    return {k: {a: round(float(x) * factor, 10) for a, x in v.items()} for k, v in thresholds.items()}


def drift_report_history(instance: DagsterInstance, spec: ModelSpec) -> list[dict[str, Any]]:
    """Replay windows for every materialized ``drift_report`` partition of ``spec`` (the newest value of each)."""
    key = asset_key(spec, "drift_report")
    newest = history.latest_per_partition(instance, key)
    windows = []
    for partition in sorted(newest):
        entry = newest[partition].metadata.get("path")
        if entry is None:
            raise DataError(f"{key.to_user_string()} partition {partition}: no stored path in its metadata")
        fs, path = filesystem(str(entry))
        try:
            with fs.open_input_file(path) as src:
                report = json.loads(src.read())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{entry}: cannot read drift_report {partition}: {exc}") from None
        windows.append(
            replay_window(report, partition=partition, incident_id=report.get("incident_id") or None)
        )
    return windows

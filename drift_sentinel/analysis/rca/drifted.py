"""The drifted features of a drift report, as the analysis reads them.

>>> from drift_sentinel.detection.results import AffectedFeature, DriftReport, FeatureDrift
>>> from drift_sentinel.verdict import Verdict
>>> from datetime import datetime, UTC
>>> t0 = datetime(2026, 10, 10, tzinfo=UTC)
>>> report = DriftReport(drift_detected=True, drift_score=0.5, verdict=Verdict.FAILED,
...     features={"device": FeatureDrift("device", "categorical", Verdict.FAILED, magnitude=0.3,
...                                      new_categories=("tablet",))},
...     affected_features=(AffectedFeature("device", "new_category", 1e-6, 0.3),),
...     n_reference=10, n_current=10, timestamp=t0)
>>> [(d.name, d.kind, d.new_categories) for d in drifted_features(report)]
[('device', 'categorical', ('tablet',))]
>>> noisy_or([0.5, 0.5])
0.75
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from drift_sentinel.detection.results import DriftReport


@dataclass(frozen=True)
class DriftedFeature:
    """One affected feature of the report with what the analysis needs of its detail."""

    name: str
    drift_type: str
    p_value: float
    magnitude: float
    kind: str
    drift_start: datetime | None
    new_categories: tuple[str, ...]
    null_rate_drifted: bool


def drifted_features(drift: DriftReport) -> list[DriftedFeature]:
    """The report's affected input features, in its order (model signals such as the error rate excluded)."""
    out = []
    for item in drift.affected_features:
        if item.name in drift.signals and item.name not in drift.features:
            continue
        fd = drift.features.get(item.name)
        magnitude = item.magnitude
        out.append(
            DriftedFeature(
                name=item.name,
                drift_type=str(item.drift_type),
                p_value=float(item.p_value) if item.p_value is not None else math.nan,
                magnitude=float(magnitude) if magnitude is not None and math.isfinite(magnitude) else 0.0,
                kind="numeric" if fd is None else str(fd.kind),
                drift_start=None if fd is None else fd.drift_start,
                new_categories=() if fd is None else tuple(fd.new_categories or ()),
                null_rate_drifted=(fd is not None and bool(fd.null_rate_drifted))
                or item.drift_type == "null_rate",
            )
        )
    return out


def noisy_or(values: Iterable[float]) -> float:
    """``1 - Π(1 - v)`` over values clipped to [0, 1]: the chance that at least one independent cause holds."""
    prod = 1.0
    for v in values:
        prod *= 1.0 - min(1.0, max(0.0, v))
    return 1.0 - prod

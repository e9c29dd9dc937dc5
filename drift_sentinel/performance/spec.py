"""A model's performance requirement in ``sentinel.yaml``: which metric, its minimum, whether estimates count.

>>> spec = PerformanceSpec(metric="accuracy", min=0.9)
>>> spec.metric, spec.min, spec.use_estimate
('accuracy', 0.9, True)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Metrics CBPE can estimate (and realized_metrics computes): the names the requirement may use.
ESTIMABLE_METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "roc_auc")
# Realized-only metrics: they need the labels themselves.
REALIZED_ONLY_METRICS: tuple[str, ...] = ("log_loss", "calibration_error")

Metric = Literal["accuracy", "precision", "recall", "f1", "roc_auc"]


class PerformanceSpec(BaseModel):
    """``performance: {metric: roc_auc, min: 0.85, use_estimate: true}`` of one model.

    ``metric`` must stay at or above ``min``. With ``use_estimate`` a CBPE estimate below ``min`` is a breach
    too (before labels arrive); without it only realized values (labelled rows) count. ``min_samples`` is the
    fewest labelled rows a realized metric (and the reference's calibration) needs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Metric = "roc_auc"
    min: float = Field(default=0.85, ge=0.0, le=1.0)
    use_estimate: bool = True
    min_samples: int = Field(default=100, ge=1)

"""Checks shared by realized and estimated performance: every problem becomes a reason string, never an error."""

from __future__ import annotations

import numpy as np
import pandas as pd


def scores_of(frame: pd.DataFrame, column: str, what: str) -> tuple[np.ndarray | None, str]:
    """The non-missing scores of ``frame[column]`` as floats, or ``None`` and why they cannot be used."""
    if column not in frame.columns:
        return None, f"no prediction scores: {what} has no column {column!r}"
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    present = values[~np.isnan(values)]
    if len(present) == 0:
        return (
            None,
            f"no prediction scores: column {column!r} of {what} is empty ({len(values)} rows, all missing)",
        )
    outside = (present < 0.0) | (present > 1.0) | ~np.isfinite(present)
    if outside.any():
        return None, (
            f"scores outside [0, 1] in column {column!r} of {what}: {int(outside.sum())} rows "
            f"(min {float(np.nanmin(present)):.4g}, max {float(np.nanmax(present)):.4g}); "
            "performance needs probabilities of the positive class"
        )
    return values, ""


def labels_of(frame: pd.DataFrame, column: str | None, what: str) -> tuple[np.ndarray | None, str]:
    """``frame[column]`` as floats (NaN = label not arrived yet), or ``None`` and why it cannot be used."""
    if not column or column not in frame.columns:
        return None, f"no labels: {what} has no column {column!r}"
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    present = values[~np.isnan(values)]
    bad = ~np.isin(present, (0.0, 1.0))
    if bad.any():
        return None, (
            f"labels in column {column!r} of {what} must be 0/1 (or missing): "
            f"{int(bad.sum())} rows hold other values, e.g. {present[bad][0]!r}"
        )
    return values, ""


def predicted_of(
    frame: pd.DataFrame, scores: np.ndarray, *, threshold: float, column: str | None, what: str
) -> tuple[np.ndarray | None, str]:
    """The predicted class per row (1.0/0.0; NaN where the score is missing): ``frame[column]`` when the model
    serves its decision, else ``score >= threshold``; or ``None`` and why the column cannot be used."""
    if column is None:
        return np.where(np.isnan(scores), np.nan, (scores >= threshold).astype(float)), ""
    if column not in frame.columns:
        return None, f"no predicted classes: {what} has no column {column!r}"
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    scored = ~np.isnan(scores)
    bad = scored & ~np.isin(values, (0.0, 1.0))
    if bad.any():
        return (
            None,
            f"predicted classes in column {column!r} of {what} must be 0/1: {int(bad.sum())} scored rows are not",
        )
    return np.where(scored, values, np.nan), ""

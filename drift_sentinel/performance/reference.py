"""The labelled, scored rows CBPE calibrates on.

CBPE needs the monitored model's scores *and* labels on a reference period. A trailing reference (earlier windows
of the prediction log) carries the served scores and the labels that have arrived: that is the ideal reference.
A training snapshot carries labels but no scores; then the champion model scores it. Scores of a model on its
own training rows are optimistic (NannyML warns that calibrating on training data biases the estimate), so a
training-snapshot reference is a fallback, and the report says which reference it used.

>>> import pandas as pd
>>> frame = pd.DataFrame({"amount": [1.0, 2.0], "label": [0.0, 1.0]})
>>> scored, source = calibration_reference(frame, score_column="prediction", model=None, features=["amount"])
>>> source
"none: the reference has no column 'prediction' and no champion model to score it"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def calibration_reference(
    reference: pd.DataFrame,
    *,
    score_column: str,
    model: Any | None,
    features: Sequence[str],
    categorical: Sequence[str] = (),
    model_label: str = "champion",
) -> tuple[pd.DataFrame, str]:
    """``reference`` with a score column, and where the scores came from.

    The reference's own scores when it has any; otherwise ``model.predict_proba`` on ``features`` (categorical
    columns as ``object``, as :func:`drift_sentinel.training.train_model` fits them); otherwise the reference
    unchanged (CBPE then reports that there are no scores).
    """
    if score_column in reference.columns and reference[score_column].notna().any():
        return reference, f"served scores of the reference ({score_column!r})"
    if model is None:
        return (
            reference,
            f"none: the reference has no column {score_column!r} and no champion model to score it",
        )
    missing = [c for c in features if c not in reference.columns]
    if missing:
        return reference, f"none: the reference lacks feature column(s) {missing} the {model_label} needs"
    x = reference[list(features)].copy()
    for name in categorical:
        x[name] = x[name].astype(object)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        scores = np.asarray(model.predict_proba(x))[:, 1]
    return reference.assign(**{score_column: scores}), f"{model_label} scores on the reference"

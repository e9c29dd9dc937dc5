"""Train, evaluate and explain the demo fraud model (scikit-learn pipelines).

:func:`train_model` builds a :class:`~sklearn.pipeline.Pipeline` that imputes missing values, one-hot
encodes categoricals (``handle_unknown="ignore"``, so a brand-new category at serving time is harmless)
and fits a classifier chosen by short name (:data:`MODEL_KINDS`). :func:`permutation_importance` is
scikit-learn's permutation importance (Breiman 2001, "Random Forests", section 10; Fisher, Rudin &
Dominici 2019 "model reliance"), clipped at zero and normalised to sum to 1, which is the weight the
root-cause analysis gives each feature.

>>> from drift_sentinel.sample_data import training_frame
>>> import numpy as np
>>> frame = training_frame(np.random.default_rng(0), DEMO_START, rows=2000)
>>> model = train_model(frame, features=FEATURES, seed=0, kind="logistic_regression")
>>> metrics = evaluate_model(model, frame, label="label")
>>> sorted(metrics), metrics["auc"] > 0.7
(['accuracy', 'auc', 'log_loss', 'n'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from drift_sentinel.errors import DataError, UnknownNameError

FeatureKind = Literal["numeric", "categorical"]

FEATURES: dict[str, FeatureKind] = {
    "amount": "numeric",
    "account_age_days": "numeric",
    "transaction_velocity": "numeric",
    "distance_from_home_km": "numeric",
    "location": "categorical",
    "device_id": "categorical",
    "merchant_category": "categorical",
}
DEMO_START = datetime(2026, 10, 1, tzinfo=UTC)


def _gradient_boosting(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, random_state=seed
    )


def _random_forest(seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=150, min_samples_leaf=20, random_state=seed, n_jobs=1)


def _logistic_regression(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000, random_state=seed)


MODEL_KINDS: dict[str, Callable[[int], Any]] = {
    "gradient_boosting": _gradient_boosting,
    "random_forest": _random_forest,
    "logistic_regression": _logistic_regression,
}


def _check_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; have {list(frame.columns)}")


def _labelled(
    frame: pd.DataFrame, features: list[str], label: str, what: str
) -> tuple[pd.DataFrame, np.ndarray]:
    _check_columns(frame, [*features, label], what)
    rows = frame[frame[label].notna()]
    y = rows[label].to_numpy(dtype=float)
    if len(rows) == 0 or len(np.unique(y)) < 2:
        raise DataError(
            f"{what}: column {label!r} needs both classes among labelled rows (have {len(rows)} rows)"
        )
    return rows[features], y.astype(int)


def train_model(
    frame: pd.DataFrame,
    *,
    features: Mapping[str, FeatureKind],
    label: str = "label",
    seed: int = 0,
    kind: str = "gradient_boosting",
) -> Any:
    """Fit a classification pipeline on ``frame`` (rows without a label are skipped).

    Parameters
    ----------
    frame
        Training rows with the feature columns and ``label`` (0/1, NaN = not labelled).
    features
        Feature name → ``"numeric"`` or ``"categorical"``.
    label
        Label column.
    seed
        ``random_state`` of the estimator.
    kind
        A name in :data:`MODEL_KINDS`.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``preprocess`` (impute; one-hot categoricals) then ``model``; ``predict_proba`` takes a DataFrame.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if kind not in MODEL_KINDS:
        raise UnknownNameError(f"unknown model kind {kind!r}; accepted: {', '.join(MODEL_KINDS)}")
    bad = {name: k for name, k in features.items() if k not in ("numeric", "categorical")}
    if bad:
        raise DataError(f"feature kinds must be 'numeric' or 'categorical', got {bad}")
    numeric = [n for n, k in features.items() if k == "numeric"]
    categorical = [n for n, k in features.items() if k == "categorical"]
    x, y = _labelled(frame, [*numeric, *categorical], label, "train_model")
    numeric_steps: list[Any] = [SimpleImputer(strategy="median")]
    if kind == "logistic_regression":
        numeric_steps.append(StandardScaler())
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(*numeric_steps), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="__missing__"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                categorical,
            ),
        ]
    )
    x = x.copy()
    for name in categorical:
        x[name] = x[name].astype(object)
    pipeline = Pipeline([("preprocess", preprocess), ("model", MODEL_KINDS[kind](seed))])
    with _single_threaded():
        pipeline.fit(x, y)
    pipeline.feature_kinds_ = dict(features)
    return pipeline


def _single_threaded() -> Any:
    """OpenMP limited to one thread: on a small shared machine HistGradientBoosting's OpenMP threads spin
    against other processes (a 20k-row fit measured 25 s with the default threads vs 1.3 s with one)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _features_of(model: Any) -> list[str]:
    kinds = getattr(model, "feature_kinds_", None)
    if kinds is None:
        return list(model.feature_names_in_)
    return list(kinds)


def evaluate_model(model: Any, frame: pd.DataFrame, *, label: str = "label") -> dict[str, float]:
    """ROC AUC, accuracy at 0.5 and log loss of ``model`` on the labelled rows of ``frame``.

    Rows whose label is NaN (not arrived yet) are skipped; ``n`` is the number of rows scored.
    """
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    x, y = _labelled(frame, _features_of(model), label, "evaluate_model")
    with _single_threaded():
        proba = model.predict_proba(x)[:, 1]
    return {
        "auc": float(roc_auc_score(y, proba)),
        "accuracy": float(accuracy_score(y, proba >= 0.5)),
        "log_loss": float(log_loss(y, np.clip(proba, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "n": float(len(y)),
    }


def permutation_importance(
    model: Any,
    frame: pd.DataFrame,
    *,
    features: Mapping[str, FeatureKind] | list[str] | tuple[str, ...] | None = None,
    label: str = "label",
    seed: int = 0,
    n_repeats: int = 3,
    max_rows: int = 5000,
) -> dict[str, float]:
    """Permutation importance (drop in ROC AUC) per feature, clipped at 0 and normalised to sum 1.

    scikit-learn's :func:`sklearn.inspection.permutation_importance` (Breiman 2001) on at most
    ``max_rows`` labelled rows sampled with ``seed``. If no feature matters (all drops <= 0) every feature
    gets the same weight.
    """
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    names = list(features) if features is not None else _features_of(model)
    x, y = _labelled(frame, _features_of(model), label, "permutation_importance")
    if len(x) > max_rows:
        idx = np.random.default_rng(seed).choice(len(x), max_rows, replace=False)
        idx.sort()
        x, y = x.iloc[idx], y[idx]
    if len(np.unique(y)) < 2:
        raise DataError(f"permutation_importance: sample of {len(y)} rows has one class in {label!r}")
    with _single_threaded():
        result = sk_permutation_importance(
            model, x, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed, n_jobs=1
        )
    columns = list(x.columns)
    raw = {name: max(0.0, float(result.importances_mean[columns.index(name)])) for name in names}
    total = sum(raw.values())
    if total <= 0:
        return {name: 1.0 / len(names) for name in names}
    return {name: value / total for name, value in raw.items()}

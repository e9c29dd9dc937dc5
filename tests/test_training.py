"""The demo model: trains on the generated snapshot, scores real predictions, explains itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance as sk_permutation_importance

from drift_sentinel.errors import DataError, UnknownNameError
from drift_sentinel.sample_data import DEFAULT_START, NEW_DEVICE, training_frame
from drift_sentinel.training import FEATURES, MODEL_KINDS, evaluate_model, permutation_importance, train_model


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return training_frame(np.random.default_rng(11), DEFAULT_START, rows=4000)


@pytest.fixture(scope="module")
def model(frame):
    return train_model(frame, features=FEATURES, seed=0, kind="logistic_regression")


def test_every_kind_learns_the_fraud_signal(frame):
    holdout = training_frame(np.random.default_rng(12), DEFAULT_START, rows=3000)
    for kind in MODEL_KINDS:
        fitted = train_model(frame, features=FEATURES, seed=1, kind=kind)
        metrics = evaluate_model(fitted, holdout, label="label")
        assert metrics["auc"] > 0.75, kind
        assert 0 < metrics["log_loss"] < 0.4, kind
        assert metrics["n"] == 3000


def test_unknown_category_nan_and_missing_labels_are_handled(frame, model):
    serving = frame.head(200).copy()
    serving.loc[:49, "device_id"] = NEW_DEVICE
    serving.loc[50:59, "amount"] = np.nan
    serving.loc[60:69, "location"] = None
    proba = model.predict_proba(serving[list(FEATURES)])[:, 1]
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
    partly = frame.copy()
    partly.loc[: len(partly) // 2, "label"] = np.nan
    metrics = evaluate_model(model, partly, label="label")
    assert metrics["n"] == partly["label"].notna().sum()


def test_seed_determinism(frame):
    a = train_model(frame, features=FEATURES, seed=3, kind="gradient_boosting")
    b = train_model(frame, features=FEATURES, seed=3, kind="gradient_boosting")
    x = frame[list(FEATURES)].head(300)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_permutation_importance_is_sklearns_normalised(frame, model):
    imp = permutation_importance(
        model, frame, features=FEATURES, label="label", seed=0, n_repeats=3, max_rows=5000
    )
    assert set(imp) == set(FEATURES)
    assert sum(imp.values()) == pytest.approx(1.0)
    x, y = frame[list(FEATURES)], frame["label"].astype(int).to_numpy()
    ref = sk_permutation_importance(model, x, y, scoring="roc_auc", n_repeats=3, random_state=0, n_jobs=1)
    raw = np.clip(ref.importances_mean, 0, None)
    expected = dict(zip(FEATURES, raw / raw.sum(), strict=True))
    for name in FEATURES:
        assert imp[name] == pytest.approx(expected[name]), name
    # amount is the strongest term of the generating formula
    assert max(imp, key=imp.get) == "amount"


def test_errors_name_the_problem(frame):
    with pytest.raises(UnknownNameError, match="gradient_boosting"):
        train_model(frame, features=FEATURES, kind="deep_net")
    with pytest.raises(DataError, match="no_such_column"):
        train_model(frame, features={"no_such_column": "numeric"})
    one_class = frame.assign(label=0.0)
    with pytest.raises(DataError, match="both classes"):
        train_model(one_class, features=FEATURES)

"""The public detection API: known answers against scipy, report shape and JSON round trip."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from drift_sentinel import DriftReport, Verdict, detect_drift
from drift_sentinel.detection import (
    DetectionConfig,
    ReferenceProfile,
    TestResult,
    chi_square,
    ks_test,
    profile_reference,
    psi,
    wasserstein,
)


def _psi_by_definition(ref: np.ndarray, cur: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    k = edges.size + 1
    pr = np.maximum(np.bincount(np.searchsorted(edges, ref, side="right"), minlength=k) / ref.size, eps)
    pc = np.maximum(np.bincount(np.searchsorted(edges, cur, side="right"), minlength=k) / cur.size, eps)
    return float(np.sum((pc - pr) * np.log(pc / pr)))


@pytest.mark.parametrize(
    ("n1", "n2", "shift", "seed"),
    [(50, 70, 0.0, 0), (500, 300, 0.3, 1), (2_000, 2_000, 0.05, 2), (9_000, 10_000, 0.02, 3), (1, 5, 1.0, 4)],
)
def test_ks_matches_scipy_exact_regime(n1: int, n2: int, shift: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n1), rng.normal(shift, 1, size=n2)
    ours, ref = ks_test(a, b), stats.ks_2samp(a, b)
    assert ours.statistic == ref.statistic
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-6)
    assert (ours.n_reference, ours.n_current, ours.method) == (n1, n2, "ks")


@pytest.mark.parametrize(
    ("n1", "n2", "shift"), [(20_000, 15_000, 0.02), (50_000, 12_000, 0.0), (30_000, 30_000, 0.05)]
)
def test_ks_matches_scipy_large_samples(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    a, b = rng.normal(size=n1), rng.normal(shift, 1, size=n2)
    ours, ref = ks_test(a, b), stats.ks_2samp(a, b)
    assert ours.statistic == ref.statistic
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-3)


def test_ks_hand_checkable_and_ties() -> None:
    assert ks_test([0.0], [1.0]).statistic == 1.0
    a, b = [1, 1, 2, 2, 3, 3] * 5, [1, 2, 2, 3, 3, 3] * 5
    assert ks_test(a, b).statistic == stats.ks_2samp(a, b).statistic


@pytest.mark.parametrize("seed", range(4))
def test_wasserstein_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_t(3, size=1000 + 37 * seed)
    b = np.round(rng.normal(0.2 * seed, 1 + seed, size=800), 1)  # ties
    assert wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)
    assert wasserstein([0, 1, 3], [5, 6, 8]) == 5.0


@pytest.mark.parametrize(("bins", "seed"), [(10, 0), (5, 1), (20, 2)])
def test_psi_matches_its_definition(bins: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.gamma(2.0, size=3000)
    cur = rng.gamma(2.5, size=2000)
    assert psi(ref, cur, bins=bins) == pytest.approx(_psi_by_definition(ref, cur, bins), rel=1e-12)
    disc = rng.integers(0, 3, size=1000).astype(float)  # duplicate quantile edges collapse
    assert psi(disc, disc[::-1], bins=bins) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 3, 12])
def test_chi_square_matches_scipy_contingency(k: int) -> None:
    rng = np.random.default_rng(k)
    cats = [f"c{i}" for i in range(k)]
    a = rng.choice(cats, size=700)
    b = rng.choice(cats[: max(k - 1, 1)] + ["new"], size=500)
    union = sorted(set(a) | set(b))
    table = [[int((a == c).sum()) for c in union], [int((b == c).sum()) for c in union]]
    expected = stats.chi2_contingency(table)
    ours = chi_square(a, b)
    assert ours.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert ours.effect_size == pytest.approx(math.sqrt(expected.statistic / 1200), rel=1e-12)


def test_test_result_is_frozen_and_carries_what_was_used() -> None:
    r = ks_test([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert isinstance(r, TestResult)
    with pytest.raises(AttributeError):
        r.statistic = 0.0  # type: ignore[misc]
    for field in ("statistic", "p_value", "threshold", "drifted", "method", "n_reference", "n_current"):
        assert hasattr(r, field)


def _frames(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "amount": rng.lognormal(3, 1, n),
            "country": rng.choice(["de", "fr", "us"], n, p=[0.3, 0.3, 0.4]),
        }
    )
    cur = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "amount": rng.lognormal(3.5, 1, n),
            "country": rng.choice(["de", "fr", "us"], n, p=[0.3, 0.3, 0.4]),
        }
    )
    return ref, cur


def test_detect_drift_finds_the_shifted_feature_only() -> None:
    ref, cur = _frames()
    report = detect_drift(ref, cur)
    assert isinstance(report, DriftReport)
    assert report.drift_detected and report.verdict is Verdict.FAILED
    assert [a.name for a in report.affected_features] == ["amount"]
    assert report.features["amount"].votes["ks"] is True
    assert report.features["age"].verdict is Verdict.PASSED
    assert report.features["country"].kind == "categorical"
    assert 0.0 < report.drift_score <= 1.0
    assert (report.n_reference, report.n_current) == (3000, 3000)


def test_no_drift_passes() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=4000), "c": rng.choice(list("abc"), 4000)})
    cur = pd.DataFrame({"x": rng.normal(size=4000), "c": rng.choice(list("abc"), 4000)})
    report = detect_drift(ref, cur, {"algorithms": ["ks", "psi", "wasserstein", "chi_square"]})
    assert report.verdict is Verdict.PASSED and not report.drift_detected
    assert report.drift_score == 0.0 and report.affected_features == ()


def test_report_json_round_trip_and_pickle() -> None:
    ref, cur = _frames(seed=3)
    report = detect_drift(ref, cur, DetectionConfig(algorithms="all"))
    data = json.loads(json.dumps(report.to_dict()))
    for key in ("drift_detected", "drift_score", "affected_features", "timestamp", "verdict", "drift_start"):
        assert key in data
    assert set(data["affected_features"][0]) == {"name", "drift_type", "p_value", "magnitude"}
    assert DriftReport.from_dict(data) == report
    assert pickle.loads(pickle.dumps(report)) == report


def test_profile_is_reused_and_gives_the_same_report() -> None:
    ref, cur = _frames(seed=4)
    cfg = {"features": {"age": "numeric", "amount": "numeric", "country": "categorical"}}
    profile = profile_reference(ref, cfg)
    assert isinstance(profile, ReferenceProfile)
    restored = pickle.loads(pickle.dumps(profile))
    with_profile = detect_drift(ref, cur, cfg, profile=restored).to_dict()
    without = detect_drift(ref, cur, cfg).to_dict()
    for d in (with_profile, without):
        d.pop("timestamp")
    assert with_profile == without

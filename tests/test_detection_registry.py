"""The detector registry: conformance of every registered detector, unknown names, the alibi-detect adapter."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.detection import (
    DetectionConfig,
    TestResult,
    available_detectors,
    create_detector,
    get_detector,
)
from drift_sentinel.detection.alibi import ALIBI_DETECTORS, register_alibi_detectors
from drift_sentinel.detection.registry import _REGISTRY, DetectorInfo, register_detector
from drift_sentinel.errors import UnknownNameError


def _data(kind: str, seed: int, n: int = 600, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    if kind == "numeric":
        return rng.normal(shift, 1, n)
    if kind == "categorical":
        return rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5])
    return (rng.random(n) < (0.1 if shift == 0 else 0.5)).astype(float)  # error bits


def _run(info: DetectorInfo, seed: int, shift: float = 0.0):
    det = info.factory()
    if info.shape == "streaming":
        kind = info.kinds[0]
        values = np.r_[_data(kind, seed, 3000), _data(kind, seed + 1, 3000, shift=shift or 2.0)]
        return det.detect(values)
    if info.shape == "multivariate":
        ref = pd.DataFrame({"a": _data("numeric", seed), "c": _data("categorical", seed + 1)})
        cur = pd.DataFrame(
            {"a": _data("numeric", seed + 2, shift=shift), "c": _data("categorical", seed + 3)}
        )
        return det.fit(ref).test(cur)
    kind = info.kinds[0]
    return det.fit(_data(kind, seed)).test(_data(kind, seed + 1, shift=shift))


@pytest.mark.parametrize("name", available_detectors())
def test_every_registered_detector_conforms(name: str) -> None:
    info = get_detector(name)
    assert info.name == name and info.shape in ("batch", "streaming", "multivariate") and info.kinds
    first, again = _run(info, seed=5), _run(info, seed=5)
    assert first == again  # same data and seed, same answer
    if info.shape == "streaming":
        assert isinstance(first, list) and all(isinstance(i, int) for i in first)
        assert first  # the injected change is detected
        det = info.factory()
        assert hasattr(det, "update") and hasattr(det, "drift_detected")
    else:
        assert first.threshold is not None and first.n_reference > 0 and first.n_current > 0
        assert isinstance(first.drifted, bool)
        shifted = _run(info, seed=5, shift=1.5)
        assert shifted.drifted and not first.drifted
        if isinstance(first, TestResult):
            assert first.method == name
    with pytest.raises(ValueError):
        info.factory(**dict(info.invalid_params))
    with pytest.raises(TypeError):
        info.factory(0.5)  # keyword-only parameters


def test_unknown_name_lists_the_accepted_ones() -> None:
    with pytest.raises(UnknownNameError) as err:
        create_detector("kolmogorov")
    message = str(err.value)
    assert "unknown detector 'kolmogorov'" in message
    for name in ("ks", "psi", "adwin", "domain_classifier"):
        assert name in message


def test_config_accepts_registered_names_only() -> None:
    with pytest.raises(ValueError, match="accepted: ks, psi"):
        DetectionConfig(algorithms=["ks", "nope"])
    assert set(DetectionConfig(algorithms="all").algorithms) <= set(available_detectors())


def test_a_registered_batch_detector_runs_inside_detect_drift() -> None:
    """A third-party detector added to the registry is used by ``detect_drift`` when configured."""
    from drift_sentinel import detect_drift
    from drift_sentinel.detection.batch import KSDetector

    class MedianShift(KSDetector):
        name = "median_shift"

    register_detector(
        DetectorInfo("median_shift", "batch", ("numeric",), MedianShift, "test", {"alpha": 3.0})
    )
    try:
        rng = np.random.default_rng(1)
        ref, cur = (
            pd.DataFrame({"x": rng.normal(size=2000)}),
            pd.DataFrame({"x": rng.normal(1, 1, size=2000)}),
        )
        report = detect_drift(ref, cur, {"algorithms": ["median_shift"]})
        assert report.features["x"].votes == {"median_shift": True}
        assert report.features["x"].results["median_shift"].p_adjusted <= 0.05
    finally:
        _REGISTRY.pop("median_shift")


def test_alibi_adapter_is_skipped_cleanly_when_alibi_detect_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """alibi-detect is an optional extra and is not installed here (it pins numpy<2): the adapter must
    register nothing, and configs naming its detectors must be rejected with the accepted names."""
    monkeypatch.setitem(sys.modules, "alibi_detect", None)  # makes `import alibi_detect` raise ImportError
    before = set(available_detectors())
    assert register_alibi_detectors() is False
    assert set(available_detectors()) == before
    assert not any(name in before for name in ALIBI_DETECTORS)
    with pytest.raises(ValueError, match="unknown algorithm"):
        DetectionConfig(algorithms=["alibi_ks"])
    with pytest.raises(UnknownNameError):
        get_detector("alibi_ks")

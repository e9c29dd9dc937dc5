"""One detector catalog: the registry is the only source of names, kinds and thresholds; config validation,
the sensitivity defaults and the docs table derive from it; built-ins register like any plug-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drift_sentinel.detection import DetectionConfig, detect_drift
from drift_sentinel.detection.alibi import alibi_detector_infos
from drift_sentinel.detection.builtins import BUILTIN_DETECTORS
from drift_sentinel.detection.registry import (
    _PROVIDERS,
    _REGISTRY,
    DetectorInfo,
    builtin_detectors,
    catalog_table,
    detector_names,
    get_detector,
    register_detector,
)
from drift_sentinel.detection.sensitivity import SENSITIVITY_THRESHOLDS, thresholds_for

DOCS = Path(__file__).resolve().parents[1] / "docs" / "detection.md"


def test_docs_table_is_generated_from_the_registry() -> None:
    table = catalog_table([get_detector(n) for n in detector_names()] + alibi_detector_infos())
    assert table in DOCS.read_text(), "docs/detection.md: regenerate the detector table with catalog_table()"


def test_builtins_are_registered_through_the_provider_hook() -> None:
    assert _PROVIDERS[0] == "drift_sentinel.detection.builtins:register"
    assert builtin_detectors() == tuple(i.name for i in BUILTIN_DETECTORS)
    assert DetectionConfig(algorithms="all").algorithms == list(builtin_detectors())
    for info in BUILTIN_DETECTORS:
        assert get_detector(info.name) is info and info.builtin and info.effect


def test_sensitivity_defaults_come_from_the_catalog() -> None:
    """The documented table (sensitivity.py, docs) and the catalog agree."""
    expected = {  # low, medium, high — the table in docs/detection.md
        "ks": (0.10, 0.05, 0.025),
        "wasserstein": (0.20, 0.10, 0.05),
        "psi": (0.20, 0.10, 0.05),
        "chi_square": (0.20, 0.10, 0.05),
        "adwin": (0.50, 0.25, 0.10),
        "page_hinkley": (0.50, 0.25, 0.10),
        "domain_classifier": (0.10, 0.05, 0.025),
        "error_rate": (0.10, 0.05, 0.02),
    }
    for i, level in enumerate(("low", "medium", "high")):
        th = thresholds_for(level)
        assert SENSITIVITY_THRESHOLDS[level] == th
        assert {k: th.effect[k] for k in expected} == {k: v[i] for k, v in expected.items()}
        assert (th.alpha, th.null_rate) == ((0.01, 0.05, 0.10)[i], (0.10, 0.05, 0.02)[i])


def test_a_plugin_declares_its_defaults_and_threshold_range_once() -> None:
    """A third-party entry is validated, defaulted and run exactly like a built-in one."""
    from drift_sentinel.detection.batch import KSDetector

    class Tail(KSDetector):
        name = "tail_ks"

    register_detector(
        DetectorInfo(
            "tail_ks", "batch", ("numeric",), Tail, "test plug-in", {"alpha": 3.0},
            effect="KS D", threshold_range=(0.0, 1.0), defaults={"low": 0.3, "medium": 0.2, "high": 0.1},
        )
    )  # fmt: skip
    try:
        assert thresholds_for("medium").effect["tail_ks"] == 0.2
        assert "tail_ks" not in DetectionConfig(algorithms="all").algorithms  # not a built-in
        with pytest.raises(ValueError, match=r"thresholds\.\*\.tail_ks: must be in \[0, 1\], got 1\.5"):
            DetectionConfig(algorithms=["tail_ks"], thresholds={"*": {"tail_ks": 1.5}})
        rng = np.random.default_rng(3)
        ref = pd.DataFrame({"x": rng.normal(size=1500)})
        cur = pd.DataFrame({"x": rng.normal(0.15, 1, size=1500)})  # KS D ≈ 0.06-0.1: below 0.2
        report = detect_drift(ref, cur, {"algorithms": ["tail_ks", "ks"]})
        x = report.features["x"]
        assert list(x.results) == ["ks", "tail_ks"]  # built-ins first
        assert x.results["tail_ks"].threshold == 0.2 and x.votes == {"ks": True, "tail_ks": False}
        assert x.results["tail_ks"].statistic == x.results["ks"].statistic
    finally:
        _REGISTRY.pop("tail_ks")


def test_a_categorical_plugin_runs_on_categorical_features() -> None:
    """Registered detectors for categorical features run too, fed the reference values (from the profile)."""
    from drift_sentinel.detection.batch import ChiSquareDetector

    seen: list[int] = []

    class Counting(ChiSquareDetector):
        name = "counting"

        def test(self, current):  # overrides test: the engine must not take the parent's fast path
            seen.append(int(self._ref_counts.sum()))
            return super().test(current)

    register_detector(DetectorInfo("counting", "batch", ("categorical",), Counting, "test", {"alpha": 0.0}))
    try:
        rng = np.random.default_rng(4)
        ref = pd.DataFrame({"c": rng.choice(list("abc"), 900, p=[0.5, 0.3, 0.2])})
        cur = pd.DataFrame({"c": rng.choice(list("abc"), 800, p=[0.2, 0.3, 0.5])})
        report = detect_drift(ref, cur, {"algorithms": ["chi_square", "counting"]})
        c = report.features["c"]
        assert seen == [900]
        assert c.results["counting"].statistic == pytest.approx(c.results["chi_square"].statistic)
        assert c.votes == {"chi_square": True, "counting": True}
    finally:
        _REGISTRY.pop("counting")


def _plugin_register() -> None:
    from drift_sentinel.detection.batch import KSDetector

    register_detector(DetectorInfo("plugin_ks", "batch", ("numeric",), KSDetector, "entry-point plug-in"))


def _broken_register() -> None:
    raise RuntimeError("this plug-in is broken")


def test_entry_point_plugins_load_like_the_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A package declaring a ``drift_sentinel.detectors`` entry point gets its detectors registered on the
    first look-up, after the built-ins; a broken one is skipped with a warning."""
    from importlib.metadata import EntryPoint

    import drift_sentinel.detection.registry as registry

    group = registry.ENTRY_POINT_GROUP
    plugins = [
        EntryPoint("good", "tests.test_detection_catalog:_plugin_register", group),
        EntryPoint("bad", "tests.test_detection_catalog:_broken_register", group),
    ]
    monkeypatch.setattr(
        registry, "entry_points", lambda group: plugins if group == registry.ENTRY_POINT_GROUP else []
    )
    monkeypatch.setitem(registry._STATE, "providers", "new")
    try:
        with pytest.warns(UserWarning, match="detector plug-in 'bad'"):
            info = registry.get_detector("plugin_ks")
        assert not info.builtin and registry.detector_names()[-1] == "plugin_ks"
        assert DetectionConfig(algorithms=["ks", "plugin_ks"]).algorithms == ["ks", "plugin_ks"]
        assert builtin_detectors() == tuple(i.name for i in BUILTIN_DETECTORS)
    finally:
        _REGISTRY.pop("plugin_ks", None)

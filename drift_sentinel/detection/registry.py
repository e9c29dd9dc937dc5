"""The detector registry: every detector under a short name (``"ks"``, ``"psi"``, ``"adwin"`` …).

Unknown names raise :class:`~drift_sentinel.errors.UnknownNameError` listing the accepted ones. Optional
integrations (alibi-detect) add their detectors here when their package imports.

>>> create_detector("ks").params
{'alpha': 0.05, 'threshold': 0.05}
>>> sorted(n for n in available_detectors() if not n.startswith("alibi_"))[:3]
['adwin', 'chi_square', 'ddm']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from drift_sentinel.detection._frozen import FrozenMap
from drift_sentinel.errors import UnknownNameError

__all__ = ["DetectorInfo", "available_detectors", "create_detector", "get_detector", "register_detector"]

Shape = Literal["batch", "streaming", "multivariate"]


@dataclass(frozen=True)
class DetectorInfo:
    """A registered detector: its shape, the feature kinds it applies to, how to build it.

    ``invalid_params`` is one set of parameters its constructor must reject (used by the conformance test).
    """

    name: str
    shape: Shape
    kinds: tuple[str, ...]
    factory: Callable[..., Any]
    description: str
    invalid_params: Mapping[str, Any] = field(default_factory=dict)
    builtin: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "invalid_params", FrozenMap(self.invalid_params))


_REGISTRY: dict[str, DetectorInfo] = {}


def register_detector(info: DetectorInfo, *, replace: bool = False) -> DetectorInfo:
    """Add a detector under ``info.name``; a name can only be registered once unless ``replace``."""
    if info.name in _REGISTRY and not replace:
        raise ValueError(f"detector {info.name!r} is already registered")
    if info.shape not in ("batch", "streaming", "multivariate"):
        raise ValueError(f"detector {info.name!r}: unknown shape {info.shape!r}")
    _REGISTRY[info.name] = info
    return info


def get_detector(name: str) -> DetectorInfo:
    """The registered detector ``name``; :class:`UnknownNameError` lists the accepted names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown detector {name!r}; accepted: {', '.join(sorted(_REGISTRY))}"
        ) from None


def create_detector(name: str, **params: Any) -> Any:
    """A new detector ``name`` built with ``params`` (keyword-only, validated by its constructor)."""
    return get_detector(name).factory(**params)


def available_detectors() -> tuple[str, ...]:
    """Every registered name, built-in ones first."""
    return tuple(sorted(_REGISTRY, key=lambda n: (not _REGISTRY[n].builtin, n)))


def _register_builtins() -> None:
    from drift_sentinel.detection.batch import ChiSquareDetector, KSDetector, PSIDetector, WassersteinDetector
    from drift_sentinel.detection.multivariate import DomainClassifier
    from drift_sentinel.detection.streaming import ADWIN, DDM, PageHinkley

    for info in (
        DetectorInfo(
            "ks", "batch", ("numeric",), KSDetector, "two-sample Kolmogorov–Smirnov", {"alpha": 2.0}
        ),
        DetectorInfo(
            "psi", "batch", ("numeric", "categorical"), PSIDetector, "population stability index", {"bins": 1}
        ),
        DetectorInfo(
            "wasserstein",
            "batch",
            ("numeric",),
            WassersteinDetector,
            "1-Wasserstein distance",
            {"threshold": -1},
        ),
        DetectorInfo(
            "chi_square",
            "batch",
            ("categorical",),
            ChiSquareDetector,
            "chi-square homogeneity",
            {"alpha": 0.0},
        ),
        DetectorInfo(
            "adwin", "streaming", ("numeric",), ADWIN, "adaptive windowing (Bifet & Gavaldà)", {"delta": 0}
        ),
        DetectorInfo(
            "page_hinkley", "streaming", ("numeric",), PageHinkley, "Page-Hinkley test", {"mode": "sideways"}
        ),
        DetectorInfo(
            "ddm", "streaming", ("error",), DDM, "drift detection method (Gama et al.)", {"warm_start": -1}
        ),
        DetectorInfo(
            "domain_classifier",
            "multivariate",
            ("numeric", "categorical"),
            DomainClassifier,
            "classifier two-sample test (AUC)",
            {"threshold": 0.7},
        ),
    ):
        register_detector(info, replace=True)


_register_builtins()

from drift_sentinel.detection.alibi import register_alibi_detectors  # noqa: E402

register_alibi_detectors()

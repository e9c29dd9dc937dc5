"""The detector catalog: every detector under a short name (``"ks"``, ``"psi"``, ``"adwin"`` …).

This is the only place detector names, shapes, the feature kinds they apply to, their result shapes and their
threshold ranges live: :class:`~drift_sentinel.detection.config.DetectionConfig` validates against it, the
engine dispatches on it, :mod:`~drift_sentinel.detection.sensitivity` takes each detector's default effect
thresholds from it, and the docs table is generated from it (:func:`catalog_table`).

Detectors arrive through *providers*: functions that call :func:`register_detector`. The built-ins
(:func:`drift_sentinel.detection.builtins.register`) and the alibi-detect adapter are providers, and so is
any third-party package that declares one under the ``drift_sentinel.detectors`` entry-point group. They are
loaded by name on the first look-up, so this module imports no detector code (and no scipy, numba or
scikit-learn): a detector's ``factory`` may be a ``"module:attr"`` string, imported when first called.

Unknown names raise :class:`~drift_sentinel.errors.UnknownNameError` listing the accepted ones.

>>> create_detector("ks").params
{'alpha': 0.05, 'threshold': 0.05}
>>> sorted(n for n in available_detectors() if not n.startswith("alibi_"))[:3]
['adwin', 'chi_square', 'ddm']
>>> get_detector("ks").result_type
'TestResult'
"""

from __future__ import annotations

import importlib
import math
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

from drift_sentinel.detection._frozen import FrozenMap
from drift_sentinel.errors import UnknownNameError

__all__ = [
    "ENTRY_POINT_GROUP",
    "RESULT_TYPES",
    "DetectorInfo",
    "available_detectors",
    "builtin_detectors",
    "catalog_table",
    "create_detector",
    "detector_names",
    "find_detector",
    "get_detector",
    "register_detector",
]

Shape = Literal["batch", "streaming", "multivariate"]

RESULT_TYPES: Mapping[str, str] = FrozenMap(
    {
        "batch": "TestResult",  # fit(reference) then test(current)
        "streaming": "list[int]",  # update(x) / drift_detected; detect(values) -> detection indices
        "multivariate": "MultivariateDrift",  # fit(reference_frame) then test(current_frame)
    }
)
"""What each shape's ``test``/``detect`` returns."""

ENTRY_POINT_GROUP = "drift_sentinel.detectors"
"""Third-party packages declare ``name = "package.module:register"`` here; ``register()`` takes no argument."""

# Providers shipped with drift-sentinel, loaded by name exactly as the entry points are.
_PROVIDERS: tuple[str, ...] = (
    "drift_sentinel.detection.builtins:register",
    "drift_sentinel.detection.alibi:register_alibi_detectors",
)


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class _LazyFactory:
    """A ``"module:attr"`` factory, imported on its first call (keeps the catalog free of heavy imports)."""

    def __init__(self, target: str) -> None:
        if ":" not in target:
            raise ValueError(f"factory {target!r} must be a callable or 'module:attr'")
        self.target = target
        self._obj: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._obj is None:
            self._obj = _resolve(self.target)
        return self._obj(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<factory {self.target}>"


@dataclass(frozen=True)
class DetectorInfo:
    """A registered detector.

    Parameters
    ----------
    name
        The short name used in ``algorithms`` and ``thresholds``.
    shape
        ``batch`` (``fit(reference)`` / ``test(current) -> TestResult``), ``streaming`` (``update(x)``,
        ``drift_detected``, ``detect_changes(values)``) or ``multivariate`` (frames in, ``MultivariateDrift``
        out).
    kinds
        The feature kinds it applies to: ``numeric``, ``categorical``, ``error`` (the error stream).
    factory
        Builds the detector from keyword-only parameters: a callable or a ``"module:attr"`` string.
    description
        One line for the docs table.
    invalid_params
        One set of parameters the factory must reject (used by the conformance test).
    builtin
        Shipped with drift-sentinel: part of ``algorithms: all`` and listed first.
    effect
        What its effect size measures (``"KS D"``); empty when it reports none, and then its (adjusted)
        p-value alone decides its vote inside :func:`~drift_sentinel.detect_drift`.
    threshold_range
        The accepted range (inclusive) of its effect threshold in ``DetectionConfig.thresholds``.
    defaults
        Its effect threshold per sensitivity (``{"low": …, "medium": …, "high": …}``); 0 when absent.
    applies_to, reference
        The docs table's "applies to" and "reference" columns.
    """

    name: str
    shape: Shape
    kinds: tuple[str, ...]
    factory: Callable[..., Any] | str
    description: str
    invalid_params: Mapping[str, Any] = field(default_factory=dict)
    builtin: bool = False
    effect: str = ""
    threshold_range: tuple[float, float] = (0.0, math.inf)
    defaults: Mapping[str, float] = field(default_factory=dict)
    applies_to: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "invalid_params", FrozenMap(self.invalid_params))
        object.__setattr__(self, "defaults", FrozenMap(self.defaults))
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if isinstance(self.factory, str):
            object.__setattr__(self, "factory", _LazyFactory(self.factory))
        lo, hi = self.threshold_range
        if not lo <= hi:
            raise ValueError(f"detector {self.name!r}: threshold_range {self.threshold_range} is empty")

    @property
    def result_type(self) -> str:
        """The type its ``test``/``detect`` returns (see :data:`RESULT_TYPES`)."""
        return RESULT_TYPES[self.shape]

    def create(self, **params: Any) -> Any:
        """A new detector built with ``params``."""
        assert callable(self.factory)
        return self.factory(**params)


_REGISTRY: dict[str, DetectorInfo] = {}
_LOCK = threading.RLock()
_STATE = {"providers": "new"}  # new -> loading -> done


def _load_providers() -> None:
    """Run the built-in providers and the entry-point plug-ins once (thread-safe, re-entrant)."""
    if _STATE["providers"] == "done":
        return
    with _LOCK:
        if _STATE["providers"] != "new":
            return  # done by another thread, or a provider registering right now (re-entrant call)
        _STATE["providers"] = "loading"
        try:
            for target in _PROVIDERS:
                _resolve(target)()
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    ep.load()()
                except Exception as exc:  # a broken plug-in must not take the built-ins down
                    warnings.warn(f"detector plug-in {ep.name!r} ({ep.value}) failed: {exc}", stacklevel=2)
        finally:
            _STATE["providers"] = "done"


def register_detector(info: DetectorInfo, *, replace: bool = False) -> DetectorInfo:
    """Add a detector under ``info.name``; a name can only be registered once unless ``replace``."""
    _load_providers()
    if info.shape not in RESULT_TYPES:
        raise ValueError(f"detector {info.name!r}: unknown shape {info.shape!r}")
    with _LOCK:
        if info.name in _REGISTRY and not replace:
            raise ValueError(f"detector {info.name!r} is already registered")
        _REGISTRY[info.name] = info
    return info


def find_detector(name: str) -> DetectorInfo | None:
    """The registered detector ``name``, or ``None``."""
    _load_providers()
    return _REGISTRY.get(name)


def get_detector(name: str) -> DetectorInfo:
    """The registered detector ``name``; :class:`UnknownNameError` lists the accepted names otherwise."""
    info = find_detector(name)
    if info is None:
        raise UnknownNameError(f"unknown detector {name!r}; accepted: {', '.join(sorted(_REGISTRY))}")
    return info


def create_detector(name: str, **params: Any) -> Any:
    """A new detector ``name`` built with ``params`` (keyword-only, validated by its constructor)."""
    return get_detector(name).create(**params)


def detector_names() -> tuple[str, ...]:
    """Every registered name in registration order, built-in ones first."""
    _load_providers()
    return tuple(sorted(_REGISTRY, key=lambda n: not _REGISTRY[n].builtin))


def builtin_detectors() -> tuple[str, ...]:
    """The built-in names in registration order: what ``algorithms: all`` means."""
    return tuple(n for n in detector_names() if _REGISTRY[n].builtin)


def available_detectors() -> tuple[str, ...]:
    """Every registered name, built-in ones first, each group sorted."""
    _load_providers()
    return tuple(sorted(_REGISTRY, key=lambda n: (not _REGISTRY[n].builtin, n)))


def catalog_table(infos: list[DetectorInfo] | None = None) -> str:
    """The docs' Markdown table of detectors (``docs/detection.md`` carries it verbatim).

    >>> print(catalog_table().splitlines()[2])
    | `ks` | batch | numeric | KS D (0 to 1) | Smirnov 1939; exact p-values as scipy; asymptotic ... |
    """
    rows = [
        "| name | shape | applies to | effect size (threshold range) | reference |",
        "| --- | --- | --- | --- | --- |",
    ]
    for info in infos if infos is not None else [get_detector(n) for n in detector_names()]:
        applies = info.applies_to or ", ".join(info.kinds)
        lo, hi = info.threshold_range
        effect = f"{info.effect} ({f'≥ {lo:g}' if math.isinf(hi) else f'{lo:g} to {hi:g}'})"
        rows.append(
            f"| `{info.name}` | {info.shape} | {applies} | {effect if info.effect else '— (p-value decides)'} | "
            f"{info.reference or info.description} |"
        )
    return "\n".join(rows)

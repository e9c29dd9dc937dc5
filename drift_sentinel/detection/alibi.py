"""alibi-detect adapter: its univariate detectors through the same registry, when it is installed.

alibi-detect is an optional extra (``pip install drift-sentinel[alibi]``; BSL 1.1 licensed, pins numpy<2),
so nothing here imports it at module level. :func:`register_alibi_detectors` registers ``alibi_ks``,
``alibi_cvm`` and ``alibi_chi_square`` only when ``import alibi_detect`` succeeds, and otherwise returns
``False`` and leaves the registry untouched.

>>> isinstance(register_alibi_detectors(), bool)
True
"""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING, Any

from drift_sentinel.detection.registry import DetectorInfo, register_detector
from drift_sentinel.detection.results import TestResult

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

__all__ = ["ALIBI_DETECTORS", "AlibiDetector", "alibi_detector_infos", "register_alibi_detectors"]

# registry name -> (alibi_detect.cd class, feature kinds)
ALIBI_DETECTORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "alibi_ks": ("KSDrift", ("numeric",)),
    "alibi_cvm": ("CVMDrift", ("numeric",)),
    "alibi_chi_square": ("ChiSquareDrift", ("categorical",)),
}


class AlibiDetector:
    """One alibi-detect drift detector in the ``fit(reference)`` / ``test(current)`` shape."""

    def __init__(self, *, detector: str, alpha: float = 0.05, module: Any = None) -> None:
        if detector not in {c for c, _ in ALIBI_DETECTORS.values()}:
            raise ValueError(f"unknown alibi-detect detector {detector!r}")
        if not 0 < alpha < 1:
            raise ValueError(f"alibi: alpha must be in (0, 1), got {alpha!r}")
        self.detector = detector
        self.alpha = float(alpha)
        self.name = next(n for n, (c, _) in ALIBI_DETECTORS.items() if c == detector)
        self._module = module
        self._impl: Any = None

    @property
    def params(self) -> dict[str, Any]:
        return {"detector": self.detector, "alpha": self.alpha}

    def _cd(self) -> Any:
        return self._module if self._module is not None else importlib.import_module("alibi_detect.cd")

    @staticmethod
    def _matrix(values: ArrayLike, categorical: bool) -> np.ndarray:
        import numpy as np
        import pandas as pd

        s = pd.Series(values, copy=False).dropna()
        if categorical:
            return s.astype(str).to_numpy(dtype=object).reshape(-1, 1)
        arr = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
        return arr[np.isfinite(arr)].reshape(-1, 1)

    def fit(self, reference: ArrayLike) -> AlibiDetector:
        import numpy as np

        self._categorical = self.detector == "ChiSquareDrift"
        x_ref = self._matrix(reference, self._categorical)
        if self._categorical:
            cats = sorted(set(x_ref[:, 0]))
            self._codes = {c: i for i, c in enumerate(cats)}
            x_ref = np.array([[self._codes[c]] for c in x_ref[:, 0]], dtype=np.int64)
            self._impl = getattr(self._cd(), self.detector)(
                x_ref, p_val=self.alpha, categories_per_feature={0: None}
            )
        else:
            self._impl = getattr(self._cd(), self.detector)(x_ref.astype(np.float32), p_val=self.alpha)
        self._n_ref = int(x_ref.shape[0])
        return self

    def test(self, current: ArrayLike) -> TestResult:
        import numpy as np

        if self._impl is None:
            raise ValueError(f"{self.name}: call fit(reference) before test(current)")
        x = self._matrix(current, self._categorical)
        if self._categorical:
            unseen = len(self._codes)
            x = np.array([[self._codes.get(c, unseen)] for c in x[:, 0]], dtype=np.int64)
        else:
            x = x.astype(np.float32)
        data = self._impl.predict(x)["data"]
        p = float(np.ravel(data["p_val"])[0])
        stat = float(np.ravel(data.get("distance", [math.nan]))[0])
        return TestResult(
            method=self.name,
            statistic=stat,
            p_value=p,
            threshold=self.alpha,
            drifted=bool(data["is_drift"]),
            n_reference=self._n_ref,
            n_current=int(x.shape[0]),
            effect_size=stat,
            alpha=self.alpha,
            detail=f"alibi_detect.cd.{self.detector}",
        )


def alibi_detector_infos() -> list[DetectorInfo]:
    """The catalog entries of the alibi-detect detectors (registered only when alibi-detect imports)."""
    from functools import partial

    return [
        DetectorInfo(
            name,
            "batch",
            kinds,
            partial(AlibiDetector, detector=cls),
            f"alibi-detect {cls}",
            {"alpha": 1.5},
            effect="",  # alibi's distance is not scale-free: its p-value decides
            applies_to=" / ".join(kinds),
            reference="alibi-detect, only when installed",
        )
        for name, (cls, kinds) in ALIBI_DETECTORS.items()
    ]


def register_alibi_detectors() -> bool:
    """Register the alibi-detect detectors if ``alibi_detect`` imports; ``False`` (and nothing registered)
    when it is not installed or fails to import. A catalog provider, loaded like any plug-in."""
    try:
        importlib.import_module("alibi_detect")
    except Exception:  # ImportError, or a broken install (numpy ABI mismatch)
        return False
    for info in alibi_detector_infos():
        register_detector(info, replace=True)
    return True

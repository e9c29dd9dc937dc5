"""Streaming drift detectors: ADWIN, DDM and Page-Hinkley, with river's defaults and semantics.

Each detector has the streaming shape (``update(x)``, read-only ``drift_detected``, reset on the update
after a detection, as ``river.drift`` does) and a batch method ``detect(values) -> list[int]`` that runs the
same compiled loop over a whole array. Fed the same stream, they signal drift at exactly the indices
river 0.26's ``ADWIN``, ``binary.DDM`` and ``PageHinkley`` signal: the arithmetic is done in the same order
in IEEE double precision. ``detect_changes(values)`` also returns, for each detection, the index where the
change most likely began (ADWIN: start of the newer sub-window at the cut; Page-Hinkley: the extremum of
the cumulative sum; DDM: where the minimum error rate was recorded) — the RCA timeline's ``drift_start``.

>>> rng = np.random.default_rng(12345)
>>> stream = np.concatenate([rng.integers(0, 2, 1000), rng.integers(4, 8, 1000)]).astype(float)
>>> ADWIN().detect(stream)
[1023]
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from drift_sentinel.detection._jit import lazy_njit

__all__ = ["ADWIN", "DDM", "PageHinkley", "StreamingDetector"]

_MAX_LEVELS = 64
# ADWIN scalar state slots
_TOTAL, _VAR, _WIDTH, _TICK, _NLEV, _DRIFT = range(6)


@lazy_njit(cache=True, nogil=True)
def _adwin_reset(sc, counts, totals, variances):  # pragma: no cover - jitted
    sc[:] = 0.0
    sc[_NLEV] = 1.0
    counts[:] = 0
    totals[:, :] = 0.0
    variances[:, :] = 0.0


@lazy_njit(cache=True, nogil=True)
def _adwin_run(
    values,
    sc,
    counts,
    totals,
    variances,
    delta,
    clock,
    max_buckets,
    min_len,
    grace,
    offset,
    out_idx,
    out_start,
):  # pragma: no cover - jitted
    n_out = 0
    mwl = float(min_len)
    for t in range(values.shape[0]):
        if sc[_DRIFT] != 0.0:
            _adwin_reset(sc, counts, totals, variances)
        x = values[t]
        # insert into level 0 and update the window statistics (Babcock et al. 2003 variance update)
        c0 = counts[0]
        totals[0, c0] = x
        variances[0, c0] = 0.0
        counts[0] = c0 + 1
        width = sc[_WIDTH] + 1.0
        sc[_WIDTH] = width
        inc = 0.0
        if width > 1.0:
            dv = x - sc[_TOTAL] / (width - 1.0)
            inc = (width - 1.0) * dv * dv / width
        sc[_VAR] = sc[_VAR] + inc
        sc[_TOTAL] = sc[_TOTAL] + x
        # merge full levels upward (exponential histogram, ADWIN2)
        lev = 0
        while counts[lev] == max_buckets + 1:
            size = float(1 << lev)
            t0 = totals[lev, 0]
            t1 = totals[lev, 1]
            mu1 = t0 / size
            mu2 = t1 / size
            merged_total = t0 + t1
            merged_var = variances[lev, 0] + variances[lev, 1] + size * 0.5 * (mu1 - mu2) * (mu1 - mu2)
            nlev = int(sc[_NLEV])
            if lev + 1 >= nlev:
                sc[_NLEV] = float(lev + 2)
            c1 = counts[lev + 1]
            totals[lev + 1, c1] = merged_total
            variances[lev + 1, c1] = merged_var
            counts[lev + 1] = c1 + 1
            keep = counts[lev] - 2
            for k in range(keep):
                totals[lev, k] = totals[lev, k + 2]
                variances[lev, k] = variances[lev, k + 2]
            for k in range(keep, counts[lev]):
                totals[lev, k] = 0.0
                variances[lev, k] = 0.0
            counts[lev] = keep
            if counts[lev + 1] <= max_buckets:
                break
            lev += 1
        # test every cut between the oldest and newest buckets
        sc[_TICK] = sc[_TICK] + 1.0
        if int(sc[_TICK]) % clock == 0 and width > grace:
            n0 = 0.0
            n1 = width
            u0 = 0.0
            u1 = sc[_TOTAL]
            var_w = sc[_VAR] / width
            dprime = math.log(2.0 * math.log(width) / delta)
            found = False
            nlev = int(sc[_NLEV])
            for lev in range(nlev - 1, -1, -1):
                size = float(1 << lev)
                cnt = counts[lev]
                for k in range(cnt):
                    n0 += size
                    n1 -= size
                    tk = totals[lev, k]
                    u0 += tk
                    u1 -= tk
                    if lev == 0 and k == cnt - 1:
                        break
                    dm = (u0 / n0) - (u1 / n1)
                    if n1 >= mwl and n0 >= mwl:
                        m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
                        eps = math.sqrt(2.0 * m_recip * var_w * dprime) + 2.0 / 3.0 * dprime * m_recip
                        if abs(dm) > eps:
                            found = True
                            out_idx[n_out] = offset + t
                            out_start[n_out] = offset + t - int(n1) + 1
                            n_out += 1
                            break
                if found:
                    break
            if found:
                sc[_DRIFT] = 1.0
    return n_out


@lazy_njit(cache=True, nogil=True)
def _ph_run(
    values, st, min_instances, delta, threshold, alpha, mode, offset, out_idx, out_start
):  # pragma: no cover
    # st: n, mean, s_inc, s_dec, min_inc, max_dec, drift, argmin_inc, argmax_dec, seg_start
    n_out = 0
    for t in range(values.shape[0]):
        if st[6] != 0.0:
            st[0] = 0.0
            st[1] = 0.0
            st[2] = 0.0
            st[3] = 0.0
            st[4] = np.inf
            st[5] = -1.0
            st[6] = 0.0
            st[9] = float(offset + t)
        x = values[t]
        st[0] = st[0] + 1.0
        st[1] = st[1] + (1.0 / st[0]) * (x - st[1])
        dev = x - st[1]
        st[2] = alpha * st[2] + dev - delta
        st[3] = alpha * st[3] + dev + delta
        if st[2] < st[4]:
            st[4] = st[2]
            st[7] = float(offset + t)
        if st[3] > st[5]:
            st[5] = st[3]
            st[8] = float(offset + t)
        if st[0] >= min_instances:
            up = st[2] - st[4] > threshold
            down = st[5] - st[3] > threshold
            if mode == 0:
                drift = up or down
            elif mode == 1:
                drift = up
            else:
                drift = down
            if drift:
                st[6] = 1.0
                out_idx[n_out] = offset + t
                if up and (not down or st[2] - st[4] >= st[5] - st[3]):
                    out_start[n_out] = int(st[7]) + 1
                else:
                    out_start[n_out] = int(st[8]) + 1
                n_out += 1
            else:
                st[6] = 0.0
    return n_out


@lazy_njit(cache=True, nogil=True)
def _ddm_run(
    values, st, warm_start, warning_threshold, drift_threshold, offset, out_idx, out_start
):  # pragma: no cover
    # st: n, mean, p_min, s_min, ps_min, warning, drift, argmin
    n_out = 0
    for t in range(values.shape[0]):
        if st[6] != 0.0:
            st[0] = 0.0
            st[1] = 0.0
            st[2] = np.nan
            st[3] = np.nan
            st[4] = np.inf
            st[5] = 0.0
            st[6] = 0.0
            st[7] = float(offset + t)
        x = values[t]
        st[0] = st[0] + 1.0
        st[1] = st[1] + (1.0 / st[0]) * (x - st[1])
        p_i = st[1]
        n = st[0]
        s_i = math.sqrt(p_i * (1.0 - p_i) / n)
        if n > warm_start:
            if p_i + s_i <= st[4]:
                st[2] = p_i
                st[3] = s_i
                st[4] = st[2] + st[3]
                st[7] = float(offset + t)
            if p_i + s_i > st[2] + warning_threshold * st[3]:
                st[5] = 1.0
            else:
                st[5] = 0.0
            if p_i + s_i > st[2] + drift_threshold * st[3]:
                st[6] = 1.0
                st[5] = 0.0
                out_idx[n_out] = offset + t
                out_start[n_out] = int(st[7]) + 1
                n_out += 1
    return n_out


def _as_stream(values: ArrayLike) -> np.ndarray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D stream of values, got shape {arr.shape}")
    return arr


class StreamingDetector:
    """Common shape of the streaming detectors (river's ``DriftDetector`` protocol plus batch ``detect``)."""

    name: str = ""

    def __init__(self) -> None:
        self._seen = 0
        self._reset_state()

    def _reset_state(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, values: np.ndarray, offset: int, out_idx: np.ndarray, out_start: np.ndarray) -> int:
        raise NotImplementedError  # pragma: no cover

    @property
    def drift_detected(self) -> bool:
        """Whether the last ``update`` signalled drift (the state resets on the next update)."""
        return bool(self._drift_flag())

    def _drift_flag(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def update(self, x: float) -> StreamingDetector:
        """Feed one value; read ``drift_detected`` afterwards."""
        self._feed(np.array([float(x)]))
        return self

    def _feed(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out_idx = np.empty(values.shape[0], dtype=np.int64)
        out_start = np.empty(values.shape[0], dtype=np.int64)
        n = self._run(values, self._seen, out_idx, out_start)
        self._seen += values.shape[0]
        return out_idx[:n], out_start[:n]

    def detect_changes(self, values: ArrayLike) -> tuple[list[int], list[int]]:
        """Detection indices and the estimated change-start index for each, on a fresh detector."""
        fresh = type(self)(**self.params)
        idx, start = fresh._feed(_as_stream(values))
        return idx.tolist(), np.maximum(start, 0).tolist()

    def detect(self, values: ArrayLike) -> list[int]:
        """Indices at which a fresh detector with these parameters signals drift over ``values``."""
        return self.detect_changes(values)[0]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


class ADWIN(StreamingDetector):
    """ADaptive WINdowing (Bifet & Gavaldà 2007, "Learning from time-changing data with adaptive windowing").

    Keeps an exponential histogram of the recent stream and signals drift when two sub-windows have means
    further apart than the Hoeffding-style bound ``ε_cut`` at confidence ``delta``. Parameters and
    semantics are river's ``drift.ADWIN``: cuts are checked every ``clock`` values once the window holds
    more than ``grace_period`` values, sub-windows shorter than ``min_window_length`` are ignored.

    >>> a = ADWIN()
    >>> hits = [i for i, x in enumerate([0.0] * 500 + [1.0] * 500) if a.update(x).drift_detected]
    >>> hits
    [511]
    """

    name = "adwin"

    def __init__(
        self,
        *,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        if not 0 < delta < 1:
            raise ValueError(f"ADWIN delta must be in (0, 1), got {delta}")
        if clock < 1 or max_buckets < 1 or min_window_length < 1 or grace_period < 0:
            raise ValueError("ADWIN clock, max_buckets and min_window_length must be ≥ 1, grace_period ≥ 0")
        self.delta = float(delta)
        self.clock = int(clock)
        self.max_buckets = int(max_buckets)
        self.min_window_length = int(min_window_length)
        self.grace_period = int(grace_period)
        super().__init__()

    @property
    def params(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "clock": self.clock,
            "max_buckets": self.max_buckets,
            "min_window_length": self.min_window_length,
            "grace_period": self.grace_period,
        }

    def _reset_state(self) -> None:
        self._sc = np.zeros(6)
        self._counts = np.zeros(_MAX_LEVELS, dtype=np.int64)
        self._totals = np.zeros((_MAX_LEVELS, self.max_buckets + 1))
        self._variances = np.zeros((_MAX_LEVELS, self.max_buckets + 1))
        self._sc[_NLEV] = 1.0

    def _drift_flag(self) -> bool:
        return self._sc[_DRIFT] != 0.0

    @property
    def width(self) -> int:
        """Number of values in the current adaptive window."""
        return int(self._sc[_WIDTH])

    @property
    def estimation(self) -> float:
        """Mean of the current window."""
        return float(self._sc[_TOTAL] / self._sc[_WIDTH]) if self._sc[_WIDTH] else 0.0

    def _run(self, values: np.ndarray, offset: int, out_idx: np.ndarray, out_start: np.ndarray) -> int:
        return int(
            _adwin_run(
                values,
                self._sc,
                self._counts,
                self._totals,
                self._variances,
                self.delta,
                self.clock,
                self.max_buckets,
                self.min_window_length,
                float(self.grace_period),
                offset,
                out_idx,
                out_start,
            )
        )


class PageHinkley(StreamingDetector):
    """Page-Hinkley test (Page 1954, "Continuous inspection schemes"), river's two-sided variant.

    Tracks the cumulative deviation of each value from the running mean (faded by ``alpha``, less a
    tolerance ``delta``) and signals drift when it moves more than ``threshold`` from its extremum, after
    ``min_instances`` values. ``mode`` is ``"up"``, ``"down"`` or ``"both"``.

    >>> PageHinkley().detect([0.0] * 200 + [5.0] * 200)
    [210]
    """

    name = "page_hinkley"
    _MODES = {"both": 0, "up": 1, "down": 2}

    def __init__(
        self,
        *,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: Literal["up", "down", "both"] = "both",
    ) -> None:
        if mode not in self._MODES:
            raise ValueError(f"PageHinkley mode {mode!r} is not one of {sorted(self._MODES)}")
        if min_instances < 1 or threshold <= 0 or not 0 < alpha <= 1 or delta < 0:
            raise ValueError("PageHinkley needs min_instances ≥ 1, threshold > 0, 0 < alpha ≤ 1, delta ≥ 0")
        self.min_instances = int(min_instances)
        self.delta = float(delta)
        self.threshold = float(threshold)
        self.alpha = float(alpha)
        self.mode = mode
        super().__init__()

    @property
    def params(self) -> dict[str, Any]:
        return {
            "min_instances": self.min_instances,
            "delta": self.delta,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "mode": self.mode,
        }

    def _reset_state(self) -> None:
        self._st = np.array([0.0, 0.0, 0.0, 0.0, np.inf, -1.0, 0.0, 0.0, 0.0, 0.0])

    def _drift_flag(self) -> bool:
        return self._st[6] != 0.0

    def _run(self, values: np.ndarray, offset: int, out_idx: np.ndarray, out_start: np.ndarray) -> int:
        return int(
            _ph_run(
                values,
                self._st,
                float(self.min_instances),
                self.delta,
                self.threshold,
                self.alpha,
                self._MODES[self.mode],
                offset,
                out_idx,
                out_start,
            )
        )


class DDM(StreamingDetector):
    """Drift Detection Method (Gama, Medas, Castillo & Rodrigues 2004, "Learning with drift detection").

    Input is a stream of bits (1 = the model erred). With ``p`` the running error rate and
    ``s = sqrt(p(1 − p)/n)``, after ``warm_start`` values it warns when ``p + s > p_min + 2 s_min`` and
    signals drift when ``p + s > p_min + 3 s_min`` (river's ``drift.binary.DDM`` defaults).

    >>> d = DDM()
    >>> d.detect([0] * 100 + [1] * 100)
    [100]
    """

    name = "ddm"

    def __init__(self, *, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0):
        if warm_start < 0 or warning_threshold <= 0 or drift_threshold <= 0:
            raise ValueError("DDM needs warm_start ≥ 0 and positive warning/drift thresholds")
        self.warm_start = int(warm_start)
        self.warning_threshold = float(warning_threshold)
        self.drift_threshold = float(drift_threshold)
        super().__init__()

    @property
    def params(self) -> dict[str, Any]:
        return {
            "warm_start": self.warm_start,
            "warning_threshold": self.warning_threshold,
            "drift_threshold": self.drift_threshold,
        }

    def _reset_state(self) -> None:
        self._st = np.array([0.0, 0.0, np.nan, np.nan, np.inf, 0.0, 0.0, 0.0])

    def _drift_flag(self) -> bool:
        return self._st[6] != 0.0

    @property
    def warning_detected(self) -> bool:
        """Whether the last update put the detector in the warning zone."""
        return self._st[5] != 0.0

    def _run(self, values: np.ndarray, offset: int, out_idx: np.ndarray, out_start: np.ndarray) -> int:
        return int(
            _ddm_run(
                values,
                self._st,
                float(self.warm_start),
                self.warning_threshold,
                self.drift_threshold,
                offset,
                out_idx,
                out_start,
            )
        )

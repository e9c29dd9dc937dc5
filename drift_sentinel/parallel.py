"""Independent per-window work of a range on every core the process may use.

A range run computes hundreds of windows whose detection, signals and anomaly fits do not depend on each other.
:func:`map_windows` cuts the windows into contiguous chunks, one per worker: the calling process computes the first
chunk while forked children compute the others, and the results come back in input order, exactly as
``[fn(x) for x in items]`` gives them (every statistic here is seeded, so where a window is computed does not
change it). Contiguous chunks keep what consecutive windows share (Prophet's daily fit) inside one process.

Workers: ``SENTINEL_WORKERS`` when set (1 turns this off), otherwise the CPUs this process may run on — its CPU
affinity, capped by a cgroup CPU quota (a Kubernetes pod's ``limits.cpu``). Fewer than :data:`MIN_ITEMS` items, or
a platform without ``fork``, run in the calling process.

>>> map_windows(lambda x: x * x, list(range(20)), workers=2)[-3:]
[289, 324, 361]
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from drift_sentinel.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 8
"""Below this many windows the fork costs more than it saves."""
WORKERS_ENV = "SENTINEL_WORKERS"

_TASK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # read by forked children, never pickled


def default_workers() -> int:
    """``SENTINEL_WORKERS``, else the CPUs this process may use (affinity, capped by a cgroup v2 quota)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigError(f"{WORKERS_ENV}={raw!r}: expected a whole number of worker processes >= 1")
        return int(raw)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def map_windows(fn: Callable[[T], R], items: Sequence[T], *, workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, computed in contiguous chunks by up to ``workers`` processes.

    ``fn`` may be a closure (children are forked and find it in memory); its results are pickled back. An
    exception in any chunk is raised here, as the serial loop would raise it.
    """
    global _TASK
    if len(items) < MIN_ITEMS or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(x) for x in items]  # a single window (the live path) reads no CPU count or quota file
    workers = min(workers or default_workers(), len(items))
    if workers < 2:
        return [fn(x) for x in items]
    bounds = [round(i * len(items) / workers) for i in range(workers + 1)]
    _TASK = (fn, items)
    try:
        with ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("fork")) as pool:
            rest = [pool.submit(_chunk, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)]
            first = [fn(x) for x in items[: bounds[1]]]
            return first + [r for future in rest for r in future.result()]
    finally:
        _TASK = None


def _chunk(lo: int, hi: int) -> list[Any]:
    assert _TASK is not None, "map_windows forks its children after setting the task"
    fn, items = _TASK
    return [fn(x) for x in items[lo:hi]]

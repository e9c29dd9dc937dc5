"""numba's ``njit``, compiled on the first call instead of at import.

Importing numba costs about a second of start-up (more when the bytecode is not cached), and every process that
loads the Dagster definitions imports the detection modules without running a test. :func:`lazy_njit` keeps the
plain Python function until it is first called, then compiles it with ``numba.njit(**options)`` (same options,
same on-disk cache) and puts the compiled dispatcher in the defining module's namespace, so later calls — and
other jitted functions of the module that call it — go to numba directly.

>>> import numpy as np
>>> @lazy_njit(nogil=True)
... def total(values):
...     acc = 0.0
...     for x in values:
...         acc += x
...     return acc
>>> total(np.arange(4.0))
6.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_njit"]

_LOCK = threading.RLock()


class LazyJit:
    """A function compiled by numba on its first call (see :func:`lazy_njit`)."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = func
        self.options = options
        self._compiled: Callable[..., Any] | None = None
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__doc__ = func.__doc__
        self.__module__ = func.__module__
        self.__wrapped__ = func

    def compiled(self) -> Callable[..., Any]:
        """The numba dispatcher (compiling it, and the lazy functions it calls, on first use)."""
        if self._compiled is None:
            with _LOCK:
                if self._compiled is None:
                    from numba import njit

                    namespace = self.py_func.__globals__
                    for name in self.py_func.__code__.co_names:  # jitted callees must be dispatchers first
                        callee = namespace.get(name)
                        if isinstance(callee, LazyJit) and callee is not self:
                            namespace[name] = callee.compiled()
                    dispatcher = njit(**self.options)(self.py_func)
                    if namespace.get(self.__name__) is self:
                        namespace[self.__name__] = dispatcher
                    self._compiled = dispatcher
        return self._compiled

    def __call__(self, *args: Any) -> Any:
        return self.compiled()(*args)


def lazy_njit(**options: Any) -> Callable[[Callable[..., Any]], LazyJit]:
    """``numba.njit(**options)`` deferred to the first call (numba is imported then, not at import time)."""

    def decorate(func: Callable[..., Any]) -> LazyJit:
        return LazyJit(func, options)

    return decorate

"""Argument types shared by the commands: a value out of range is a usage error (exit 64) naming the option.

Each factory returns a function for argparse's ``type=``; argparse turns its
:class:`argparse.ArgumentTypeError` into ``drift-sentinel CMD: error: argument --opt: …`` with the usage code.

>>> integer("--seed", minimum=0)("7")
7
>>> fraction("--alpha")("5")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 5 is not in (0, 1): a significance level such as 0.05
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def integer(option: str, *, minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An integer within ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{value} is above the maximum {maximum}")
        return value

    parse.__name__ = option.lstrip("-")
    return parse


def fraction(option: str) -> Callable[[str], float]:
    """A number strictly between 0 and 1 (a significance level)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not 0 < value < 1:
            raise argparse.ArgumentTypeError(f"{text} is not in (0, 1): a significance level such as 0.05")
        return value

    parse.__name__ = option.lstrip("-")
    return parse


def model_id(text: str) -> str:
    """A model id by the rule of ``sentinel.yaml`` (it names folders: no ``/``, no ``..``).

    >>> model_id("../escaped")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: model id '../escaped' must match ^[a-z0-9][a-z0-9._-]{0,62}$ (lower case, digits, . _ -)
    """
    from drift_sentinel.config import check_model_id

    try:
        return check_model_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def frequency(text: str) -> str:
    """A pandas offset alias such as ``5min``, ``1h`` or ``D``.

    >>> frequency("5min")
    '5min'
    >>> frequency("banana")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'banana' is not a frequency: use a pandas offset alias such as 5min, 1h or 1D
    """
    import warnings

    from pandas.tseries.frequencies import to_offset

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated aliases ('M', 'H') still parse
            offset = to_offset(text)
    except (ValueError, TypeError):
        offset = None
    if offset is None or offset.n <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a frequency: use a pandas offset alias such as 5min, 1h or 1D"
        )
    return text

"""The ``drift-sentinel`` command line.

Core commands live in ``drift_sentinel.commands`` (no Dagster). Commands that need the Dagster
layer (``demo``, ``health``, ``exporter``) are plugged in through the ``drift_sentinel.commands``
entry-point group declared in ``pyproject.toml``, so this package never imports dagster.

Exit status: 0 success (or "no drift"), 1 drift, 2 inconclusive, and ``SentinelError.exit_code``
(3 and up) for bad input, with a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from drift_sentinel.errors import SentinelError

# name -> "module:register"; each register(subparsers) adds one sub-command whose handler
# is stored as the ``func`` default and returns the exit status.
CORE_COMMANDS: dict[str, str] = {
    "generate": "drift_sentinel.commands.generate:register",
    "check": "drift_sentinel.commands.check:register",
    "correlate": "drift_sentinel.commands.correlate:register",
    "audit": "drift_sentinel.commands.audit:register",
    "token": "drift_sentinel.commands.token:register",
}


def _load(target: str) -> Callable[[argparse._SubParsersAction], None] | None:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None  # command not built yet / plugin not installed
        raise
    return getattr(module, attr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drift-sentinel", description="Detect, explain, remediate and audit ML model drift."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    targets = dict(CORE_COMMANDS)
    for ep in entry_points(group="drift_sentinel.commands"):
        targets.setdefault(ep.name, ep.value)
    for name in sorted(targets):
        register = _load(targets[name])
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SentinelError as exc:
        print(f"drift-sentinel {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

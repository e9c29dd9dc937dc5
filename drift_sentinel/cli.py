"""The ``drift-sentinel`` command line.

Core commands live in ``drift_sentinel.commands`` (no Dagster). Commands that need the Dagster
layer (``demo``, ``health``, ``exporter``) are plugged in through the ``drift_sentinel.commands``
entry-point group declared in ``pyproject.toml``, so this package never imports dagster.

Exit status: 0 success (or "no drift"), 1 drift, 2 inconclusive, ``SentinelError.exit_code`` (3 and up)
for bad input, 64 for a usage error and 70 for an unexpected error; each failure is one line on stderr
(see :mod:`drift_sentinel.errors` for the table). ``--debug`` (anywhere on the command line, or
``DRIFT_SENTINEL_DEBUG=1``) adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import NoReturn

from drift_sentinel.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, SentinelError

# name -> "module:register"; each register(subparsers) adds one sub-command whose handler
# is stored as the ``func`` default and returns the exit status.
CORE_COMMANDS: dict[str, str] = {
    "generate": "drift_sentinel.commands.generate:register",
    "check": "drift_sentinel.commands.check:register",
    "correlate": "drift_sentinel.commands.correlate:register",
    "audit": "drift_sentinel.commands.audit:register",
    "replay": "drift_sentinel.commands.replay:register",
    "token": "drift_sentinel.commands.token:register",
}

DEBUG_FLAG = "--debug"


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit with :data:`EXIT_USAGE` (argparse uses 2, which
    ``check`` needs for INCONCLUSIVE). Sub-command parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _load(target: str) -> Callable[[argparse._SubParsersAction], None] | None:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None  # command not built yet / plugin not installed
        raise
    return getattr(module, attr)


def _targets() -> dict[str, str]:
    targets = dict(CORE_COMMANDS)
    for ep in entry_points(group="drift_sentinel.commands"):
        targets.setdefault(ep.name, ep.value)
    return targets


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with ``only`` that one when it names a command.

    Loading one command is what keeps ``drift-sentinel check`` from importing the Dagster layer that the
    plugged-in commands (``demo``, ``health``, ...) need: a plugin is imported only when it is run or when
    the whole command list is shown.
    """
    parser = Parser(
        prog="drift-sentinel",
        description="Detect, explain, remediate and audit ML model drift.",
        epilog="Exit status: 0 ok, 1 drift/tampered/failed, 2 inconclusive, 3 bad data, 4 bad config, "
        "5 unknown model, 6 external service, 64 usage error, 70 internal error.",
    )
    parser.add_argument(
        DEBUG_FLAG, action="store_true", help="show the traceback of an error (anywhere on the command line)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    targets = _targets()
    names = [only] if only in targets else sorted(targets)
    for name in names:
        register = _load(targets[name])
        if register is not None:
            register(sub)
    return parser


def _split_debug(argv: Sequence[str]) -> tuple[list[str], bool]:
    """Remove ``--debug`` from anywhere before a ``--`` terminator.

    >>> _split_debug(["check", "--debug", "--", "--debug"])
    (['check', '--', '--debug'], True)
    """
    args = list(argv)
    end = args.index("--") if "--" in args else len(args)
    found = DEBUG_FLAG in args[:end]
    return [a for i, a in enumerate(args) if i >= end or a != DEBUG_FLAG], found


def _say(command: str, message: str) -> None:
    print(f"drift-sentinel {command}: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status; every failure is one line on stderr."""
    args_list, debug = _split_debug(sys.argv[1:] if argv is None else argv)
    debug = debug or os.environ.get("DRIFT_SENTINEL_DEBUG", "") not in ("", "0", "false")
    command = next((a for a in args_list if not a.startswith("-")), "")
    try:
        parser = build_parser(only=command)
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help (0) or a usage error (EXIT_USAGE)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except Exception as exc:  # a plugged-in command that fails to load
        if debug:
            traceback.print_exc()
        _say(command, f"cannot load the commands: {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL
    command = args.command
    try:
        return int(args.func(args) or 0)
    except SentinelError as exc:
        if debug:
            traceback.print_exc()
        _say(command, str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `drift-sentinel audit export | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except SystemExit as exc:  # a command that exits on its own
        return exc.code if isinstance(exc.code, int) else EXIT_INTERNAL
    except Exception as exc:  # last line of defence: a foreign exception nobody wrapped
        if debug:
            traceback.print_exc()
        text = " ".join(str(exc).split())[:300]
        hint = "" if debug else " (rerun with --debug for the traceback)"
        _say(command, f"internal error: {type(exc).__name__}: {text}{hint}")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())

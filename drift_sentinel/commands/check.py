"""``drift-sentinel check``: compare two windows and print the drift report as JSON.

Exit status: 0 no drift, 1 drift, 2 inconclusive; bad input raises :class:`DataError` (3) or
:class:`ConfigError` (4), which the CLI prints as one line naming the file or column — for a ``--config``
file, its line and field (``detection.yaml: line 4: thresholds.*.alpha: must be in (0, 1), got -0.05``).
Notes that do not change the answer (a CSV that was not UTF-8 and how it was decoded) go to stderr as
``drift-sentinel check: note: …`` lines.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from drift_sentinel.errors import ConfigError, DataError
from drift_sentinel.verdict import Verdict

EXIT_CODES = {Verdict.PASSED: 0, Verdict.FAILED: 1, Verdict.INCONCLUSIVE: 2}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="compare a current window with a reference window and print the drift report (JSON)",
        description="Exit status: 0 no drift, 1 drift, 2 inconclusive, 3 bad data, 4 bad configuration.",
    )
    parser.add_argument("--reference", required=True, help="reference window: Parquet or CSV, local or s3://")
    parser.add_argument("--current", required=True, help="current window: Parquet or CSV, local or s3://")
    parser.add_argument("--features", help="comma-separated feature names (default: all shared columns)")
    parser.add_argument(
        "--config",
        help="YAML or JSON file with detection settings (a DetectionConfig, or a 'detection:' key)",
    )
    parser.add_argument(
        "--algorithms", help="comma-separated detectors, or 'all' (overrides the config file)"
    )
    parser.add_argument("--sensitivity", choices=["low", "medium", "high"], help="overrides the config file")
    parser.add_argument("--time-column", help="orders rows for the streaming detectors")
    parser.add_argument("--prediction-column", help="the model's score column")
    parser.add_argument("--label-column", help="the label column (error-rate drift, DDM)")
    parser.add_argument("--output", help="also write the JSON report to this file")
    parser.add_argument("--compact", action="store_true", help="one-line JSON")
    parser.set_defaults(func=run)


def _read_config_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the config file as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None


def _load_config_file(path: str) -> dict[str, Any]:
    import yaml

    text = _read_config_text(path)
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML/JSON: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of detection settings")
    if "detection" in data and isinstance(data["detection"], dict):
        data = data["detection"]
    return dict(data)


def _line_of(path: str, keys: tuple[str, ...]) -> int | None:
    """1-based line of ``keys`` (``("thresholds", "*", "alpha")``) in the YAML/JSON file ``path``, under a
    ``detection:`` key when the file has one; the deepest key found when the full path is not there."""
    import yaml

    try:
        node = yaml.compose(_read_config_text(path), Loader=yaml.SafeLoader)
    except (ConfigError, yaml.YAMLError):
        return None
    if isinstance(node, yaml.MappingNode):
        top = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        if isinstance(top.get("detection"), yaml.MappingNode):
            node = top["detection"]
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(
            ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None
        )
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    return names or None


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`DetectionConfig` from ``--config`` plus command-line overrides."""
    from pydantic import ValidationError

    from drift_sentinel.detection.config import DetectionConfig

    data = _load_config_file(args.config) if args.config else {}
    from_file = set(data)
    features = _split(args.features)
    if features is not None:
        declared = data.get("features")
        if isinstance(declared, dict) and all(f in declared for f in features):
            data["features"] = {f: declared[f] for f in features}  # keep the declared kinds
        else:
            data["features"] = features  # kinds inferred
    algorithms = _split(args.algorithms)
    if algorithms is not None:
        data["algorithms"] = "all" if algorithms == ["all"] else algorithms
    if args.sensitivity:
        data["sensitivity"] = args.sensitivity
    try:
        return DetectionConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_config_error(exc, args.config, from_file)) from None


def _config_error(exc: Any, config_path: str | None, from_file: set[str]) -> str:
    """One line: where (file and line, or the command line), the field path and what is wrong."""
    from drift_sentinel.detection.config import FieldError

    first = exc.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):  # knows the exact key, e.g. thresholds.*.alpha
        keys, message = cause.path, str(cause).split(": ", 1)[1]
    else:
        keys = tuple(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
    field = ".".join(keys) or "<root>"
    if config_path is None or (keys and keys[0] not in from_file):
        return f"command line: {field}: {message}"
    line = _line_of(config_path, keys)
    return f"{config_path}: {f'line {line}: ' if line else ''}{field}: {message}"


def run(args: argparse.Namespace) -> int:
    from drift_sentinel.detection.engine import detect_drift
    from drift_sentinel.detection.io import read_window_file

    config = build_config(args)
    reader_log = logging.getLogger("drift_sentinel.windows")
    level = reader_log.level
    reader_log.setLevel(logging.ERROR)  # decoding notes are printed below, once, with the role
    try:
        reference = read_window_file(args.reference, role="reference")
        current = read_window_file(args.current, role="current")
    finally:
        reader_log.setLevel(level)
    for role, frame in (("reference", reference), ("current", current)):
        if frame.attrs.get("decoding"):
            print(f"drift-sentinel check: note: {role} window {frame.attrs['decoding']}", file=sys.stderr)
    shared = [c for c in current.columns if c in set(reference.columns)]
    if not shared:
        raise DataError(
            f"{args.reference} and {args.current} share no columns "
            f"(reference: {list(reference.columns)[:8]}, current: {list(current.columns)[:8]})"
        )
    names = list(config.features) if config.features is not None else []
    for name in names:
        for role, path, frame in (
            ("reference", args.reference, reference),
            ("current", args.current, current),
        ):
            if name not in frame.columns:
                columns = ", ".join(map(str, frame.columns))
                raise DataError(f"{role} window {path}: unknown feature {name!r}; columns: {columns}")
    for option, column in (
        ("--time-column", args.time_column),
        ("--prediction-column", args.prediction_column),
        ("--label-column", args.label_column),
    ):
        if column and column not in current.columns:
            raise DataError(f"current window {args.current}: {option} {column!r} is not a column")
    report = detect_drift(
        reference,
        current,
        config,
        time_column=args.time_column,
        prediction_column=args.prediction_column,
        label_column=args.label_column,
    )
    text = json.dumps(report.to_dict(), indent=None if args.compact else 2, allow_nan=False)
    print(text, file=sys.stdout)
    if args.output:
        try:
            Path(args.output).write_text(text + "\n")
        except OSError as exc:
            raise DataError(f"{args.output}: cannot write the report: {exc}") from None
    return EXIT_CODES.get(report.verdict, 3)

"""``drift-sentinel check``: compare two windows and print the drift report as JSON.

Exit status: 0 no drift, 1 drift, 2 inconclusive; bad input raises :class:`DataError` (3) or
:class:`ConfigError` (4), which the CLI prints as one line naming the file or column.
"""

from __future__ import annotations

import argparse
import json
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


def _load_config_file(path: str) -> dict[str, Any]:
    import yaml

    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
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
    return data


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
        where = args.config or "command line"
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ConfigError(f"{where}: {field}: {first['msg']}") from None


def run(args: argparse.Namespace) -> int:
    from drift_sentinel.detection.engine import detect_drift
    from drift_sentinel.detection.io import read_window_file

    config = build_config(args)
    reference = read_window_file(args.reference, role="reference")
    current = read_window_file(args.current, role="current")
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

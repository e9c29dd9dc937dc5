"""``drift-sentinel generate``: write sample prediction logs, a training snapshot and an events file."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from drift_sentinel.commands.options import integer, model_id
from drift_sentinel.errors import ConfigError


def _iso_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--start: not an ISO date/time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write sample prediction logs (Parquet), a training snapshot and events, optionally with drift",
        description="Write hourly prediction logs for the demo fraud model (deterministic for --seed).",
    )
    parser.add_argument("--out", default="data", help="output folder (files go to OUT/MODEL_ID/)")
    parser.add_argument("--seed", type=integer("--seed", minimum=0), default=42, help="an integer >= 0")
    drift = parser.add_mutually_exclusive_group()
    drift.add_argument(
        "--inject-drift",
        dest="inject_drift",
        action="store_true",
        default=None,
        help="inject drift (scenario 'demo' unless --scenario is given)",
    )
    drift.add_argument("--no-drift", dest="inject_drift", action="store_false", help="scenario 'none'")
    parser.add_argument(
        "--scenario",
        help="which change to inject: none, demo, month_end_amount, new_device_after_deploy, "
        "latency_incident, concept_drift, gradual",
    )
    parser.add_argument("--start", type=_iso_datetime, help="first day, ISO (default: the scenario's)")
    parser.add_argument(
        "--days",
        type=integer("--days", minimum=1, maximum=3660),
        help="number of days (default: the scenario's)",
    )
    parser.add_argument(
        "--rows-per-hour", type=integer("--rows-per-hour", minimum=1, maximum=1_000_000), default=300
    )
    parser.add_argument(
        "--model-id",
        type=model_id,
        default="fraud-detector-v1",
        help="folder name under --out (sentinel.yaml's id rule)",
    )
    parser.set_defaults(func=run)


def scenario_from_args(inject_drift: bool | None, scenario: str | None) -> str:
    """``--no-drift`` → none; ``--scenario`` wins otherwise; ``--inject-drift`` alone → demo; nothing → none.

    >>> scenario_from_args(True, None), scenario_from_args(None, "gradual"), scenario_from_args(None, None)
    ('demo', 'gradual', 'none')
    """
    if inject_drift is False:
        if scenario not in (None, "none"):
            raise ConfigError(f"--no-drift contradicts --scenario {scenario}")
        return "none"
    if scenario is not None:
        return scenario
    return "demo" if inject_drift else "none"


def run(args: argparse.Namespace) -> int:
    from drift_sentinel.sample_data import generate

    scenario = scenario_from_args(args.inject_drift, args.scenario)
    data = generate(
        args.out,
        seed=args.seed,
        scenario=scenario,
        start=args.start,
        days=args.days,
        rows_per_hour=args.rows_per_hour,
        model_id=args.model_id,
    )
    print(json.dumps(data.to_dict(), indent=2))
    return 0

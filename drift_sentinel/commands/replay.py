"""``drift-sentinel replay``: play generated traffic into a model's prediction log in real time."""

from __future__ import annotations

import argparse
import json
import sys

from drift_sentinel.safety import parse_duration


def _seconds(text: str) -> float:
    """``"90"``, ``"90s"``, ``"5m"`` → seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="write the generator's traffic into a model's prediction log as it happens (new part files)",
        description="Every --part-every seconds, write a Parquet part with the requests of that interval "
        "(re-stamped with the wall-clock time), drifting from --drift-after on. Stops after --duration or --parts, "
        "or on Ctrl-C.",
    )
    parser.add_argument("--model", required=True, help="model id in the models file")
    parser.add_argument("--config", help="models file (default $SENTINEL_CONFIG or ./sentinel.yaml)")
    parser.add_argument(
        "--speed", type=float, default=60.0, help="seconds of traffic per second (default 60)"
    )
    parser.add_argument(
        "--drift-after", type=_seconds, default=None, help="inject drift this long after the start (e.g. 60s)"
    )
    parser.add_argument(
        "--part-every", type=_seconds, default=10.0, help="seconds between part files (default 10)"
    )
    parser.add_argument(
        "--rows-per-hour", type=int, default=300, help="generator traffic per hour (default 300)"
    )
    parser.add_argument("--duration", type=_seconds, default=None, help="stop after this long")
    parser.add_argument("--parts", type=int, default=None, help="stop after this many parts")
    parser.add_argument("--seed", type=int, default=42)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from drift_sentinel.config import load_config
    from drift_sentinel.replay import WrittenPart, run_replay

    config = load_config(args.config)
    spec = config.model(args.model)
    log = config.resolve(spec.data.prediction_log)

    def show(part: WrittenPart) -> None:
        state = "drifted" if part.drifted else "normal"
        print(f"{part.written_at:%H:%M:%S} {part.rows:5d} rows ({state}) -> {part.path}", flush=True)

    print(
        f"replaying into {log} (speed x{args.speed:g}, a part every {args.part_every:g} s)", file=sys.stderr
    )
    summary = run_replay(
        log,
        speed=args.speed,
        drift_after=args.drift_after,
        part_every=args.part_every,
        rows_per_hour=args.rows_per_hour,
        duration=args.duration,
        parts=args.parts,
        seed=args.seed,
        on_part=show,
    )
    print(
        json.dumps(
            {
                "model_id": spec.id,
                "log": log,
                "parts": len(summary.parts),
                "rows": summary.rows,
                "started_at": summary.started_at.isoformat(),
                "drift_at": summary.drift_at.isoformat() if summary.drift_at else None,
            }
        )
    )
    return 0

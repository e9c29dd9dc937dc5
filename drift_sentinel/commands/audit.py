"""``drift-sentinel audit verify|export``: check the hash chain, write a SOC2 evidence pack.

``verify`` exits 0 when the chain is intact and 1 when any record was changed, removed, reordered
or is unreadable, naming each one. ``export`` writes the records at or after ``--since`` as JSON lines
(re-verifiable) or CSV, then reports the chain's state and head hash on stderr; it exits 1 (after
writing) when the chain does not verify. The trail defaults to ``REMEDIATION_AUDIT_URI``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from drift_sentinel.audit import open_trail
from drift_sentinel.settings import Settings


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--since {text!r}: expected an ISO-8601 date or time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _trail(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    settings = Settings.from_env()
    uri = args.uri or settings.audit_uri
    endpoint = args.endpoint_url or settings.s3_endpoint_url
    return uri, open_trail(uri, endpoint_url=endpoint, region=settings.s3_region)


def _verify(args: argparse.Namespace) -> int:
    uri, trail = _trail(args)
    result = trail.verify(expected_head=args.expected_head)
    if args.json:
        print(json.dumps({"uri": uri, **result.to_dict()}, indent=2))
    else:
        print(f"{uri}: {result.summary}")
        for problem in result.problems:
            print(f"  record {problem.seq}: {problem.kind}: {problem.message}", file=sys.stderr)
    return 0 if result.ok else 1


def _export(args: argparse.Namespace) -> int:
    uri, trail = _trail(args)
    check = trail.verify()
    if args.out in (None, "-"):
        count = trail.export(sys.stdout, since=args.since, fmt=args.format)
    else:
        count = trail.export(args.out, since=args.since, fmt=args.format)
        print(f"wrote {count} audit records from {uri} to {args.out}", file=sys.stderr)
    # the chain's state belongs in the evidence: the head hash lets a later 'verify --expected-head'
    # prove that nothing was cut off since this export
    print(f"{check.summary} (head {check.head_hash})", file=sys.stderr)
    return 0 if check.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit", help="verify or export the hash-chained audit trail", description=__doc__.split("\n\n")[0]
    )
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--uri", help="trail location: a folder or s3://bucket/prefix (default: REMEDIATION_AUDIT_URI)"
        )
        sub.add_argument(
            "--endpoint-url", help="S3 endpoint for MinIO and friends (default: S3_ENDPOINT_URL)"
        )

    verify = actions.add_parser("verify", help="check every record's hash and link; exit 1 if tampered")
    common(verify)
    verify.add_argument("--expected-head", help="a head hash from an earlier export, to detect truncation")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=_verify)

    export = actions.add_parser("export", help="write records as JSON lines or CSV (an evidence pack)")
    common(export)
    export.add_argument(
        "--since", type=_since, help="only records at or after this ISO-8601 time (UTC if naive)"
    )
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", help="output file (default: standard output)")
    export.set_defaults(func=_export)

"""``drift-sentinel audit verify|export``: check the signed hash chain, write a SOC2 evidence pack.

``verify`` exits 0 when the chain is intact and 1 when any record was changed, removed, reordered,
forged (bad or missing signature), unreadable, or cut off, naming each one. On the configured trail
(``REMEDIATION_AUDIT_URI``) it also cross-checks the chain against the heads the Dagster instance recorded,
so truncation and rewrites are caught without ``--expected-head``. ``export`` writes the records at or after
``--since`` as JSON lines (re-verifiable) or CSV, then reports the chain's state and full head hash on
stderr; it exits 1 (after writing) when the chain does not verify. A trail location that does not exist is
an error (exit 3), not an empty trail.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any

from drift_sentinel.audit import AuditTrail, AuditVerification, open_trail
from drift_sentinel.errors import ConfigError
from drift_sentinel.settings import Settings

HEADS_GROUP = "drift_sentinel.audit_heads"
"""Entry points returning ``({seq: hash}, source)`` recorded outside the trail, or None (the Dagster layer)."""


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--since {text!r}: expected an ISO-8601 date or time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _head(text: str) -> str:
    from drift_sentinel.audit import _head_pattern

    try:
        return _head_pattern(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _trail(args: argparse.Namespace) -> tuple[str, AuditTrail, Settings]:
    settings = Settings.from_env()
    uri = args.uri or settings.audit_uri
    endpoint = args.endpoint_url or settings.s3_endpoint_url
    return uri, open_trail(uri, endpoint_url=endpoint, region=settings.s3_region), settings


def _same_trail(a: str, b: str) -> bool:
    """Whether two trail URIs name the same place (local paths resolved, trailing slashes ignored)."""
    if a.startswith("s3://") or b.startswith("s3://"):
        return a.rstrip("/") == b.rstrip("/")
    return os.path.realpath(a.removeprefix("file://")) == os.path.realpath(b.removeprefix("file://"))


def recorded_heads(uri: str, settings: Settings, *, use_instance: bool) -> tuple[dict[int, str] | None, str]:
    """Heads recorded outside the trail (by the plugged-in Dagster layer) and a note saying where from."""
    if not use_instance:
        return None, "not cross-checked with the Dagster instance (--no-instance)"
    if not _same_trail(uri, settings.audit_uri):
        return None, "not cross-checked with the Dagster instance: --uri is not REMEDIATION_AUDIT_URI"
    heads: dict[int, str] = {}
    sources = []
    for ep in entry_points(group=HEADS_GROUP):
        found = ep.load()()
        if found is not None:
            heads.update(found[0])
            sources.append(found[1])
    if not sources:
        return None, "not cross-checked: no Dagster instance (set DAGSTER_HOME)"
    return heads, f"cross-checked against {len(heads)} head(s) recorded by {' and '.join(sources)}"


def _verification(
    args: argparse.Namespace, expected_head: str | None = None
) -> tuple[str, AuditVerification, str]:
    uri, trail, settings = _trail(args)
    heads, note = recorded_heads(uri, settings, use_instance=not args.no_instance)
    result = trail.verify(expected_head=expected_head, known_heads=heads, allow_unsigned=args.allow_unsigned)
    return uri, result, note


def _details(result: AuditVerification, note: str) -> list[str]:
    key = f"key {result.key_id}" if result.key_id else "no key available"
    legacy = f", {result.unsigned} unsigned legacy" if result.unsigned else ""
    return [f"signatures: {result.signed} checked with {key}{legacy}", note]


def _verify(args: argparse.Namespace) -> int:
    uri, result, note = _verification(args, args.expected_head)
    if args.json:
        print(json.dumps({"uri": uri, **result.to_dict(), "cross_check": note}, indent=2))
    else:
        print(f"{uri}: {result.summary}")
        for line in _details(result, note):
            print(f"  {line}")
        for problem in result.problems:
            print(f"  record {problem.seq}: {problem.kind}: {problem.message}", file=sys.stderr)
    return 0 if result.ok else 1


def _export(args: argparse.Namespace) -> int:
    uri, check, note = _verification(args)
    _, trail, _ = _trail(args)
    if args.out in (None, "-"):
        count = trail.export(sys.stdout, since=args.since, fmt=args.format)
    else:
        count = trail.export(args.out, since=args.since, fmt=args.format)
        print(f"wrote {count} audit records from {uri} to {args.out}", file=sys.stderr)
    # the chain's state belongs in the evidence: the head hash lets a later 'verify --expected-head'
    # prove that nothing was cut off since this export
    for problem in check.problems:
        print(f"  record {problem.seq}: {problem.kind}: {problem.message}", file=sys.stderr)
    print(f"{'; '.join(_details(check, note))}", file=sys.stderr)
    print(check.summary if check.ok else f"{check.summary} (head {check.head_hash})", file=sys.stderr)
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
        sub.add_argument(
            "--allow-unsigned",
            action="store_true",
            help="accept unsigned records written before the first signed one (trails from older versions)",
        )
        sub.add_argument(
            "--no-instance",
            action="store_true",
            help="do not cross-check against the heads the Dagster instance recorded",
        )

    verify = actions.add_parser(
        "verify", help="check every record's hash, link and signature; exit 1 if tampered"
    )
    common(verify)
    verify.add_argument(
        "--expected-head",
        type=_head,
        help="a head hash from an earlier export or verify (64 hex digits, or a unique prefix of >= 16)",
    )
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


__all__: list[Any] = ["recorded_heads", "register"]

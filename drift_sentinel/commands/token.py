"""``drift-sentinel token``: development credentials for the service API.

``token issue --role operator --team ml-platform`` prints a signed RS256 token (at most one hour), creating a
local key pair on first use: the private key and the JWKS the API verifies with live in ``--keys`` (default
``$SENTINEL_HOME/keys``; the API reads ``API_JWKS``, which defaults to the same JWKS file).
``token service-key --name ci --role operator --team ml-platform`` adds a service key (HMAC secret) to the
keys file the API reads (``API_SERVICE_KEYS``, default ``$SENTINEL_HOME/keys/service-keys.json``) and prints
the id and secret once.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from drift_sentinel.access.principals import ROLES
from drift_sentinel.errors import ConfigError

DEV_KID = "dev-1"
DEFAULT_ISSUER = "drift-sentinel-dev"
DEFAULT_AUDIENCE = "drift-sentinel-api"


def keys_dir(explicit: str | None = None) -> Path:
    """``--keys``, else ``$SENTINEL_HOME/keys`` (``./.sentinel/keys``)."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SENTINEL_HOME", ".sentinel")) / "keys"


def ensure_key_pair(folder: Path, kid: str = DEV_KID) -> tuple[bytes, Path]:
    """The development private key (PEM) and the JWKS file beside it, created on first use (mode 0600)."""
    from drift_sentinel.access.tokens import generate_key_pair

    private, jwks = folder / "dev-signing-key.pem", folder / "jwks.json"
    if private.exists() and jwks.exists():
        return private.read_bytes(), jwks
    folder.mkdir(parents=True, exist_ok=True)
    pem, public = generate_key_pair(kid)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    jwks.write_text(json.dumps(public, indent=1) + "\n")
    return pem, jwks


def _issue(args: argparse.Namespace) -> int:
    from drift_sentinel.access.tokens import issue_token

    pem, jwks = ensure_key_pair(keys_dir(args.keys))
    kid = json.loads(jwks.read_text())["keys"][0]["kid"]
    token = issue_token(
        pem,
        kid=kid,
        subject=args.subject,
        role=args.role,
        teams=args.team,
        issuer=args.issuer,
        audience=args.audience,
        ttl_seconds=args.ttl,
    )
    print(token)
    print(
        f"# {args.role} for team(s) {', '.join(args.team) or '-'}, {args.ttl} s; JWKS: {jwks}",
        file=sys.stderr,
    )
    return 0


def _service_key(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else keys_dir(args.keys) / "service-keys.json"
    data = json.loads(path.read_text()) if path.exists() else {"keys": []}
    if any(entry.get("id") == args.name for entry in data.get("keys", [])):
        raise ConfigError(f"{path}: service key {args.name!r} exists already")
    secret = secrets.token_urlsafe(32)
    entry: dict[str, object] = {"id": args.name, "secret": secret, "role": args.role, "teams": args.team}
    if args.rate_limit:
        entry["rate_limit_per_minute"] = args.rate_limit
    data.setdefault("keys", []).append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(data, indent=1) + "\n")
    print(json.dumps({"key_id": args.name, "secret": secret}))
    print(f"# added to {path}; the secret is not shown again", file=sys.stderr)
    return 0


def _ttl(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ttl {text!r}: expected seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"--ttl {value}: must be between 1 and 3600 seconds")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("token", help="development credentials for the service API")
    sub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    issue = sub.add_parser("issue", help="print a signed RS256 token (creates a local key pair on first use)")
    issue.add_argument("--role", choices=ROLES, default="viewer")
    issue.add_argument("--team", action="append", default=[], help="team the token acts for (repeatable)")
    issue.add_argument("--subject", default=os.environ.get("USER", "developer"), help="who the token names")
    issue.add_argument("--ttl", type=_ttl, default=3600, help="lifetime in seconds (at most 3600)")
    issue.add_argument("--issuer", default=os.environ.get("API_JWT_ISSUER", DEFAULT_ISSUER))
    issue.add_argument("--audience", default=os.environ.get("API_JWT_AUDIENCE", DEFAULT_AUDIENCE))
    issue.add_argument("--keys", help="folder of the development key pair (default $SENTINEL_HOME/keys)")
    issue.set_defaults(func=_issue)
    key = sub.add_parser("service-key", help="add a service key (HMAC secret) to the API's keys file")
    key.add_argument("--name", required=True, help="the key id")
    key.add_argument("--role", choices=ROLES, default="viewer")
    key.add_argument("--team", action="append", default=[], help="team the key acts for (repeatable)")
    key.add_argument("--rate-limit", type=int, help="requests per minute for this key")
    key.add_argument("--keys", help="folder of the keys file (default $SENTINEL_HOME/keys)")
    key.add_argument("--file", help="the keys file (default KEYS/service-keys.json)")
    key.set_defaults(func=_service_key)

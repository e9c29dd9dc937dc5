"""The audit trail: an append-only, hash-chained record of every gate decision, action and outcome.

Each record carries the SHA-256 of the previous one, so changing, removing or reordering a record
breaks the chain at that record (the construction of Haber & Stornetta, 1991, "How to time-stamp a
digital document", and of certificate-transparency logs). Records are stored one object per
sequence number, written once:

- :class:`LocalAuditStore` — a folder of ``000000000042.json`` files, each created atomically only if
  absent (safe with concurrent writers: the loser of a race takes the next number) and made read-only.
- :class:`S3AuditStore` — one object per record under a prefix, written with ``IfNoneMatch="*"``
  and, when configured, S3 Object Lock retention in COMPLIANCE mode (nobody, root included, can
  delete or overwrite it before the retention date).

This module is the only place in the core that talks to S3 (``boto3``): the ``drift-sentinel audit``
command must read the trail without Dagster.

Each record is also signed: HMAC-SHA256 (RFC 2104) of its hash under the writer's key
(:class:`AuditKey`: ``REMEDIATION_AUDIT_KEY`` from the environment or secret store; the embedded default
creates ``$SENTINEL_HOME/audit.key``, mode 0600, on first use). Anyone who can write the store but does not
hold the key can no longer append a record with a recomputed hash, or re-hash the chain from a point on:
the signature does not match.

Limit: neither the chain nor the signatures can tell that the *newest* records were cut off
(truncation), and a holder of the key can rewrite the chain. :meth:`AuditTrail.verify` therefore
cross-checks the chain against heads recorded elsewhere: ``known_heads`` (the ``(seq, hash)`` pairs the
Dagster instance observed on the ``audit_log`` assets, passed in by the Dagster layer) and
``expected_head`` (a head from an earlier export). Object Lock prevents deletion in production.

>>> import tempfile
>>> from datetime import datetime, timezone
>>> trail = open_trail(tempfile.mkdtemp(), key=AuditKey(b"a key of at least 32 bytes, for docs"))
>>> at = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> r = trail.append(AuditEvent(kind="gate_decision", model_id="fraud", incident_id="inc-1", actor="sensor:s",
...                             run_id="r1", action="rollback_model", outcome="PASSED", at=at))
>>> r.seq, r.prev_hash == GENESIS_HASH, len(r.hash)
(1, True, 64)
>>> trail.verify().ok
True
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import os
import re
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from drift_sentinel.errors import ConfigError, DataError, ExternalServiceError

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first record."""

EXPORT_COLUMNS: tuple[str, ...] = (
    "seq",
    "at",
    "kind",
    "model_id",
    "incident_id",
    "actor",
    "run_id",
    "action",
    "outcome",
    "details",
    "prev_hash",
    "hash",
    "key_id",
    "signature",
)

_RECORD_NAME = re.compile(r"^(\d{12})\.json$")


def _plain(value: Any) -> Any:
    """JSON-safe, canonical form of ``value`` (so a record hashes the same after a round trip)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, date | timedelta | Path):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    return str(value)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that are hashed.

    >>> canonical_json({"b": 1, "a": [1.5, None]})
    b'{"a":[1.5,null],"b":1}'
    """
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


KEY_ENV = "REMEDIATION_AUDIT_KEY"
"""Environment variable holding the signing key (a secret of at least 32 characters)."""
KEY_FILE_ENV = "REMEDIATION_AUDIT_KEY_FILE"
"""Environment variable naming the key file (default ``$SENTINEL_HOME/audit.key``)."""
MIN_KEY_LENGTH = 32


@dataclass(frozen=True, repr=False)
class AuditKey:
    """The secret that signs audit records (HMAC-SHA256); ``key_id`` names it without revealing it.

    >>> key = AuditKey(b"k" * 32, source="test")
    >>> len(key.sign("0" * 64)), key.key_id
    (64, '37dee475239e52ea')
    >>> key.check("0" * 64, key.sign("0" * 64)), key.check("0" * 64, "f" * 64)
    (True, False)
    """

    secret: bytes
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"audit signing key from {self.source or 'the caller'} is {len(self.secret)} bytes; "
                f"at least {MIN_KEY_LENGTH} are needed"
            )

    def __repr__(self) -> str:  # never print the secret
        return f"AuditKey(key_id={self.key_id!r}, source={self.source!r})"

    @property
    def key_id(self) -> str:
        """First 16 hex digits of SHA-256 over a label and the key (safe to store next to records)."""
        return hashlib.sha256(b"drift-sentinel audit key id\n" + self.secret).hexdigest()[:16]

    def sign(self, record_hash: str) -> str:
        return hmac.new(self.secret, record_hash.encode(), hashlib.sha256).hexdigest()

    def check(self, record_hash: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(record_hash), signature)


def default_key_file(env: Mapping[str, str] | None = None) -> Path:
    """``$REMEDIATION_AUDIT_KEY_FILE``, else ``$SENTINEL_HOME/audit.key`` (``./.sentinel/audit.key``)."""
    env = os.environ if env is None else env
    if env.get(KEY_FILE_ENV):
        return Path(env[KEY_FILE_ENV])
    return Path(env.get("SENTINEL_HOME", ".sentinel")).absolute() / "audit.key"


def load_audit_key(env: Mapping[str, str] | None = None, *, create: bool = False) -> AuditKey | None:
    """The signing key: ``$REMEDIATION_AUDIT_KEY``, else the key file (see :func:`default_key_file`).

    With ``create`` a missing key file is made (32 random bytes as hex, mode 0600, created exclusively so
    concurrent first writers agree on one key); without it, a missing file gives ``None``.
    """
    env = os.environ if env is None else env
    if env.get(KEY_ENV):
        return AuditKey(env[KEY_ENV].encode(), source=KEY_ENV)
    path = default_key_file(env)
    if create and not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_once(path, secrets.token_hex(32).encode() + b"\n", mode=0o600)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot create the audit signing key: {exc.strerror or exc}") from None
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the audit signing key: {exc}") from None
    return AuditKey(text.encode(), source=str(path))


@dataclass(frozen=True)
class AuditEvent:
    """What happened: a gate decision, an action, a verification, an escalation …

    ``actor`` is who asked (``sensor:<name>``, ``schedule:<name>``, ``user:<name>``, from the run
    tags); ``outcome`` a verdict or a short status. ``details`` must be JSON-like; it is normalised
    (datetimes to ISO-8601 UTC, tuples to lists, non-finite floats to strings) at construction.
    """

    kind: str
    model_id: str
    incident_id: str | None
    actor: str
    run_id: str | None
    action: str | None
    outcome: str
    details: Mapping[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        for name in ("kind", "model_id", "actor", "outcome"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise DataError(f"audit event field {name!r} must be a non-empty string")
        object.__setattr__(self, "details", _plain(dict(self.details)))
        object.__setattr__(self, "at", _utc(self.at))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model_id": self.model_id,
            "incident_id": self.incident_id,
            "actor": self.actor,
            "run_id": self.run_id,
            "action": self.action,
            "outcome": self.outcome,
            "details": self.details,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        return cls(
            kind=data["kind"],
            model_id=data["model_id"],
            incident_id=data.get("incident_id"),
            actor=data["actor"],
            run_id=data.get("run_id"),
            action=data.get("action"),
            outcome=data["outcome"],
            details=data.get("details") or {},
            at=datetime.fromisoformat(data["at"]),
        )


def record_hash(seq: int, event: AuditEvent, prev_hash: str) -> str:
    """SHA-256 (hex) over the canonical JSON of ``{"seq", "event", "prev_hash"}``."""
    body = {"seq": seq, "event": event.to_dict(), "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One link of the chain: sequence number (from 1), the event, the previous hash and its own hash.

    ``signature`` is the HMAC-SHA256 of ``hash`` under the key named by ``key_id`` (both ``None`` on a
    legacy record written before records were signed).
    """

    seq: int
    event: AuditEvent
    prev_hash: str
    hash: str
    key_id: str | None = None
    signature: str | None = None

    @classmethod
    def create(
        cls, seq: int, event: AuditEvent, prev_hash: str, *, key: AuditKey | None = None
    ) -> AuditRecord:
        digest = record_hash(seq, event, prev_hash)
        if key is None:
            return cls(seq=seq, event=event, prev_hash=prev_hash, hash=digest)
        return cls(
            seq=seq,
            event=event,
            prev_hash=prev_hash,
            hash=digest,
            key_id=key.key_id,
            signature=key.sign(digest),
        )

    def to_dict(self) -> dict[str, Any]:
        data = {
            "seq": self.seq,
            "event": self.event.to_dict(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        if self.signature is not None:
            data["key_id"] = self.key_id
            data["signature"] = self.signature
        return data

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"

    @classmethod
    def from_bytes(cls, raw: bytes) -> AuditRecord:
        data = json.loads(raw)
        signature = data.get("signature")
        return cls(
            seq=int(data["seq"]),
            event=AuditEvent.from_dict(data["event"]),
            prev_hash=str(data["prev_hash"]),
            hash=str(data["hash"]),
            key_id=str(data["key_id"]) if data.get("key_id") is not None else None,
            signature=str(signature) if signature is not None else None,
        )

    def row(self) -> dict[str, Any]:
        """A flat row for export (``details`` as canonical JSON text)."""
        event = self.event.to_dict()
        return {
            "seq": self.seq,
            **{k: event[k] for k in EXPORT_COLUMNS if k in event and k != "details"},
            "details": canonical_json(event["details"]).decode(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "key_id": self.key_id or "",
            "signature": self.signature or "",
        }


# --------------------------------------------------------------------------------------------- stores


class AuditStore(Protocol):
    """Where records live: write-once objects keyed by sequence number."""

    def put_new(self, seq: int, data: bytes) -> bool:
        """Store ``data`` as record ``seq`` only if absent; False when ``seq`` is taken."""
        ...

    def get(self, seq: int) -> bytes | None: ...

    def seqs(self) -> list[int]:
        """Every stored sequence number, ascending."""
        ...

    def location(self, seq: int) -> str:
        """Where record ``seq`` lives (a path or an ``s3://`` URI), for messages."""
        ...


def record_name(seq: int) -> str:
    """``000000000042.json`` for seq 42."""
    return f"{seq:012d}.json"


def write_once(path: Path, data: bytes, *, mode: int = 0o644) -> bool:
    """Create ``path`` holding ``data`` only if it does not exist; False if it does.

    ``data`` goes to a private temporary file, which ``os.link`` then publishes: the link fails if
    the name exists (so concurrent writers never overwrite each other) and readers never see a
    half-written file. On a filesystem without hard links it falls back to an exclusive create
    (``O_EXCL``: still never overwrites, but a reader may briefly see a partial file).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some network or FUSE filesystems)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    finally:
        tmp.unlink()
    return True


class LocalAuditStore:
    """One read-only JSON file per record in ``path``; creation is atomic and exclusive.

    Records are created with :func:`write_once`: concurrent writers (threads or processes) never
    overwrite each other and readers never see half a record.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def put_new(self, seq: int, data: bytes) -> bool:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / record_name(seq)
        if target.exists():
            return False
        return write_once(target, data, mode=0o444)

    def get(self, seq: int) -> bytes | None:
        path = self.path / record_name(seq)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:  # a folder in its place, no permission …
            raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None

    def seqs(self) -> list[int]:
        if not self.path.exists():
            return []
        try:
            found = [_RECORD_NAME.match(p.name) for p in self.path.iterdir()]
        except OSError as exc:
            raise DataError(f"audit trail {self.path}: cannot list: {exc.strerror or exc}") from None
        return sorted(int(m.group(1)) for m in found if m)

    def check_location(self) -> None:
        """Raise :class:`DataError` unless the trail's folder exists (verifying nothing is not "ok")."""
        if not self.path.exists():
            raise DataError(f"audit trail {self.path} does not exist (check --uri / REMEDIATION_AUDIT_URI)")
        if not self.path.is_dir():
            raise DataError(f"audit trail {self.path} is not a folder")

    def location(self, seq: int) -> str:
        return str(self.path / record_name(seq))


class S3AuditStore:
    """One object per record at ``s3://bucket/prefix/000000000042.json`` (boto3).

    Writes use ``IfNoneMatch="*"`` (S3 conditional writes: 412 if the key exists), falling back to
    a HEAD check on servers that do not implement it. With ``object_lock_days`` each object gets
    COMPLIANCE retention until now + that many days (the bucket must have Object Lock enabled).
    Credentials come from the usual boto3 chain (environment, profile, instance role).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        object_lock_days: int | None = None,
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ConfigError("audit trail S3 bucket name is empty")
        if object_lock_days is not None and object_lock_days < 1:
            raise ConfigError(f"object_lock_days must be >= 1, got {object_lock_days}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.object_lock_days = object_lock_days
        self._conditional_writes = True
        if client is None:
            import boto3

            try:
                client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
            except ValueError as exc:  # botocore refuses a malformed endpoint or region
                raise ConfigError(
                    f"audit trail S3 endpoint {endpoint_url!r} / region {region!r}: {exc}"
                ) from None
        self.client = client

    def key(self, seq: int) -> str:
        return f"{self.prefix}/{record_name(seq)}" if self.prefix else record_name(seq)

    def location(self, seq: int) -> str:
        return f"s3://{self.bucket}/{self.key(seq)}"

    def _error(self, what: str, exc: Exception) -> ExternalServiceError:
        return ExternalServiceError(f"S3 {what} in bucket {self.bucket!r} failed: {exc}")

    def put_new(self, seq: int, data: bytes) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(seq)
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": data,
            "ContentType": "application/json",
            "ChecksumAlgorithm": "SHA256",
        }
        if self.object_lock_days:
            kwargs["ObjectLockMode"] = "COMPLIANCE"
            kwargs["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=self.object_lock_days)
        try:
            if self._conditional_writes:
                try:
                    self.client.put_object(IfNoneMatch="*", **kwargs)
                    return True
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                        return False
                    if code not in ("NotImplemented", "501"):
                        raise
                    self._conditional_writes = False  # old server: fall back to check-then-put
            if self.get(seq) is not None:
                return False
            self.client.put_object(**kwargs)
            return True
        except (ClientError, BotoCoreError) as exc:
            raise self._error(f"put of {key}", exc) from exc

    def get(self, seq: int) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(seq)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._error(f"get of {key}", exc) from exc
        except BotoCoreError as exc:
            raise self._error(f"get of {key}", exc) from exc

    def seqs(self) -> list[int]:
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.prefix}/" if self.prefix else ""
        found: list[int] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for obj in page.get("Contents", []):
                    match = _RECORD_NAME.match(obj["Key"][len(prefix) :])
                    if match:
                        found.append(int(match.group(1)))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(f"listing of {prefix or '/'}", exc) from exc
        return sorted(found)

    def overwritten(self) -> dict[int, int]:
        """Records whose key holds more than one version (an overwrite attempt): ``{seq: versions}``."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.prefix}/" if self.prefix else ""
        counts: dict[int, int] = {}
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for version in page.get("Versions", []):
                    match = _RECORD_NAME.match(version["Key"][len(prefix) :])
                    if match:
                        counts[int(match.group(1))] = counts.get(int(match.group(1)), 0) + 1
        except (ClientError, BotoCoreError) as exc:
            raise self._error(f"version listing of {prefix or '/'}", exc) from exc
        return {seq: n for seq, n in counts.items() if n > 1}


# ---------------------------------------------------------------------------------------------- trail


ProblemKind = Literal[
    "changed",
    "removed",
    "reordered",
    "unreadable",
    "overwritten",
    "truncated",
    "rewritten",
    "forged",
    "unsigned",
    "unverifiable",
]


@dataclass(frozen=True)
class AuditProblem:
    """One break in the chain: which record, what kind of break, where, and a readable message."""

    seq: int
    kind: ProblemKind
    location: str
    message: str


@dataclass(frozen=True)
class AuditVerification:
    """The result of :meth:`AuditTrail.verify`: ``ok`` only when the whole chain checks out.

    ``signed`` counts records whose signature checked out, ``unsigned`` the legacy records without one
    (accepted only with ``allow_unsigned``), ``heads_checked`` the externally recorded heads compared.
    """

    ok: bool
    records: int
    head_hash: str
    problems: tuple[AuditProblem, ...]
    signed: int = 0
    unsigned: int = 0
    key_id: str | None = None
    heads_checked: int = 0

    @property
    def summary(self) -> str:
        if self.ok:
            legacy = f", {self.unsigned} unsigned legacy record(s) accepted" if self.unsigned else ""
            return f"audit trail ok: {self.records} records, head {self.head_hash}{legacy}"
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"audit trail TAMPERED: {first.message}{more}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "head_hash": self.head_hash,
            "signed": self.signed,
            "unsigned": self.unsigned,
            "key_id": self.key_id,
            "heads_checked": self.heads_checked,
            "problems": [
                {"seq": p.seq, "kind": p.kind, "location": p.location, "message": p.message}
                for p in self.problems
            ],
        }


class AuditTrail:
    """Append, read, verify and export a hash-chained, signed trail kept in an :class:`AuditStore`.

    ``key`` signs appended records and checks signatures; ``None`` resolves it from the environment on
    first use (:func:`load_audit_key`: created on the first append, never by ``verify``).
    """

    def __init__(self, store: AuditStore, *, key: AuditKey | None = None) -> None:
        self.store = store
        self._key = key
        self._head: tuple[int, str] | None = None  # (seq, hash) of the newest record this trail knows
        self._lock = threading.Lock()

    def signing_key(self, *, create: bool = False) -> AuditKey | None:
        """The key given at construction, else the environment's (see :func:`load_audit_key`)."""
        if self._key is None:
            self._key = load_audit_key(create=create)
        return self._key

    def _read_head(self) -> tuple[int, str] | None:
        """The newest stored record's (seq, hash), or None when it is listed but not readable yet."""
        seqs = self.store.seqs()
        if not seqs:
            return (0, GENESIS_HASH)
        raw = self.store.get(seqs[-1])
        if raw is None:
            return None
        try:
            return (seqs[-1], AuditRecord.from_bytes(raw).hash)
        except (ValueError, KeyError, TypeError) as exc:
            where = self.store.location(seqs[-1])
            raise DataError(f"audit record {where} is unreadable; run 'drift-sentinel audit verify'") from exc

    def append(self, event: AuditEvent, *, max_attempts: int = 100) -> AuditRecord:
        """Add ``event`` as the next, signed record and return it (retrying when a concurrent writer won the seq).

        The trail remembers the head it last wrote or read, so an uncontended append is one write-once
        put; when another writer got there first the put is refused and the head is read again.
        """
        key = self.signing_key(create=True)
        with self._lock:
            for _ in range(max_attempts):
                head = self._head or self._read_head()
                if head is None:
                    continue  # listed but not readable yet: list again
                record = AuditRecord.create(head[0] + 1, event, head[1], key=key)
                if self.store.put_new(record.seq, record.to_bytes()):
                    self._head = (record.seq, record.hash)
                    return record
                self._head = None
        raise ExternalServiceError(
            f"could not append to the audit trail after {max_attempts} attempts (contention)"
        )

    def records(self) -> Iterator[AuditRecord]:
        """Every readable record in sequence order (unreadable ones are skipped; ``verify`` reports them)."""
        for seq in self.store.seqs():
            try:
                raw = self.store.get(seq)
                if raw is None:
                    continue
                yield AuditRecord.from_bytes(raw)
            except (DataError, ValueError, KeyError, TypeError):
                continue

    def verify(
        self,
        *,
        expected_head: str | None = None,
        known_heads: Mapping[int, str] | None = None,
        allow_unsigned: bool = False,
    ) -> AuditVerification:
        """Walk the chain and report every changed, removed, reordered, unreadable or forged record.

        Parameters
        ----------
        expected_head:
            A head hash seen earlier (e.g. in an export): the full 64 hex digits, or a prefix of at least
            16 that names exactly one record. If no record has it any more, the trail was truncated or
            rewritten after that point.
        known_heads:
            ``{seq: hash}`` recorded outside the trail when each record was written (the Dagster instance's
            ``audit_log`` observations): a missing seq beyond the newest record is a truncation, a different
            hash a rewrite, even by someone holding the key.
        allow_unsigned:
            Accept records without a signature that come before the first signed one (trails written
            before records were signed). An unsigned record after a signed one is always a problem.
        """
        locate = getattr(self.store, "check_location", None)
        if callable(locate):
            locate()
        if expected_head is not None:
            expected_head = _head_pattern(expected_head)
        key = self.signing_key()
        problems: list[AuditProblem] = []
        seqs = self.store.seqs()
        prev_hash = GENESIS_HASH
        expected_seq = 1
        by_seq: dict[int, str] = {}
        count = signed = unsigned = 0
        seen_signed = False
        for seq in seqs:
            where = self.store.location(seq)
            if seq > expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
                problems.append(
                    AuditProblem(seq, "removed", where, f"record(s) {missing} removed before {where}")
                )
            expected_seq = seq + 1
            try:
                raw = self.store.get(seq)
                if raw is None:
                    raise ValueError("listed but not found")
                record = AuditRecord.from_bytes(raw)
            except (DataError, ValueError, KeyError, TypeError) as exc:
                problems.append(
                    AuditProblem(seq, "unreadable", where, f"record {seq} at {where} is unreadable: {exc}")
                )
                prev_hash = ""
                continue
            count += 1
            if record.seq != seq:
                problems.append(
                    AuditProblem(
                        seq, "reordered", where, f"record {seq} at {where} holds record {record.seq}"
                    )
                )
            elif record_hash(record.seq, record.event, record.prev_hash) != record.hash:
                problems.append(
                    AuditProblem(
                        seq, "changed", where, f"record {seq} at {where} was changed (hash mismatch)"
                    )
                )
            else:
                problem = _signature_problem(record, where, key, allow_unsigned and not seen_signed)
                if problem is not None:
                    problems.append(problem)
                elif record.signature is None:
                    unsigned += 1
                else:
                    signed += 1
                seen_signed = seen_signed or record.signature is not None
                if prev_hash and record.prev_hash != prev_hash and not (problems and problems[-1].seq == seq):
                    problems.append(
                        AuditProblem(
                            seq,
                            "reordered",
                            where,
                            f"record {seq} at {where} does not follow record {seq - 1} (chain broken)",
                        )
                    )
            # after a record in the wrong place the next link cannot be judged: skip it, name only this one
            prev_hash = "" if record.seq != seq else record.hash
            by_seq[seq] = record.hash
        overwritten = getattr(self.store, "overwritten", None)
        if callable(overwritten):
            for seq, versions in sorted(overwritten().items()):
                where = self.store.location(seq)
                problems.append(
                    AuditProblem(
                        seq, "overwritten", where, f"record {seq} at {where} has {versions} versions"
                    )
                )
        last = seqs[-1] if seqs else 0
        problems.extend(_head_problems(known_heads or {}, by_seq, last, self.store.location))
        if expected_head is not None:
            matches = [h for h in by_seq.values() if h.startswith(expected_head)]
            if len(matches) != 1:
                why = "matches more than one record" if matches else "is no longer in the trail"
                problems.append(
                    AuditProblem(
                        last,
                        "truncated",
                        self.store.location(last) if last else "<empty trail>",
                        f"expected head {expected_head} {why} (truncated or rewritten)",
                    )
                )
        problems.sort(key=lambda p: p.seq)
        return AuditVerification(
            ok=not problems,
            records=count,
            head_hash=prev_hash or "",
            problems=tuple(problems),
            signed=signed,
            unsigned=unsigned,
            key_id=key.key_id if key is not None else None,
            heads_checked=len(known_heads or {}),
        )

    def export(
        self,
        out: str | os.PathLike[str] | IO[str],
        *,
        since: datetime | None = None,
        fmt: Literal["jsonl", "csv"] = "jsonl",
    ) -> int:
        """Write records (those at or after ``since``) as JSON lines or CSV; return how many.

        JSON lines carry each record as stored (seq, event, prev_hash, hash), so the export itself can
        be re-verified; CSV flattens it to :data:`EXPORT_COLUMNS` with ``details`` as JSON text.
        """
        if fmt not in ("jsonl", "csv"):
            raise ConfigError(f"export format {fmt!r}: expected 'jsonl' or 'csv'")
        cutoff = _utc(since) if since is not None else None
        selected = [r for r in self.records() if cutoff is None or r.event.at >= cutoff]
        if isinstance(out, str | os.PathLike):
            try:
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                with open(out, "w", newline="", encoding="utf-8") as handle:
                    _write_export(handle, selected, fmt)
            except OSError as exc:
                raise DataError(f"{out}: cannot write the export: {exc.strerror or exc}") from None
        else:
            _write_export(out, selected, fmt)
        return len(selected)


_HEX = re.compile(r"^[0-9a-f]{16,64}$")


def _head_pattern(text: str) -> str:
    """A head hash or a prefix of at least 16 hex digits, lower-cased; :class:`ConfigError` otherwise.

    >>> _head_pattern("ABCDEF0123456789")
    'abcdef0123456789'
    """
    head = text.strip().lower().rstrip("…")
    if not _HEX.match(head):
        raise ConfigError(f"expected head {text!r}: give the 64 hex digits (or a prefix of at least 16)")
    return head


def _signature_problem(
    record: AuditRecord, where: str, key: AuditKey | None, legacy_ok: bool
) -> AuditProblem | None:
    """Why ``record``'s signature does not check out, or None."""
    seq = record.seq
    if record.signature is None:
        if legacy_ok:
            return None
        return AuditProblem(
            seq,
            "unsigned",
            where,
            f"record {seq} at {where} is not signed (a legacy record, or appended without the key; "
            "--allow-unsigned accepts unsigned records written before the first signed one)",
        )
    if key is None:
        return AuditProblem(
            seq,
            "unverifiable",
            where,
            f"record {seq} at {where} is signed with key {record.key_id} but no key is available "
            f"to check it (set {KEY_ENV} or {KEY_FILE_ENV})",
        )
    if record.key_id != key.key_id:
        return AuditProblem(
            seq,
            "forged",
            where,
            f"record {seq} at {where} is signed with key {record.key_id}, not the trail's key {key.key_id}",
        )
    if not key.check(record.hash, record.signature):
        return AuditProblem(seq, "forged", where, f"record {seq} at {where} has a bad signature (forged)")
    return None


def _span(first: int, last: int) -> str:
    """``record 4 is`` or ``records 4-5 are``."""
    return f"record {first} is" if first == last else f"records {first}-{last} are"


def _head_problems(
    known: Mapping[int, str], stored: Mapping[int, str], last: int, location: Any
) -> list[AuditProblem]:
    """Compare heads recorded outside the trail with the stored chain."""
    problems = []
    missing = sorted(seq for seq in known if seq not in stored)
    beyond = [seq for seq in missing if seq > last]
    if beyond:
        problems.append(
            AuditProblem(
                beyond[-1],
                "truncated",
                location(beyond[-1]),
                f"{_span(last + 1, beyond[-1])} missing: the Dagster instance recorded head "
                f"{beyond[-1]} ({known[beyond[-1]]}) but the trail ends at record {last} (truncated)",
            )
        )
    for seq in missing:
        if seq <= last:
            problems.append(
                AuditProblem(
                    seq, "removed", location(seq), f"record {seq} recorded by the Dagster instance is gone"
                )
            )
    for seq in sorted(set(known) & set(stored)):
        if known[seq] != stored[seq]:
            problems.append(
                AuditProblem(
                    seq,
                    "rewritten",
                    location(seq),
                    f"record {seq} at {location(seq)} has hash {stored[seq]}, but the Dagster instance "
                    f"recorded {known[seq]} when it was written (rewritten)",
                )
            )
    return problems


def _write_export(handle: IO[str], records: Sequence[AuditRecord], fmt: str) -> None:
    if fmt == "jsonl":
        for record in records:
            handle.write(canonical_json(record.to_dict()).decode() + "\n")
        return
    writer = csv.DictWriter(handle, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(record.row())


def open_trail(
    uri: str | os.PathLike[str],
    *,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    object_lock_days: int | None = None,
    key: AuditKey | None = None,
) -> AuditTrail:
    """Open the trail at ``/local/path`` (or ``file:///path``) or ``s3://bucket/prefix``.

    ``key`` signs and checks records; ``None`` takes it from the environment (:func:`load_audit_key`).
    """
    text = str(uri)
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        return AuditTrail(
            S3AuditStore(
                bucket, prefix, endpoint_url=endpoint_url, region=region, object_lock_days=object_lock_days
            ),
            key=key,
        )
    if "://" in text and not text.startswith("file://"):
        raise ConfigError(f"audit trail URI {text!r}: expected a local path, file:// or s3://bucket/prefix")
    return AuditTrail(LocalAuditStore(text.removeprefix("file://")), key=key)


def read_export(text: str | io.StringIO) -> list[AuditRecord]:
    """Parse a JSON-lines export back into records (for re-verification of an evidence pack)."""
    lines = text.getvalue() if isinstance(text, io.StringIO) else text
    return [AuditRecord.from_bytes(line.encode()) for line in lines.splitlines() if line.strip()]

"""The audit trail as a Dagster resource: appends hash-chained, signed records through :mod:`drift_sentinel.audit`.

``uri`` is a local folder (embedded default) or ``s3://bucket/prefix`` (production, a bucket with
Object Lock; ``object_lock_days`` sets COMPLIANCE retention per record). ``endpoint_url`` points
boto3 at MinIO or another S3-compatible server. The signing key comes from ``REMEDIATION_AUDIT_KEY``
(a secret) or the key file (:func:`drift_sentinel.audit.load_audit_key`).

The heads the Dagster instance recorded (``audit_seq`` / ``audit_hash`` on every ``audit_log``
observation) are read here, in the Dagster layer, and handed to the core's pure
:meth:`~drift_sentinel.audit.AuditTrail.verify` as ``known_heads``: :func:`instance_heads` is the
``drift_sentinel.audit_heads`` entry point that ``drift-sentinel audit verify`` calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from drift_sentinel.audit import AuditEvent, AuditRecord, AuditTrail, AuditVerification, open_trail
from drift_sentinel.errors import ExternalServiceError
from resources import history

if TYPE_CHECKING:
    from dagster import DagsterInstance

AUDIT_LOG = "audit_log"
_PAGE = 1000


class AuditTrailResource(ConfigurableResource):
    """Append-only, hash-chained, signed audit records (one write-once object per record)."""

    uri: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    object_lock_days: int | None = None

    _trail: Any = PrivateAttr(default=None)

    @property
    def trail(self) -> AuditTrail:
        if self._trail is None:
            self._trail = open_trail(
                self.uri,
                endpoint_url=self.endpoint_url,
                region=self.region,
                object_lock_days=self.object_lock_days,
            )
        return self._trail

    def append(self, event: AuditEvent) -> AuditRecord:
        """Add ``event`` as the next record of the chain and return the record (seq and hash)."""
        return self.trail.append(event)

    def verify(self, instance: DagsterInstance | None = None) -> AuditVerification:
        """Check the whole chain, cross-checked against ``instance``'s recorded heads when given."""
        heads = recorded_heads(instance) if instance is not None else None
        return self.trail.verify(known_heads=heads)


def recorded_heads(instance: DagsterInstance) -> dict[int, str]:
    """``{audit_seq: audit_hash}`` from every ``audit_log`` observation in ``instance`` (all models)."""
    heads: dict[int, str] = {}
    for key in instance.get_asset_keys():
        if not key.path or key.path[-1] != AUDIT_LOG:
            continue
        cursor = None
        while True:
            page = history.observations(instance, key, cursor=cursor, limit=_PAGE)
            for record in page.records:
                seq, digest = record.metadata.get("audit_seq"), record.metadata.get("audit_hash")
                if seq is not None and digest is not None:
                    heads[int(seq)] = str(digest)
            if not page.has_more:
                break
            cursor = page.cursor
    return heads


def instance_heads() -> tuple[dict[int, str], str] | None:
    """The heads recorded by the Dagster instance of ``$DAGSTER_HOME`` (or the demo's local home).

    ``None`` when no instance is configured; :class:`ExternalServiceError` when it cannot be read (the
    cross-check fails closed: ``audit verify --no-instance`` skips it on purpose).
    """
    from dagster import DagsterInstance

    from drift_sentinel.settings import Settings
    from resources.health import dagster_home

    home = dagster_home(Settings.from_env())
    if home is None:
        return None
    try:
        with DagsterInstance.from_config(home) as instance:
            heads = recorded_heads(instance)
    except Exception as exc:  # storage drivers raise their own errors: wrapped at the boundary
        raise ExternalServiceError(
            f"Dagster instance at {home}: cannot read the recorded audit heads: {type(exc).__name__}: {exc}"
        ) from exc
    return heads, f"the Dagster instance at {home}"

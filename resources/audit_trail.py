"""The audit trail as a Dagster resource: appends hash-chained records through :mod:`drift_sentinel.audit`.

``uri`` is a local folder (embedded default) or ``s3://bucket/prefix`` (production, a bucket with
Object Lock; ``object_lock_days`` sets COMPLIANCE retention per record). ``endpoint_url`` points
boto3 at MinIO or another S3-compatible server.
"""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from drift_sentinel.audit import AuditEvent, AuditRecord, AuditTrail, AuditVerification, open_trail


class AuditTrailResource(ConfigurableResource):
    """Append-only, hash-chained audit records (one write-once object per record)."""

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

    def verify(self) -> AuditVerification:
        """Check the whole chain (see :meth:`drift_sentinel.audit.AuditTrail.verify`)."""
        return self.trail.verify()

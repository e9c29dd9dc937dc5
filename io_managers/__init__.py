"""IO managers: where asset values live (a local folder by default, S3 in production)."""

from io_managers.storage import PerPartition, SentinelIOManager

__all__ = ["PerPartition", "SentinelIOManager"]

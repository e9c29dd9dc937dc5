"""Example projects that use Drift Sentinel as a library (each a Dagster code location of its own)."""

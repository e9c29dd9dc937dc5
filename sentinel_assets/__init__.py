"""The Dagster layer: assets, asset checks and partitions per monitored model. Wired in ``definitions.py``."""

"""A team's own pipeline (raw transactions → features → training set) guarded by Drift Sentinel's checks."""

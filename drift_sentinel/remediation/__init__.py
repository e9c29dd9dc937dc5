"""Remediation core: the action registry, recovery verification, threshold replay, retrain and scaling.

Deliberately imports nothing: ``drift_sentinel.safety`` imports ``remediation.actions`` and
``remediation.verification`` imports ``drift_sentinel.safety``; import the submodules directly.
"""

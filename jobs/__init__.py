"""Remediation jobs: every one is built by :func:`jobs.remediation.build_remediation_job`, gate first."""

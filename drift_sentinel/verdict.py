"""Verdicts shared by detectors, the safety gate and verification.

Modelled on Argo Rollouts' analysis phases: too little evidence is INCONCLUSIVE, never a pass.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """Outcome of a test, a gate or a verification.

    For drift detection, PASSED means "no drift", FAILED means "drift", INCONCLUSIVE means
    "not enough data to say", ERROR means "the input could not be tested".

    >>> Verdict.PASSED.value
    'PASSED'
    """

    PASSED = "PASSED"
    FAILED = "FAILED"
    INCONCLUSIVE = "INCONCLUSIVE"
    ERROR = "ERROR"

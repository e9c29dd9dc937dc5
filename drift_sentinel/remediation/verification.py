"""Recovery verification: did the action make serving worse? Compare error rate and p95 latency.

After an action, the windows after it are compared with the windows before it. A relative increase
beyond the policy's :class:`~drift_sentinel.safety.RollbackTriggers` (default error rate +20%, p95
latency +50%) is a breach: the verdict is FAILED and the action is rolled back. Too few rows on either
side is INCONCLUSIVE (Argo Rollouts' analysis runs treat missing measurements the same way).
The p95 is ``numpy.percentile`` with linear interpolation (Hyndman & Fan 1996, definition 7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.errors import DataError
from drift_sentinel.notifications import Notification
from drift_sentinel.safety import RollbackTriggers
from drift_sentinel.verdict import Verdict


@dataclass(frozen=True)
class WindowStats:
    """Serving health of one window: rows, error rate (fraction) and p95 latency (ms; ``None`` if unknown)."""

    rows: int
    error_rate: float | None
    latency_p95: float | None

    def __post_init__(self) -> None:
        if self.rows < 0:
            raise ValueError(f"rows must be >= 0, got {self.rows}")
        if self.error_rate is not None and not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be in [0, 1], got {self.error_rate}")

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        error_column: str | None = "error",
        latency_column: str | None = "latency_ms",
    ) -> WindowStats:
        """Summarise a prediction-log window. A column set to ``None`` (or absent) is not measured.

        >>> df = pd.DataFrame({"error": [0, 0, 1, 0], "latency_ms": [10.0, 20.0, 30.0, 40.0]})
        >>> WindowStats.from_frame(df)
        WindowStats(rows=4, error_rate=0.25, latency_p95=38.5)
        """
        error_rate: float | None = None
        latency_p95: float | None = None
        if error_column is not None and error_column in df.columns:
            errors = pd.to_numeric(df[error_column], errors="coerce").dropna()
            if len(errors) and not errors.isin([0, 1]).all():
                raise DataError(f"column {error_column!r} must hold 0/1 or booleans to compute an error rate")
            error_rate = float(errors.mean()) if len(errors) else None
        if latency_column is not None and latency_column in df.columns:
            latency = pd.to_numeric(df[latency_column], errors="coerce").dropna()
            latency_p95 = float(np.percentile(latency.to_numpy(dtype=float), 95)) if len(latency) else None
        return cls(rows=len(df), error_rate=error_rate, latency_p95=latency_p95)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "error_rate": self.error_rate, "latency_p95": self.latency_p95}


@dataclass(frozen=True)
class Breach:
    """One metric that rose beyond its rollback trigger."""

    metric: str
    before: float
    after: float
    increase: float
    limit: float
    reason: str


@dataclass(frozen=True)
class VerificationResult:
    """The verdict of a before/after comparison, with every breach and a readable reason per metric."""

    verdict: Verdict
    before: WindowStats
    after: WindowStats
    breaches: tuple[Breach, ...]
    reasons: tuple[str, ...]

    @property
    def should_roll_back(self) -> bool:
        """True when a trigger was breached (FAILED). INCONCLUSIVE does not roll back by itself."""
        return self.verdict is Verdict.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "breaches": [
                {
                    "metric": b.metric,
                    "before": b.before,
                    "after": b.after,
                    "increase": b.increase,
                    "limit": b.limit,
                }
                for b in self.breaches
            ],
            "reasons": list(self.reasons),
        }


def _relative_increase(before: float, after: float) -> float:
    if before == 0:
        return 0.0 if after == 0 else math.inf
    return (after - before) / before


def _percent(value: float) -> str:
    return "+inf%" if math.isinf(value) else f"{value:+.0%}"


def verify_recovery(
    before: WindowStats, after: WindowStats, triggers: RollbackTriggers, *, min_rows: int = 30
) -> VerificationResult:
    """Compare serving health after an action with before it.

    A metric breaches when ``after > before * (1 + trigger)`` (from a zero baseline any increase
    breaches). INCONCLUSIVE if either side has fewer than ``min_rows`` rows (breaches are still
    listed); else FAILED if any metric breached; else INCONCLUSIVE if a metric could not be
    measured; else PASSED.

    >>> t = RollbackTriggers(error_rate_increase=0.2, latency_p95_increase=0.5)
    >>> r = verify_recovery(WindowStats(500, 0.02, 100.0), WindowStats(500, 0.03, 120.0), t)
    >>> r.verdict.value, r.reasons[0]
    ('FAILED', 'error_rate: 2.00% -> 3.00% (+50%) > +20% trigger')
    >>> verify_recovery(WindowStats(500, 0.02, 100.0), WindowStats(10, 0.02, 100.0), t).verdict.value
    'INCONCLUSIVE'
    """
    if min_rows < 1:
        raise ValueError(f"min_rows must be >= 1, got {min_rows}")
    breaches: list[Breach] = []
    reasons: list[str] = []
    unknown = False
    for metric, b, a, limit, fmt in (
        ("error_rate", before.error_rate, after.error_rate, triggers.error_rate_increase, "{:.2%}"),
        ("latency_p95", before.latency_p95, after.latency_p95, triggers.latency_p95_increase, "{:.1f}ms"),
    ):
        if b is None or a is None:
            unknown = True
            reasons.append(f"{metric}: not measured ({'before' if b is None else 'after'} window)")
            continue
        increase = _relative_increase(b, a)
        text = f"{metric}: {fmt.format(b)} -> {fmt.format(a)} ({_percent(increase)})"
        if increase > limit:
            reason = f"{text} > {_percent(limit)} trigger"
            breaches.append(
                Breach(metric=metric, before=b, after=a, increase=increase, limit=limit, reason=reason)
            )
        else:
            reason = f"{text} within {_percent(limit)} trigger"
        reasons.append(reason)
    few = [
        f"{side} window has {s.rows} rows < {min_rows}" for side, s in (("before", before), ("after", after))
    ]
    few = [text for text, s in zip(few, (before, after), strict=True) if s.rows < min_rows]
    reasons.extend(f"rows: {text}" for text in few)
    if few:
        verdict = Verdict.INCONCLUSIVE  # too few rows: a breach may be noise, and a pass proves nothing
    elif breaches:
        verdict = Verdict.FAILED
    elif unknown:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASSED
    return VerificationResult(
        verdict=verdict, before=before, after=after, breaches=tuple(breaches), reasons=tuple(reasons)
    )


def escalation_notification(
    result: VerificationResult, *, model_id: str, incident_id: str, action: str, rolled_back: bool
) -> Notification:
    """The critical notification (PagerDuty ``trigger``) for an action whose verification failed.

    >>> t = RollbackTriggers()
    >>> r = verify_recovery(WindowStats(500, 0.02, 100.0), WindowStats(500, 0.04, 100.0), t)
    >>> n = escalation_notification(r, model_id="fraud", incident_id="inc-9", action="retrain_model",
    ...                             rolled_back=True)
    >>> n.severity, n.event, n.title
    ('critical', 'trigger', 'retrain_model on fraud made serving worse: rolled back')
    """
    outcome = "rolled back" if rolled_back else "ROLLBACK FAILED"
    return Notification(
        severity="critical",
        title=f"{action} on {model_id} made serving worse: {outcome}",
        text="; ".join(b.reason for b in result.breaches) or "; ".join(result.reasons),
        model_id=model_id,
        incident_id=incident_id,
        event="trigger",
        details={"action": action, "verification": result.verdict.value, "rolled_back": rolled_back},
    )


def recovery_notification(
    result: VerificationResult, *, model_id: str, incident_id: str, action: str
) -> Notification:
    """The ``resolve`` notification after a verified recovery (closes the PagerDuty alert for the incident)."""
    return Notification(
        severity="critical",
        title=f"{model_id} recovered after {action}",
        text="; ".join(result.reasons),
        model_id=model_id,
        incident_id=incident_id,
        event="resolve",
        details={"action": action, "verification": result.verdict.value},
    )

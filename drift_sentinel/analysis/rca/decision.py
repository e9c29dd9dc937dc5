"""The decision: the root cause, its confidence and the contributing factors, from the ranked candidates.

With ``e1`` the best score and ``e2`` the best *rival* score, ``confidence = e1 × e1 / (e1 + e2)``
(``e2 = 0`` gives ``e1``): strong evidence for the winner and a clear margin over the runner-up are both
needed. A generic fallback (``data_drift``, ``*_spike``) of the winner's own type is not a rival — it
restates the symptom the winner explains (a deploy explains the data drift it precedes). When ``e1`` is below
``unknown_below`` (0.2) the root cause is ``unknown`` (with that low confidence), never a made-up cause.
Contributing factors are the candidates' scores normalised to sum to 1 (top ``max_factors``, 5).

>>> ranked = [Candidate("deploy:app", "data_drift", 0.9), Candidate("data_drift", "data_drift", 0.4),
...           Candidate("concept_drift", "concept_drift", 0.3)]
>>> rival_score(ranked), round(0.9 * 0.9 / (0.9 + 0.3), 4)
(0.3, 0.675)
"""

from __future__ import annotations

from collections.abc import Sequence

from drift_sentinel.analysis.rca.evidence import Evidence
from drift_sentinel.analysis.rca.model import Candidate, Factor, RootCause, rounded
from drift_sentinel.analysis.rca.weights import WEIGHTS, RcaWeights

GENERIC = ("data_drift", "serving_anomaly")
"""Fallback candidates that restate a symptom (with every ``*_spike``)."""


def decide(
    ranked: Sequence[Candidate], ev: Evidence, main: str | None, weights: RcaWeights = WEIGHTS
) -> tuple[RootCause, Candidate | None]:
    """The root cause, its confidence ``e1² / (e1 + e2)`` and the normalised top-5 factors."""
    e1 = ranked[0].score if ranked else 0.0
    e2 = rival_score(ranked)
    confidence = rounded(e1 * e1 / (e1 + e2)) if e1 > 0 else 0.0
    positive = [c for c in ranked if c.score > 0][: weights.max_factors]
    total = sum(c.score for c in positive)
    factors = tuple(Factor(c.name, rounded(c.score / total)) for c in positive) if total else ()
    if factors:  # make the rounded weights sum to exactly 1
        factors = (Factor(factors[0].factor, rounded(1.0 - sum(f.weight for f in factors[1:]))), *factors[1:])
    if e1 < weights.unknown_below:
        note = f"no candidate cause reached a score of {weights.unknown_below}"
        root = RootCause("unknown", main, confidence, factors, None, (*ev.notes(), note))
        return root, None
    top = ranked[0]
    root = RootCause(top.type, top.feature or main, confidence, factors, top.name, top.evidence + ev.notes())
    return root, top


def is_generic(candidate: Candidate) -> bool:
    """Whether a candidate is a fallback that restates a symptom (:data:`GENERIC` or ``*_spike``)."""
    return candidate.name in GENERIC or candidate.name.endswith("_spike")


def rival_score(ranked: Sequence[Candidate]) -> float:
    """The best score among candidates that are real alternatives to the winner.

    A generic fallback (``data_drift``, ``*_spike``) of the winner's own type restates the symptom the
    winner explains, so it is not a rival; specific causes and fallbacks of another type are.
    """
    if len(ranked) < 2:
        return 0.0
    top = ranked[0]
    rivals = [c.score for c in ranked[1:] if not (is_generic(c) and c.type == top.type)]
    return max(rivals, default=0.0)

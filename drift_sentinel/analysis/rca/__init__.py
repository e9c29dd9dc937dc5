"""Root-cause analysis: from a drift report and its evidence to a ranked, confidence-scored cause.

:func:`analyze_incident` runs the steps, one module each (docs/rca.md gives every formula):

- :mod:`.drifted` reads the drift report's affected features; :mod:`.onset` dates the change inside the window;
- :mod:`.evidence` turns the report, the windows, the serving signals and the anomalies into strengths in
  [0, 1] (``s_drift``, ``s_prediction``, ``s_infra``, ``s_concept``) and the onset;
- :mod:`.attribution` splits the blame between the drifted features (magnitude × importance);
- :mod:`.candidates` scores every possible cause (events, seasonality, the pipeline, fallbacks);
- :mod:`.decision` picks the root cause and its confidence ``e1² / (e1 + e2)``;
- :mod:`.policy` maps it to one of :data:`ACTIONS` and writes the recommendations;
- :mod:`.series` correlates the drift series with the serving signals (for people, not for the scores);
- :mod:`.model` and :mod:`.report` are the result (:class:`RcaReport`, its JSON, Markdown and metadata);
- :mod:`.weights` holds every weight and threshold in one frozen :class:`RcaWeights`.
"""

from drift_sentinel.analysis.rca.analyze import analyze_incident
from drift_sentinel.analysis.rca.model import (
    ROOT_CAUSE_TYPES,
    Candidate,
    Factor,
    FeatureAttribution,
    Recommendation,
    RootCause,
)
from drift_sentinel.analysis.rca.policy import ACTIONS
from drift_sentinel.analysis.rca.report import RcaReport
from drift_sentinel.analysis.rca.weights import WEIGHTS, RcaWeights

__all__ = [
    "ACTIONS",
    "ROOT_CAUSE_TYPES",
    "WEIGHTS",
    "Candidate",
    "Factor",
    "FeatureAttribution",
    "RcaReport",
    "RcaWeights",
    "Recommendation",
    "RootCause",
    "analyze_incident",
]

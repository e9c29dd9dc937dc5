"""Root-cause analysis and anomaly detection: signals, anomalies, correlation, temporal patterns, the RCA engine.

No Dagster here: the Dagster layer computes the inputs (windows, signals, pipeline evidence) and records what
:func:`analyze_incident` returns.
"""

from drift_sentinel.analysis.anomalies import DETECTORS, detect_signal_anomalies, prophet_anomalies
from drift_sentinel.analysis.correlation import (
    CorrelationReport,
    GrangerResult,
    PairCorrelation,
    correlate,
    correlate_pair,
    granger,
    pearson,
)
from drift_sentinel.analysis.evidence import (
    FailedCheck,
    PipelineChange,
    PipelineEvidence,
    normalize_events,
    read_events,
)
from drift_sentinel.analysis.rca import (
    ACTIONS,
    ROOT_CAUSE_TYPES,
    WEIGHTS,
    Candidate,
    Factor,
    FeatureAttribution,
    RcaReport,
    RcaWeights,
    Recommendation,
    RootCause,
    analyze_incident,
)
from drift_sentinel.analysis.signals import compute_signals
from drift_sentinel.analysis.temporal import (
    IncidentSignature,
    PatternMatch,
    Phase,
    RecurringPattern,
    match_history,
    recurring_patterns,
)

__all__ = [
    "ACTIONS",
    "DETECTORS",
    "ROOT_CAUSE_TYPES",
    "WEIGHTS",
    "Candidate",
    "CorrelationReport",
    "Factor",
    "FailedCheck",
    "FeatureAttribution",
    "GrangerResult",
    "IncidentSignature",
    "PairCorrelation",
    "PatternMatch",
    "Phase",
    "PipelineChange",
    "PipelineEvidence",
    "RcaReport",
    "RcaWeights",
    "Recommendation",
    "RecurringPattern",
    "RootCause",
    "analyze_incident",
    "compute_signals",
    "correlate",
    "correlate_pair",
    "detect_signal_anomalies",
    "granger",
    "match_history",
    "normalize_events",
    "pearson",
    "prophet_anomalies",
    "read_events",
    "recurring_patterns",
]

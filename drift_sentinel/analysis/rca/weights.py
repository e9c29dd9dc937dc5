"""Every weight and threshold of the RCA scoring, in one frozen dataclass (docs/rca.md explains each formula).

:func:`~drift_sentinel.analysis.rca.analyze.analyze_incident` takes ``weights=`` (default :data:`WEIGHTS`);
a different set is a new instance, never an edited one.

>>> WEIGHTS.unknown_below, WEIGHTS.deploy, WEIGHTS.event_decay
(0.2, 0.95, datetime.timedelta(seconds=7200))
>>> from dataclasses import replace
>>> replace(WEIGHTS, data_drift=0.5).data_drift, WEIGHTS.data_drift
(0.5, 0.4)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RcaWeights:
    """The weights and thresholds of the evidence strengths, candidate scores and decision.

    Attributes
    ----------
    no_p_value_strength
        ``s_drift`` of a drifted feature without a p-value (``1 - p`` otherwise).
    prediction_signal_strength
        ``s_prediction`` when the drift report's prediction signal drifted.
    error_signal_strength
        Contribution to ``s_concept`` when the drift report's error-rate signal drifted.
    infra_z, infra_max_gap, infra_min_bins, infra_episode_bins
        Serving evidence ``s_infra``: a bin is anomalous at robust z (latency p95) or binomial-tail z (error
        count) >= ``infra_z``; flagged bins at most ``infra_max_gap`` non-empty bins apart form an episode;
        fewer than ``infra_min_bins`` bins give no evidence; an episode of ``k`` bins scores
        ``1 - exp(-(k - 1) / infra_episode_bins)``.
    given_anomaly_weight, given_anomaly_start_min
        Weight of the anomalies passed in (PyOD/Prophet) in the noisy-OR with ``s_infra``; their episode
        dates the serving trouble when its strength exceeds ``given_anomaly_start_min``.
    infra_dates_onset
        Without drifted features, a serving episode of at least this strength is the onset.
    calibration_min_rows, calibration_min_gap, calibration_max_p, calibration_full_strength_log10p
        Label evidence: the calibration test needs ``calibration_min_rows`` labelled rows and counts when the
        observed-minus-predicted gap is at least ``calibration_min_gap`` with ``p <= calibration_max_p``; its
        strength is ``min(1, -log10(p) / calibration_full_strength_log10p)``.
    onset_min_rows, onset_min_z, new_category_in_window_share
        Onset within the window: CUSUM needs ``onset_min_rows`` rows and a two-proportion z of at least
        ``onset_min_z``; a new category's first appearance is in the window when rows without it make up more
        than ``new_category_in_window_share`` of the window before it.
    event_decay, clock_skew, after_onset_proximity, same_day_holiday_proximity
        Proximity of an event to the onset: ``exp(-(t0 - te) / event_decay)`` before it, ``after_onset_proximity``
        up to ``clock_skew`` after it (clock skew), at least ``same_day_holiday_proximity`` for a holiday on
        the onset's date. Also the proximity of a model version change with no time.
    deploy, deploy_infra_only
        ``deploy:<source>`` = proximity × max(s_drift, s_prediction) × ``deploy`` (× ``deploy_infra_only`` ×
        s_infra when only serving trouble is seen).
    upstream_incident, upstream_incident_drift_share
        ``upstream_incident:<source>`` = proximity × max(s_infra, ``upstream_incident_drift_share`` × s_drift)
        × ``upstream_incident``.
    other_event
        ``campaign:<source>``, ``holiday:<source>`` = proximity × s_drift × ``other_event``.
    month_end_prior, recurrence_base, periodic_seasonality, continuation
        Seasonality: ``end_of_month_seasonality`` = s_drift × noisy-OR(``month_end_prior`` when the onset is
        in the month end, ``r``) with ``r = 1 - recurrence_base ** k`` for ``k`` recurrences; weekly and
        time-of-day = s_drift × ``r`` × ``periodic_seasonality``; the cause of the incident this one
        continues = ``continuation`` × similarity × s_drift.
    code_version_change, failed_check, data_version_change, null_rate
        Pipeline: ``pipeline:<asset>`` = noisy-OR over its changes (these weights) × the symptom;
        ``null_rate_increase`` = ``null_rate`` × s_drift.
    concept, infrastructure, data_drift
        Fallbacks: ``concept_drift`` = ``concept`` × s_concept, ``<signal>_spike`` = ``infrastructure`` ×
        s_infra, ``data_drift`` = ``data_drift`` × s_drift.
    importance_floor
        Feature attribution: drift magnitude × (importance + ``importance_floor``), normalised.
    unknown_below, max_factors
        Decision: below a best score of ``unknown_below`` the cause is ``unknown``; the contributing factors
        are the top ``max_factors`` candidates.
    """

    no_p_value_strength: float = 0.9
    prediction_signal_strength: float = 0.8
    error_signal_strength: float = 0.8
    infra_z: float = 5.0
    infra_max_gap: int = 3
    infra_min_bins: int = 12
    infra_episode_bins: float = 3.0
    given_anomaly_weight: float = 0.5
    given_anomaly_start_min: float = 0.5
    infra_dates_onset: float = 0.3
    calibration_min_rows: int = 50
    calibration_min_gap: float = 0.01
    calibration_max_p: float = 0.01
    calibration_full_strength_log10p: float = 6.0
    onset_min_rows: int = 20
    onset_min_z: float = 4.0
    new_category_in_window_share: float = 0.02
    event_decay: timedelta = timedelta(hours=2)
    clock_skew: timedelta = timedelta(minutes=30)
    after_onset_proximity: float = 0.8
    same_day_holiday_proximity: float = 0.8
    deploy: float = 0.95
    deploy_infra_only: float = 0.5
    upstream_incident: float = 0.95
    upstream_incident_drift_share: float = 0.7
    other_event: float = 0.6
    month_end_prior: float = 0.5
    recurrence_base: float = 0.5
    periodic_seasonality: float = 0.8
    continuation: float = 0.85
    code_version_change: float = 0.9
    failed_check: float = 0.8
    data_version_change: float = 0.3
    null_rate: float = 0.7
    concept: float = 0.95
    infrastructure: float = 0.6
    data_drift: float = 0.4
    importance_floor: float = 0.05
    unknown_below: float = 0.2
    max_factors: int = 5


WEIGHTS = RcaWeights()
"""The defaults docs/rca.md documents."""

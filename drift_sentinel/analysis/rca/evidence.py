"""Evidence strengths in [0, 1] and the incident's timeline, the inputs every candidate is scored from.

- ``s_drift`` — data drift: ``max(1 - p)`` over drifted features (0.9 when a drifted feature has no p-value).
- ``s_prediction`` — the drift report's prediction signal drifted.
- ``s_infra`` — serving trouble: the longest episode of latency/error anomalies (:func:`infra_from_signals`),
  combined by noisy-OR with the PyOD/Prophet anomalies passed in.
- ``s_concept`` — the label relationship changed (:func:`concept_evidence`).

The onset is the in-window change point of the drifted features (:mod:`~drift_sentinel.analysis.rca.onset`),
else the streaming detectors' ``drift_start``, else the start of the serving-anomaly episode or of the label
change. :data:`~drift_sentinel.analysis.rca.weights.WEIGHTS` holds every constant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.analysis.anomalies import anomaly_strength
from drift_sentinel.analysis.rca.drifted import DriftedFeature, noisy_or
from drift_sentinel.analysis.rca.onset import estimate_onset, onset_from_indicator
from drift_sentinel.analysis.rca.weights import WEIGHTS, RcaWeights
from drift_sentinel.detection.results import DriftReport, FeatureDrift
from drift_sentinel.times import utc_times

MAD_TO_SD = 1.4826
"""Scales a median absolute deviation to a normal standard deviation."""
GIVEN_ANOMALY_SIGNALS = ("latency", "error")
"""Signals of the anomalies passed in that count as serving trouble."""
POSITIVE_LABEL = 0.5
"""A label at or above this is a positive (dates a label-only change)."""


@dataclass(frozen=True)
class Evidence:
    """The strengths in [0, 1] and the timeline the candidates are scored from (module docstring)."""

    s_drift: float
    s_prediction: float
    s_infra: float
    infra_start: datetime | None
    infra_signal: str
    s_concept: float
    concept_notes: tuple[str, ...]
    drift_start: datetime | None
    onset: datetime | None
    in_window: bool
    drifted: tuple[str, ...]

    @property
    def symptom(self) -> float:
        """How strongly something is wrong at all: the largest of the data, serving and label strengths."""
        return max(self.s_drift, self.s_infra, self.s_concept)

    def notes(self) -> tuple[str, ...]:
        """One line per non-zero strength, for the root cause's evidence."""
        out = [
            f"data drift strength {self.s_drift:.2f}"
            + (f" ({', '.join(self.drifted)})" if self.drifted else "")
        ]
        if self.s_infra:
            out.append(f"serving anomaly strength {self.s_infra:.2f} ({self.infra_signal or 'anomalies'})")
        if self.s_concept:
            out.append(f"label evidence strength {self.s_concept:.2f}")
        return tuple(out)


def gather_evidence(
    drift: DriftReport,
    drifted: Sequence[DriftedFeature],
    *,
    signals: pd.DataFrame | None,
    anomalies: pd.DataFrame | None,
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    time_column: str,
    prediction_column: str,
    label_column: str,
    weights: RcaWeights = WEIGHTS,
) -> Evidence:
    """The strengths and the onset of one incident (module docstring)."""
    w = weights
    s_drift = max(
        (w.no_p_value_strength if not math.isfinite(d.p_value) else 1.0 - d.p_value for d in drifted),
        default=0.0,
    )
    prediction_signal = drift.signals.get("prediction")
    s_prediction = (
        w.prediction_signal_strength if prediction_signal is not None and prediction_signal.drifted else 0.0
    )
    s_infra_own, infra_start, infra_signal = infra_from_signals(signals, w)
    s_infra_given, given_start, _ = anomaly_strength(anomalies, GIVEN_ANOMALY_SIGNALS)
    s_infra = noisy_or([s_infra_own, w.given_anomaly_weight * s_infra_given])
    if infra_start is None and given_start is not None and s_infra_given > w.given_anomaly_start_min:
        infra_start = pd.Timestamp(given_start).to_pydatetime(warn=False)
    s_concept, concept_notes = concept_evidence(
        drift.signals.get("error"), current, reference, prediction_column, label_column, w
    )

    # timeline: the in-window change point of the drifted features, else the streaming detectors' start,
    # else the start of the serving anomaly or of the label change
    drift_start = drift.drift_start
    onset, in_window = estimate_onset(drifted, current, reference, time_column, w)
    if onset is None or (not in_window and drift_start is not None):
        onset = drift_start or onset
        in_window = in_window or drift_start is not None
    if infra_start is not None and (not drifted and s_infra >= w.infra_dates_onset or onset is None):
        onset, in_window = infra_start, True
    if (
        onset is None
        and s_concept > 0
        and current is not None
        and {time_column, label_column} <= set(current)
    ):
        rows = current[[time_column, label_column]].dropna().sort_values(time_column)
        times = utc_times(rows[time_column])
        positive = (rows[label_column] >= POSITIVE_LABEL).to_numpy()
        onset, in_window, _ = onset_from_indicator(times, positive, w)
    return Evidence(
        s_drift=s_drift,
        s_prediction=s_prediction,
        s_infra=s_infra,
        infra_start=infra_start,
        infra_signal=infra_signal,
        s_concept=s_concept,
        concept_notes=tuple(concept_notes),
        drift_start=drift_start,
        onset=onset,
        in_window=in_window,
        drifted=tuple(f"{d.name}: {d.drift_type}" for d in drifted),
    )


def infra_from_signals(
    signals: pd.DataFrame | None, weights: RcaWeights = WEIGHTS
) -> tuple[float, datetime | None, str]:
    """Largest episode of bins with latency p95 (robust z) or error count (binomial tail) beyond ``infra_z``.

    Flagged bins at most ``infra_max_gap`` non-empty bins apart form an episode. Strength
    ``1 - exp(-(k - 1) / 3)`` for an episode of ``k`` flagged bins: a single-bin blip counts for nothing.
    Returns ``(strength, episode start, signal name)``.
    """
    z_min, max_gap, min_bins = weights.infra_z, weights.infra_max_gap, weights.infra_min_bins
    if signals is None or len(signals) < min_bins:
        return 0.0, None, ""
    flags: dict[str, pd.Series] = {}  # per signal, a boolean series over its non-empty bins only
    if "latency_p95" in signals and signals["latency_p95"].notna().sum() >= min_bins:
        lat = signals["latency_p95"].dropna().astype(float)
        med = lat.median()
        mad = MAD_TO_SD * (lat - med).abs().median()
        scale = mad if mad > 0 else lat.std(ddof=0) or 1.0
        flags["latency_p95"] = (lat - med) / scale >= z_min
    if "error_rate" in signals and "request_volume" in signals:
        from scipy import stats

        busy = signals[signals["request_volume"].fillna(0) > 0]
        vol = busy["request_volume"].astype(int).to_numpy()
        errors = np.rint(busy["error_rate"].fillna(0).to_numpy() * vol).astype(int)
        p0 = min(max(errors.sum() / max(vol.sum(), 1), 1e-4), 0.5)
        # exact binomial tail: P(X >= errors | n = volume, p = window error rate) below the z = z_min tail
        tail = stats.binom.sf(errors - 1, vol, p0)
        flags["error_rate"] = pd.Series((tail <= stats.norm.sf(z_min)) & (errors > 0), index=busy.index)
    best: tuple[int, Any, str] = (0, None, "")
    for name, flag in flags.items():
        hits = np.flatnonzero(flag.to_numpy())
        if not len(hits):
            continue
        # flagged bins at most ``max_gap`` bins apart form one episode (noisy bins inside it do not end it)
        episodes = np.split(hits, np.flatnonzero(np.diff(hits) > max_gap) + 1)
        episode = max(episodes, key=len)
        if len(episode) > best[0]:
            best = (len(episode), flag.index[episode[0]], name)
    if best[0] == 0:
        return 0.0, None, ""
    start = best[1].to_pydatetime(warn=False) if hasattr(best[1], "to_pydatetime") else best[1]
    return 1.0 - math.exp(-(best[0] - 1) / weights.infra_episode_bins), start, best[2]


def calibration_gap(
    frame: pd.DataFrame, prediction: str, label: str, min_rows: int = WEIGHTS.calibration_min_rows
) -> tuple[float, float, int]:
    """Mean observed-minus-predicted positive rate, its standard error and the labelled rows used.

    The standard error is ``sqrt(Σp(1-p)) / n`` (Spiegelhalter 1986); NaN below ``min_rows`` rows.
    """
    rows = frame[[prediction, label]].dropna()
    if len(rows) < min_rows:
        return math.nan, math.nan, len(rows)
    p = rows[prediction].to_numpy(dtype=float).clip(1e-6, 1 - 1e-6)
    y = rows[label].to_numpy(dtype=float)
    gap = float(np.mean(y - p))
    se = math.sqrt(float(np.sum(p * (1 - p)))) / len(p)
    return gap, se, len(rows)


def concept_evidence(
    error_signal: FeatureDrift | None,
    current: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    prediction: str,
    label: str,
    weights: RcaWeights = WEIGHTS,
) -> tuple[float, list[str]]:
    """``s_concept``: the drift report's error-rate signal and a calibration test on the labelled rows.

    The calibration gap of the current window minus that of the reference (when it has scores) is tested
    with ``z = diff / sqrt(se² + se_ref²)``; it counts when ``|diff| >= calibration_min_gap`` and
    ``p <= calibration_max_p``, with strength ``min(1, -log10(p) / calibration_full_strength_log10p)``.
    """
    from scipy import stats

    w = weights
    strengths, notes = [], []
    if error_signal is not None and error_signal.drifted:
        strengths.append(w.error_signal_strength)
        notes.append(f"error-rate signal drifted ({error_signal.status})")
    if current is not None and prediction in current and label in current:
        gap, se, n = calibration_gap(current, prediction, label, w.calibration_min_rows)
        if math.isfinite(gap) and se > 0:
            ref_gap, ref_se = 0.0, 0.0
            if reference is not None and prediction in reference and label in reference:
                rg, rse, _ = calibration_gap(reference, prediction, label, w.calibration_min_rows)
                if math.isfinite(rg):
                    ref_gap, ref_se = rg, rse
            diff = gap - ref_gap
            z = diff / math.sqrt(se**2 + ref_se**2)
            p_value = float(2 * stats.norm.sf(abs(z)))
            if abs(diff) >= w.calibration_min_gap and p_value <= w.calibration_max_p:
                log10p = -math.log10(max(p_value, 1e-300))
                strengths.append(min(1.0, log10p / w.calibration_full_strength_log10p))
                notes.append(
                    f"labels vs scores: observed-minus-predicted positive rate {diff:+.3f} "
                    f"over {n} labelled rows "
                    f"(z={z:.1f}, p={p_value:.2g})"
                )
    return noisy_or(strengths), notes


def labels_after(
    current: pd.DataFrame | None, label: str, time_column: str, onset: datetime | None
) -> int | None:
    """Labelled rows of the window from the onset on (``None`` when the window has no label column)."""
    if current is None or label not in current.columns:
        return None
    rows = current
    if onset is not None and time_column in current.columns:
        rows = current[utc_times(current[time_column]) >= pd.Timestamp(onset)]
    return int(rows[label].notna().sum())

"""The action policy: which remediation a root cause calls for, and the prioritised recommendations.

| root cause | action |
| --- | --- |
| ``upstream_pipeline_change`` from a deploy of the monitored model | ``rollback_model`` |
| other ``upstream_pipeline_change`` | ``notify_team`` (fix upstream; do not retrain on broken data) |
| ``data_drift`` with >= ``min_labels`` labels after the onset | ``retrain_model``, otherwise ``notify_team`` |
| ``concept_drift`` | ``retrain_model`` |
| ``infrastructure`` | ``scale_resources`` |
| ``seasonality`` that recurred | ``update_thresholds``, first occurrence ``notify_team`` |
| ``unknown`` | ``notify_team`` |

>>> root = RootCause("infrastructure", None, 0.7, (), "latency_p95_spike")
>>> recommend_action(root, None, "m", labels=None, min_labels=200, recurrence=None)[0]
'scale_resources'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drift_sentinel.analysis.rca.drifted import DriftedFeature
from drift_sentinel.analysis.rca.model import Candidate, FeatureAttribution, Recommendation, RootCause
from drift_sentinel.analysis.temporal import PatternMatch
from drift_sentinel.remediation.actions import ACTION_NAMES

ACTIONS: tuple[str, ...] = ACTION_NAMES
"""The remediation actions a report can recommend: the action catalog's names (one per remediation job)."""


def recommend_action(
    root: RootCause,
    top: Candidate | None,
    model_id: str,
    *,
    labels: int | None,
    min_labels: int,
    recurrence: PatternMatch | None,
) -> tuple[str, str]:
    """The action for a root cause and why (module docstring); ``top`` is the winning candidate.

    ``labels`` are the labelled rows after the onset (``None`` when the window has no labels at all).
    """
    where = f" on {root.feature}" if root.feature else ""
    if root.type == "upstream_pipeline_change":
        if top is not None and top.name == f"deploy:{model_id}":
            return (
                "rollback_model",
                f"drift{where} began right after a deploy of {model_id}; roll back to the previous version",
            )
        return (
            "notify_team",
            f"an upstream pipeline change explains the drift{where}; fix upstream rather than retrain on it",
        )
    if root.type == "concept_drift":
        return (
            "retrain_model",
            "the relation between features and labels changed; retrain on recent labelled data",
        )
    if root.type == "infrastructure":
        return (
            "scale_resources",
            "latency/error anomalies without data drift point at serving capacity or a dependency",
        )
    if root.type == "seasonality":
        if recurrence is not None and recurrence.recurrences >= 1:
            return (
                "update_thresholds",
                f"{root.cause} recurred {recurrence.recurrences}x; adjust thresholds/reference for the phase",
            )
        return (
            "notify_team",
            f"{root.cause} is likely but has not recurred yet; confirm before changing thresholds",
        )
    if root.type == "data_drift":
        if labels is None or labels >= min_labels:
            have = "labels" if labels is None else f"{labels} labels"
            return (
                "retrain_model",
                f"a real-world shift{where} ({root.cause}); {have} available after the onset to retrain on",
            )
        return (
            "notify_team",
            f"a real-world shift{where} but only {labels} labels after the onset (< {min_labels}) to retrain",
        )
    return "notify_team", "no cause explains the drift with enough evidence; a human needs to look"


def recommendations(
    root: RootCause,
    action: str,
    reason: str,
    attribution: Sequence[FeatureAttribution],
    events: Sequence[Mapping[str, Any]],
    drifted: Sequence[DriftedFeature],
) -> tuple[Recommendation, ...]:
    """The action first, then what a person should check, then telling the owners (when not the action)."""
    items: list[tuple[str | None, str]] = [(action, f"{action.replace('_', ' ')}: {reason}")]
    for d in drifted:
        if d.new_categories:
            items.append(
                (
                    None,
                    f"{d.name} has new categories {list(d.new_categories)} unseen in training; "
                    "include them in the next training set",
                )
            )
    if root.type == "seasonality":
        items.append((None, "use a same-phase reference (e.g. last month end) for windows in this phase"))
    if root.type == "infrastructure" and events:
        items.append(
            (
                None,
                f"check the status of {events[0]['source'] or 'the upstream dependency'} "
                f"({events[0]['event_type']})",
            )
        )
    if root.type == "upstream_pipeline_change":
        items.append(
            (None, "compare upstream code/data versions before and after the onset; add a blocking check")
        )
    if attribution and root.type in ("data_drift", "unknown"):
        top = attribution[0]
        items.append(
            (
                None,
                f"inspect {top.feature} ({top.drift_type}, {top.direction}) first: "
                f"it carries {top.weight:.0%} of the attribution",
            )
        )
    if action != "notify_team":
        items.append(
            (
                "notify_team",
                f"tell the model owners: {root.type} ({root.cause or 'unknown cause'}), "
                f"confidence {root.confidence:.2f}",
            )
        )
    return tuple(Recommendation(priority=i + 1, text=text, action=act) for i, (act, text) in enumerate(items))

"""Turning core results into Dagster metadata: plain ``float``/``int``/``str`` so the UI plots them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from dagster import MetadataValue

from drift_sentinel.analysis.anomaly_table import WindowAnomalies, serving_anomaly


def window_metadata(summary: Mapping[str, float | int]) -> dict[str, Any]:
    """``dagster/row_count`` plus accuracy, error rate and latency, when present."""
    out: dict[str, Any] = {"dagster/row_count": int(summary.get("rows", 0))}
    for key in ("accuracy", "error_rate", "latency_p50_ms", "latency_p95_ms", "prediction_mean"):
        if key in summary:
            out[key] = float(summary[key])
    if "labeled_rows" in summary:
        out["labeled_rows"] = int(summary["labeled_rows"])
    return out


def drift_metadata(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata contract of ``drift_report`` (the exporter and the sensor read these keys)."""
    affected = payload.get("affected_features", [])
    out: dict[str, Any] = {
        "drift_score": float(payload["drift_score"]),
        "drift_detected": bool(payload["drift_detected"]),
        "n_drifted": len(affected),
        "verdict": str(payload.get("verdict", "")),
        "incident_id": str(payload.get("incident_id") or ""),
        "affected_features": ", ".join(a["name"] for a in affected) or "none",
        "window_state": str(payload.get("window_state") or "closed"),
    }
    for name, detail in payload.get("features", {}).items():
        magnitude = detail.get("magnitude") if isinstance(detail, Mapping) else None
        if isinstance(magnitude, int | float):
            out[f"feature_magnitude/{name}"] = float(magnitude)
    return out


def _pipeline_markdown(pipeline: Mapping[str, Any]) -> list[str]:
    lines = []
    for change in pipeline.get("code_version_changes", []):
        lines.append(f"- code version of `{change['asset']}`: {change['old']} → {change['new']}")
    for change in pipeline.get("data_version_changes", []):
        lines.append(f"- data version of `{change['asset']}`: {change['old']} → {change['new']}")
    for check in pipeline.get("failed_checks", []):
        lines.append(
            f"- check `{check['check']}` failed on `{check['asset']}` {check.get('description', '')}"
        )
    for change in pipeline.get("model_version_changes", []):
        lines.append(f"- served model `{change['asset']}`: version {change['old']} → {change['new']}")
    return lines or ["- no upstream code/data version change or failed check in this window"]


def rca_markdown(payload: Mapping[str, Any], report_markdown: str) -> str:
    """The core's Markdown report plus what the Dagster layer added: incident window and pipeline evidence."""
    lines = [report_markdown, "", "**Incident**", ""]
    lines.append(
        f"- window `{payload.get('window', '')}`, opened in `{payload.get('onset_window', '')}`"
        f" (by {payload.get('opened_by', 'drift_report')})"
    )
    recurrence = payload.get("recurrence")
    if recurrence:
        lines.append(f"- recurring: {recurrence['pattern']} {recurrence['recurrences']}x before")
    lines += ["", "**Pipeline vs world**", "", *_pipeline_markdown(payload.get("pipeline") or {})]
    return "\n".join(lines)


def rca_metadata(payload: Mapping[str, Any], markdown: str | None) -> dict[str, Any]:
    """The metadata contract of ``rca_report``: confidence and top factors as numbers, the report as Markdown.

    The sensor reads ``incident_id``, ``recommended_action``, ``root_cause``, ``root_cause_feature`` and
    ``confidence``; ``recurring_patterns`` and later reports read ``signature``; a continuing incident's
    later windows read ``onset``.
    """
    pipeline = payload.get("pipeline") or {}
    evidence = {
        "pipeline/code_version_changes": len(pipeline.get("code_version_changes", [])),
        "pipeline/data_version_changes": len(pipeline.get("data_version_changes", [])),
        "pipeline/failed_checks": len(pipeline.get("failed_checks", [])),
        "pipeline/model_version_changes": len(pipeline.get("model_version_changes", [])),
    }
    if not payload.get("incident_id"):
        screened = payload.get("screened") or {}
        return {
            "incident_id": "",
            "confidence": 0.0,
            "root_cause": "none",
            "recommended_action": "none",
            "screened_cause": str(screened.get("cause") or "none"),
            "screened_confidence": float(screened.get("confidence") or 0.0),
            "window_state": str(payload.get("window_state") or "closed"),
            **evidence,
        }
    cause = payload["root_cause"]
    timeline = payload.get("timeline") or {}
    recurrence = payload.get("recurrence") or {}
    factors = cause.get("contributing_factors", [])
    out: dict[str, Any] = {
        "incident_id": str(payload["incident_id"]),
        "root_cause": str(cause["type"]),
        "root_cause_name": str(cause.get("cause") or "unknown"),
        "root_cause_feature": str(cause.get("feature") or ""),
        "confidence": float(cause["confidence"]),
        "recommended_action": str(payload.get("recommended_action", "notify_team")),
        "action_reason": str(payload.get("action_reason", "")),
        "top_factor": str(factors[0]["factor"]) if factors else "none",
        "top_factor_weight": float(factors[0]["weight"]) if factors else 0.0,
        "n_candidates": len(payload.get("candidates", [])),
        "n_drifted_features": len(payload.get("feature_attribution", [])),
        "recurrences": int(recurrence.get("recurrences", 0)),
        "onset": str(timeline.get("onset") or ""),
        "drift_start": str(timeline.get("drift_start") or ""),
        "detection_time": str(timeline.get("detection_time") or ""),
        "onset_window": str(payload.get("onset_window") or ""),
        "opened_by": str(payload.get("opened_by") or "drift_report"),
        "window_state": str(payload.get("window_state") or "closed"),
        **evidence,
    }
    for factor in factors[:5]:
        out[f"factor_weight/{factor['factor']}"] = float(factor["weight"])
    if payload.get("signature"):
        out["signature"] = MetadataValue.json(dict(payload["signature"]))
    if markdown:
        out["report"] = MetadataValue.md(rca_markdown(payload, markdown) if "window" in payload else markdown)
    return out


def _finite(value: Any, default: float = 0.0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def signals_metadata(signals: pd.DataFrame) -> dict[str, Any]:
    """The metadata of ``system_signals``: volume, latency, errors, prediction mean, labels, accuracy."""
    metadata: dict[str, Any] = {
        "dagster/row_count": len(signals),
        "request_volume": int(signals["request_volume"].sum()),
        "latency_p95_max": _finite(signals["latency_p95"].max()),
        "latency_p95_median": _finite(signals["latency_p95"].median()),
        "error_rate_max": _finite(signals["error_rate"].max()),
        "error_rate_mean": _finite(signals["error_rate"].mean()),
        "prediction_mean": _finite(signals["prediction_mean"].mean()),
        "labelled": int(signals["labelled"].sum()),
    }
    if signals["accuracy"].notna().any():
        metadata["accuracy"] = _finite(signals["accuracy"].mean())
    return metadata


def events_metadata(events: pd.DataFrame, lookback_hours: float) -> dict[str, Any]:
    """The metadata of ``external_events``: counts per event type."""
    counts = events["event_type"].value_counts()
    return {
        "dagster/row_count": len(events),
        "n_events": len(events),
        "event_types": ", ".join(f"{k}={v}" for k, v in counts.items()) or "none",
        "lookback_hours": lookback_hours,
        **{f"events/{k}": int(v) for k, v in counts.items()},
    }


def anomalies_metadata(
    found: WindowAnomalies,
    table: pd.DataFrame,
    *,
    window_minutes: int,
    detector: str,
    history_bins: int,
) -> dict[str, Any]:
    """The metadata of ``signal_anomalies``: counts per detector and the serving episode both agree on."""
    pyod, prophet = found.pyod, found.prophet
    strength, start, length = serving_anomaly(table)
    n_pyod = int(pyod["is_anomaly"].sum()) if pyod is not None else 0
    n_prophet = int(prophet["is_anomaly"].sum()) if prophet is not None and len(prophet) else 0
    metadata: dict[str, Any] = {
        "n_anomalies": n_pyod + n_prophet,
        "window_minutes": window_minutes,
        "n_pyod_anomalies": n_pyod,
        "n_prophet_anomalies": n_prophet,
        "detector": detector,
        "history_bins": history_bins,
        "prophet_signals": ", ".join(sorted(set(prophet["signal"])))
        if prophet is not None and len(prophet)
        else "none",
        "serving_anomaly_strength": float(strength),
        "serving_anomaly_bins": length,
        "serving_anomaly_start": start.isoformat() if start is not None else "",
    }
    if found.notes:
        metadata["notes"] = "; ".join(found.notes)
    if pyod is not None and pyod["is_anomaly"].any():
        top = pyod.loc[pyod["is_anomaly"], "top_signal"].value_counts()
        metadata["top_signals"] = MetadataValue.json({str(k): int(v) for k, v in top.items()})
    return metadata


def patterns_metadata(payload: list[dict[str, Any]], n_incidents: int) -> dict[str, Any]:
    """The metadata of ``recurring_patterns``: counts and the library as a Markdown table."""
    lines = [
        "| pattern | features | count | first seen | last seen |",
        "| --- | --- | ---: | --- | --- |",
    ]
    lines += [
        f"| {p['pattern']} | {', '.join(p['features'])} | {p['count']} | {p['first_seen']} | {p['last_seen']} |"
        for p in payload
    ]
    metadata: dict[str, Any] = {
        "n_incidents": n_incidents,
        "n_patterns": len(payload),
        "max_recurrence": max((p["count"] for p in payload), default=0),
        "library": MetadataValue.md("\n".join(lines) if payload else "no recurring pattern yet"),
    }
    for p in payload[:5]:
        metadata[f"count/{p['pattern']}:{'+'.join(p['features'])}"] = int(p["count"])
    return metadata

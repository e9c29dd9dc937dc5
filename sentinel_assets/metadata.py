"""Turning core results into Dagster metadata: plain ``float``/``int``/``str`` so the UI plots them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import MetadataValue


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
    }
    for name, detail in payload.get("features", {}).items():
        magnitude = detail.get("magnitude") if isinstance(detail, Mapping) else None
        if isinstance(magnitude, int | float):
            out[f"feature_magnitude/{name}"] = float(magnitude)
    return out


def rca_metadata(payload: Mapping[str, Any], markdown: str | None) -> dict[str, Any]:
    """The metadata contract of ``rca_report``: confidence and top factors as numbers, the report as Markdown."""
    if not payload.get("incident_id"):
        return {"incident_id": "", "confidence": 0.0, "root_cause": "none", "recommended_action": "none"}
    cause = payload["root_cause"]
    out: dict[str, Any] = {
        "incident_id": str(payload["incident_id"]),
        "root_cause": str(cause["type"]),
        "root_cause_feature": str(cause.get("feature") or ""),
        "confidence": float(cause["confidence"]),
        "recommended_action": str(payload.get("recommended_action", "notify_team")),
    }
    for factor in cause.get("contributing_factors", [])[:5]:
        out[f"factor_weight/{factor['factor']}"] = float(factor["weight"])
    if markdown:
        out["report"] = MetadataValue.md(markdown)
    return out

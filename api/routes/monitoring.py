"""``/api/v1/monitoring``: drift checks on demand, a model's health, and incidents."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal

from dagster import AssetKey
from fastapi import APIRouter, Query

from api import history
from api.deps import PrincipalDep, ServiceDep
from api.security import ApiError, owned_model, require_role
from api.service import Service
from api.views import model_incidents, run_status
from drift_sentinel.access import Principal
from drift_sentinel.api_schema import (
    API_PREFIX,
    DriftCheckRequest,
    DriftCheckResult,
    DriftReportBody,
    IncidentList,
    ModelHealth,
)
from drift_sentinel.audit import AuditEvent
from drift_sentinel.config import ModelSpec
from drift_sentinel.detection import detect_drift
from drift_sentinel.detection.io import read_window_file
from sentinel_assets.drift import detection_config

router = APIRouter(prefix=f"{API_PREFIX}/monitoring", tags=["monitoring"])


# ----------------------------------------------------------------------------------------- drift check


def allowed_source(service: Service, field: str, uri: str) -> str:
    """A path or ``s3://`` URI the API may read: inside a data root or an allowed bucket; 400 otherwise."""
    if uri.startswith("s3://"):
        bucket = uri[len("s3://") :].split("/", 1)[0]
        if bucket not in service.settings.data_buckets:
            raise ApiError(
                400, "source_not_allowed", f"{field}: bucket {bucket!r} is not readable by the API"
            )
        return uri
    if "://" in uri:
        raise ApiError(400, "bad_source", f"{field}: expected a file path or an s3:// URI")
    try:
        path = Path(uri)
        path = (path if path.is_absolute() else service.config.base_dir / path).resolve()
    except (OSError, ValueError):  # a NUL byte, a loop of symbolic links
        raise ApiError(400, "bad_source", f"{field}: not a usable file path") from None
    if not any(path.is_relative_to(root) for root in service.settings.data_roots):
        raise ApiError(400, "source_not_allowed", f"{field}: {uri} is outside the folders the API may read")
    return str(path)


def _stored(service: Service, spec: ModelSpec, asset: str, window: str | None) -> str | None:
    record = history.newest(service.instance, AssetKey([spec.asset_prefix, asset]), window)
    return history.stored_path(record) if record is not None else None


def _reference(service: Service, spec: ModelSpec, window: str | None) -> str:
    trailing = spec.reference.strategy == "trailing"
    stored = _stored(service, spec, "reference_window", window if trailing else None)
    if stored:
        return stored
    if spec.data.training_snapshot:
        return service.config.resolve(spec.data.training_snapshot)
    raise ApiError(
        404, "not_found", f"model {spec.id!r} has no stored reference window; materialize it first"
    )


def run_check(
    service: Service, principal: Principal, spec: ModelSpec, body: DriftCheckRequest
) -> DriftCheckResult:
    """Read both windows, detect drift with the model's settings (and the request's overrides), record it."""
    if body.window is not None:
        current_uri = _stored(service, spec, "current_window", body.window)
        if current_uri is None:
            raise ApiError(404, "not_found", f"window {body.window!r} of model {spec.id!r} is not stored")
        reference_uri = _reference(service, spec, body.window)
    else:
        current_uri = allowed_source(service, "current_data", body.current_data or "")
        reference_uri = (
            allowed_source(service, "reference_data", body.reference_data)
            if body.reference_data
            else _reference(service, spec, None)
        )
    reference = read_window_file(reference_uri, role="reference")
    current = read_window_file(current_uri, role="current")
    config = detection_config(spec)
    stored = service.thresholds(spec.id)
    thresholds = {k: dict(v) for k, v in (stored if stored is not None else config.thresholds).items()}
    if body.threshold is not None:
        thresholds["*"] = {**thresholds.get("*", {}), "alpha": body.threshold}
    kinds = spec.feature_kinds
    features = body.features or list(kinds)
    for name in features:
        if name not in kinds:
            raise ApiError(
                400, "unknown_feature", f"features: {name!r} is not a feature of model {spec.id!r}"
            )
        for role, frame in (("reference", reference), ("current", current)):
            if name not in frame.columns:
                raise ApiError(400, "missing_column", f"{role} window has no column {name!r}")
    config = config.model_copy(update={"features": {f: kinds[f] for f in features}, "thresholds": thresholds})
    columns = {
        "time_column": spec.timestamp_column,
        "prediction_column": spec.prediction_column,
        "label_column": spec.label_column,
    }
    report = detect_drift(
        reference, current, config, **{k: v for k, v in columns.items() if v and v in current.columns}
    )
    payload = report.to_dict()
    check_id = uuid.uuid4().hex[:16]
    shown = {"reference": body.reference_data or reference_uri, "current": body.current_data or current_uri}
    if body.window:
        shown["current"] = f"window {body.window}"
    event = AuditEvent(
        kind="drift_check",
        model_id=spec.id,
        incident_id=None,
        actor=principal.actor,
        run_id=None,
        action=None,
        outcome=payload["verdict"],
        details={
            "check_id": check_id,
            **shown,
            "drift_score": payload["drift_score"],
            "affected_features": [a["name"] for a in payload["affected_features"]],
            "via": principal.via,
        },
    )
    entry = service.trail.append(event)
    history.observe_audit(
        service.instance,
        spec,
        f"drift_check by {principal.actor} → {payload['verdict']}",
        {
            "kind": "drift_check",
            "outcome": payload["verdict"],
            "actor": principal.actor,
            "check_id": check_id,
            "drift_score": float(payload["drift_score"] or 0.0),
            "audit_seq": int(entry.seq),
            "audit_hash": entry.hash,
        },
    )
    return DriftCheckResult(
        check_id=check_id,
        model_id=spec.id,
        actor=principal.actor,
        reference=shown["reference"],
        current=shown["current"],
        report=DriftReportBody.model_validate(payload),
        audit_seq=int(entry.seq),
    )


@router.post("/drift-check", response_model=DriftCheckResult, summary="Run a drift check now (operator)")
def drift_check(body: DriftCheckRequest, service: ServiceDep, principal: PrincipalDep) -> DriftCheckResult:
    spec = owned_model(principal, service.specs, body.model_id)
    require_role(principal, "operator")
    return run_check(service, principal, spec, body)


# ---------------------------------------------------------------------------------------------- health


@router.get("/models/{model_id}/health", response_model=ModelHealth, summary="A model's drift state")
def model_health(model_id: str, service: ServiceDep, principal: PrincipalDep) -> ModelHealth:
    spec = owned_model(principal, service.specs, model_id)
    windows = history.incident_windows(service.instance, spec)
    runs = history.remediation_runs(service.instance, model_id=spec.id, limit=1)
    last = run_status(service, runs[0]) if runs else None
    if not windows:
        return ModelHealth(model_id=spec.id, status="unknown", last_remediation=last)
    window, latest = list(windows.items())[-1]
    current = history.newest(service.instance, AssetKey([spec.asset_prefix, "current_window"]), window)
    signals = history.plain_metadata(current) if current is not None else {}
    drifted = bool(latest.get("drift_detected"))
    affected = str(latest.get("affected_features") or "")
    return ModelHealth(
        model_id=spec.id,
        status="drifting" if drifted else "healthy",
        latest_window=window,
        drift_detected=drifted,
        drift_score=float(latest.get("drift_score") or 0.0),
        verdict=str(latest.get("verdict") or "") or None,
        affected_features=[n for n in affected.split(", ") if n and n != "none"],
        open_incident=str(latest.get("incident_id") or "") or None,
        windows_checked=len(windows),
        drifted_windows=sum(1 for m in windows.values() if m.get("drift_detected")),
        error_rate=float(signals["error_rate"]) if "error_rate" in signals else None,
        latency_p95_ms=float(signals["latency_p95_ms"]) if "latency_p95_ms" in signals else None,
        last_remediation=last,
    )


# ------------------------------------------------------------------------------------------- incidents


@router.get("/incidents", response_model=IncidentList, summary="Incidents (open ones by default)")
def list_incidents(
    service: ServiceDep,
    principal: PrincipalDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    model_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IncidentList:
    specs = [owned_model(principal, service.specs, model_id)] if model_id else service.specs
    found = [i for spec in specs if principal.owns(spec.owners) for i in model_incidents(service, spec)]
    found = [i for i in found if status == "all" or i.status == status]
    found.sort(key=lambda i: i.last_window, reverse=True)
    return IncidentList(incidents=found[:limit])

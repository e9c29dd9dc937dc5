"""``GET /api/v1/models``: the monitored models the caller's teams own, with their newest drift state."""

from __future__ import annotations

from dagster import AssetKey
from fastapi import APIRouter

from api import history
from api.deps import PrincipalDep, ServiceDep
from drift_sentinel.api_schema import API_PREFIX, ModelList, ModelSummary
from drift_sentinel.config import ModelSpec

router = APIRouter(prefix=API_PREFIX, tags=["models"])


def summary(service: ServiceDep, spec: ModelSpec) -> ModelSummary:
    windows = history.incident_windows(service.instance, spec)
    latest_window, latest = (list(windows.items())[-1]) if windows else (None, {})
    importance = history.newest(service.instance, AssetKey([spec.asset_prefix, "feature_importance"]))
    version = history.plain_metadata(importance).get("model_version") if importance is not None else None
    return ModelSummary(
        id=spec.id,
        description=spec.description,
        owners=list(spec.owners),
        features=[f.name for f in spec.features],
        cadence=spec.window.cadence,
        window_start=spec.window.start.isoformat(),
        window_end=spec.window.end.isoformat() if spec.window.end else None,
        latest_window=latest_window,
        drift_detected=bool(latest["drift_detected"]) if "drift_detected" in latest else None,
        drift_score=float(latest["drift_score"]) if "drift_score" in latest else None,
        open_incident=str(latest.get("incident_id") or "") or None,
        champion_version=str(version) if version else None,
    )


@router.get("/models", response_model=ModelList, summary="Monitored models visible to the caller")
def list_models(service: ServiceDep, principal: PrincipalDep) -> ModelList:
    return ModelList(models=[summary(service, s) for s in service.specs if principal.owns(s.owners)])

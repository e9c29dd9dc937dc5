"""``/api/v1/analysis``: an incident's root-cause report, recurring patterns, and correlation on demand."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from dagster import AssetKey
from fastapi import APIRouter, Path, Query

from api import history
from api.deps import PrincipalDep, ServiceDep
from api.security import ApiError, owned_model
from api.views import find_incident
from drift_sentinel.analysis.correlation import correlate
from drift_sentinel.api_schema import API_PREFIX, CorrelateRequest, CorrelationResult, PatternList, RcaReport

router = APIRouter(prefix=f"{API_PREFIX}/analysis", tags=["analysis"])


@router.get("/rca/{incident_id}", response_model=RcaReport, summary="The root-cause report of an incident")
def get_rca(
    incident_id: Annotated[str, Path(max_length=200)], service: ServiceDep, principal: PrincipalDep
) -> RcaReport:
    spec = find_incident(service, principal, incident_id)
    found = history.rca_by_incident(service.instance, spec).get(incident_id)
    if found is None:
        raise ApiError(404, "not_found", f"incident {incident_id!r} has no rca_report yet")
    window, record = found
    meta = history.plain_metadata(record)
    return RcaReport(
        incident_id=incident_id,
        model_id=spec.id,
        window=window,
        root_cause=meta.get("root_cause"),
        confidence=float(meta["confidence"]) if "confidence" in meta else None,
        recommended_action=meta.get("recommended_action"),
        report=history.stored_json(record),
    )


@router.get("/patterns", response_model=PatternList, summary="Recurring incident signatures per model")
def get_patterns(
    service: ServiceDep,
    principal: PrincipalDep,
    model_id: Annotated[str | None, Query(max_length=200)] = None,
) -> PatternList:
    specs = [owned_model(principal, service.specs, model_id)] if model_id else service.specs
    out: dict[str, list[dict]] = {}
    for spec in specs:
        if not principal.owns(spec.owners):
            continue
        record = history.newest(service.instance, AssetKey([spec.asset_prefix, "recurring_patterns"]))
        value = history.stored_json(record) if record is not None else []
        out[spec.id] = [dict(p) for p in value] if isinstance(value, list) else []
    return PatternList(patterns=out)


@router.post(
    "/correlate", response_model=CorrelationResult, summary="Pearson and Granger causality of series"
)
def post_correlate(body: CorrelateRequest, principal: PrincipalDep) -> CorrelationResult:
    frame = pd.DataFrame({name: pd.array(values, dtype="Float64") for name, values in body.series.items()})
    report = correlate(
        frame.astype(float),
        target=body.target,
        maxlag=body.maxlag,
        criterion=body.criterion,
        alpha=body.alpha,
    )
    return CorrelationResult.model_validate(report.to_dict())

"""``feature_importance`` and ``rca_report``: why the model drifted, with evidence and confidence."""

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    Output,
    PartitionsDefinition,
    asset,
)

from drift_sentinel.analysis import analyze_incident
from drift_sentinel.config import ModelSpec
from drift_sentinel.detection import DriftReport
from drift_sentinel.training import permutation_importance
from drift_sentinel.windows import read_table
from resources.catalog import ModelCatalogResource
from resources.model_registry import ModelRegistryResource
from sentinel_assets.metadata import rca_metadata


def build_rca_assets(spec: ModelSpec, partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    """The champion's feature importance (once per model version) and the per-window RCA report."""
    prefix = spec.asset_prefix
    importance_key, rca_key = AssetKey([prefix, "feature_importance"]), AssetKey([prefix, "rca_report"])

    @asset(
        key=importance_key,
        group_name=prefix,
        kinds={"mlflow", "scikitlearn"},
        owners=list(spec.owners),
        description=f"Permutation importance of {spec.id}'s champion model on the training snapshot.",
    )
    def feature_importance(
        catalog: ModelCatalogResource, model_registry: ModelRegistryResource
    ) -> Output[dict[str, Any]]:
        name, alias = spec.registered_model_name, spec.registry.champion_alias
        champion = model_registry.champion(name, alias=alias)
        if champion is None or not spec.data.training_snapshot or not spec.label_column:
            reason = "no champion version" if champion is None else "no labelled training snapshot"
            return Output(
                {"model_version": None, "importance": {}, "reason": reason}, metadata={"reason": reason}
            )
        model = model_registry.load_model(name, champion.version)
        frame = read_table(catalog.resolve(spec.data.training_snapshot))
        importance = permutation_importance(
            model, frame, features=spec.feature_kinds, label=spec.label_column, seed=0
        )
        top = max(importance, key=importance.get) if importance else "none"
        return Output(
            {"model_version": champion.version, "importance": importance},
            metadata={
                "model_version": str(champion.version),
                "top_feature": top,
                **{f"importance/{k}": float(v) for k, v in importance.items()},
            },
        )

    @asset(
        key=rca_key,
        ins={
            "drift_report": AssetIn(key=AssetKey([prefix, "drift_report"])),
            "current_window": AssetIn(key=AssetKey([prefix, "current_window"])),
            "feature_importance": AssetIn(key=importance_key),
        },
        partitions_def=partitions,
        group_name=prefix,
        kinds={"python"},
        owners=list(spec.owners),
        description=f"Root cause of {spec.id}'s drift in this window: ranked causes, confidence, recommended action.",
    )
    def rca_report(
        context: AssetExecutionContext,
        catalog: ModelCatalogResource,
        drift_report: dict[str, Any],
        current_window: pd.DataFrame,
        feature_importance: dict[str, Any],
    ):
        incident = drift_report.get("incident_id") or ""
        if not incident:
            payload = {
                "incident_id": None,
                "model_id": spec.id,
                "window": context.partition_key,
                "drift_detected": False,
                "verdict": drift_report.get("verdict"),
            }
            return Output(payload, metadata=rca_metadata(payload, None))
        events = read_table(catalog.resolve(spec.data.events)) if spec.data.events else None
        rca = analyze_incident(
            DriftReport.from_dict(drift_report),
            incident_id=incident,
            detection_time=datetime.now(UTC),
            model_id=spec.id,
            feature_importance=feature_importance.get("importance") or None,
            events=events,
            current=current_window,
            time_column=spec.timestamp_column,
            prediction_column=spec.prediction_column,
            label_column=spec.label_column or "label",
        )
        payload = {**rca.to_dict(), "model_id": spec.id, "window": context.partition_key}
        return Output(payload, metadata=rca_metadata(payload, rca.to_markdown()))

    return [feature_importance, rca_report]

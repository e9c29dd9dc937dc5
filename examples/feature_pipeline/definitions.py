"""A team's own Dagster pipeline, guarded by Drift Sentinel: raw transactions → features → training set.

Everything above the ``# Drift Sentinel`` line is the team's ordinary pipeline (its own assets and IO
manager); the lines below it are all it takes to guard ``features/transactions``: a drift check against the
previous three days and a data-quality check learned from the previous week (ranges, categories, null rates).
Both block: a drifted or malformed day never reaches the training set. The references are computed once per day
by the ``feature_references`` job (or Dagster's automation) before that day's ``feature_pipeline`` run.

The generator switch: ``FEATURE_PIPELINE_DRIFT_FROM=2024-10-08`` injects drift into the raw data from that day
on (or set ``drift_from`` on the ``transactions`` resource). Storage: ``FEATURE_PIPELINE_STORAGE`` (default
``.sentinel/feature_pipeline``).
"""

import os

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetSelection,
    ConfigurableResource,
    DailyPartitionsDefinition,
    Definitions,
    FilesystemIOManager,
    asset,
    define_asset_job,
    in_process_executor,
)

from examples.feature_pipeline.generator import generate_transactions
from examples.feature_pipeline.training import fraud_model, fraud_training_set, tracking, train_fraud_model

days = DailyPartitionsDefinition(start_date="2024-10-01", end_date="2024-10-15")


class TransactionSource(ConfigurableResource):
    """Where raw transactions come from; ``drift_from`` (a day) switches drift injection on from that day."""

    drift_from: str = ""
    rows_per_day: int = 600
    seed: int = 7

    def day(self, day: str) -> pa.Table:
        drift = bool(self.drift_from) and day >= self.drift_from
        return generate_transactions(day, rows=self.rows_per_day, drift=drift, seed=self.seed)


@asset(key=["raw", "transactions"], partitions_def=days, group_name="feature_pipeline", kinds={"pyarrow"})
def raw_transactions(context: AssetExecutionContext, transactions: TransactionSource) -> pa.Table:
    """Card transactions of the day, as delivered by the upstream system."""
    return transactions.day(context.partition_key)


@asset(
    key=["features", "transactions"],
    ins={"raw": AssetIn(key=["raw", "transactions"])},
    partitions_def=days,
    group_name="feature_pipeline",
    kinds={"pandas"},
)
def transaction_features(raw: pa.Table) -> pd.DataFrame:
    """Model features per transaction: amount, its log, hour, weekend flag, merchant category, country, device."""
    frame = raw.to_pandas()
    local = frame["timestamp"].dt
    return pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"],
            "amount": frame["amount"].astype("float64"),
            "log_amount": np.log1p(frame["amount"].astype("float64")),
            "hour": local.hour.astype("int64"),
            "is_weekend": local.dayofweek >= 5,
            "merchant_category": frame["merchant_category"],
            "is_foreign": (frame["country"] != "FR").astype("int64"),
            "device": frame["device"],
            "is_fraud": frame["is_fraud"],
        }
    )


@asset(
    key=["training", "training_set"],
    ins={"features": AssetIn(key=["features", "transactions"])},
    partitions_def=days,
    group_name="feature_pipeline",
    kinds={"pandas"},
)
def training_set(features: pd.DataFrame) -> pd.DataFrame:
    """Labelled rows of the day that the next retrain reads (the id column dropped)."""
    return features.drop(columns=["transaction_id"]).reset_index(drop=True)


# Drift Sentinel: the five lines a team adds (see docs/checks.md) -------------------------------------------------
from sentinel_assets.checks import (  # noqa: E402
    Trailing,
    build_drift_checks,
    build_quality_checks,
    reference_assets,
)

FEATURES = {
    "amount": "numeric",
    "hour": "numeric",
    "is_foreign": "numeric",
    "merchant_category": "categorical",
}
drift_checks = build_drift_checks(transaction_features, reference=Trailing(3), features=FEATURES)
quality_checks = build_quality_checks(transaction_features, learn_from=Trailing(7), columns=list(FEATURES))
# ------------------------------------------------------------------------------------------------------------------

pipeline_assets = [raw_transactions, transaction_features, training_set]
feature_pipeline_job = define_asset_job(
    "feature_pipeline",
    selection=AssetSelection.all()
    - reference_assets()
    - AssetSelection.assets(fraud_training_set, fraud_model),
    partitions_def=days,
    description="Raw → features → training set, per day; the checks on the features block the training set.",
)
references_job = define_asset_job(
    "feature_references",
    selection=reference_assets(),
    partitions_def=days,
    description="The checks' references for each day, from the days before it (run before the pipeline's run).",
)


def build_defs(*, storage: str | None = None, drift_from: str | None = None) -> Definitions:
    """The code location; storage and the drift switch default to the environment (see the module docstring)."""
    env = os.environ
    return Definitions(
        assets=[*pipeline_assets, *drift_checks, *quality_checks, fraud_training_set, fraud_model],
        jobs=[feature_pipeline_job, references_job, train_fraud_model],
        resources={
            "io_manager": FilesystemIOManager(
                base_dir=storage
                or env.get("FEATURE_PIPELINE_STORAGE", os.path.join(".sentinel", "feature_pipeline"))
            ),
            "mlflow": tracking,  # the training job and asset (configured per run: tracking URI, experiment)
            "transactions": TransactionSource(
                drift_from=env.get("FEATURE_PIPELINE_DRIFT_FROM", "") if drift_from is None else drift_from
            ),
        },
        executor=in_process_executor,
    )


defs = build_defs()

"""The team's training job: labelled prediction rows → a model → a new registered version in MLflow.

``train_fraud_model`` is what Drift Sentinel launches when the model's ``retrain:`` target is this job (see
docs/remediation.md). It is ordinary team code: it tracks its MLflow run with ``dagster-mlflow``'s
``mlflow_tracking`` resource (which tags the run ``dagster_run_id=<this Dagster run>``) and ends that run with
the package's ``end_mlflow_on_run_finished`` hook, and registers the model it trained as a new version whose
source run is that MLflow run. Drift Sentinel finds the version by that tag, then evaluates it against the
champion itself. ``models/fraud_model`` is the same training as assets (the ``retrain: {asset: …}`` form): it
reads ``models/fraud_training_set``, the labelled rows, which Drift Sentinel materializes in the same run when it
was never materialized or its code version changed since it was.

Which rows to train on: the op's (or training set's) config, or the window Drift Sentinel put on the run as tags
(``sentinel/train_start`` .. ``sentinel/train_end``, the rows before its held-out window). The MLflow run is also
tagged with the incident, the action and the remediation run Drift Sentinel put on the Dagster run
(``sentinel.incident``, ``sentinel.action``, ``sentinel.remediation_run``), so it can be found from either side.
"""

import warnings
from datetime import datetime

import pandas as pd
from dagster import AssetExecutionContext, AssetIn, Config, OpExecutionContext, asset, job, op

with warnings.catch_warnings():  # the hook is a beta function of dagster-mlflow: warned about at import
    warnings.simplefilter("ignore")
    from dagster_mlflow import end_mlflow_on_run_finished, mlflow_tracking

from drift_sentinel.training import evaluate_model, train_model
from drift_sentinel.windows import read_window

tracking = mlflow_tracking
"""dagster-mlflow's resource, bound as ``mlflow`` by the code location (configured per run)."""

TRAIN_START_TAG = "sentinel/train_start"
TRAIN_END_TAG = "sentinel/train_end"
LINEAGE_TAGS = {
    "sentinel/incident": "sentinel.incident",
    "sentinel/action": "sentinel.action",
    "sentinel/remediation_run": "sentinel.remediation_run",
}
"""Dagster run tags Drift Sentinel sets → the MLflow run tags they are copied to."""


class TrainingSetConfig(Config):
    """Which labelled rows to train on: the prediction log, its label and time columns, the window (optional)."""

    prediction_log: str
    label: str = "label"
    timestamp_column: str = "timestamp"
    start: str = ""
    end: str = ""


class ModelConfig(Config):
    """What to train and where to register it: the features and their kinds, the kind, the registered name."""

    registered_model_name: str
    features: dict[str, str]
    label: str = "label"
    kind: str = "logistic_regression"
    seed: int = 0


class TrainingConfig(TrainingSetConfig, ModelConfig):
    """The job's one op does both: the rows and the model."""


def _labelled_rows(
    context: OpExecutionContext | AssetExecutionContext, config: TrainingSetConfig
) -> pd.DataFrame:
    tags = context.run.tags
    start = datetime.fromisoformat(config.start or tags[TRAIN_START_TAG])
    end = datetime.fromisoformat(config.end or tags[TRAIN_END_TAG])
    frame = read_window(config.prediction_log, start=start, end=end, time_column=config.timestamp_column)
    return frame[frame[config.label].notna()].reset_index(drop=True)


def _train_and_register(
    context: OpExecutionContext | AssetExecutionContext, frame: pd.DataFrame, config: ModelConfig
) -> str:
    import mlflow
    import mlflow.sklearn
    import sklearn
    import skops.io as skops_io

    model = train_model(
        frame,
        features=config.features,
        label=config.label,
        seed=config.seed,
        kind=config.kind,  # type: ignore[arg-type]
    )
    tags = context.run.tags
    mlflow.set_tags({mlflow_tag: tags[tag] for tag, mlflow_tag in LINEAGE_TAGS.items() if tag in tags})
    context.resources.mlflow.log_params({"kind": config.kind, "rows": len(frame)})
    mlflow.log_metrics({f"train_{k}": v for k, v in evaluate_model(model, frame, label=config.label).items()})
    trusted = skops_io.get_untrusted_types(data=skops_io.dumps(model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=config.registered_model_name,
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            serialization_format="skops",
            skops_trusted_types=trusted,
        )
    version = str(info.registered_model_version)
    context.log.info(f"registered {config.registered_model_name} v{version} ({len(frame)} rows)")
    return version


@op(required_resource_keys={"mlflow"})
def train_and_register(context: OpExecutionContext, config: TrainingConfig) -> str:
    """Train on the window's labelled rows, log the model to the tracked MLflow run, register a version."""
    return _train_and_register(context, _labelled_rows(context, config), config)


@asset(key=["models", "fraud_training_set"], group_name="training", kinds={"pandas"})
def fraud_training_set(context: AssetExecutionContext, config: TrainingSetConfig) -> pd.DataFrame:
    """Labelled prediction rows of the training window, which the next model is trained on."""
    frame = _labelled_rows(context, config)
    context.add_output_metadata({"dagster/row_count": len(frame)})
    return frame


@asset(
    key=["models", "fraud_model"],
    ins={"rows": AssetIn(key=["models", "fraud_training_set"])},
    required_resource_keys={"mlflow"},
    group_name="training",
)
def fraud_model(context: AssetExecutionContext, config: ModelConfig, rows: pd.DataFrame) -> str:
    """The model trained on the training set: the registered version. An asset has no run-end hook, so the
    MLflow run ``mlflow_tracking`` started is ended here (otherwise it stays RUNNING)."""
    import mlflow

    try:
        version = _train_and_register(context, rows, config)
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run()
    context.add_output_metadata({"registered_model": config.registered_model_name, "version": version})
    return version


@job(
    hooks={end_mlflow_on_run_finished},
    description="Train the fraud model on labelled rows and register a new version in MLflow.",
)
def train_fraud_model() -> None:
    train_and_register()

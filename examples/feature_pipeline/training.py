"""The team's training job: labelled prediction rows → a model → a new registered version in MLflow.

``train_fraud_model`` is what Drift Sentinel launches when the model's ``retrain:`` target is this job (see
docs/remediation.md). It is ordinary team code: it tracks its MLflow run with ``dagster-mlflow``'s
``mlflow_tracking`` resource (which tags the run ``dagster_run_id=<this Dagster run>``) and ends that run with
the package's ``end_mlflow_on_run_finished`` hook, and registers the model it trained as a new version whose
source run is that MLflow run. Drift Sentinel finds the version by that tag, then evaluates it against the
champion itself. ``models/fraud_model`` is the same training as an asset (the ``retrain: {asset: …}`` form).

Which rows to train on: the op's config, or the window Drift Sentinel put on the run as tags
(``sentinel/train_start`` .. ``sentinel/train_end``, the rows before its held-out window).
"""

import warnings
from datetime import datetime

from dagster import AssetExecutionContext, Config, OpExecutionContext, asset, job, op

with warnings.catch_warnings():  # the hook is a beta function of dagster-mlflow: warned about at import
    warnings.simplefilter("ignore")
    from dagster_mlflow import end_mlflow_on_run_finished, mlflow_tracking

from drift_sentinel.training import evaluate_model, train_model
from drift_sentinel.windows import read_window

tracking = mlflow_tracking
"""dagster-mlflow's resource, bound as ``mlflow`` by the code location (configured per run)."""

TRAIN_START_TAG = "sentinel/train_start"
TRAIN_END_TAG = "sentinel/train_end"


class TrainingConfig(Config):
    """What to train: the labelled log, the features and their kinds, the registered model's name."""

    prediction_log: str
    registered_model_name: str
    features: dict[str, str]
    label: str = "label"
    timestamp_column: str = "timestamp"
    kind: str = "logistic_regression"
    start: str = ""
    end: str = ""
    seed: int = 0


def _train_and_register(context: OpExecutionContext | AssetExecutionContext, config: TrainingConfig) -> str:
    import mlflow
    import mlflow.sklearn
    import sklearn
    import skops.io as skops_io

    tags = context.run.tags
    start = datetime.fromisoformat(config.start or tags[TRAIN_START_TAG])
    end = datetime.fromisoformat(config.end or tags[TRAIN_END_TAG])
    frame = read_window(config.prediction_log, start=start, end=end, time_column=config.timestamp_column)
    frame = frame[frame[config.label].notna()]
    model = train_model(
        frame,
        features=config.features,
        label=config.label,
        seed=config.seed,
        kind=config.kind,  # type: ignore[arg-type]
    )
    context.resources.mlflow.log_params({"kind": config.kind, "rows": len(frame), "start": str(start)})
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
    return _train_and_register(context, config)


@asset(key=["models", "fraud_model"], required_resource_keys={"mlflow"}, group_name="training")
def fraud_model(context: AssetExecutionContext, config: TrainingConfig) -> str:
    """The same training as an asset: the registered version. An asset has no run-end hook, so the MLflow run
    ``mlflow_tracking`` started is ended here (otherwise it stays RUNNING)."""
    import mlflow

    try:
        version = _train_and_register(context, config)
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

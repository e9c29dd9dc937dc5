"""Where a model's challenger comes from when ``retrain_model`` runs: ``retrain:`` in ``sentinel.yaml``.

One of three forms (validated here; the names are checked against the workspace when the definitions load):

- ``{builtin: gradient_boosting}`` (the default): Drift Sentinel's own trainer (:mod:`drift_sentinel.training`)
  inside the remediation op;
- ``{job: <job name>, code_location: <name>, run_config: {...}}``: a run of the team's training job;
- ``{asset: <asset key a/b>, code_location: <name>}``: a run materializing the team's model asset.

A team's run must register a new version of the model in MLflow whose source run carries the Dagster run id
as the ``dagster_run_id`` tag (what ``dagster-mlflow``'s ``mlflow_tracking`` resource sets); see
``docs/remediation.md``.

>>> RetrainTarget().kind, RetrainTarget().builtin_kind
('builtin', 'gradient_boosting')
>>> t = RetrainTarget.model_validate({"job": "train_fraud_model", "code_location": "feature_pipeline"})
>>> t.kind, t.describe()
('job', "job 'train_fraud_model' in code location 'feature_pipeline'")
>>> RetrainTarget.model_validate({"job": "train"})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for RetrainTarget
...
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DAGSTER_RUN_ID_TAG = "dagster_run_id"
"""The MLflow run tag that names the Dagster run which created it (``dagster-mlflow`` sets it)."""


class RetrainTarget(BaseModel):
    """Where ``retrain_model`` gets its challenger: the built-in trainer, a team's job, or a team's asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    builtin: Literal["gradient_boosting", "logistic_regression"] | None = None
    job: str | None = None
    asset: str | None = Field(default=None, description="asset key, components joined by '/'")
    code_location: str | None = None
    run_config: dict[str, Any] = Field(default_factory=dict)
    workspace: str | None = Field(
        default=None,
        description="workspace file naming the code location (default: workspace.yaml next to "
        "the models file)",
    )
    timeout_seconds: float = Field(default=1800.0, gt=0, description="how long to wait for the team's run")

    @model_validator(mode="after")
    def _one_form(self) -> RetrainTarget:
        forms = [name for name in ("builtin", "job", "asset") if getattr(self, name)]
        if len(forms) > 1:
            raise ValueError(f"retrain: give one of builtin, job or asset, not {' and '.join(forms)}")
        if forms and forms[0] != "builtin" and not self.code_location:
            raise ValueError(f"retrain: a {forms[0]} target needs code_location (a name in the workspace)")
        if (not forms or forms[0] == "builtin") and (self.code_location or self.run_config):
            raise ValueError("retrain: code_location and run_config apply only to a job or asset target")
        return self

    @property
    def kind(self) -> Literal["builtin", "job", "asset"]:
        return "job" if self.job else "asset" if self.asset else "builtin"

    @property
    def builtin_kind(self) -> str:
        return self.builtin or "gradient_boosting"

    @property
    def asset_path(self) -> list[str]:
        """The asset key's components (``training/fraud_model`` → ``['training', 'fraud_model']``)."""
        return [part for part in (self.asset or "").split("/") if part]

    def describe(self) -> str:
        if self.kind == "job":
            return f"job {self.job!r} in code location {self.code_location!r}"
        if self.kind == "asset":
            return f"asset {self.asset!r} in code location {self.code_location!r}"
        return f"built-in trainer {self.builtin_kind!r}"

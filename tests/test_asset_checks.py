"""The public asset-check factory on small pipelines of a user's own: references, bad input, blocking."""

# ruff: noqa: F811  (pytest fixtures imported by name, used as parameters)
import io
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    AssetCheckSeverity,
    AssetIn,
    DagsterInstance,
    Definitions,
    FilesystemIOManager,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from dagster._core.errors import DagsterInvalidDefinitionError

from drift_sentinel.errors import ConfigError
from sentinel_assets.checks import FixedPartition, Trailing, build_drift_checks, build_quality_checks
from tests.support.fixtures import moto_endpoint, s3_credentials, unique_name  # noqa: F401

FEATURES = {"amount": "numeric", "country": "categorical"}


def _frame(seed: int, *, shift: float = 0.0, rows: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(50.0, 10.0, size=rows) + shift,
            "country": rng.choice(["FR", "DE", "ES"], size=rows, p=[0.6, 0.3, 0.1]),
            "score": rng.uniform(size=rows),
        }
    )


def _pipeline(value: object):
    """A user's ``training/snapshot`` (reference) → ``features/scored`` (checked, returns ``value``) → ``report``."""

    @asset(key=["training", "snapshot"])
    def snapshot() -> pd.DataFrame:
        return _frame(1)

    @asset(key=["features", "scored"])
    def scored() -> object:
        return value

    @asset(key=["features", "report"], ins={"scored": AssetIn(key=["features", "scored"])})
    def report(scored: object) -> int:
        return 1

    return snapshot, scored, report


def _evaluation(result, name: str):
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def _meta(evaluation) -> dict:
    return {k: v.value for k, v in evaluation.metadata.items()}


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _run(assets: list, tmp_path: Path, instance: DagsterInstance | None = None, **kwargs):
    return materialize(
        assets,
        instance=instance or DagsterInstance.ephemeral(),
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "storage"))},
        raise_on_error=False,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.parametrize("as_arrow", [False, True])
def test_reference_asset_clean_value_passes_drifted_value_fails_and_blocks(
    tmp_path: Path, as_arrow: bool
) -> None:
    """Clean (pandas or pyarrow) passes; a 1-sd shift of ``amount`` fails, names it and stops the downstream asset."""
    for shift, passed in ((0.0, True), (10.0, False)):
        frame = _frame(2, shift=shift)
        snapshot, scored, report = _pipeline(pa.Table.from_pandas(frame) if as_arrow else frame)
        checks = build_drift_checks(scored, reference=snapshot, features=FEATURES)
        assets, instance = [snapshot, scored, report, *checks], DagsterInstance.ephemeral()
        assert _run(assets, tmp_path / str(shift), instance, selection=[snapshot.key, checks[0].key]).success
        result = _run(assets, tmp_path / str(shift), instance, selection=[scored.key, report.key])
        evaluation = _evaluation(result, "scored_shows_no_drift")
        meta = _meta(evaluation)
        assert evaluation.passed is passed
        assert ("features/report" in _materialized(result)) is passed
        if passed:
            assert meta["verdict"] == "PASSED" and meta["drift_score"] == 0.0
        else:
            assert evaluation.severity is AssetCheckSeverity.ERROR
            assert meta["affected_features"] == "amount" and meta["n_drifted"] == 1
            assert meta["feature_magnitude/amount"] > 0.3 > meta["feature_magnitude/country"]
            assert evaluation.description == "asset features/scored: FAILED: amount"
        assert meta["reference_rows"] == 800 and meta["reference"] == "asset training/snapshot"


@pytest.mark.slow
def test_reference_profile_is_computed_once_and_reused(tmp_path: Path) -> None:
    """The checked asset alone re-runs the check against the stored profile; the profile is not recomputed."""
    snapshot, scored, report = _pipeline(_frame(3))
    reference, check = build_drift_checks(scored, reference=snapshot, features=FEATURES)
    instance = DagsterInstance.ephemeral()
    assert _run([snapshot, reference], tmp_path, instance).success
    for seed in (4, 5):
        snapshot2, scored2, _ = _pipeline(_frame(seed))
        result = _run([scored2, check], tmp_path, instance, selection=[scored2.key])
        assert _evaluation(result, "scored_shows_no_drift").passed
        assert _materialized(result) == {"features/scored"}
    profile_runs = instance.fetch_materializations(reference.key, limit=10).records
    assert len(profile_runs) == 1


@pytest.mark.slow
def test_file_reference_and_inconclusive_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "reference.parquet"
    _frame(6).to_parquet(path)
    _, scored, report = _pipeline(_frame(7, rows=10))  # 10 rows < min_samples 30: INCONCLUSIVE
    checks = build_drift_checks(scored, reference=path, features=FEATURES)
    instance = DagsterInstance.ephemeral()
    assert _run([scored, report, *checks], tmp_path, instance, selection=[checks[0].key]).success
    result = _run([scored, report, *checks], tmp_path, instance, selection=[scored.key, report.key])
    evaluation = _evaluation(result, "scored_shows_no_drift")
    assert not evaluation.passed and evaluation.severity is AssetCheckSeverity.WARN
    assert _meta(evaluation)["verdict"] == "INCONCLUSIVE"
    assert "features/report" in _materialized(result)  # WARN does not block


def test_unknown_reference_key_is_refused_when_definitions_load() -> None:
    _, scored, report = _pipeline(_frame(1))
    checks = build_drift_checks(scored, reference="training/no_such_asset")
    with pytest.raises(DagsterInvalidDefinitionError, match="no_such_asset"):
        Definitions.validate_loadable(Definitions(assets=[scored, report, *checks]))


def test_self_references_need_a_partitioned_asset_and_a_known_partition() -> None:
    _, scored, _ = _pipeline(_frame(1))
    with pytest.raises(ConfigError, match="Trailing"):
        build_drift_checks(scored, reference=Trailing(3))
    with pytest.raises(ConfigError, match="FixedPartition"):
        build_drift_checks(scored, reference=FixedPartition("a"))
    with pytest.raises(ConfigError, match="not one of its partitions"):
        build_drift_checks(
            "features/x", reference=FixedPartition("z"), partitions_def=StaticPartitionsDefinition(["a"])
        )
    with pytest.raises(ConfigError, match="at least 1"):
        Trailing(0)
    with pytest.raises(ConfigError, match="exactly one"):
        build_quality_checks(scored)
    with pytest.raises(ConfigError, match="unknown algorithm"):
        build_drift_checks(scored, reference="training/snapshot", config={"algorithms": ["nope"]})


BAD_INPUT = [
    ({"amount": [1.0]}, "the value is a dict, not a table"),
    (_frame(1).iloc[:0], "no rows (the table is empty)"),
    (_frame(1).drop(columns="country"), "column 'country' is missing (a declared feature)"),
    (
        _frame(1).assign(amount=lambda f: f["amount"].map("{:.2f}".format)),
        "column 'amount' is object (categorical)",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("value", "message"), BAD_INPUT, ids=["not-a-table", "empty", "missing", "dtype"])
def test_bad_input_fails_the_check_with_asset_partition_and_column(
    tmp_path: Path, value: object, message: str
) -> None:
    """On a partitioned asset, non-blocking: the run succeeds and the failed check names asset and partition."""
    parts = StaticPartitionsDefinition(["eu", "us"])

    @asset(key=["features", "scored"], partitions_def=parts)
    def scored() -> object:
        return value

    @asset(key=["features", "baseline"])
    def baseline() -> pd.DataFrame:
        return _frame(1)

    drift = build_drift_checks(scored, reference="features/baseline", features=FEATURES, blocking=False)
    instance = DagsterInstance.ephemeral()
    assert _run([baseline, drift[0]], tmp_path, instance).success  # the reference, in its own run
    result = _run([scored, drift[1]], tmp_path, instance, partition_key="eu")
    assert result.success, "bad input must fail the check, not the run"
    evaluation = _evaluation(result, "scored_shows_no_drift")
    assert not evaluation.passed and evaluation.severity is AssetCheckSeverity.ERROR
    assert evaluation.description.startswith("asset features/scored partition eu: ")
    assert message in evaluation.description
    assert _meta(evaluation)["verdict"] == "ERROR"


@pytest.mark.slow
def test_fixed_partition_reference_checks_each_partition(tmp_path: Path) -> None:
    parts = StaticPartitionsDefinition(["base", "same", "moved"])

    @asset(key=["features", "scored"], partitions_def=parts)
    def scored(context) -> pd.DataFrame:
        return _frame(
            {"base": 1, "same": 2, "moved": 3}[context.partition_key],
            shift=8.0 * (context.partition_key == "moved"),
        )

    drift = build_drift_checks(scored, reference=FixedPartition("base"), features=FEATURES, blocking=False)
    instance = DagsterInstance.ephemeral()
    assets = [scored, *drift]
    assert _run(assets, tmp_path, instance, selection=[scored.key], partition_key="base").success
    assert _run(assets, tmp_path, instance, selection=[drift[0].key]).success
    outcomes = {}
    for key in ("same", "moved"):
        result = _run(assets, tmp_path, instance, selection=[scored.key], partition_key=key)
        evaluation = _evaluation(result, "scored_shows_no_drift")
        assert evaluation.partition == key
        outcomes[key] = (evaluation.passed, _meta(evaluation)["affected_features"])
    assert outcomes == {"same": (True, "none"), "moved": (False, "amount")}


@pytest.mark.slow
def test_quality_checks_given_and_learned(tmp_path: Path) -> None:
    """Given ranges and learned categories: an unseen category and negative amounts fail with their names."""
    bad = _frame(2).assign(country=lambda f: f["country"].where(f.index % 5 != 0, "XX"))
    bad.loc[:99, "amount"] = -1.0
    snapshot, scored, report = _pipeline(bad)
    given = build_quality_checks(scored, expectations={"amount": {"min_value": 0}}, name="amount_is_positive")
    learned = build_quality_checks(scored, learn_from=snapshot, columns=["amount", "country"])
    assets, instance = [snapshot, scored, report, *given, *learned], DagsterInstance.ephemeral()
    assert _run(assets, tmp_path, instance, selection=[snapshot.key, learned[0].key]).success
    result = _run(assets, tmp_path, instance, selection=[scored.key, report.key])
    positive = _evaluation(result, "amount_is_positive")
    quality = _evaluation(result, "scored_passes_data_quality")
    assert (
        not positive.passed and "values_in_range:amount: 12.5% unexpected (100 rows)" in positive.description
    )
    assert not quality.passed and "values_in_set:country: 20.0% unexpected (160 rows)" in quality.description
    assert "features/report" not in _materialized(result)

    snapshot, scored, report = _pipeline(_frame(3))
    learned = build_quality_checks(scored, learn_from=snapshot)
    assets, instance = [snapshot, scored, report, *learned], DagsterInstance.ephemeral()
    assert _run(assets, tmp_path / "clean", instance, selection=[snapshot.key, learned[0].key]).success
    result = _run(assets, tmp_path / "clean", instance, selection=[scored.key, report.key])
    assert _evaluation(result, "scored_passes_data_quality").passed
    assert "features/report" in _materialized(result)


@pytest.mark.slow
@pytest.mark.integration
def test_s3_reference_on_a_real_s3_server_and_a_missing_reference_file(
    tmp_path: Path, moto_endpoint: str, s3_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Parquet reference on moto_server; a reference file that does not exist fails the check, naming the file."""
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_endpoint)
    bucket = unique_name("checks")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    body = io.BytesIO()
    _frame(8).to_parquet(body)
    s3.put_object(Bucket=bucket, Key="ref/snapshot.parquet", Body=body.getvalue())
    outcomes = {}
    for uri in (f"s3://{bucket}/ref/snapshot.parquet", f"s3://{bucket}/ref/missing.parquet"):
        _, scored, report = _pipeline(_frame(9, shift=5.0))
        checks = build_drift_checks(scored, reference=uri, features=FEATURES)
        instance = DagsterInstance.ephemeral()
        assert _run(
            [scored, report, *checks], tmp_path / uri[-12:], instance, selection=[checks[0].key]
        ).success
        result = _run(
            [scored, report, *checks], tmp_path / uri[-12:], instance, selection=[scored.key, report.key]
        )
        evaluation = _evaluation(result, "scored_shows_no_drift")
        outcomes[uri] = (_meta(evaluation)["verdict"], evaluation.description)
        assert "features/report" not in _materialized(result)
    verdict, description = outcomes[f"s3://{bucket}/ref/snapshot.parquet"]
    assert verdict == "FAILED" and description.endswith("FAILED: amount")
    verdict, description = outcomes[f"s3://{bucket}/ref/missing.parquet"]
    assert verdict == "ERROR" and "missing.parquet" in description and "unusable reference" in description

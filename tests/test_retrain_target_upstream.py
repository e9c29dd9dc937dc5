"""An asset target's run also materializes what the asset needs upstream that is stale (issue 16).

:func:`resources.run_launcher.upstream_to_refresh` on small graphs with a real instance: ancestors that were never
materialized, were materialized by another code version, or read one that is refreshed, are added; a partitioned
or external ancestor (which cannot run in the same run) is not looked behind. The remote graph of the example code
location, launched for real, is covered in :mod:`tests.test_retrain_target` (asset form).
"""

from __future__ import annotations

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    materialize,
)

from examples.feature_pipeline.definitions import defs as example_defs
from resources.run_launcher import upstream_to_refresh

A, B, MODEL = AssetKey("rows"), AssetKey("training_set"), AssetKey("model")
DAYS = DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-05")


def graph(*, b_version: str = "1", model_deps: tuple = (), extra: tuple = ()) -> tuple[Definitions, list]:
    """rows → training_set (code version ``b_version``) → model (also reading ``model_deps``); ``extra`` assets.

    Returns the definitions and the model's own-kind upstream (rows and training_set), to materialize them.
    """

    @asset(key=A)
    def rows() -> int:
        return 1

    @asset(key=B, deps=[A], code_version=b_version)
    def training_set() -> int:
        return 2

    @asset(key=MODEL, deps=[B, *model_deps])
    def model() -> int:
        return 3

    return Definitions(assets=[rows, training_set, model, *extra]), [rows, training_set]


def refresh(instance: DagsterInstance, defs: Definitions) -> dict[str, str]:
    found = upstream_to_refresh(instance, defs.get_repository_def().asset_graph, MODEL)
    return {key.to_user_string(): why for key, why in found.items()}


@pytest.fixture
def instance() -> DagsterInstance:
    return DagsterInstance.ephemeral()


def test_never_materialized_ancestors_are_refreshed_and_fresh_ones_are_not(instance: DagsterInstance) -> None:
    defs, upstream = graph()
    assert refresh(instance, defs) == {
        "rows": "never materialized",
        "training_set": "never materialized",
    }
    assert materialize(upstream, instance=instance).success
    assert refresh(instance, defs) == {}


def test_a_changed_code_version_refreshes_that_asset_only(instance: DagsterInstance) -> None:
    _, upstream = graph(b_version="1")
    assert materialize(upstream, instance=instance).success
    defs, _ = graph(b_version="2")
    assert refresh(instance, defs) == {"training_set": "code version 2, materialized by 1"}


def test_an_asset_reading_a_refreshed_one_is_refreshed_too(instance: DagsterInstance) -> None:
    defs, upstream = graph()
    assert materialize(upstream, selection=[B], instance=instance).success  # rows was never materialized
    assert refresh(instance, defs) == {
        "rows": "never materialized",
        "training_set": "reads rows, refreshed in this run",
    }


def test_partitioned_and_external_ancestors_are_not_looked_behind(instance: DagsterInstance) -> None:
    @asset(key="daily_upstream", partitions_def=DAYS)
    def daily() -> int:
        return 0

    @asset(key="daily_features", deps=[daily], partitions_def=DAYS)
    def features() -> int:
        return 0

    external = AssetSpec("vendor_scores")
    _, upstream = graph()
    assert materialize(upstream, instance=instance).success
    # neither the daily features (nor the daily asset behind them) nor the vendor's scores were ever materialized
    defs, _ = graph(model_deps=(features, external), extra=(features, daily, external))
    assert refresh(instance, defs) == {}


def test_the_example_model_needs_its_training_set_until_it_is_materialized(instance: DagsterInstance) -> None:
    model, rows = AssetKey(["models", "fraud_model"]), AssetKey(["models", "fraud_training_set"])
    asset_graph = example_defs.get_repository_def().asset_graph
    assert upstream_to_refresh(instance, asset_graph, model) == {rows: "never materialized"}
    instance.report_runless_asset_event(AssetMaterialization(asset_key=rows))
    assert upstream_to_refresh(instance, asset_graph, model) == {}

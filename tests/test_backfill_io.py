"""The IO manager in range runs: one stored value per partition, at the path a single-partition run uses.

Two small daily-partitioned assets with a single-run backfill policy are materialized over three partitions in one
run (the range tags a backfill run carries), then one partition again in a single-partition run: the range run
wrote each partition's value where the single run reads and writes it, and a range input arrives as one value per
partition.
"""

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    asset,
    materialize,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from io_managers import PerPartition, SentinelIOManager

DAYS = DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-10")
KEYS = ["2026-10-02", "2026-10-03", "2026-10-04"]


def _rows(key: str) -> pd.DataFrame:
    day = int(key[-2:])
    return pd.DataFrame({"x": [float(day), day * 2.0, day * 3.0], "tag": [key] * 3})


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run())
def rows(context: AssetExecutionContext) -> Any:
    if len(context.partition_keys) == 1:
        return _rows(context.partition_key)
    return PerPartition({key: _rows(key) for key in context.partition_keys})


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run())
def total(context: AssetExecutionContext, rows: Any) -> Any:
    if isinstance(rows, PerPartition):
        assert list(rows) == context.partition_keys
        return PerPartition(
            {key: {"window": key, "sum": float(frame["x"].sum())} for key, frame in rows.items()}
        )
    return {"window": context.partition_key, "sum": float(rows["x"].sum())}


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def test_a_range_run_stores_each_partition_where_a_single_run_does(tmp_path: Path) -> None:
    range_io = SentinelIOManager(base_uri=str(tmp_path / "range"))
    single_io = SentinelIOManager(base_uri=str(tmp_path / "single"))
    result = materialize(
        [rows, total], resources={"io_manager": range_io}, tags=_range_tags(KEYS[0], KEYS[-1])
    )
    assert result.success
    materialized = {
        (m.asset_key.path[-1], m.partition) for m in result.asset_materializations_for_node("total")
    } | {(m.asset_key.path[-1], m.partition) for m in result.asset_materializations_for_node("rows")}
    assert materialized == {(name, key) for name in ("rows", "total") for key in KEYS}
    for key in KEYS:
        assert materialize([rows, total], resources={"io_manager": single_io}, partition_key=key).success
        for name, ext in (("rows", "parquet"), ("total", "json")):
            ranged = (tmp_path / "range" / name / f"{key}.{ext}").read_bytes()
            single = (tmp_path / "single" / name / f"{key}.{ext}").read_bytes()
            if ext == "json":
                assert json.loads(ranged) == json.loads(single)
            else:
                pd.testing.assert_frame_equal(
                    pd.read_parquet(tmp_path / "range" / name / f"{key}.{ext}"), _rows(key)
                )
    assert not (tmp_path / "range" / "rows" / "__all__.parquet").exists()


def test_a_single_run_reads_a_partition_a_range_run_wrote(tmp_path: Path) -> None:
    io_manager = SentinelIOManager(base_uri=str(tmp_path))
    assert materialize(
        [rows], resources={"io_manager": io_manager}, tags=_range_tags(KEYS[0], KEYS[-1])
    ).success
    result = materialize(
        [rows.to_source_asset(), total], resources={"io_manager": io_manager}, partition_key=KEYS[1]
    )
    assert result.success
    assert result.output_for_node("total") == {"window": KEYS[1], "sum": float(_rows(KEYS[1])["x"].sum())}


def test_a_range_output_that_misses_a_partition_fails_naming_it(tmp_path: Path) -> None:
    @asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run(), name="rows")
    def short_rows(context: AssetExecutionContext) -> Any:
        return PerPartition({key: _rows(key) for key in context.partition_keys[:-1]})

    with pytest.raises(Exception, match=r"missing \['2026-10-04'\]"):
        materialize(
            [short_rows],
            resources={"io_manager": SentinelIOManager(base_uri=str(tmp_path))},
            tags=_range_tags(KEYS[0], KEYS[-1]),
        )

"""Drift and data-quality checks for any team's own Dagster assets: the public factory.

A team adds Drift Sentinel's detectors to its own pipeline in its own ``definitions.py`` (docs/checks.md)::

    from sentinel_assets.checks import Trailing, build_drift_checks, build_quality_checks, reference_assets

    drift = build_drift_checks(transaction_features, reference=Trailing(3), features=["amount", "country"])
    quality = build_quality_checks(transaction_features, learn_from=Trailing(7))
    pipeline = define_asset_job("pipeline", selection=AssetSelection.all() - reference_assets())
    defs = Definitions(assets=[raw, transaction_features, training_set, *drift, *quality], jobs=[pipeline])

Each factory returns a small *reference asset* (the profile or the learned expectations, computed once per
reference and stored by the IO manager) and an *asset check* on the user's asset. The check loads the checked
value through the asset's own IO manager (no re-computation), compares it with the stored reference in the core
(:mod:`drift_sentinel.table_checks`: quorum, effect-size gating, Great Expectations) and records metadata the UI
plots. With ``blocking=True`` a failed check (severity ERROR) stops downstream materialization in the same run;
INCONCLUSIVE (too little data) is a WARN and does not block.

Partitioned assets are checked per partition with ``@asset_check(partitions_def=...)``. Dagster 1.13 marks a
partitioned check as *preview*; it is the only way to check one partition of an asset this module does not
define (a plain check on a partitioned asset loads every partition, and ``check_specs`` need the asset's own
decorator). Its PreviewWarning is silenced here, where the choice is made.
"""

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    BetaWarning,
    Output,
    PartitionsDefinition,
    PreviewWarning,
    SpecificPartitionsPartitionMapping,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    asset,
    asset_check,
    build_input_context,
    build_output_context,
)

from drift_sentinel.config import ModelSpec
from drift_sentinel.detection.config import DetectionConfig
from drift_sentinel.detection.profile import as_config
from drift_sentinel.errors import ConfigError, DataError
from drift_sentinel.table_checks import (
    TableDriftCheck,
    TableExpectations,
    TableQualityCheck,
    TableReference,
    check_table_drift,
    check_table_quality,
    expectations_from_mapping,
    expectations_from_table,
    reference_from_table,
)
from drift_sentinel.upstream import default_drift_check_name, default_quality_check_name, parse_upstream
from drift_sentinel.verdict import Verdict
from sentinel_assets.metadata import drift_metadata

__all__ = [
    "FixedPartition",
    "Trailing",
    "build_drift_checks",
    "build_quality_checks",
    "drift_check_name",
    "quality_check_name",
    "reference_assets",
    "upstream_check_keys",
]

REFERENCE_TAG = "sentinel"


def reference_assets() -> AssetSelection:
    """Every reference asset the factories built (tagged ``sentinel=reference``).

    A reference computed from the checked asset itself (``FixedPartition``, ``Trailing``) is downstream of that
    asset, and a blocking check makes every downstream asset wait for it, so the reference and the check cannot
    run in the same run: materialize references in their own run (or let automation do it), e.g.
    ``define_asset_job("pipeline", selection=AssetSelection.all() - reference_assets())``.
    """
    return AssetSelection.tag(REFERENCE_TAG, "reference")


# Bump when the reference or check logic changes (RCA reads code-version changes as pipeline evidence).
CHECKS_CODE_VERSION = "1"
_FILE_SUFFIXES = (".parquet", ".pq", ".csv")


@dataclass(frozen=True)
class FixedPartition:
    """Reference: one fixed partition of the checked asset (e.g. the first, known-good day)."""

    key: str


@dataclass(frozen=True)
class Trailing:
    """Reference: the ``partitions`` partitions before the checked one (time-window partitioned assets)."""

    partitions: int

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ConfigError(f"Trailing(partitions={self.partitions}): must be at least 1")


AssetLike = AssetKey | str | Sequence[str] | AssetsDefinition | AssetSpec
ReferenceLike = AssetLike | FixedPartition | Trailing | os.PathLike[str]


@dataclass(frozen=True)
class _Target:
    key: AssetKey
    partitions_def: PartitionsDefinition | None
    group_name: str | None


def _target(asset_: AssetLike, partitions_def: PartitionsDefinition | None) -> _Target:
    if isinstance(asset_, AssetsDefinition):
        if len(asset_.keys) != 1:
            raise ConfigError(
                "build checks for one asset at a time; this definition has "
                f"{sorted(k.to_user_string() for k in asset_.keys)}"
            )
        key = asset_.key
        return _Target(key, partitions_def or asset_.partitions_def, asset_.group_names_by_key.get(key))
    if isinstance(asset_, AssetSpec):
        return _Target(asset_.key, partitions_def or asset_.partitions_def, asset_.group_name)
    if isinstance(asset_, str):
        return _Target(AssetKey.from_user_string(asset_), partitions_def, None)
    return _Target(AssetKey.from_coercible(asset_), partitions_def, None)


def _is_file(reference: object) -> bool:
    if isinstance(reference, os.PathLike):
        return True
    return isinstance(reference, str) and ("://" in reference or reference.lower().endswith(_FILE_SUFFIXES))


def _reference_ins(
    target: _Target, reference: ReferenceLike
) -> tuple[dict[str, AssetIn], PartitionsDefinition | None, str]:
    """Inputs and partitioning of the reference asset, and a description of the reference."""
    if isinstance(reference, FixedPartition):
        if target.partitions_def is None:
            raise ConfigError(
                f"{target.key.to_user_string()}: FixedPartition({reference.key!r}) needs a partitioned asset "
                "(pass the asset definition or partitions_def=)"
            )
        _known_partition(target, reference.key)
        mapping = SpecificPartitionsPartitionMapping([reference.key])
        ins = {"reference": AssetIn(key=target.key, partition_mapping=mapping)}
        return ins, None, f"partition {reference.key} of {target.key.to_user_string()}"
    if isinstance(reference, Trailing):
        if not isinstance(target.partitions_def, TimeWindowPartitionsDefinition):
            raise ConfigError(
                f"{target.key.to_user_string()}: Trailing({reference.partitions}) needs a time-window "
                "partitioned asset (pass the asset definition or partitions_def=)"
            )
        with (
            warnings.catch_warnings()
        ):  # beta parameter: the first partitions have fewer (or no) predecessors
            warnings.simplefilter("ignore", BetaWarning)
            mapping = TimeWindowPartitionMapping(
                start_offset=-reference.partitions, end_offset=-1, allow_nonexistent_upstream_partitions=True
            )
        # a previous partition not materialized yet is skipped (Dagster's UPath IO managers honour this)
        ins = {
            "reference": AssetIn(
                key=target.key, partition_mapping=mapping, metadata={"allow_missing_partitions": True}
            )
        }
        return ins, target.partitions_def, f"the {reference.partitions} previous partitions"
    if _is_file(reference):
        return {}, None, os.fspath(reference)  # type: ignore[arg-type]
    ref_key = _target(reference, None).key  # type: ignore[arg-type]
    if ref_key == target.key:
        raise ConfigError(
            f"{target.key.to_user_string()}: the reference is the checked asset itself; use FixedPartition or Trailing"
        )
    return {"reference": AssetIn(key=ref_key)}, None, f"asset {ref_key.to_user_string()}"


def _known_partition(target: _Target, key: str) -> None:
    partitions = target.partitions_def
    if partitions is None or isinstance(partitions, TimeWindowPartitionsDefinition):
        if isinstance(partitions, TimeWindowPartitionsDefinition):
            try:
                partitions.time_window_for_partition_key(key)
            except Exception:
                raise ConfigError(
                    f"{target.key.to_user_string()}: FixedPartition({key!r}) is not a partition key of the asset "
                    f"(format {partitions.fmt})"
                ) from None
        return
    try:
        known = partitions.get_partition_keys()
    except Exception:  # dynamic partitions: known only to the instance
        return
    if key not in known:
        raise ConfigError(
            f"{target.key.to_user_string()}: FixedPartition({key!r}) is not one of its partitions"
        )


def _read_reference_file(uri: str) -> object:
    from drift_sentinel.detection.io import read_window_file

    return read_window_file(uri, role="reference")


def _load_reference(
    context: AssetCheckExecutionContext,
    io_manager_key: str,
    key: AssetKey,
    partitions_def: PartitionsDefinition | None,
) -> Any:
    """The stored reference, read with the IO manager that stored it.

    Not an input of the check on purpose: the reference asset is often downstream of the checked asset (its own
    earlier partitions, or a training set built from it), and a blocking check makes everything downstream wait
    for it; an input edge would close a cycle.
    """
    partition = context.partition_key if partitions_def is not None else None
    upstream = build_output_context(
        asset_key=key, partition_key=partition, asset_partitions_def=partitions_def
    )
    input_context = build_input_context(
        asset_key=key,
        partition_key=partition,
        asset_partitions_def=partitions_def,
        upstream_output=upstream,
        instance=context.instance,
    )
    return getattr(context.resources, io_manager_key).load_input(input_context)


def _stored_reference(
    context: AssetCheckExecutionContext,
    io_manager_key: str,
    key: AssetKey,
    partitions_def: PartitionsDefinition | None,
) -> tuple[Any, str | None]:
    """(reference, None) or (None, why it could not be loaded)."""
    try:
        return _load_reference(context, io_manager_key, key, partitions_def), None
    except Exception as exc:  # a reference never materialized: fail the check, not the run
        at = f" partition {context.partition_key}" if partitions_def is not None else ""
        return None, (
            f"reference {key.to_user_string()}{at} is not stored yet (materialize it first): "
            f"{type(exc).__name__}: {str(exc)[:200]}"
        )


def _where(key: AssetKey, context: AssetCheckExecutionContext) -> str:
    where = f"asset {key.to_user_string()}"
    return f"{where} partition {context.partition_key}" if context.has_partition_key else where


def _severity(verdict: Verdict) -> AssetCheckSeverity:
    return AssetCheckSeverity.WARN if verdict is Verdict.INCONCLUSIVE else AssetCheckSeverity.ERROR


def drift_check_name(key: AssetKey, name: str | None = None) -> str:
    """``<asset>_shows_no_drift`` unless a name is given."""
    return name or default_drift_check_name(key.path[-1])


def quality_check_name(key: AssetKey, name: str | None = None) -> str:
    """``<asset>_passes_data_quality`` unless a name is given."""
    return name or default_quality_check_name(key.path[-1])


def _drift_result(outcome: TableDriftCheck, where: str, reference: TableReference) -> AssetCheckResult:
    metadata: dict[str, Any] = {"verdict": outcome.verdict.value, "reference": reference.source}
    if outcome.report is not None:
        payload = outcome.report.to_dict()
        metadata.update({k: v for k, v in drift_metadata(payload).items() if k != "incident_id"})
        metadata["rows"] = int(outcome.report.n_current)
        metadata["reference_rows"] = int(outcome.report.n_reference)
    if outcome.problems:
        metadata["problems"] = "; ".join(outcome.problems)
    description = outcome.describe() if outcome.problems else f"{where}: {outcome.describe()}"
    return AssetCheckResult(
        passed=outcome.passed, severity=_severity(outcome.verdict), description=description, metadata=metadata
    )


def _quality_result(outcome: TableQualityCheck, where: str) -> AssetCheckResult:
    metadata: dict[str, Any] = {"verdict": outcome.verdict.value}
    if outcome.result is not None:
        result = outcome.result
        metadata.update(
            {
                "rows": result.n_rows,
                "expectations": result.n_expectations,
                "failed_expectations": len(result.failures),
                "failures": "; ".join(f"{f.expectation}: {f.observed}" for f in result.failures) or "none",
            }
        )
    if outcome.problems:
        metadata["problems"] = "; ".join(outcome.problems)
    description = outcome.describe() if outcome.problems else f"{where}: {outcome.describe()}"
    return AssetCheckResult(
        passed=outcome.passed, severity=_severity(outcome.verdict), description=description, metadata=metadata
    )


def _partitioned_check(
    partitions_def: PartitionsDefinition | None, **kwargs: Any
) -> Callable[[Callable[..., AssetCheckResult]], AssetChecksDefinition]:
    """``@asset_check``, per partition when the asset is partitioned (a preview feature in Dagster 1.13)."""

    def decorate(fn: Callable[..., AssetCheckResult]) -> AssetChecksDefinition:
        if partitions_def is None:
            return asset_check(**kwargs)(fn)
        with warnings.catch_warnings():  # chosen on purpose: see the module docstring
            warnings.simplefilter("ignore", PreviewWarning)
            return asset_check(partitions_def=partitions_def, **kwargs)(fn)

    return decorate


def _reference_asset(
    target: _Target,
    reference: ReferenceLike,
    *,
    key: AssetKey,
    build: Callable[[object, str], TableReference | TableExpectations],
    description: str,
    io_manager_key: str,
) -> AssetsDefinition:
    """The small asset that computes a reference once (per partition for a trailing reference)."""
    ins, partitions_def, source = _reference_ins(target, reference)
    common: dict[str, Any] = {
        "key": key,
        "ins": ins,
        "partitions_def": partitions_def,
        "group_name": target.group_name,
        "kinds": {"python"},
        "code_version": CHECKS_CODE_VERSION,
        "description": f"{description} ({source}), computed once and reused by every check.",
        "metadata": {"sentinel/reference": source},
        "tags": {REFERENCE_TAG: "reference"},
        # recomputed by Dagster's automation when what it is computed from changes (a new previous partition)
        "automation_condition": AutomationCondition.eager(),
        "io_manager_key": io_manager_key,
    }

    if ins:

        @asset(**common)
        def reference_from_asset(context: AssetExecutionContext, reference: Any) -> Output[Any]:
            return _store(context, build(reference, source))

        return reference_from_asset

    @asset(**common)
    def reference_from_file(context: AssetExecutionContext) -> Output[Any]:
        try:
            value = _read_reference_file(source)
        except DataError as exc:
            return _store(context, build(exc, source))
        return _store(context, build(value, source))

    return reference_from_file


def _store(context: AssetExecutionContext, built: TableReference | TableExpectations) -> Output[Any]:
    if built.problem:
        context.log.warning(f"reference unusable: {built.problem}")
    rows = built.n_rows if isinstance(built, TableReference) else None
    metadata: dict[str, Any] = {"usable": built.problem is None, "columns": ", ".join(built.kinds) or "none"}
    if rows is not None:
        metadata["dagster/row_count"] = rows
    if built.problem:
        metadata["problem"] = built.problem
    return Output(built, metadata=metadata)


def build_drift_checks(
    asset: AssetLike,
    *,
    reference: ReferenceLike,
    features: Sequence[str] | Mapping[str, str] | None = None,
    config: DetectionConfig | Mapping[str, Any] | None = None,
    blocking: bool = True,
    name: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    io_manager_key: str = "io_manager",
) -> list[AssetsDefinition | AssetChecksDefinition]:
    """A drift check on ``asset`` and the asset that profiles its reference once.

    Parameters
    ----------
    asset
        The checked asset: its definition, an ``AssetSpec``, an ``AssetKey`` or a key string (``"a/b"``). A
        partitioned asset is checked per partition; pass ``partitions_def`` when giving only a key.
    reference
        Another asset (key or definition, e.g. the training set), ``FixedPartition(key)`` of the same asset,
        ``Trailing(n)`` (the n previous partitions), or a Parquet/CSV path (local or ``s3://``; a
        ``pathlib.Path`` or a string ending in ``.parquet``/``.csv``).
    features
        Columns to compare (a list, or ``{name: "numeric" | "categorical"}``); every non-datetime column of the
        reference when None. A declared feature the checked value lacks fails the check.
    config
        Detection settings (:class:`DetectionConfig` or its fields: ``algorithms``, ``quorum``, ``sensitivity``,
        ``thresholds``, ``min_samples``).
    blocking
        A failed check (drift or bad input, severity ERROR) stops downstream assets in the same run.
    name
        The check's name (default ``<asset>_shows_no_drift``); the reference asset is ``<name>_reference``.
    io_manager_key
        Where the reference profile is stored (default: the ``io_manager`` resource; it must store Python objects).

    Returns
    -------
    list
        ``[reference asset, asset check]`` to add to ``Definitions(assets=[...])``.
    """
    target = _target(asset, partitions_def)
    check_name = drift_check_name(target.key, name)
    ref_key = AssetKey([*target.key.path[:-1], f"{check_name}_reference"])
    cfg = as_config(config)  # a malformed config is a ConfigError here, when the definitions load

    def build(value: object, source: str) -> TableReference:
        if isinstance(value, DataError):
            return TableReference.unusable(str(value), source=source)
        try:
            return reference_from_table(value, features=features, config=cfg, source=source)
        except (DataError, ConfigError) as exc:
            return TableReference.unusable(str(exc), source=source)

    reference_asset = _reference_asset(
        target,
        reference,
        key=ref_key,
        build=build,
        description=f"Profile of the drift reference of {target.key.to_user_string()}",
        io_manager_key=io_manager_key,
    )

    @_partitioned_check(
        target.partitions_def,
        asset=target.key,
        name=check_name,
        blocking=blocking,
        required_resource_keys={io_manager_key},
        description=f"No confirmed drift in {target.key.to_user_string()} against its reference (quorum and "
        "effect size gated).",
        metadata={"sentinel/check": "drift", "sentinel/reference": ref_key.to_user_string()},
    )
    def drift_check(context: AssetCheckExecutionContext, value: Any) -> AssetCheckResult:
        where = _where(target.key, context)
        reference, missing = _stored_reference(
            context, io_manager_key, ref_key, reference_asset.partitions_def
        )
        if missing is not None or not isinstance(reference, TableReference):
            reference = TableReference.unusable(
                missing or f"{ref_key.to_user_string()} holds no drift reference"
            )
        outcome = check_table_drift(value, reference, cfg, where=where)
        return _drift_result(outcome, where, reference)

    return [reference_asset, drift_check]


def build_quality_checks(
    asset: AssetLike,
    *,
    expectations: Mapping[str, Mapping[str, Any]] | None = None,
    learn_from: ReferenceLike | None = None,
    columns: Sequence[str] | None = None,
    blocking: bool = True,
    name: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    max_categories: int = 50,
    io_manager_key: str = "io_manager",
) -> list[AssetsDefinition | AssetChecksDefinition]:
    """A Great Expectations check on ``asset``, with expectations given or learned from a reference.

    Parameters
    ----------
    asset
        As for :func:`build_drift_checks`.
    expectations
        Per column: ``{"amount": {"min_value": 0, "max_null_fraction": 0.01}, "country": {"categories": [...]}}``.
    learn_from
        A reference (same forms as ``build_drift_checks``'s ``reference``) to learn ranges, categories (columns
        with at most ``max_categories`` distinct values) and null rates from, once; stored as its own asset.
    columns
        Columns to learn expectations for (all when None).
    blocking, name, partitions_def, io_manager_key
        As for :func:`build_drift_checks` (default name ``<asset>_passes_data_quality``).

    Returns
    -------
    list
        ``[asset check]`` for given expectations, ``[reference asset, asset check]`` for learned ones.
    """
    if (expectations is None) == (learn_from is None):
        raise ConfigError("build_quality_checks: pass exactly one of expectations= or learn_from=")
    target = _target(asset, partitions_def)
    check_name = quality_check_name(target.key, name)
    meta = {"sentinel/check": "quality"}
    kwargs: dict[str, Any] = {
        "asset": target.key,
        "name": check_name,
        "blocking": blocking,
        "description": f"{target.key.to_user_string()} meets its data-quality expectations (Great Expectations).",
    }
    out: list[AssetsDefinition | AssetChecksDefinition] = []
    if expectations is not None:
        given = expectations_from_mapping(expectations)

        @_partitioned_check(target.partitions_def, metadata=meta, **kwargs)
        def given_quality_check(context: AssetCheckExecutionContext, value: Any) -> AssetCheckResult:
            where = _where(target.key, context)
            return _quality_result(check_table_quality(value, given, where=where), where)

        return [given_quality_check]

    ref_key = AssetKey([*target.key.path[:-1], f"{check_name}_reference"])

    def build(value: object, source: str) -> TableExpectations:
        if isinstance(value, DataError):
            return TableExpectations.unusable(str(value), source=source)
        try:
            return expectations_from_table(
                value, columns=columns, max_categories=max_categories, source=source
            )
        except (DataError, ConfigError) as exc:
            return TableExpectations.unusable(str(exc), source=source)

    assert learn_from is not None
    out.append(
        _reference_asset(
            target,
            learn_from,
            key=ref_key,
            build=build,
            description=f"Expectations learned for {target.key.to_user_string()}",
            io_manager_key=io_manager_key,
        )
    )

    reference_asset = out[0]

    @_partitioned_check(
        target.partitions_def,
        required_resource_keys={io_manager_key},
        metadata={**meta, "sentinel/reference": ref_key.to_user_string()},
        **kwargs,
    )
    def learned_quality_check(context: AssetCheckExecutionContext, value: Any) -> AssetCheckResult:
        where = _where(target.key, context)
        learned, missing = _stored_reference(context, io_manager_key, ref_key, reference_asset.partitions_def)
        if missing is not None or not isinstance(learned, TableExpectations):
            learned = TableExpectations.unusable(
                missing or f"{ref_key.to_user_string()} holds no expectations"
            )
        return _quality_result(check_table_quality(value, learned, where=where), where)

    out.append(learned_quality_check)
    return out


def upstream_check_keys(spec: ModelSpec) -> list[AssetCheckKey]:
    """The checks on a model's declared ``upstream_assets`` (default: each asset's drift check)."""
    out = []
    for entry in spec.upstream_assets:
        upstream = parse_upstream(entry)
        out.append(AssetCheckKey(AssetKey(list(upstream.asset)), upstream.check))
    return out

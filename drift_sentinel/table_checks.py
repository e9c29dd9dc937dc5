"""Drift and data-quality checks of any table against a reference computed once: the core of the asset checks.

The Dagster factory (:mod:`sentinel_assets.checks`) attaches these to a team's own assets; everything that
decides lives here and runs without Dagster:

- :func:`as_table` accepts a pandas DataFrame, a pyarrow Table or a mapping of partition → table (what an IO
  manager returns for several partitions) and refuses anything else with a :class:`DataError`.
- :func:`reference_from_table` profiles the reference once (:func:`profile_reference`) and remembers each
  feature's kind and dtype; the result pickles, so it is stored as its own small asset.
- :func:`check_table_drift` compares a value with that reference: bad input (not a table, empty, a declared
  feature missing, a kind that differs from the reference's) is an ``ERROR`` verdict with one message per
  column — never an exception —, otherwise the quorum report of :func:`detect_drift`.
- :func:`expectations_from_table`, :func:`expectations_from_mapping` and :func:`check_table_quality` do the
  same for Great Expectations suites (:mod:`drift_sentinel.quality`).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> ref = reference_from_table(pd.DataFrame({"amount": rng.normal(size=500), "country": ["fr", "de"] * 250}))
>>> same = pd.DataFrame({"amount": rng.normal(size=500), "country": ["de", "fr"] * 250})
>>> check_table_drift(same, ref, where="features").verdict.value
'PASSED'
>>> moved = same.assign(amount=same["amount"] + 1.0)
>>> outcome = check_table_drift(moved, ref, where="features")
>>> outcome.verdict.value, [a.name for a in outcome.report.affected_features]
('FAILED', ['amount'])
>>> check_table_drift(same.drop(columns="country"), ref, where="features partition 2024-10-03").describe()
"features partition 2024-10-03: column 'country' is missing (a declared feature)"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from drift_sentinel.detection.config import DetectionConfig
from drift_sentinel.detection.profile import as_config, infer_kind
from drift_sentinel.errors import ConfigError, DataError
from drift_sentinel.quality import (
    ColumnExpectation,
    QualityResult,
    QualitySuite,
    learn_suite,
    validate_window,
)
from drift_sentinel.verdict import Verdict

if TYPE_CHECKING:
    from drift_sentinel.detection.profile import ReferenceProfile
    from drift_sentinel.detection.results import DriftReport

__all__ = [
    "TableDriftCheck",
    "TableExpectations",
    "TableQualityCheck",
    "TableReference",
    "as_table",
    "check_table_drift",
    "check_table_quality",
    "expectations_from_mapping",
    "expectations_from_table",
    "reference_from_table",
]

Features = Sequence[str] | Mapping[str, str] | None


def _is_table(value: object) -> bool:
    return isinstance(value, pd.DataFrame) or (
        type(value).__module__.startswith("pyarrow") and callable(getattr(value, "to_pandas", None))
    )


def as_table(value: object, *, where: str = "value") -> pd.DataFrame:
    """A pandas DataFrame from a DataFrame, a pyarrow Table or a mapping of partition → table.

    Several partitions (a mapping, as Dagster's IO managers load them) are concatenated in key order.

    >>> import pyarrow as pa
    >>> as_table(pa.table({"x": [1, 2]}))["x"].tolist()
    [1, 2]
    >>> as_table({"b": pd.DataFrame({"x": [2]}), "a": pd.DataFrame({"x": [1]})})["x"].tolist()
    [1, 2]
    >>> try:
    ...     as_table([1, 2], where="asset features")
    ... except DataError as exc:
    ...     print(exc)
    asset features: the value is a list, not a table (pandas DataFrame or pyarrow Table)
    """
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, Mapping) and all(_is_table(v) for v in value.values()):
        if not value:
            return pd.DataFrame()
        frames = [as_table(value[key], where=f"{where} partition {key}") for key in sorted(value)]
        return pd.concat(frames, ignore_index=True)
    if _is_table(value):
        return value.to_pandas()  # type: ignore[attr-defined]
    raise DataError(
        f"{where}: the value is a {type(value).__name__}, not a table (pandas DataFrame or pyarrow Table)"
    )


def _nothing(value: object) -> bool:
    """No reference at all: nothing loaded, or none of the partitions it spans stored yet."""
    return value is None or (isinstance(value, Mapping) and not value)


def _declared(features: Features) -> dict[str, str | None]:
    if features is None:
        return {}
    if isinstance(features, Mapping):
        bad = {name: kind for name, kind in features.items() if kind not in ("numeric", "categorical")}
        if bad:
            raise ConfigError(
                f"features: kind of {sorted(bad)} must be 'numeric' or 'categorical', got {bad}"
            )
        return dict(features)
    if isinstance(features, str):
        return {features: None}
    return dict.fromkeys(features)


@dataclass(frozen=True, eq=False)
class TableReference:
    """The reference side of a drift check, computed once: profile, feature kinds and dtypes (picklable).

    ``profile`` is None when the reference has no rows (e.g. no previous partition yet) or cannot be used
    (``problem`` says why); checks against it are then INCONCLUSIVE or ERROR instead of raising.
    """

    profile: ReferenceProfile | None
    kinds: Mapping[str, str]
    dtypes: Mapping[str, str]
    source: str = ""
    problem: str | None = None

    @property
    def n_rows(self) -> int:
        return self.profile.n_rows if self.profile is not None else 0

    @classmethod
    def unusable(cls, problem: str, *, source: str = "reference") -> TableReference:
        """A reference that could not be built (the checks report ``problem`` as an ERROR)."""
        return cls(None, {}, {}, source, problem)


def reference_from_table(
    value: object,
    *,
    features: Features = None,
    config: DetectionConfig | Mapping[str, Any] | None = None,
    source: str = "reference",
) -> TableReference:
    """Profile a reference table once for the declared ``features`` (every non-datetime column when None).

    A declared feature the reference lacks raises :class:`DataError` naming the column and ``source``; an empty
    reference is allowed (every feature is then INCONCLUSIVE).

    >>> ref = reference_from_table(pd.DataFrame({"x": [1.0, 2.0], "t": pd.to_datetime(["2024-01-01"] * 2)}))
    >>> dict(ref.kinds), ref.n_rows
    ({'x': 'numeric'}, 2)
    """
    if _nothing(value):  # nothing to load (no previous partition): every check against it is INCONCLUSIVE
        known = {n: k for n, k in _declared(features).items() if k is not None}
        return TableReference(None, known, {}, source)
    frame = as_table(value, where=source)
    declared = _declared(features)
    if features is None:
        declared = dict.fromkeys(frame.columns)
    missing = [name for name in declared if name not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: declared feature(s) {missing} missing from the reference; present: {list(frame.columns)}"
        )
    kinds: dict[str, str] = {}
    for name, kind in declared.items():
        inferred = kind or infer_kind(frame[name])
        if inferred is None:
            if features is not None:
                raise DataError(f"{source}: column {name!r} is a {frame[name].dtype}, not a feature")
            continue
        kinds[name] = inferred
    if not kinds:
        raise DataError(f"{source}: no feature columns (present: {list(frame.columns)})")
    from drift_sentinel.detection.profile import profile_reference

    cfg = as_config(config).model_copy(update={"features": kinds})
    profile = profile_reference(frame, cfg)
    dtypes = {name: str(frame[name].dtype) for name in kinds}
    return TableReference(profile=profile, kinds=kinds, dtypes=dtypes, source=source)


def _kind_problems(
    frame: pd.DataFrame, kinds: Mapping[str, str | None], dtypes: Mapping[str, str]
) -> list[str]:
    """One message per declared column that is missing or whose kind differs from the reference's."""
    problems = []
    for name, kind in kinds.items():
        if name not in frame.columns:
            problems.append(f"column {name!r} is missing (a declared feature)")
            continue
        col = frame[name]
        if kind is None or col.isna().all():  # an all-missing column has no meaningful dtype
            continue
        seen = infer_kind(col)
        if seen != kind:
            problems.append(
                f"column {name!r} is {col.dtype} ({seen or 'datetime'}) but {dtypes.get(name, '?')} ({kind}) "
                "in the reference"
            )
    return problems


def _input_problems(
    value: object, kinds: Mapping[str, str | None], dtypes: Mapping[str, str], where: str
) -> tuple[pd.DataFrame | None, tuple[str, ...]]:
    try:
        frame = as_table(value, where=where)
    except DataError as exc:
        return None, (str(exc),)
    if len(frame) == 0:
        return frame, (f"{where}: no rows (the table is empty)",)
    return frame, tuple(f"{where}: {p}" for p in _kind_problems(frame, kinds, dtypes))


@dataclass(frozen=True)
class TableDriftCheck:
    """Outcome of one drift check: the verdict, bad-input messages (ERROR) or the drift report."""

    verdict: Verdict
    problems: tuple[str, ...] = ()
    report: DriftReport | None = None

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    def describe(self) -> str:
        if self.problems:
            return "; ".join(self.problems)
        assert self.report is not None
        affected = ", ".join(a.name for a in self.report.affected_features)
        return f"{self.verdict.value}: " + (affected or "no feature drifted")


def check_table_drift(
    value: object,
    reference: TableReference,
    config: DetectionConfig | Mapping[str, Any] | None = None,
    *,
    where: str = "table",
) -> TableDriftCheck:
    """Compare ``value`` with the cached ``reference``; bad input is an ERROR verdict naming ``where`` and the
    column, never an exception.

    The profile stands in for the reference rows: the engine reads every reference statistic from it, so the
    reference table itself is not loaded again.
    """
    if reference.problem is not None:
        return TableDriftCheck(Verdict.ERROR, (f"{where}: unusable reference: {reference.problem}",))
    frame, problems = _input_problems(value, reference.kinds, reference.dtypes, where)
    if problems or frame is None:
        return TableDriftCheck(Verdict.ERROR, problems)
    if reference.profile is None:
        return TableDriftCheck(
            Verdict.INCONCLUSIVE, (f"{where}: the reference ({reference.source}) has no rows",)
        )
    from drift_sentinel.detection.engine import detect_drift

    shell = pd.DataFrame(
        index=pd.RangeIndex(reference.n_rows)
    )  # row count only; columns come from the profile
    cfg = as_config(config).model_copy(update={"features": dict(reference.kinds)})
    report = detect_drift(shell, frame, cfg, profile=reference.profile)
    return TableDriftCheck(report.verdict, (), report)


@dataclass(frozen=True)
class TableExpectations:
    """A quality suite plus the column kinds it was learned with (None: given, not learned)."""

    suite: QualitySuite | None
    kinds: Mapping[str, str | None]
    dtypes: Mapping[str, str]
    source: str = ""
    problem: str | None = None

    @classmethod
    def unusable(cls, problem: str, *, source: str = "reference") -> TableExpectations:
        """Expectations that could not be learned (the checks report ``problem`` as an ERROR)."""
        return cls(None, {}, {}, source, problem)


def expectations_from_table(
    value: object,
    *,
    columns: Sequence[str] | None = None,
    max_categories: int = 50,
    null_slack: float = 0.05,
    range_slack: float = 0.5,
    mostly: float = 0.99,
    source: str = "reference",
) -> TableExpectations:
    """Learn ranges, categories (up to ``max_categories`` distinct values) and null rates from a reference.

    >>> exp = expectations_from_table(pd.DataFrame({"x": [1.0, 3.0], "c": ["a", "b"]}))
    >>> [(c.column, c.min_value, c.max_value, c.categories) for c in exp.suite.columns]
    [('x', 0.0, 4.0, None), ('c', None, None, ('a', 'b'))]
    """
    if _nothing(value):
        return TableExpectations(None, {}, {}, source)  # no rows to learn from: checks are INCONCLUSIVE
    frame = as_table(value, where=source)
    names = list(columns) if columns is not None else list(frame.columns)
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} missing from the reference; present: {list(frame.columns)}"
        )
    kinds = {name: infer_kind(frame[name]) for name in names}
    kinds = {name: kind for name, kind in kinds.items() if kind is not None}
    suite = learn_suite(
        frame,
        numeric=[n for n, k in kinds.items() if k == "numeric"],
        categorical=[n for n, k in kinds.items() if k == "categorical"],
        null_slack=null_slack,
        range_slack=range_slack,
        mostly=mostly,
        max_categories=max_categories,
    )
    dtypes = {name: str(frame[name].dtype) for name in kinds}
    return TableExpectations(suite=suite, kinds=dict(kinds), dtypes=dtypes, source=source)


_EXPECTATION_FIELDS = ("max_null_fraction", "min_value", "max_value", "categories")


def expectations_from_mapping(
    columns: Mapping[str, Mapping[str, Any]], *, mostly: float = 0.99, min_rows: int = 1
) -> TableExpectations:
    """Expectations given per column: ``{"amount": {"min_value": 0, "max_null_fraction": 0.01}, ...}``.

    Fields: ``max_null_fraction`` (default 0: no nulls), ``min_value``, ``max_value``, ``categories``.

    >>> exp = expectations_from_mapping({"amount": {"min_value": 0}, "country": {"categories": ["fr", "de"]}})
    >>> [(c.column, c.min_value, c.categories) for c in exp.suite.columns]
    [('amount', 0.0, None), ('country', None, ('fr', 'de'))]
    >>> try:
    ...     expectations_from_mapping({"amount": {"minimum": 0}})
    ... except ConfigError as exc:
    ...     print(exc)
    expectations: amount.minimum: unknown field; accepted: max_null_fraction, min_value, max_value, categories
    """
    out = []
    kinds: dict[str, str | None] = {}
    for column, fields in columns.items():
        unknown = [key for key in fields if key not in _EXPECTATION_FIELDS]
        if unknown:
            raise ConfigError(
                f"expectations: {column}.{unknown[0]}: unknown field; accepted: {', '.join(_EXPECTATION_FIELDS)}"
            )
        lo, hi = fields.get("min_value"), fields.get("max_value")
        cats = fields.get("categories")
        if (lo is not None or hi is not None) and lo is None:
            lo = float("-inf")
        if lo is not None and hi is None:
            hi = float("inf")
        out.append(
            ColumnExpectation(
                column,
                max_null_fraction=float(fields.get("max_null_fraction", 0.0)),
                min_value=None if lo is None else float(lo),
                max_value=None if hi is None else float(hi),
                categories=None if cats is None else tuple(cats),
            )
        )
        kinds[column] = "numeric" if lo is not None else None
    return TableExpectations(QualitySuite(tuple(out), mostly=mostly, min_rows=min_rows), kinds, {}, "given")


@dataclass(frozen=True)
class TableQualityCheck:
    """Outcome of one quality check: bad-input messages (ERROR) or the Great Expectations result."""

    verdict: Verdict
    problems: tuple[str, ...] = ()
    result: QualityResult | None = None

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    def describe(self) -> str:
        if self.problems:
            return "; ".join(self.problems)
        assert self.result is not None
        return self.result.describe()


def check_table_quality(
    value: object, expectations: TableExpectations, *, where: str = "table"
) -> TableQualityCheck:
    """Validate ``value`` against ``expectations`` with Great Expectations (bad input: ERROR, never raised).

    A missing column or a failed expectation is FAILED with the expectation's name (``null_rate:amount``,
    ``values_in_range:amount``, ``values_in_set:country``, ``column_exists:amount``); a value that is not a
    table, is empty, or has a column whose kind differs from the reference's is ERROR.
    """
    if expectations.problem is not None:
        return TableQualityCheck(Verdict.ERROR, (f"{where}: no expectations: {expectations.problem}",))
    if expectations.suite is None:
        return TableQualityCheck(
            Verdict.INCONCLUSIVE,
            (f"{where}: the reference ({expectations.source}) has no rows to learn from",),
        )
    present_kinds = dict(expectations.kinds)
    try:
        frame = as_table(value, where=where)
    except DataError as exc:
        return TableQualityCheck(Verdict.ERROR, (str(exc),))
    if len(frame) == 0:
        return TableQualityCheck(Verdict.ERROR, (f"{where}: no rows (the table is empty)",))
    kinds = {n: k for n, k in present_kinds.items() if n in frame.columns}  # absent: column_exists fails
    problems = tuple(f"{where}: {p}" for p in _kind_problems(frame, kinds, expectations.dtypes))
    if problems:
        return TableQualityCheck(Verdict.ERROR, problems)
    result = validate_window(frame, expectations.suite)
    return TableQualityCheck(result.verdict, (), result)

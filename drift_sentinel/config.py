"""The monitored-models file (``sentinel.yaml``), validated with pydantic.

A malformed file raises :class:`ConfigError` naming the file, the field path and the line.

>>> spec = parse_config('''
... models:
...   - id: demo
...     features: [{name: amount, kind: numeric}]
...     prediction_column: score
...     window: {cadence: daily, start: 2026-10-01}
...     data: {prediction_log: data/demo/predictions, training_snapshot: data/demo/training.parquet}
... ''').models[0]
>>> spec.id, spec.asset_prefix, spec.reference.strategy
('demo', 'demo', 'training_snapshot')
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drift_sentinel.detection.config import DetectionConfig, FeatureKind
from drift_sentinel.errors import ConfigError, UnknownModelError
from drift_sentinel.performance.spec import PerformanceSpec
from drift_sentinel.remediation.retrain_target import RetrainTarget
from drift_sentinel.safety import SafetyPolicy, parse_duration

DEFAULT_CONFIG = "sentinel.yaml"
_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
CADENCE_LENGTH: dict[str, timedelta] = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


def check_model_id(value: str) -> str:
    """Return ``value`` if it is a valid model id (it names folders and asset keys), else raise ValueError.

    >>> check_model_id("fraud-detector-v1")
    'fraud-detector-v1'
    >>> check_model_id("../escaped")
    Traceback (most recent call last):
    ...
    ValueError: model id '../escaped' must match ^[a-z0-9][a-z0-9._-]{0,62}$ (lower case, digits, . _ -)
    """
    if not isinstance(value, str) or not _MODEL_ID.match(value) or value in (".", ".."):
        raise ValueError(f"model id {value!r} must match {_MODEL_ID.pattern} (lower case, digits, . _ -)")
    return value


def check_timezone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``); ValueError naming it when unknown.

    >>> check_timezone("Europe/Paris").key
    'Europe/Paris'
    >>> check_timezone("Mars/Olympus")
    Traceback (most recent call last):
    ...
    ValueError: unknown time zone 'Mars/Olympus': use an IANA name such as 'UTC' or 'Europe/Paris'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Paris'"
        ) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureSpec(_Strict):
    name: str
    kind: FeatureKind = "numeric"


class WindowSpec(_Strict):
    """How the prediction log is cut into partitions."""

    cadence: Literal["hourly", "daily"] = "daily"
    start: datetime
    end: datetime | None = Field(default=None, description="exclusive; open-ended when omitted")
    timezone: str = "UTC"
    live_check: timedelta | None = Field(
        default=timedelta(seconds=30),
        description="how often the open window of an open-ended model is tested so far ('30s'); 'off' disables",
    )

    max_partitions_per_run: int | None = Field(
        default=None,
        ge=1,
        description="windows one backfill run computes at most (Dagster's multi-run backfill policy); "
        "default: a week of hourly windows (168) or a month of daily ones (31); 1: one run per window",
    )

    @property
    def partitions_per_run(self) -> int:
        """``max_partitions_per_run``, or the cadence's default (a week of hours, a month of days)."""
        return self.max_partitions_per_run or (168 if self.cadence == "hourly" else 31)

    @field_validator("live_check", mode="before")
    @classmethod
    def _live_check(cls, value: object) -> object:
        if value is None or value is False or (isinstance(value, str) and value.strip().lower() == "off"):
            return None  # YAML reads a bare `off` as false
        if isinstance(value, str) and not value.startswith("P"):
            value = parse_duration(value)
        if isinstance(value, timedelta) and value < timedelta(seconds=1):
            raise ValueError("live_check must be at least 1s (or 'off')")
        return value

    @property
    def live(self) -> bool:
        """Whether the open window is checked live: an open-ended model with ``live_check`` on."""
        return self.end is None and self.live_check is not None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        check_timezone(value)
        return value

    @model_validator(mode="after")
    def _end_after_start(self) -> WindowSpec:
        if self.end is None:
            return self
        zone = check_timezone(self.timezone)
        start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (self.start, self.end))
        if end < start + CADENCE_LENGTH[self.cadence]:
            raise ValueError(
                f"window.end {self.end.isoformat()} must be at least one {self.cadence} window after "
                f"window.start {self.start.isoformat()} (otherwise there is no window to process)"
            )
        return self


class ReferenceSpec(_Strict):
    """What each window is compared with."""

    strategy: Literal["training_snapshot", "trailing"] = "training_snapshot"
    windows: int = Field(default=7, ge=1, description="trailing windows, for strategy 'trailing'")


class DataSpec(_Strict):
    """Where the model's data lives (local paths are relative to the config file; s3:// allowed)."""

    prediction_log: str
    training_snapshot: str | None = None
    events: str | None = None


class RegistrySpec(_Strict):
    """The model's entry in the MLflow registry."""

    name: str | None = Field(default=None, description="registered model name; defaults to the model id")
    champion_alias: str = "champion"


class AlertRouting(_Strict):
    """Which channel each severity goes to."""

    critical: list[Literal["pagerduty", "slack", "email", "outbox"]] = ["pagerduty", "slack"]
    warning: list[Literal["pagerduty", "slack", "email", "outbox"]] = ["slack"]
    info: list[Literal["pagerduty", "slack", "email", "outbox"]] = ["email"]
    slack_channel: str | None = None
    email_to: list[str] = Field(default_factory=list)


class ModelSpec(_Strict):
    """One monitored model."""

    id: str
    description: str = ""
    owners: list[str] = Field(default_factory=list)
    features: list[FeatureSpec]
    prediction_column: str = "prediction"
    label_column: str | None = "label"
    timestamp_column: str = "timestamp"
    latency_column: str | None = "latency_ms"
    error_column: str | None = "error"
    window: WindowSpec
    reference: ReferenceSpec = Field(default_factory=ReferenceSpec)
    data: DataSpec
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    safety: SafetyPolicy = Field(default_factory=SafetyPolicy)
    alerts: AlertRouting = Field(default_factory=AlertRouting)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    retrain: RetrainTarget = Field(
        default_factory=RetrainTarget, description="where retrain_model's challenger comes from"
    )
    performance: PerformanceSpec = Field(default_factory=PerformanceSpec)
    upstream_assets: list[str] = Field(
        default_factory=list,
        description="other teams' Dagster assets this model consumes (asset key 'a/b', optionally 'a/b:check'); "
        "a failed drift check on one opens an incident for this model (see docs/checks.md)",
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return check_model_id(value)

    @field_validator("upstream_assets")
    @classmethod
    def _valid_upstream(cls, value: list[str]) -> list[str]:
        from drift_sentinel.upstream import parse_upstream

        for entry in value:
            parse_upstream(entry)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        names = [f.name for f in self.features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate feature names: {duplicates}")
        if not names:
            raise ValueError("at least one feature is required")
        if self.reference.strategy == "training_snapshot" and not self.data.training_snapshot:
            raise ValueError("reference.strategy 'training_snapshot' needs data.training_snapshot")
        return self

    @property
    def asset_prefix(self) -> str:
        """The model id as a Dagster-safe asset key component (``fraud-detector-v1`` → ``fraud_detector_v1``)."""
        return re.sub(r"[^A-Za-z0-9_]", "_", self.id)

    @property
    def registered_model_name(self) -> str:
        return self.registry.name or self.id

    @property
    def feature_kinds(self) -> dict[str, FeatureKind]:
        return {f.name: f.kind for f in self.features}


class SentinelConfig(_Strict):
    """The whole file: a list of monitored models."""

    models: list[ModelSpec]
    source: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_ids(self) -> SentinelConfig:
        ids = [m.id for m in self.models]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate model ids: {duplicates}")
        prefixes = [m.asset_prefix for m in self.models]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"model ids collide once made asset-key safe: {prefixes}")
        return self

    def model(self, model_id: str) -> ModelSpec:
        """The spec for ``model_id``; :class:`UnknownModelError` lists the declared ids otherwise."""
        for spec in self.models:
            if spec.id == model_id or spec.asset_prefix == model_id:
                return spec
        declared = ", ".join(m.id for m in self.models) or "none"
        raise UnknownModelError(f"unknown model id {model_id!r}; declared in {self.source}: {declared}")

    @property
    def base_dir(self) -> Path:
        """Directory that relative data paths are resolved against."""
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    def resolve(self, path: str) -> str:
        """Resolve a data path from the file: ``s3://`` as is, relative paths against :attr:`base_dir`."""
        if "://" in path or os.path.isabs(path):
            return path
        return str(self.base_dir / path)


def config_path() -> Path:
    """``$SENTINEL_CONFIG`` or ``./sentinel.yaml``."""
    return Path(os.environ.get("SENTINEL_CONFIG", DEFAULT_CONFIG))


def read_config_text(path: str | os.PathLike[str], *, what: str = "config file") -> str:
    """The UTF-8 text of a configuration file; :class:`ConfigError` names the file on any failure.

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"
    >>> _ = bad.write_bytes(b"models:\\n  - id: caf\\xe9\\n")
    >>> read_config_text(bad)
    Traceback (most recent call last):
    ...
    drift_sentinel.errors.ConfigError: .../s.yaml: line 2: not UTF-8 text (byte 0xe9 at offset 19); save ...
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found (set SENTINEL_CONFIG or create it)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a {what} (YAML)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise ConfigError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{byte} at offset {exc.start}); save the file as UTF-8"
        ) from None


def load_config(path: str | os.PathLike[str] | None = None) -> SentinelConfig:
    """Read and validate a config file; errors name the file, field and line."""
    path = Path(path) if path is not None else config_path()
    return parse_config(read_config_text(path), source=str(path))


def parse_config(text: str, source: str = "<string>") -> SentinelConfig:
    """Validate config text; see :func:`load_config`."""
    # libyaml: a 50-model file in 0.03 s instead of 0.3 s
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'models' list at the top level")
    try:
        return SentinelConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        root = yaml.compose(text, Loader=loader)  # the node tree only when a line number is wanted
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(part) for part in loc) or "<root>"
            line = _line_of(root, loc)
            where = f"line {line}: " if line else ""
            lines.append(f"{source}: {where}{field}: {error['msg']}")
        raise ConfigError("\n".join(lines)) from None


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line

"""Realistic sample data for the demo fraud model, with drift injected at a known time.

:func:`generate` writes, for one model id, a folder of daily Parquet prediction logs (hourly traffic with a
daily and weekly volume cycle, month-end peaks, delayed labels), the training snapshot the model was fitted
on (drawn from the pre-drift distribution) and an external-events CSV (deploys, upstream incidents,
campaigns, holidays). Everything is deterministic for a seed: each day is drawn from its own generator
seeded with ``(seed, day ordinal)``, so a longer run starts with exactly the same days as a shorter one.

The injected change is described by a *scenario* (a registry keyed by short names, see :data:`SCENARIOS`):

``none``
    no drift.
``demo``
    on day 10 at 06:00 UTC an upstream mobile-app ``deploy`` is followed by an abrupt shift of ``amount``
    (+0.5 sd of log-amount) and a brand-new ``device_id`` category ``android-15-beta`` (~25% of traffic).
``month_end_amount``
    ``amount`` rises by ~0.8 sd during the last three days of every month (defaults to a range holding two
    month ends, so the second one recurs).
``new_device_after_deploy``
    a ``deploy`` of the upstream app brings the new ``device_id`` category; nothing else changes.
``latency_incident``
    an ``upstream_incident`` event is followed by three hours of ×5 latency and 8% errors; no data drift.
``concept_drift``
    the relation between features and fraud changes (labels only); feature distributions are unchanged.
``gradual``
    ``transaction_velocity`` drifts slowly upwards (linearly, up to +60% by the last day).

The prediction score is a fixed logistic formula of the features (the "production model"); labels are
drawn from the same formula (so the model is calibrated) except under ``concept_drift``.

>>> import tempfile
>>> out = generate(tempfile.mkdtemp(), seed=1, days=2, rows_per_hour=5, scenario="none")
>>> len(out.prediction_files), out.drift_start is None
(2, True)
>>> import pandas as pd
>>> list(pd.read_parquet(out.prediction_files[0]).columns) == list(PREDICTION_COLUMNS)
True
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from drift_sentinel.config import check_model_id
from drift_sentinel.errors import ConfigError, DataError, UnknownNameError

DEFAULT_MODEL_ID = "fraud-detector-v1"
DEFAULT_START = datetime(2026, 10, 1, tzinfo=UTC)
DEFAULT_DAYS = 14
LABEL_DELAY = timedelta(hours=36)
TRAINING_ROWS = 20_000

NUMERIC_FEATURES: tuple[str, ...] = (
    "amount",
    "account_age_days",
    "transaction_velocity",
    "distance_from_home_km",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("location", "device_id", "merchant_category")
FEATURE_COLUMNS: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
PREDICTION_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "request_id",
    *FEATURE_COLUMNS,
    "prediction",
    "label",
    "latency_ms",
    "error",
    "model_version",
)
EVENT_COLUMNS: tuple[str, ...] = ("timestamp", "event_type", "source", "description")
EVENT_TYPES: tuple[str, ...] = ("deploy", "upstream_incident", "campaign", "holiday")

LOCATIONS = ("us-east", "us-west", "us-central", "eu-west", "eu-central", "apac-south", "apac-east", "latam")
LOCATION_P = (0.22, 0.16, 0.12, 0.16, 0.1, 0.09, 0.08, 0.07)
LOCATION_EFFECT = (0.0, 0.05, -0.05, -0.1, -0.15, 0.2, 0.1, 0.3)
DEVICES = ("ios-17", "ios-18", "android-13", "android-14", "web-chrome", "web-safari")
DEVICE_P = (0.18, 0.24, 0.12, 0.22, 0.16, 0.08)
DEVICE_EFFECT = (0.0, -0.05, 0.15, 0.05, 0.25, 0.1)
NEW_DEVICE = "android-15-beta"
MERCHANTS = (
    "grocery",
    "restaurants",
    "fuel",
    "fashion",
    "electronics",
    "travel",
    "gaming",
    "health",
    "utilities",
    "entertainment",
)
MERCHANT_P = (0.2, 0.15, 0.1, 0.1, 0.09, 0.07, 0.06, 0.08, 0.07, 0.08)
MERCHANT_EFFECT = (-0.4, -0.3, -0.2, 0.0, 0.6, 0.5, 0.7, -0.2, -0.5, 0.1)

# log-normal amount: log(amount) ~ N(_AMOUNT_MU, _AMOUNT_SIGMA)
_AMOUNT_MU, _AMOUNT_SIGMA = 3.8, 0.9
_INTERCEPT = -3.3


@dataclass(frozen=True)
class GeneratedData:
    """What :func:`generate` wrote, and the ground truth of the injected change."""

    model_id: str
    scenario: str
    root: Path
    prediction_files: tuple[Path, ...]
    training_path: Path
    events_path: Path
    drift_start: datetime | None
    drifted_features: tuple[str, ...]
    expected_cause: str | None
    start: datetime | None = None
    end: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (paths as strings, times as ISO 8601)."""
        return {
            "model_id": self.model_id,
            "scenario": self.scenario,
            "root": str(self.root),
            "prediction_dir": str(self.root / "predictions"),
            "prediction_files": [str(p) for p in self.prediction_files],
            "training_path": str(self.training_path),
            "events_path": str(self.events_path),
            "drift_start": self.drift_start.isoformat() if self.drift_start else None,
            "drifted_features": list(self.drifted_features),
            "expected_cause": self.expected_cause,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }


@dataclass(frozen=True)
class Scenario:
    """An injected change: which features it moves, what caused it, its default time range."""

    name: str
    description: str
    drifted_features: tuple[str, ...] = ()
    expected_cause: str | None = None
    default_start: datetime = DEFAULT_START
    default_days: int = DEFAULT_DAYS
    drift_start: Callable[[datetime, int], datetime | None] = field(default=lambda start, days: None)


def _day_n(start: datetime, days: int) -> datetime:
    """06:00 UTC on "day 10" of a 14-day range (scaled for shorter ranges)."""
    index = max(1, (days * 9) // 14)
    return start + timedelta(days=index, hours=6)


def _first_month_end(start: datetime, days: int) -> datetime | None:
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=days)
    while day < end:
        if _is_month_end(day):
            return max(day, start)
        day += timedelta(days=1)
    return None


def _is_month_end(day: datetime) -> bool:
    """The last three days of the month."""
    return day.day > calendar.monthrange(day.year, day.month)[1] - 3


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("none", "no drift"),
        Scenario(
            "demo",
            "upstream app deploy, then amount shifts +0.5 sd and new device_id 'android-15-beta' (~25%)",
            drifted_features=("amount", "device_id"),
            expected_cause="deploy",
            drift_start=_day_n,
        ),
        Scenario(
            "month_end_amount",
            "amount rises ~0.8 sd in the last three days of every month",
            drifted_features=("amount",),
            expected_cause="end_of_month_seasonality",
            default_start=datetime(2026, 8, 18, tzinfo=UTC),
            default_days=45,
            drift_start=_first_month_end,
        ),
        Scenario(
            "new_device_after_deploy",
            "upstream app deploy brings new device_id 'android-15-beta' (~25%)",
            drifted_features=("device_id",),
            expected_cause="deploy",
            drift_start=_day_n,
        ),
        Scenario(
            "latency_incident",
            "upstream incident: 3 h of x5 latency and 8% errors, no data drift",
            expected_cause="upstream_incident",
            drift_start=_day_n,
        ),
        Scenario(
            "concept_drift",
            "fraud pattern changes (labels only); feature distributions unchanged",
            expected_cause="concept_drift",
            drift_start=_day_n,
        ),
        Scenario(
            "gradual",
            "transaction_velocity drifts up linearly to +60%",
            drifted_features=("transaction_velocity",),
            expected_cause="data_drift",
            drift_start=lambda start, days: start + timedelta(days=max(1, days // 2)),
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    """The scenario registered under ``name``; :class:`UnknownNameError` lists the accepted names."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownNameError(f"unknown scenario {name!r}; accepted: {', '.join(SCENARIOS)}") from None


def generate(
    out_dir: str | Path,
    *,
    seed: int = 42,
    scenario: str = "demo",
    start: datetime | None = None,
    days: int | None = None,
    rows_per_hour: int = 300,
    model_id: str = DEFAULT_MODEL_ID,
) -> GeneratedData:
    """Write prediction logs, a training snapshot and an events file for ``model_id`` under ``out_dir``.

    Parameters
    ----------
    out_dir
        Root folder; files go to ``out_dir/<model_id>/``.
    seed
        Seed of every random draw; the same seed gives byte-identical data.
    scenario
        Name in :data:`SCENARIOS`.
    start, days
        First day (UTC midnight) and number of days; default to the scenario's (2026-10-01 and 14 days,
        except ``month_end_amount``: 2026-08-18 and 45 days, which holds two month ends).
    rows_per_hour
        Mean requests per hour; the hourly volume follows a daily and weekly cycle around it.
    model_id
        Folder name and the model the data belongs to.

    Returns
    -------
    GeneratedData
        The files written and the ground truth (drift start, drifted features, expected cause).
    """
    spec = get_scenario(scenario)
    start = spec.default_start if start is None else start
    days = spec.default_days if days is None else days
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if days < 1:
        raise DataError(f"days must be >= 1, got {days}")
    if rows_per_hour < 1:
        raise DataError(f"rows_per_hour must be >= 1, got {rows_per_hour}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed must be an integer >= 0, got {seed!r}")
    try:
        check_model_id(model_id)
    except ValueError as exc:  # the id names a folder: never let it climb out of out_dir
        raise ConfigError(f"model_id: {exc}") from None
    end = start + timedelta(days=days)
    drift_start = spec.drift_start(start, days)
    root = Path(out_dir) / model_id
    pred_dir = root / "predictions"
    try:
        files, training_path, events_path = _write(
            root, pred_dir, seed, spec.name, start, days, rows_per_hour, drift_start, end, model_id
        )
    except OSError as exc:
        where = exc.filename or out_dir
        raise DataError(
            f"{where}: cannot write the sample data under {out_dir}: {exc.strerror or exc}"
        ) from None
    return GeneratedData(
        model_id=model_id,
        scenario=spec.name,
        root=root,
        prediction_files=tuple(files),
        training_path=training_path,
        events_path=events_path,
        drift_start=drift_start,
        drifted_features=spec.drifted_features,
        expected_cause=spec.expected_cause,
        start=start,
        end=end,
    )


def _write(
    root: Path,
    pred_dir: Path,
    seed: int,
    scenario: str,
    start: datetime,
    days: int,
    rows_per_hour: int,
    drift_start: datetime | None,
    end: datetime,
    model_id: str,
) -> tuple[list[Path], Path, Path]:
    pred_dir.mkdir(parents=True, exist_ok=True)
    for stale in pred_dir.glob("*.parquet"):
        stale.unlink()
    files = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        rng = np.random.default_rng([seed, day.toordinal()])
        frame = _day_frame(rng, day, rows_per_hour, scenario, drift_start, end)
        path = pred_dir / f"{day:%Y-%m-%d}.parquet"
        frame.to_parquet(path, index=False)
        files.append(path)
    training = training_frame(np.random.default_rng([seed, 7_777]), start)
    training_path = root / "training.parquet"
    training.to_parquet(training_path, index=False)
    events_path = root / "events.csv"
    _events(scenario, start, days, drift_start, model_id).to_csv(events_path, index=False)
    return files, training_path, events_path


def _hourly_volume(rng: np.random.Generator, day: datetime, rows_per_hour: int) -> np.ndarray:
    hours = np.arange(24)
    diurnal = 1.0 + 0.5 * np.cos(2 * np.pi * (hours - 15) / 24)  # peak 15:00, trough 03:00 UTC
    weekly = {4: 1.1, 5: 0.85, 6: 0.8}.get(day.weekday(), 1.0)
    month_end = 1.15 if _is_month_end(day) else 1.0
    return rng.poisson(rows_per_hour * diurnal * weekly * month_end)


def _draw_features(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "log_amount": rng.normal(_AMOUNT_MU, _AMOUNT_SIGMA, n),
        "account_age_days": np.round(rng.gamma(1.2, 350.0, n) + 1.0, 0),
        "transaction_velocity": rng.gamma(2.0, 1.5, n),
        "distance_from_home_km": rng.lognormal(2.0, 1.2, n),
        "location": rng.choice(len(LOCATIONS), n, p=LOCATION_P),
        "device_id": rng.choice(len(DEVICES), n, p=DEVICE_P),
        "merchant_category": rng.choice(len(MERCHANTS), n, p=MERCHANT_P),
    }


def _logit(f: dict[str, np.ndarray]) -> np.ndarray:
    """The production model: a fixed logistic formula of the features."""
    amount_z = (f["log_amount"] - _AMOUNT_MU) / _AMOUNT_SIGMA
    velocity_z = (f["transaction_velocity"] - 3.0) / 2.1
    age_z = (np.log1p(f["account_age_days"]) - 5.5) / 1.1
    distance_z = (np.log1p(f["distance_from_home_km"]) - 2.1) / 1.0
    device = np.asarray(DEVICE_EFFECT + (0.0,))[f["device_id"]]
    return (
        _INTERCEPT
        + 1.1 * amount_z
        + 0.6 * velocity_z
        - 0.6 * age_z
        + 0.4 * distance_z
        + np.asarray(MERCHANT_EFFECT)[f["merchant_category"]]
        + np.asarray(LOCATION_EFFECT)[f["location"]]
        + device
    )


def _concept_logit(f: dict[str, np.ndarray]) -> np.ndarray:
    """The world after concept drift: small amounts at restaurants/grocery by new accounts are fraud."""
    amount_z = (f["log_amount"] - _AMOUNT_MU) / _AMOUNT_SIGMA
    age_z = (np.log1p(f["account_age_days"]) - 5.5) / 1.1
    cheap_food = np.isin(f["merchant_category"], [0, 1]).astype(float)
    return -2.2 - 1.2 * amount_z - 0.9 * age_z + 1.8 * cheap_food


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _to_frame(f: dict[str, np.ndarray]) -> dict[str, Any]:
    devices = np.asarray(DEVICES + (NEW_DEVICE,), dtype=object)
    return {
        "amount": np.round(np.exp(f["log_amount"]), 2),
        "account_age_days": f["account_age_days"].astype(float),
        "transaction_velocity": np.round(f["transaction_velocity"], 3),
        "distance_from_home_km": np.round(f["distance_from_home_km"], 2),
        "location": np.asarray(LOCATIONS, dtype=object)[f["location"]],
        "device_id": devices[f["device_id"]],
        "merchant_category": np.asarray(MERCHANTS, dtype=object)[f["merchant_category"]],
    }


def _day_frame(
    rng: np.random.Generator,
    day: datetime,
    rows_per_hour: int,
    scenario: str,
    drift_start: datetime | None,
    end: datetime,
) -> pd.DataFrame:
    volume = _hourly_volume(rng, day, rows_per_hour)
    n = int(volume.sum())
    hour_of_row = np.repeat(np.arange(24), volume)
    seconds = np.sort(hour_of_row * 3600 + rng.uniform(0, 3600, n))
    day_ns = pd.Timestamp(day).value
    ts = pd.to_datetime(day_ns + (seconds * 1e9).astype("int64"), utc=True)
    ts_ns = ts.asi8
    f = _draw_features(rng, n)
    after = np.zeros(n, dtype=bool) if drift_start is None else ts_ns >= pd.Timestamp(drift_start).value
    coin = rng.uniform(size=n)  # one shared uniform draw per row keeps scenarios comparable
    latency = rng.lognormal(np.log(38.0), 0.35, n) * (1.0 + 0.15 * (volume[hour_of_row] / rows_per_hour))
    error_p = np.full(n, 0.003)

    if scenario == "demo":
        f["log_amount"] = f["log_amount"] + 0.5 * _AMOUNT_SIGMA * after
        f["device_id"] = np.where(after & (coin < 0.25), len(DEVICES), f["device_id"])
    elif scenario == "new_device_after_deploy":
        f["device_id"] = np.where(after & (coin < 0.25), len(DEVICES), f["device_id"])
    elif scenario == "month_end_amount" and _is_month_end(day):
        f["log_amount"] = f["log_amount"] + 0.8 * _AMOUNT_SIGMA
    elif scenario == "latency_incident" and drift_start is not None:
        window = after & (ts_ns < pd.Timestamp(drift_start + timedelta(hours=3)).value)
        latency = np.where(window, latency * 5.0, latency)
        error_p = np.where(window, 0.08, error_p)
    elif scenario == "gradual" and drift_start is not None:
        span = (end - drift_start).total_seconds()
        ramp = np.clip((ts_ns - pd.Timestamp(drift_start).value) / 1e9 / span, 0.0, 1.0)
        f["transaction_velocity"] = f["transaction_velocity"] * (1.0 + 0.6 * ramp)

    z = _logit(f)
    prediction = _sigmoid(z)
    true_p = prediction
    if scenario == "concept_drift":
        true_p = np.where(after, _sigmoid(_concept_logit(f)), prediction)
    label = (rng.uniform(size=n) < true_p).astype(float)
    label[ts_ns >= pd.Timestamp(end - LABEL_DELAY).value] = np.nan
    error = rng.uniform(size=n) < error_p

    frame = pd.DataFrame(
        {
            "timestamp": ts,
            "request_id": [f"{day:%Y%m%d}-{i:07d}" for i in range(n)],
            **_to_frame(f),
            "prediction": np.round(prediction, 6),
            "label": label,
            "latency_ms": np.round(latency, 2),
            "error": error,
            "model_version": "1",
        }
    )
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return frame[list(PREDICTION_COLUMNS)]


def training_frame(rng: np.random.Generator, start: datetime, rows: int = TRAINING_ROWS) -> pd.DataFrame:
    """The training snapshot: pre-drift features, the label, and a timestamp in the 28 days before ``start``.

    >>> frame = training_frame(np.random.default_rng(0), DEFAULT_START, rows=100)
    >>> frame.shape, bool(frame["label"].isna().any())
    ((100, 9), False)
    """
    f = _draw_features(rng, rows)
    label = (rng.uniform(size=rows) < _sigmoid(_logit(f))).astype(float)
    offsets = rng.uniform(0, 28 * 86400, rows)
    ts = pd.to_datetime(
        pd.Timestamp(start - timedelta(days=28)).value + (offsets * 1e9).astype("int64"), utc=True
    )
    frame = pd.DataFrame({"timestamp": ts, **_to_frame(f), "label": label}).sort_values("timestamp")
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return frame.reset_index(drop=True)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _events(
    scenario: str, start: datetime, days: int, drift_start: datetime | None, model_id: str
) -> pd.DataFrame:
    rows: list[tuple[str, str, str, str]] = []
    end = start + timedelta(days=days)
    # background events that cause nothing: a campaign, an unrelated deploy, public holidays in range
    rows.append(
        (
            _iso(start + timedelta(days=min(2, days - 1), hours=9)),
            "campaign",
            "marketing",
            "cashback campaign",
        )
    )
    if days >= 4:
        rows.append(
            (_iso(start + timedelta(days=3, hours=14)), "deploy", "recommendation-service", "release 4.2.0")
        )
    for year in {start.year, end.year}:
        for month, dom, name in ((1, 1, "New Year's Day"), (7, 4, "Independence Day"), (12, 25, "Christmas")):
            holiday = datetime(year, month, dom, tzinfo=UTC)
            if start <= holiday < end:
                rows.append((_iso(holiday), "holiday", "calendar", name))
    if drift_start is not None:
        before = drift_start - timedelta(minutes=10)
        if scenario in ("demo", "new_device_after_deploy"):
            rows.append((_iso(before), "deploy", "mobile-app", "mobile app 15.0.0 rollout (Android 15 beta)"))
        elif scenario == "latency_incident":
            rows.append(
                (_iso(before), "upstream_incident", "payments-gateway", "payments gateway degraded, retries")
            )
    rows.sort()
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))

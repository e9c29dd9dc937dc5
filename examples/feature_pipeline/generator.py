"""Seeded card transactions for one day, with a switch that injects drift.

Clean days draw amounts from a log-normal, merchant categories and countries from fixed mixes, and a fraud label
that depends on amount, country and the hour. A drifted day (``drift=True``) is what an upstream change looks
like to the features: amounts about 1.6× larger and twice as many foreign cards. Categories stay the same, so
the data-quality expectations still hold and only the drift check can see it.

>>> table = generate_transactions("2024-10-02", rows=5)
>>> table.num_rows, table.column_names[:4]
(5, ['transaction_id', 'timestamp', 'customer_id', 'amount'])
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

MERCHANT_CATEGORIES = ("grocery", "fuel", "electronics", "travel", "restaurants", "online")
MERCHANT_MIX = (0.32, 0.14, 0.09, 0.07, 0.18, 0.20)
COUNTRIES = ("FR", "DE", "ES", "IT", "US", "GB")
DEVICES = ("ios", "android", "web")


def generate_transactions(day: str, *, rows: int = 600, drift: bool = False, seed: int = 7) -> pa.Table:
    """One day of transactions as a pyarrow Table (seeded by ``seed`` and the day, so reruns are identical)."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    rng = np.random.default_rng([seed, zlib.crc32(day.encode())])
    home = 0.55 if drift else 0.78  # share of domestic (FR) cards
    foreign = (1 - home) / (len(COUNTRIES) - 1)
    country = rng.choice(COUNTRIES, size=rows, p=[home] + [foreign] * (len(COUNTRIES) - 1))
    amount = rng.lognormal(mean=3.4, sigma=0.8, size=rows) * (1.6 if drift else 1.0)
    seconds = np.sort(rng.uniform(0, 86_400, size=rows))
    timestamp = [start + timedelta(seconds=float(s)) for s in seconds]
    hour = seconds // 3600
    logit = -5.0 + 0.9 * np.log1p(amount) / 4 + 1.2 * (country != "FR") + 0.8 * ((hour < 6) | (hour > 22))
    frame = pd.DataFrame(
        {
            "transaction_id": [f"{day}-{i:05d}" for i in range(rows)],
            "timestamp": pd.to_datetime(timestamp, utc=True),
            "customer_id": rng.integers(1, 5_000, size=rows),
            "amount": amount.round(2),
            "merchant_category": rng.choice(MERCHANT_CATEGORIES, size=rows, p=MERCHANT_MIX),
            "country": country,
            "device": rng.choice(DEVICES, size=rows, p=(0.45, 0.4, 0.15)),
            "is_fraud": rng.uniform(size=rows) < 1 / (1 + np.exp(-logit)),
        }
    )
    return pa.Table.from_pandas(frame, preserve_index=False)

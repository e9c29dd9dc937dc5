"""Timestamps as UTC, as ``pd.to_datetime(values, utc=True)`` gives them, without its cost on datetime columns.

``pd.to_datetime`` looks for repeated values to parse each once (its ``cache``). For text that pays; for a column
that already holds datetimes it only builds the lookup: 15 ms for a window of 11,000 rows against 0.2 ms without
(pandas 2.3, this project's 2-core machine), paid several times per window by signals, onset and RCA.

>>> import pandas as pd
>>> utc_times(pd.Series(pd.to_datetime(["2026-10-01 02:00"]).tz_localize("Europe/Berlin"))).iloc[0]
Timestamp('2026-10-01 00:00:00+0000', tz='UTC')
>>> utc_times(pd.Series(["2026-10-01T00:05:00Z", "not a time"]), errors="coerce").isna().tolist()
[False, True]
"""

from __future__ import annotations

from typing import Literal, TypeVar

import pandas as pd

Times = TypeVar("Times", pd.Series, pd.Index)


def utc_times(values: Times, *, errors: Literal["raise", "coerce"] = "raise") -> Times:
    """``pd.to_datetime(values, utc=True, errors=errors)``, skipping the parse cache when ``values`` are datetimes."""
    datetimes = pd.api.types.is_datetime64_any_dtype(values.dtype)
    return pd.to_datetime(values, utc=True, errors=errors, cache=not datetimes)

"""UTC time helpers. pandas 3 stores datetimes in microseconds by default, FreqTrade's files in
nanoseconds: never call `.astype("int64")` on dates without fixing the unit first."""

from __future__ import annotations

import numpy as np
import pandas as pd


def epoch_ns(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Nanoseconds since the epoch (UTC) whatever unit the dates are stored in."""
    values = pd.to_datetime(dates, utc=True)
    if isinstance(values, pd.Series):
        return values.dt.as_unit("ns").astype("int64").to_numpy()
    return values.as_unit("ns").asi8.copy()


def epoch_minutes(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return epoch_ns(dates) // 60_000_000_000

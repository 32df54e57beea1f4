"""Closed candles by time, for per-trade questions asked thousands of times in a backtest.

A backtest holds every candle of the run in memory, including those after the moment being
simulated; `closed_before` only ever returns candles that had closed by `now`, which is what
keeps per-trade exit checks free of look-ahead.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from statarb.timeutil import epoch_ns


class CloseHistory:
    def __init__(self, dates: pd.Series, closes: pd.Series, timeframe_minutes: int) -> None:
        stamps = epoch_ns(dates)
        if stamps.size > 1 and not np.all(np.diff(stamps) > 0):
            raise ValueError("candle dates must be strictly increasing")
        self._open_ns = stamps
        self._close = closes.to_numpy(dtype=float)
        self._tf_ns = timeframe_minutes * 60 * 1_000_000_000

    @property
    def last_open_ns(self) -> int | None:
        return int(self._open_ns[-1]) if self._open_ns.size else None

    def closed_before(self, now: datetime, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(open times ns, closes) of the last `count` candles closed at or before `now`."""
        now_ns = int(pd.Timestamp(now).value)
        end = int(np.searchsorted(self._open_ns + self._tf_ns, now_ns, side="right"))
        start = max(0, end - count)
        return self._open_ns[start:end], self._close[start:end]


def aligned_closes(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Closes of two legs on the candles both have, oldest first."""
    dates_a, close_a = a
    dates_b, close_b = b
    if dates_a.shape == dates_b.shape and np.array_equal(dates_a, dates_b):
        return close_a, close_b
    _, idx_a, idx_b = np.intersect1d(dates_a, dates_b, return_indices=True)
    return close_a[idx_a], close_b[idx_b]

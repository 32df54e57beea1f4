"""Analysed candles by time, for per-spread questions asked thousands of times in a backtest.

Why a cache of our own: FreqTrade's `get_analyzed_dataframe` in a backtest is cut per pair as
the simulation walks through the pairs, so while leg A is being decided, leg B's frame can still
end one candle earlier. A spread needs both legs at the SAME candle, so each leg's analysed
columns are kept here and looked up by candle open time.

A backtest holds every candle of the run in memory, including those after the simulated moment;
`closed_before` only returns candles closed by `now` and `row_at` only the candle asked for,
which keeps these look-ups free of look-ahead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from statarb.timeutil import epoch_ns


class CandleCache:
    """Selected columns of one pair's analysed frame, indexed by candle open time."""

    def __init__(
        self,
        dates: pd.Series,
        columns: dict[str, pd.Series],
        timeframe_minutes: int,
    ) -> None:
        stamps = epoch_ns(dates)
        if stamps.size > 1 and not np.all(np.diff(stamps) > 0):
            raise ValueError("candle dates must be strictly increasing")
        self._open_ns = stamps
        self._columns = {name: series.to_numpy() for name, series in columns.items()}
        self._tf_ns = timeframe_minutes * 60 * 1_000_000_000

    @property
    def last_open_ns(self) -> int | None:
        return int(self._open_ns[-1]) if self._open_ns.size else None

    def closed_before(
        self, now: datetime, count: int, column: str = "close"
    ) -> tuple[np.ndarray, np.ndarray]:
        """(open times ns, values) of the last `count` candles closed at or before `now`."""
        now_ns = int(pd.Timestamp(now).value)
        end = int(np.searchsorted(self._open_ns + self._tf_ns, now_ns, side="right"))
        start = max(0, end - count)
        return self._open_ns[start:end], self._columns[column][start:end].astype(float)

    def row_at(self, open_time: datetime) -> dict[str, Any] | None:
        """The analysed values of the candle that opened at `open_time`, if it is cached."""
        target = int(pd.Timestamp(open_time).value)
        index = int(np.searchsorted(self._open_ns, target))
        if index >= self._open_ns.size or self._open_ns[index] != target:
            return None
        return {name: values[index] for name, values in self._columns.items()}


def aligned_closes(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Values of two legs on the candles both have, oldest first."""
    dates_a, close_a = a
    dates_b, close_b = b
    if dates_a.shape == dates_b.shape and np.array_equal(dates_a, dates_b):
        return close_a, close_b
    _, idx_a, idx_b = np.intersect1d(dates_a, dates_b, return_indices=True)
    return close_a[idx_a], close_b[idx_b]


ALIGN_SLACK_CANDLES = 5


def common_closes(
    a: CandleCache, b: CandleCache, now: datetime, count: int, column: str = "close"
) -> tuple[np.ndarray, np.ndarray]:
    """The last `count` candles both legs have closed by `now`, oldest first.

    FreqTrade refreshes the legs one after the other: at a candle's close one leg may already
    hold the new candle while the other does not. Asking each for exactly `count` candles
    would leave `count - 1` in common — a NaN z for that loop (a forced entry refused, a stop
    checked a loop late). Each is asked for a few more and the common tail is kept.
    """
    close_a, close_b = aligned_closes(
        a.closed_before(now, count + ALIGN_SLACK_CANDLES, column),
        b.closed_before(now, count + ALIGN_SLACK_CANDLES, column),
    )
    return close_a[-count:], close_b[-count:]

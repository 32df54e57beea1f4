"""The candles a scan may use: strictly before `as_of`, the last `lookback`, complete coins only.

A walk-forward backtest calls the scanner once per simulated day; anything at or after `as_of`
would be look-ahead. Coins with gaps in the window are dropped with the reason, never scanned
with NaNs or silently forward-filled prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd


class ScanInputError(ValueError):
    """The closes or the window cannot be scanned; the message says why."""


@dataclass(frozen=True)
class DroppedCoin:
    symbol: str
    reason: str


@dataclass(frozen=True, eq=False)
class ScanWindowData:
    """Complete closes of the coins kept, and the window they cover ([start, end), UTC)."""

    closes: pd.DataFrame
    dropped: tuple[DroppedCoin, ...]
    start: datetime
    end: datetime
    candle: pd.Timedelta


def candle_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The candle duration: the most common spacing of the index."""
    if len(index) < 2:
        raise ScanInputError("need at least two candles to know the timeframe")
    steps = pd.Series(index[1:] - index[:-1])
    return pd.Timedelta(steps.mode().iloc[0])


def timeframe_name(step: pd.Timedelta) -> str | None:
    """FreqTrade's name for a candle duration ('5m', '1h', '1d'), None if it has none."""
    seconds = int(step.total_seconds())
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return None


def scan_window(
    closes: pd.DataFrame, *, as_of: datetime | None, lookback: int | timedelta
) -> ScanWindowData:
    """Cut the window (open time < as_of, last `lookback`) and drop coins that are incomplete."""
    _check_frame(closes)
    data = closes
    if as_of is not None:
        if as_of.tzinfo is None:
            raise ScanInputError("as_of must carry a time zone (UTC)")
        data = data.loc[data.index < pd.Timestamp(as_of)]
    if len(data) < 2:
        raise ScanInputError(
            f"fewer than two candles before as_of={as_of}: nothing to scan"
            if as_of is not None
            else "fewer than two candles: nothing to scan"
        )
    step = candle_step(data.index)  # from candles before as_of only
    if isinstance(lookback, timedelta):
        if lookback <= timedelta(0):
            raise ScanInputError(f"lookback must be positive, got {lookback}")
        end = pd.Timestamp(as_of) if as_of is not None else data.index[-1] + step
        data = data.loc[data.index >= end - pd.Timedelta(lookback)]
    else:
        if isinstance(lookback, bool) or not isinstance(lookback, int | np.integer) or lookback < 2:
            raise ScanInputError(f"lookback must be >= 2 candles or a timedelta, got {lookback!r}")
        data = data.iloc[-int(lookback) :]
    if len(data) < 2:
        raise ScanInputError("the lookback window holds fewer than two candles")

    kept, dropped = [], []
    for symbol in data.columns:
        reason = _coin_problem(data[symbol])
        if reason is None:
            kept.append(symbol)
        else:
            dropped.append(DroppedCoin(str(symbol), reason))
    start = data.index[0].to_pydatetime()
    end = (data.index[-1] + step).to_pydatetime()
    return ScanWindowData(
        closes=data[kept].astype(np.float64),
        dropped=tuple(dropped),
        start=start,
        end=end,
        candle=step,
    )


def _check_frame(closes: pd.DataFrame) -> None:
    if not isinstance(closes, pd.DataFrame):
        raise ScanInputError(
            "closes must be a DataFrame: rows = candles by open time, cols = coins"
        )
    index = closes.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ScanInputError("closes must be indexed by candle open time (a DatetimeIndex)")
    if index.tz is None:
        raise ScanInputError("closes' index must be tz-aware UTC (candle open times)")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ScanInputError(f"closes' index has duplicate candles (first: {dup})")
    if not index.is_monotonic_increasing:
        raise ScanInputError("closes' index must be sorted by candle open time")
    if closes.columns.has_duplicates:
        raise ScanInputError("closes have duplicate coin columns")


def _coin_problem(values: pd.Series) -> str | None:
    try:
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        return "closes are not numeric"
    missing = ~np.isfinite(x)
    if missing.all():
        return "no candles in the scan window"
    if missing.any():
        count = int(missing.sum())
        have = np.flatnonzero(~missing)
        first, last = have[0], have[-1]
        if not missing[first : last + 1].any():  # one block at the start and/or the end
            parts = []
            if first > 0:
                parts.append(f"data starts at {values.index[first].isoformat()}")
            if last < x.size - 1:
                parts.append(f"data ends at {values.index[last].isoformat()}")
            return f"{' and '.join(parts)}: {count} of {x.size} candles of the window missing"
        where = values.index[missing]
        return (
            f"missing {count} of {x.size} candles in the scan window "
            f"(first {where[0].isoformat()}, last {where[-1].isoformat()})"
        )
    if (x <= 0.0).any():
        return f"non-positive close price ({x[x <= 0.0][0]!r}) in the scan window"
    if x.max() == x.min():
        return f"constant close price ({x[0]!r}) over the scan window"
    return None

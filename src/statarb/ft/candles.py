"""Candles and prices as the strategy's parts read them: one place for each read.

- `analyse`: a coin's analysed frame (statarb.ft.frames), its decision columns cached;

- `candles_of`: a symbol's analysed columns (cached by `populate_indicators`), or its raw
  candles when FreqTrade did not analyse it in this run;
- `close_at`: one candle's close;
- `last_common_candle`: the newest candle both legs of a spread have;
- `prices_of`: the last traded price of each symbol (NaN when there is none).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas import DataFrame

from statarb.ft import frames
from statarb.spread.history import CandleCache

if TYPE_CHECKING:
    from statarb.ft.host import StrategyHost
    from statarb.spread.book import ActivePair


def prices_of(dp: Any, symbols: list[str]) -> dict[str, float]:
    """The last price of each symbol from FreqTrade's ticker; NaN when there is none (the
    caller skips what needs one)."""
    prices = {}
    for symbol in symbols:
        try:
            prices[symbol] = float(dp.ticker(symbol).get("last") or math.nan)
        except Exception:  # no price: the planner skips what needs one
            prices[symbol] = math.nan
    return prices


class CandleReader:
    def __init__(self, host: StrategyHost) -> None:
        self.host = host

    def analyse(self, dataframe: DataFrame, pair: str) -> DataFrame:
        """`populate_indicators` after FreqAI: the spread columns of this coin against each of
        its partners (statarb.ft.frames), and the cache of the columns decisions read."""
        host = self.host
        self.host.state.candles[pair] = frames.analyse(
            dataframe,
            pair,
            host.book,
            lambda symbol: host.dp.get_pair_dataframe(symbol, host.timeframe),
            timeframe_minutes=host.tf_minutes,
            retest=host.retest,
            thresholds=host.default_thresholds(),
        )
        return dataframe

    def candles_of(self, symbol: str) -> CandleCache | None:
        """The analysed cache, or raw candles for a leg FreqTrade did not analyse in this run
        (an analysis run loads one pair; a spread dropped from the whitelist keeps its legs)."""
        host = self.host
        cache = host.state.candles.get(symbol)
        if cache is not None:
            return cache
        raw = host.dp.get_pair_dataframe(symbol, host.timeframe)
        if raw is None or raw.empty:
            return None
        cached = host.state.raw_candles.get(symbol)
        last = raw["date"].iloc[-1]
        if cached is None or cached[0] != last:
            cached = (last, CandleCache(raw["date"], {"close": raw["close"]}, host.tf_minutes))
            host.state.raw_candles[symbol] = cached
        return cached[1]

    def close_at(self, symbol: str, candle: datetime) -> float:
        """Close of `symbol`'s candle opened at `candle`: analysed cache, else raw candles."""
        host = self.host
        cache = host.state.candles.get(symbol)
        row = cache.row_at(candle) if cache else None
        if row is not None:
            return float(row["close"])
        raw = host.dp.get_pair_dataframe(symbol, host.timeframe)
        if raw is None or raw.empty:
            return math.nan
        match = raw.loc[raw["date"] == pd.Timestamp(candle), "close"]
        return float(match.iloc[0]) if len(match) else math.nan

    def last_common_candle(self, active: ActivePair) -> datetime | None:
        caches = [self.host.state.candles.get(active.symbol), self.candles_of(active.partner)]
        stamps = [c.last_open_ns for c in caches if c is not None]
        if len(stamps) < 2 or None in stamps:
            return None
        return datetime.fromtimestamp(min(stamps) / 1e9, tz=UTC)  # type: ignore[type-var]

    def prices(self, symbols: list[str]) -> dict[str, float]:
        return prices_of(self.host.dp, symbols)

"""Closes of a universe from a FreqTrade data directory, read with FreqTrade's own data handler.

A thin adapter: the files are whatever `freqtrade download-data` (or our generator) wrote,
`<exchange dir>/futures/BTC_USDT_USDT-5m-futures.feather`. Gaps are NOT filled (FreqTrade's
`fill_missing` would invent flat candles): a missing candle stays NaN after the outer join on
date, and the scanner drops that coin with the reason.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from freqtrade.configuration import TimeRange
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType, TradingMode

DATA_FORMAT = "feather"
EXCHANGE = "binance"


class CandleDataError(ValueError):
    """The candles cannot be loaded; the message names the folder, pair or file."""


def resolve_exchange_dir(datadir: str | Path) -> Path:
    """Accept `user_data/data`, `.../binance` or `.../binance/futures`; return the folder
    holding `futures/` (FreqTrade's own layout)."""
    root = Path(datadir)
    for candidate in (root / EXCHANGE, root, root.parent if root.name == "futures" else root):
        if (candidate / "futures").is_dir():
            return candidate
    raise CandleDataError(
        f"{root}: no futures candles found (expected {root / EXCHANGE / 'futures'} or "
        f"{root / 'futures'} with files like BTC_USDT_USDT-5m-futures.{DATA_FORMAT})"
    )


def available_pairs(datadir: str | Path, timeframe: str) -> list[str]:
    """Futures symbols ('BTC/USDT:USDT') with candles of `timeframe` in the folder, sorted."""
    exchange_dir = resolve_exchange_dir(datadir)
    handler = get_datahandler(exchange_dir, DATA_FORMAT)
    found = handler.ohlcv_get_available_data(exchange_dir, TradingMode.FUTURES)
    return sorted(
        {pair for pair, tf, kind in found if tf == timeframe and kind == CandleType.FUTURES}
    )


def load_closes(
    datadir: str | Path,
    pairs: list[str],
    timeframe: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    field: str = "close",
) -> pd.DataFrame:
    """Close prices (or another OHLCV `field`), one column per pair, indexed by candle open
    time (UTC), outer-joined.

    Keeps candles with `start <= open time < end` (either bound optional).
    """
    if not pairs:
        raise CandleDataError("no pairs to load")
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise CandleDataError(f"time bound {bound} must carry a time zone (UTC)")
    exchange_dir = resolve_exchange_dir(datadir)
    handler = get_datahandler(exchange_dir, DATA_FORMAT)
    timerange = TimeRange(
        "date" if start else None,
        "date" if end else None,
        int(start.timestamp()) if start else 0,
        int(end.timestamp()) if end else 0,
    )
    columns = {}
    for pair in dict.fromkeys(pairs):
        frame = handler.ohlcv_load(
            pair,
            timeframe,
            CandleType.FUTURES,
            timerange=timerange,
            fill_missing=False,
            drop_incomplete=False,
            warn_no_data=False,
        )
        if frame.empty:
            expected = exchange_dir / "futures" / f"{pair.replace('/', '_').replace(':', '_')}"
            raise CandleDataError(
                f"no {timeframe} futures candles for {pair} in the requested range "
                f"(looked for {expected}-{timeframe}-futures.{DATA_FORMAT})"
            )
        columns[pair] = frame.set_index("date")[field]
    closes = pd.concat(columns, axis=1, join="outer").sort_index()
    closes.index = pd.DatetimeIndex(closes.index).tz_convert("UTC")
    closes.index.name = "date"
    if start is not None:
        closes = closes.loc[closes.index >= pd.Timestamp(start)]
    if end is not None:
        closes = closes.loc[closes.index < pd.Timestamp(end)]  # FreqTrade's stop is inclusive
    return closes.astype("float64")

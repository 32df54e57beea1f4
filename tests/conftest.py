"""Shared fixtures: a small generated market in FreqTrade's layout, and one local exchange
(a real subprocess) per test module on it.

Until ``statarb.market.generator`` lands on main, ``write_sample_market`` writes a few days of
simple 1m futures candles for real symbol names (so FreqTrade's bundled leverage tiers know them),
plus 1h mark candles and 8-hourly funding rates, with FreqTrade's own feather data handler.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.history.datahandlers import get_datahandler
from freqtrade.enums import CandleType

from statarb.exchange.launcher import RunningExchange, start_local_exchange

SAMPLE_START = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLE_DAYS = 3
SAMPLE_PRICES = {"BTC/USDT:USDT": 60_000.0, "ETH/USDT:USDT": 3_000.0, "SOL/USDT:USDT": 150.0}


def write_sample_market(datadir: Path, *, days: int = SAMPLE_DAYS, seed: int = 7) -> Path:
    """1m candles (a common random factor, so the coins co-move), 1h mark, 8h funding.

    Files land in ``<datadir>/binance/futures/`` (FreqTrade's layout for ``datadir``).
    """
    (datadir / "binance").mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(datadir / "binance", "feather")
    rng = np.random.default_rng(seed)
    minutes = days * 1440
    dates = pd.date_range(SAMPLE_START, periods=minutes, freq="1min", tz="UTC")
    common = np.cumsum(rng.normal(0, 0.0006, minutes))
    for index, (pair, start_price) in enumerate(SAMPLE_PRICES.items()):
        own = np.cumsum(rng.normal(0, 0.0004, minutes))
        close = start_price * np.exp(common * (1.0 + 0.2 * index) + own)
        open_ = np.concatenate([[start_price], close[:-1]])
        wiggle = np.abs(rng.normal(0, 0.0003, minutes))
        high = np.maximum(open_, close) * (1 + wiggle)
        low = np.minimum(open_, close) * (1 - wiggle)
        volume = rng.lognormal(2.0, 0.5, minutes) * (60_000.0 / start_price)
        candles = pd.DataFrame(
            {"date": dates, "open": open_, "high": high, "low": low, "close": close,
             "volume": volume}
        )  # fmt: skip
        handler.ohlcv_store(pair, "1m", candles, CandleType.FUTURES)
        hourly = (
            candles.set_index("date")
            .resample("1h")
            .agg({"open": "first", "high": "max", "low": "min", "close": "last"})
            .reset_index()
        )
        hourly["volume"] = 0.0
        handler.ohlcv_store(pair, "1h", hourly, CandleType.MARK)
        funding_dates = pd.date_range(SAMPLE_START, periods=days * 3, freq="8h", tz="UTC")
        funding = pd.DataFrame(
            {
                "date": funding_dates,
                "funding_rate": 0.0001 + rng.normal(0, 0.00005, len(funding_dates)),
            }
        )
        handler.ohlcv_store(pair, "1h", funding, CandleType.FUNDING_RATE)
    return datadir


@pytest.fixture(scope="session")
def sample_market_datadir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    datadir = tmp_path_factory.mktemp("market")
    write_sample_market(datadir)
    return datadir


SAMPLE_END = SAMPLE_START + timedelta(days=SAMPLE_DAYS)


@pytest.fixture(scope="module")
def exchange(
    sample_market_datadir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningExchange]:
    """The local exchange on the sample market, one per test module (a module that needs
    other data or options defines its own `exchange`)."""
    folder = tmp_path_factory.mktemp("exchange")
    running = start_local_exchange(
        sample_market_datadir, log_path=folder / "exchange.log", state_path=folder / "state.json"
    )
    try:
        yield running
    finally:
        running.stop()

"""Closes load through FreqTrade's own data handler, aligned on date, gaps left visible."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType

from statarb.market.candles import (
    CandleDataError,
    available_pairs,
    load_closes,
    resolve_exchange_dir,
)


def store(datadir: Path, pair: str, timeframe: str, closes: pd.Series, kind=CandleType.FUTURES):
    """Write candles as FreqTrade does: DIR/binance/futures/BTC_USDT_USDT-1h-futures.feather."""
    (datadir / "binance").mkdir(exist_ok=True)
    frame = pd.DataFrame(
        {
            "date": closes.index,
            "open": closes.to_numpy(),
            "high": closes.to_numpy() * 1.001,
            "low": closes.to_numpy() * 0.999,
            "close": closes.to_numpy(),
            "volume": 10.0,
        }
    )
    get_datahandler(datadir / "binance", "feather").ohlcv_store(pair, timeframe, frame, kind)


def hourly(start: str, periods: int, level: float) -> pd.Series:
    index = pd.date_range(start, periods=periods, freq="1h", tz="UTC")
    return pd.Series(level + np.arange(periods, dtype=float), index=index)


@pytest.fixture
def datadir(tmp_path: Path) -> Path:
    store(tmp_path, "BTC/USDT:USDT", "1h", hourly("2026-01-01", 48, 60_000.0))
    eth = hourly("2026-01-01", 48, 3_000.0)
    store(tmp_path, "ETH/USDT:USDT", "1h", eth.drop(eth.index[[10, 11]]))  # a 2-candle gap
    store(tmp_path, "SOL/USDT:USDT", "1h", hourly("2026-01-01 12:00", 36, 150.0))  # listed late
    store(tmp_path, "SOL/USDT:USDT", "5m", hourly("2026-01-01", 5, 150.0))
    store(tmp_path, "BTC/USDT:USDT", "1h", hourly("2026-01-01", 48, 60_000.0), CandleType.MARK)
    return tmp_path


def test_every_datadir_spelling_is_accepted(datadir: Path) -> None:
    assert resolve_exchange_dir(datadir) == datadir / "binance"
    assert resolve_exchange_dir(datadir / "binance") == datadir / "binance"
    assert resolve_exchange_dir(datadir / "binance" / "futures") == datadir / "binance"
    with pytest.raises(CandleDataError, match="no futures candles found"):
        resolve_exchange_dir(datadir / "nothing")


def test_available_pairs_lists_futures_candles_of_the_timeframe_only(datadir: Path) -> None:
    assert available_pairs(datadir, "1h") == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert available_pairs(datadir, "5m") == ["SOL/USDT:USDT"]
    assert available_pairs(datadir, "15m") == []


def test_closes_are_outer_joined_on_date_and_gaps_stay_missing(datadir: Path) -> None:
    closes = load_closes(datadir, ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"], "1h")
    assert list(closes.columns) == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert len(closes) == 48 and closes.index.is_monotonic_increasing
    assert str(closes.index.tz) == "UTC" and closes.index.name == "date"
    assert closes["ETH/USDT:USDT"].isna().sum() == 2  # not filled with invented candles
    assert closes["SOL/USDT:USDT"].isna().sum() == 12
    assert closes["BTC/USDT:USDT"].iloc[5] == 60_005.0


def test_the_time_range_is_start_inclusive_end_exclusive(datadir: Path) -> None:
    closes = load_closes(
        datadir,
        ["BTC/USDT:USDT"],
        "1h",
        start=datetime(2026, 1, 1, 5, tzinfo=UTC),
        end=datetime(2026, 1, 1, 9, tzinfo=UTC),
    )
    assert list(closes.index.hour) == [5, 6, 7, 8]


def test_a_missing_pair_or_naive_time_is_a_clear_error(datadir: Path) -> None:
    with pytest.raises(CandleDataError, match=r"XRP/USDT:USDT.*XRP_USDT_USDT-1h-futures.feather"):
        load_closes(datadir, ["BTC/USDT:USDT", "XRP/USDT:USDT"], "1h")
    with pytest.raises(CandleDataError, match="time zone"):
        load_closes(datadir, ["BTC/USDT:USDT"], "1h", start=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(CandleDataError, match="no pairs"):
        load_closes(datadir, [], "1h")

"""The replay clock with ``--live-hours``: the data's tail is revealed in real time with the data's
own prices (so a cointegration planted in the data keeps holding live), never ahead of time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ccxt
import pandas as pd
import pytest

from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import RunningExchange, start_local_exchange

EIGHT_HOURS_MS = 8 * 3_600_000


@pytest.fixture(scope="module")
def exchange(
    sample_market_datadir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningExchange]:
    folder = tmp_path_factory.mktemp("replay")
    running = start_local_exchange(
        sample_market_datadir, log_path=folder / "exchange.log", extra_args=("--live-hours", "6")
    )
    try:
        yield running
    finally:
        running.stop()


def data_candles(datadir: Path, base: str) -> pd.DataFrame:
    frame = pd.read_feather(
        datadir / "binance" / "futures" / f"{base}_USDT_USDT-1m-futures.feather"
    )
    frame["ms"] = frame["date"].dt.as_unit("ms").astype("int64")
    return frame.set_index("ms")


def test_live_candles_are_the_datas_own_candles_shifted_by_whole_funding_periods(
    exchange: RunningExchange, sample_market_datadir: Path
):
    offset = exchange.admin.clock()["offset_ms"]
    assert offset % EIGHT_HOURS_MS == 0
    data = data_candles(sample_market_datadir, "ETH")
    client = ccxt.binance(ccxt_config(exchange.url))
    served = client.fetch_ohlcv("ETH/USDT:USDT", "1m", limit=30)
    *complete, live = served
    for ts, o, h, low, c, _ in complete:
        row = data.loc[ts - offset]
        assert (o, h, low, c) == pytest.approx(
            (row["open"], row["high"], row["low"], row["close"]),
            abs=0.005,  # printed to the tick
        )
    source = data.loc[live[0] - offset]
    assert live[1] == pytest.approx(source["open"], abs=0.0051)  # the live candle opens as the data
    assert source["low"] * 0.9999 <= live[4] <= source["high"] * 1.0001  # and moves inside it


def test_the_datas_tail_is_still_hidden_at_start(
    exchange: RunningExchange, sample_market_datadir: Path
):
    offset = exchange.admin.clock()["offset_ms"]
    data_end_ms = int(data_candles(sample_market_datadir, "BTC").index.max()) + 60_000
    client = ccxt.binance(ccxt_config(exchange.url))
    newest = client.fetch_ohlcv("BTC/USDT:USDT", "1m", limit=1)[0][0]
    hidden_hours = (data_end_ms + offset - newest) / 3_600_000
    assert 6 <= hidden_hours < 6 + 8 + 0.1  # live-hours, plus up to one funding period

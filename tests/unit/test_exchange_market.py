"""The replay clock and klines: FreqTrade must see the data as candles, shifted, and no more."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from exchange_world import HOUR, MIN, T0, tape
from hypothesis import given
from hypothesis import strategies as st

from statarb.exchange import pricepath
from statarb.exchange.market import (
    FUNDING_INTERVAL_MS,
    Market,
    MarketDataError,
    RateSeries,
    bucket_start,
    compute_offset_ms,
    kline_opens,
    load_market,
)
from statarb.exchange.specs import KNOWN_SPECS

UP = [100.0, 110.0, 95.0, 105.0, 4.0]  # open, high, low, close, volume: closed up
DOWN = [105.0, 112.0, 90.0, 96.0, 6.0]


def test_intra_candle_path_visits_low_before_high_on_an_up_candle():
    times, prices = pricepath.candle_vertices(
        np.array([0]), o=np.array([100.0]), h=np.array([110.0]), low=np.array([95.0]),
        c=np.array([105.0]), tf_ms=MIN,
    )  # fmt: skip
    assert prices.tolist() == [[100.0, 95.0, 110.0, 105.0]]
    assert times.tolist() == [[0.0, MIN / 3, 2 * MIN / 3, float(MIN)]]


def test_intra_candle_path_visits_high_before_low_on_a_down_candle():
    kw = {"open_ms": 0, "o": 105.0, "h": 112.0, "low": 90.0, "c": 96.0, "tf_ms": 90}
    assert pricepath.price_in_candle(30, **kw) == pytest.approx(112.0)
    assert pricepath.price_in_candle(60, **kw) == pytest.approx(90.0)
    assert pricepath.price_in_candle(90, **kw) == pytest.approx(96.0)
    assert pricepath.price_in_candle(15, **kw) == pytest.approx(108.5)


def test_in_progress_candle_is_partial_and_ends_at_the_current_price():
    t = tape("BTCUSDT", np.array([UP, DOWN, UP]))
    now = T0 + MIN + MIN // 3  # a third into the second (down) candle: at its high
    bars = t.bars(kline_opens("1m", first_ms=T0, now_ms=now, start_ms=None, end_ms=None,
                              limit=500), "1m", now)  # fmt: skip
    assert [b.open_ms for b in bars] == [T0, T0 + MIN]
    partial = bars[-1]
    assert (partial.open, partial.high, partial.low) == (105.0, pytest.approx(112.0), 105.0)
    assert partial.close == pytest.approx(t.price_at(now))
    assert partial.volume == pytest.approx(6.0 / 3)  # volume pro rata


def test_no_kline_from_the_future_is_ever_served():
    t = tape("BTCUSDT", np.array([UP] * 10))
    now = T0 + 3 * MIN + 1
    opens = kline_opens("1m", first_ms=T0, now_ms=now, start_ms=T0, end_ms=None, limit=500)
    assert opens[-1] == T0 + 3 * MIN
    assert all(b.open_ms <= now for b in t.bars(opens, "1m", now))


def test_coarse_klines_aggregate_the_fine_candles():
    rows = np.array([UP, DOWN, UP, DOWN, UP, UP])
    t = tape("BTCUSDT", rows)
    now = T0 + 6 * MIN
    bar = t.bars([T0], "5m", now)[0]
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 112.0, 90.0, 105.0)
    assert bar.volume == pytest.approx(4 + 6 + 4 + 6 + 4)
    assert bar.close_ms == T0 + 5 * MIN - 1


def test_fast_and_exact_kline_paths_agree():
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, 600)))
    open_ = np.concatenate([[100.0], close[:-1]])
    rows = np.column_stack(
        [open_, np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999, close,
         np.ones(600)]
    )  # fmt: skip
    t = tape("BTCUSDT", rows)
    now = T0 + 600 * MIN - 1
    opens = kline_opens("15m", first_ms=T0, now_ms=now, start_ms=None, end_ms=None, limit=100)
    fast = t.bars(opens, "15m", now)
    exact = [t.bar(o, min(o + 15 * MIN, now)) for o in opens]
    for a, b in zip(fast, exact, strict=True):
        assert (a.open, a.high, a.low, a.close, a.volume) == pytest.approx(
            (b.open, b.high, b.low, b.close, b.volume)
        )


def test_klines_finer_than_the_data_follow_the_intra_candle_path():
    t = tape("BTCUSDT", np.array([UP]), start_ms=T0)
    t5 = tape("BTCUSDT", np.array([UP]), start_ms=T0)
    t5.tf_ms = 3 * MIN  # one 3-minute candle, served as 1m klines
    bars = t5.bars([T0, T0 + MIN, T0 + 2 * MIN], "1m", T0 + 10 * MIN)
    assert [round(b.close, 6) for b in bars] == [95.0, 110.0, 105.0]
    assert t.price_at(T0) == 100.0


def test_kline_paging_by_start_time_excludes_the_kline_that_contains_it():
    opens = kline_opens("1h", first_ms=T0, now_ms=T0 + 10 * HOUR, start_ms=T0 + 1,
                        end_ms=None, limit=3)  # fmt: skip
    assert opens == [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]


def test_kline_end_time_and_limit_return_the_newest_klines_up_to_end():
    opens = kline_opens("1h", first_ms=T0, now_ms=T0 + 10 * HOUR, start_ms=None,
                        end_ms=T0 + 5 * HOUR, limit=2)  # fmt: skip
    assert opens == [T0 + 4 * HOUR, T0 + 5 * HOUR]


def test_weekly_klines_open_on_monday():
    monday = 1_767_571_200_000  # 2026-01-05 00:00 UTC
    assert bucket_start(monday + 3 * 86_400_000, "1w") == monday


@given(
    data_end=st.integers(1_600_000_000_000, 1_800_000_000_000),
    live_hours=st.floats(0, 500),
    start=st.integers(1_600_000_000_000, 1_900_000_000_000),
)
def test_replay_offset_keeps_funding_times_and_lands_the_cut_within_one_period(
    data_end: int, live_hours: float, start: int
):
    offset = compute_offset_ms(data_end, live_hours, start)
    cut = data_end - int(live_hours * HOUR) + offset
    assert offset % FUNDING_INTERVAL_MS == 0
    assert start <= cut < start + FUNDING_INTERVAL_MS


def test_random_walk_after_the_data_is_reproducible_from_the_seed():
    rows = np.array([UP] * 50)
    a, b, c = (
        tape("BTCUSDT", rows, seed=1),
        tape("BTCUSDT", rows, seed=1),
        tape("BTCUSDT", rows, seed=2),
    )
    later = T0 + 3000 * MIN
    assert a.price_at(later) == b.price_at(later)
    assert a.price_at(later) != c.price_at(later)
    assert a.price_at(T0 + 50 * MIN) == pytest.approx(105.0)  # the walk starts at the last close


def test_price_shock_moves_the_price_from_its_instant_and_the_straddling_candle_shows_it():
    t = tape("BTCUSDT", np.tile([100.0, 100.0, 100.0, 100.0, 1.0], (10, 1)))
    shock_at = T0 + 2 * MIN + 30_000
    t.add_shock(shock_at, 1.10)
    assert t.price_before(shock_at) == pytest.approx(100.0)
    assert t.price_at(shock_at) == pytest.approx(110.0)
    bar = t.bars([T0 + 2 * MIN], "1m", T0 + 9 * MIN)[0]
    assert (bar.open, bar.high, bar.close) == (pytest.approx(100.0), pytest.approx(110.0),
                                               pytest.approx(110.0))  # fmt: skip
    later = t.bars([T0 + 5 * MIN], "1m", T0 + 9 * MIN)[0]
    assert later.open == pytest.approx(110.0)


def test_funding_rate_uses_the_series_and_binances_baseline_without_a_file():
    t = tape("BTCUSDT", np.array([UP] * 10))
    series = RateSeries(np.array([T0, T0 + 8 * HOUR]), np.array([0.0003, -0.0002]))
    market = Market(tapes={"BTCUSDT": t, "ETHUSDT": tape("ETHUSDT", np.array([UP]))},
                    specs=dict(KNOWN_SPECS), funding={"BTCUSDT": series}, mark={},
                    offset_ms=0)  # fmt: skip
    assert market.funding_rate_at("BTCUSDT", T0 + 8 * HOUR) == -0.0002
    assert market.funding_rate_at("BTCUSDT", T0 + 16 * HOUR) == -0.0002
    assert market.funding_rate_at("ETHUSDT", T0) == 0.0001


def test_live_hours_longer_than_the_data_are_refused(tmp_path):
    folder = tmp_path / "binance" / "futures"
    folder.mkdir(parents=True)
    dates = pd.date_range("2026-01-01", periods=120, freq="1min", tz="UTC")
    frame = pd.DataFrame({"date": dates, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0,
                          "volume": 1.0})  # fmt: skip
    frame.to_feather(folder / "BTC_USDT_USDT-1m-futures.feather")
    assert load_market(tmp_path, start_ms=T0, live_hours=1).symbols == ["BTCUSDT"]
    with pytest.raises(MarketDataError, match="leaves no history"):
        load_market(tmp_path, start_ms=T0, live_hours=2)


def test_derived_contract_specs_do_not_look_ahead_into_the_candles_future(tmp_path):
    # A coin that 20x-es after T: a spec derived from the last close would give the whole
    # backtest, including the candles before T, a tick 10x coarser than the market had then.
    dates = pd.date_range("2026-01-01", periods=120, freq="1min", tz="UTC")
    before = np.full(60, 0.5)
    specs = []
    for after in (np.full(60, 0.5), np.full(60, 10.0)):
        close = np.concatenate([before, after])
        folder = tmp_path / str(len(specs)) / "binance" / "futures"
        folder.mkdir(parents=True)
        frame = pd.DataFrame({"date": dates, "open": close, "high": close, "low": close,
                              "close": close, "volume": 1.0})  # fmt: skip
        frame.to_feather(folder / "PEPE_USDT_USDT-1m-futures.feather")
        specs.append(load_market(folder.parent.parent, start_ms=T0).specs["PEPEUSDT"])
    assert specs[0] == specs[1]
    assert str(specs[0].tick_size) == "0.00001"  # five significant digits of the first price


def test_an_empty_datadir_is_refused_with_the_expected_layout(tmp_path):
    with pytest.raises(MarketDataError, match="binance/futures"):
        load_market(tmp_path, start_ms=T0)

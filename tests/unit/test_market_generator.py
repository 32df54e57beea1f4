"""The synthetic market's candles: reproducible, well-formed, and shaped like real crypto."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from statarb.market import (
    CoinParams,
    MarketSpec,
    MarketSpecError,
    PlantedPair,
    default_spec,
    generate_market,
    resample_ohlcv,
)

COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "LINK", "ADA", "AVAX")
ETH_SOL = PlantedPair("ETH", "SOL", 18.0, 10, 0.01)
SOL_XRP = PlantedPair("SOL", "XRP", 1.0, 10, 0.01)
NEXT_YEAR = datetime(2027, 1, 1, tzinfo=UTC)
NAIVE = datetime(2026, 1, 2)  # noqa: DTZ001 - the mistake under test


def _spec(**changes) -> MarketSpec:
    base = MarketSpec(
        coins=COINS,
        pairs=(PlantedPair("ETH", "SOL", 18.0, 60, 0.003, intercept=300.0),),
        days=7,
        seed=11,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def market():
    return generate_market(_spec())


def _log_returns(frame: pd.DataFrame) -> pd.Series:
    return np.log(frame["close"]).diff().dropna()


# ---- reproducibility ------------------------------------------------------------------------


def test_same_seed_gives_identical_candles_so_a_backtest_can_be_rerun(market):
    again = generate_market(_spec())
    for pair, frame in market.candles.items():
        pd.testing.assert_frame_equal(frame, again.candles[pair], check_exact=True)
        pd.testing.assert_frame_equal(
            market.mark_candles[pair], again.mark_candles[pair], check_exact=True
        )
        pd.testing.assert_frame_equal(
            market.funding_rates[pair], again.funding_rates[pair], check_exact=True
        )


def test_different_seed_gives_a_different_market(market):
    other = generate_market(_spec(seed=12))
    for pair, frame in market.candles.items():
        assert not np.allclose(frame["close"], other.candles[pair]["close"]), pair
        assert not np.allclose(
            market.funding_rates[pair]["funding_rate"], other.funding_rates[pair]["funding_rate"]
        )


def test_a_spec_can_key_a_cache_and_is_recorded_in_full():
    spec = _spec()
    assert hash(spec) == hash(_spec())
    record = spec.to_dict()
    assert record["start"] == "2026-01-01T00:00:00Z"
    assert record["garch"] == {"alpha": 0.05, "beta": 0.94, "t_dof": 6.0}
    assert set(record["coin_params"]) == set(COINS)


def test_a_coin_does_not_change_when_other_coins_are_added_or_reordered(market):
    # A universe re-scan must not see different BTC candles because DOT was listed first.
    reordered = generate_market(_spec(coins=("DOT", *reversed(COINS))))
    for pair, frame in market.candles.items():
        pd.testing.assert_frame_equal(frame, reordered.candles[pair], check_exact=True)


# ---- well-formed candles ----------------------------------------------------------------------


@pytest.mark.parametrize("timeframe", ["1m", "5m", "15m", "1h"])
def test_candles_are_a_regular_utc_grid_of_open_times(timeframe):
    spec = _spec(timeframe=timeframe, days=3)
    m = generate_market(spec)
    step = pd.Timedelta(timeframe.replace("m", "min"))
    for pair, frame in m.candles.items():
        assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
        assert str(frame["date"].dt.tz) == "UTC", pair
        assert frame["date"].iloc[0] == pd.Timestamp(spec.start)
        assert len(frame) == spec.n_candles == 3 * 1440 // spec.timeframe_minutes
        assert (frame["date"].diff().dropna() == step).all(), pair


def test_ohlc_are_consistent_and_prices_and_volumes_positive(market):
    for pair, f in market.candles.items():
        values = f[["open", "high", "low", "close", "volume"]].to_numpy()
        assert np.isfinite(values).all(), pair
        assert (f["high"] >= np.maximum(f["open"], f["close"])).all(), pair
        assert (f["low"] <= np.minimum(f["open"], f["close"])).all(), pair
        assert (f["low"] > 0).all(), pair
        assert (f["volume"] > 0).all(), pair
        # A futures candle opens where the previous one closed: no phantom gaps.
        np.testing.assert_array_equal(f["open"].to_numpy()[1:], f["close"].to_numpy()[:-1])


def test_price_levels_are_realistic_for_each_symbol(market):
    first = {p.split("/")[0]: f["close"].iloc[0] for p, f in market.candles.items()}
    assert 50_000 < first["BTC"] < 150_000
    assert 1_500 < first["ETH"] < 5_000
    assert 50 < first["SOL"] < 300
    assert 0.3 < first["XRP"] < 5
    assert 0.05 < first["DOGE"] < 0.5


def test_volume_is_higher_when_the_price_moves_more(market):
    f = market.candles["BTC/USDT:USDT"]
    abs_ret = _log_returns(f).abs()
    volume = f["volume"].iloc[1:]
    assert np.corrcoef(np.log(volume), abs_ret)[0, 1] > 0.3
    big = volume[abs_ret > abs_ret.quantile(0.9)].mean()
    small = volume[abs_ret < abs_ret.quantile(0.1)].mean()
    assert big > 2 * small


def test_returns_have_fat_tails_and_volatility_clustering(market):
    # A strategy tested on Gaussian i.i.d. returns never meets the stop-outs of real markets.
    for pair in ("BTC/USDT:USDT", "XRP/USDT:USDT", "DOGE/USDT:USDT"):
        r = _log_returns(market.candles[pair])
        assert r.kurt() > 1, pair
        abs_r = (r - r.mean()).abs()
        for lag in range(1, 11):
            assert abs_r.autocorr(lag) > 0.05, (pair, lag)
        assert abs(r.autocorr(1)) < 0.05, pair  # no free lunch in the returns themselves


def test_unrelated_coins_are_correlated_through_the_market(market):
    walk = [f"{c}/USDT:USDT" for c in market.random_walk_coins]
    rets = pd.DataFrame({p: _log_returns(market.candles[p]) for p in walk})
    corr = rets.corr().to_numpy()
    off_diag = corr[np.triu_indices(len(walk), 1)]
    assert off_diag.mean() > 0.4
    assert off_diag.min() > 0.2


def test_annualised_volatility_is_close_to_the_coin_parameter():
    spec = _spec(days=30, pairs=(), coins=("BTC", "DOGE"))
    m = generate_market(spec)
    for coin in spec.coins:
        r = _log_returns(m.candles[f"{coin}/USDT:USDT"])
        realised = r.std() * np.sqrt(365 * 1440)
        assert realised == pytest.approx(spec.params_of(coin).annual_vol, rel=0.35), coin


# ---- mark prices and funding ----------------------------------------------------------------


def test_mark_candles_are_hourly_and_track_the_last_price(market):
    for pair, mark in market.mark_candles.items():
        assert len(mark) == 7 * 24
        assert (mark["date"].diff().dropna() == pd.Timedelta(hours=1)).all()
        assert (mark["date"].dt.minute == 0).all()
        assert (mark["high"] >= np.maximum(mark["open"], mark["close"])).all()
        assert (mark["low"] <= np.minimum(mark["open"], mark["close"])).all()
        assert (mark["volume"] == 0).all()
        last_1h = resample_ohlcv(market.candles[pair], "1h")
        basis = mark["close"].to_numpy() / last_1h["close"].to_numpy() - 1
        assert np.abs(basis).max() < 0.002, pair
        assert np.abs(basis).max() > 0, pair


def test_a_market_that_starts_off_the_hour_keeps_mark_and_funding_on_their_grid():
    """Test markets end at "now" to the minute; their 1h marks must still open on the hour."""
    spec = _spec(days=1, pairs=(), coins=("BTC",), start=datetime(2026, 1, 5, 0, 37, tzinfo=UTC))
    market = generate_market(spec)
    mark = market.mark_candles["BTC/USDT:USDT"]
    assert (mark["date"].dt.minute == 0).all()
    assert mark["date"].iloc[0] == pd.Timestamp("2026-01-05 01:00", tz="UTC")
    assert len(mark) == 23  # the partial first and last hours are dropped, not padded
    funding = market.funding_rates["BTC/USDT:USDT"]
    assert set(funding["date"].dt.hour) == {8, 16, 0}
    assert (funding["date"].dt.minute == 0).all()


def test_without_a_clock_in_the_volatility_a_market_moved_by_minutes_has_the_same_candles():
    """With a flat intraday profile the candles depend on the seed and the candle index only,
    so a test market generated relative to "now" shows the same prices at the same moment."""
    flat = {"intraday_amplitude": 0.0, "weekend_vol_factor": 1.0, "days": 1}
    at_hour = generate_market(_spec(start=datetime(2026, 1, 5, 0, 0, tzinfo=UTC), **flat))
    moved = generate_market(_spec(start=datetime(2026, 1, 10, 7, 43, tzinfo=UTC), **flat))
    for pair, frame in at_hour.candles.items():
        values = ["open", "high", "low", "close", "volume"]
        pd.testing.assert_frame_equal(frame[values], moved.candles[pair][values])


def test_funding_settles_at_00_08_16_utc_with_small_mostly_positive_rates(market):
    rates = []
    for pair, fr in market.funding_rates.items():
        assert list(fr.columns) == ["date", "funding_rate"]
        assert set(fr["date"].dt.hour) == {0, 8, 16}, pair
        assert (fr["date"].dt.minute == 0).all()
        assert len(fr) == 7 * 3
        rates.append(fr["funding_rate"].to_numpy())
    pooled = np.concatenate(rates)
    assert np.abs(pooled).max() < 0.003
    assert 0 < pooled.mean() < 3e-4
    assert 0 < (pooled < 0).mean() < 0.3  # occasionally negative


def test_funding_rates_are_autocorrelated():
    m = generate_market(_spec(days=60, pairs=(), coins=("BTC", "ETH", "SOL")))
    for pair, fr in m.funding_rates.items():
        assert fr["funding_rate"].autocorr(1) > 0.2, pair


# ---- resampling -------------------------------------------------------------------------------


def test_resample_matches_freqtrade_aggregation_by_candle_open_time(market):
    base = market.candles["SOL/USDT:USDT"]
    out = resample_ohlcv(base, "15m")
    block = base.iloc[15:30]
    row = out.iloc[1]
    assert row["date"] == base["date"].iloc[15]
    assert row["open"] == block["open"].iloc[0]
    assert row["high"] == block["high"].max()
    assert row["low"] == block["low"].min()
    assert row["close"] == block["close"].iloc[-1]
    assert row["volume"] == pytest.approx(block["volume"].sum(), rel=1e-12)
    assert len(out) == len(base) // 15


def test_resample_drops_partial_buckets_instead_of_reporting_them_as_whole():
    base = generate_market(_spec(days=1, pairs=(), coins=("BTC",))).candles["BTC/USDT:USDT"]
    out = resample_ohlcv(base.iloc[7:-3], "1h")
    assert out["date"].iloc[0] == base["date"].iloc[60]
    assert len(out) == 22


def test_resample_refuses_an_irregular_grid():
    base = generate_market(_spec(days=1, pairs=(), coins=("BTC",))).candles["BTC/USDT:USDT"]
    with pytest.raises(MarketSpecError, match="regular"):
        resample_ohlcv(base.drop(index=5), "5m")


# ---- bad specs fail loudly --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pairs": (PlantedPair("ETH", "PEPE", 1.0, 10, 0.01),)}, "not in coins"),
        ({"pairs": (ETH_SOL, SOL_XRP)}, "at most one planted pair"),
        ({"start": datetime(2026, 1, 1, 0, 30, 30, tzinfo=UTC)}, "must open a 1m candle"),
        ({"start": datetime(2026, 1, 1, 0, 3, tzinfo=UTC), "timeframe": "5m"}, "open a 5m"),
        ({"start": NAIVE}, "UTC"),
        ({"timeframe": "2m"}, "not supported"),
        ({"days": 0}, "positive"),
        ({"days": 0.01}, "whole number of hours"),
        ({"coins": ("BTC", "BTC")}, "twice"),
        ({"seed": -1}, "non-negative"),
        ({"pairs": (PlantedPair("ETH", "SOL", 1.0, 10, 0.01, intercept=-1e6),)}, "positive"),
        ({"pairs": (dataclasses.replace(ETH_SOL, breaks_at=NEXT_YEAR),)}, "outside the series"),
        ({"pairs": (PlantedPair("ETH", "SOL", 18, 100_000, 0.01),)}, "exceeds the series"),
        ({"market_jumps_per_day": 20.0, "timeframe": "1h"}, "not a jump process"),
        ({"coin_jumps_per_day": 10.0}, "90 %"),
        ({"intraday_amplitude": 1.0}, "intraday_amplitude"),
    ],
)  # fmt: skip
def test_an_invalid_spec_is_refused_with_the_reason(changes, message):
    with pytest.raises(MarketSpecError, match=message):
        _spec(**changes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hedge_ratio": -2.0}, "hedge_ratio"),
        ({"hedge_ratio": float("nan")}, "hedge_ratio"),
        ({"half_life_candles": 0.5}, "half_life_candles"),
        ({"residual_sd_frac": 0.0}, "residual_sd_frac"),
        ({"residual_sd_frac": 0.5}, "zero"),
        ({"breaks_at": 1.0}, "breaks_at"),
        ({"breaks_at": NAIVE}, "tz-aware"),
        ({"leg_b": "ETH"}, "different"),
    ],
)
def test_a_planted_pair_with_meaningless_parameters_is_refused(kwargs, message):
    args = {"leg_a": "ETH", "leg_b": "SOL", "hedge_ratio": 18.0, "half_life_candles": 60,
            "residual_sd_frac": 0.003} | kwargs  # fmt: skip
    with pytest.raises(MarketSpecError, match=message):
        PlantedPair(**args)


def test_a_leg_that_would_go_negative_raises_instead_of_writing_bad_prices():
    # Leg A = -0.98 * B0 + B: a 2 % drop of B takes it below zero within the month.
    spec = _spec(
        days=30,
        pairs=(PlantedPair("ETH", "SOL", 1.0, 30, 0.05, intercept=-147.0),),
        coins=("ETH", "SOL"),
    )
    with pytest.raises(MarketSpecError, match=r"ETH_SOL: leg A's price reaches"):
        generate_market(spec)


def test_default_spec_refuses_more_pairs_than_coins_allow():
    with pytest.raises(MarketSpecError, match="distinct coins"):
        default_spec(n_coins=4, n_pairs=3)
    with pytest.raises(MarketSpecError, match="n_coins"):
        default_spec(n_coins=1000)


def test_coin_parameters_can_be_overridden_per_coin():
    custom = CoinParams(
        base_price=1234.5, annual_vol=0.3, daily_notional_usdt=1e6, market_share=0.5
    )
    m = generate_market(_spec(pairs=(), coin_params={"XRP": custom}))
    assert m.candles["XRP/USDT:USDT"]["open"].iloc[0] == pytest.approx(1234.5, rel=1e-12)
    assert m.spec.to_dict()["coin_params"]["XRP"]["annual_vol"] == 0.3
    with pytest.raises(MarketSpecError, match="not in the market"):
        _spec(coin_params={"PEPE": custom})


def test_a_break_given_as_a_utc_time_starts_at_that_candle():
    at = datetime(2026, 1, 4, 6, 0, tzinfo=UTC)
    m = generate_market(_spec(pairs=(dataclasses.replace(ETH_SOL, breaks_at=at),)))
    (truth,) = m.planted
    assert truth.break_date == at
    assert m.candles["ETH/USDT:USDT"]["date"].iloc[truth.break_index] == pd.Timestamp(at)
    assert truth.cointegrated_at(datetime(2026, 1, 4, 5, 59, tzinfo=UTC))
    assert not truth.cointegrated_at(at)

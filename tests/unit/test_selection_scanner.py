"""Pair selection: finds real pairs, refuses unstable ones, reuses no coin, never looks ahead."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_sim import ar1, frame, log_random_walks

from statarb.pairs_config import load_pairs_config, write_pairs_config
from statarb.selection.scanner import (
    MIN_SCAN_CANDLES,
    RejectReason,
    ScanParams,
    ScanResult,
    scan_pairs,
)
from statarb.selection.window import ScanInputError

# These markets plant relations between PRICES (A = c + β·B + OU): the raw-space scan.
RAW = ScanParams(price_space="raw")

NOISE = {
    "XRP/USDT:USDT": 2.0,
    "DOGE/USDT:USDT": 0.3,
    "LINK/USDT:USDT": 15.0,
    "DOT/USDT:USDT": 7.0,
    "LTC/USDT:USDT": 80.0,
    "TRX/USDT:USDT": 0.2,
    "ADA/USDT:USDT": 0.5,
    "AVAX/USDT:USDT": 30.0,
}


def market(
    n: int,
    seed: int,
    *,
    hedge: float = 0.05,
    half_life: float = 8.0,
    resid_sd: float = 10.0,
    noise_coins: int = 8,
) -> tuple[pd.DataFrame, np.ndarray]:
    """BTC = 500 + ETH / hedge + OU (so ETH on BTC has the known ratio `hedge`) + random walks.

    Returns the closes and the OU residual (in BTC price units).
    """
    rng = np.random.default_rng(seed)
    names = list(NOISE)[:noise_coins]
    walks = log_random_walks(n, [3_000.0, *(NOISE[s] for s in names)], rng)
    eth = walks[:, 0]
    resid = ar1(n, 2.0 ** (-1.0 / half_life), resid_sd, rng)
    btc = 500.0 + eth / hedge + resid
    columns = {"BTC/USDT:USDT": btc, "ETH/USDT:USDT": eth}
    columns.update({s: walks[:, i + 1] for i, s in enumerate(names)})
    return frame(columns), resid


def candidate(result: ScanResult, a: str, b: str):
    return next(c for c in result.candidates if {c.leg_a, c.leg_b} == {a, b})


def test_a_planted_pair_is_found_among_random_walks_with_its_hedge_ratio() -> None:
    closes, _ = market(1_500, seed=1)
    result = scan_pairs(closes, as_of=None, lookback=1_500, params=RAW)
    assert [(c.leg_a, c.leg_b) for c in result.selected] == [("BTC/USDT:USDT", "ETH/USDT:USDT")]
    chosen = result.selected[0]
    # Leg A is the dearer coin: BTC on ETH, so the planted ETH-per-BTC 0.05 reads as 1/0.05.
    assert chosen.hedge_ratio == pytest.approx(20.0, rel=0.02)
    assert chosen.half_life_candles == pytest.approx(8.0, rel=0.35)
    assert chosen.qvalue <= 0.05 and chosen.pvalue < 1e-4
    assert len(result.candidates) == 45
    assert sum(c.selected for c in result.candidates) == 1


def test_pure_random_walks_give_no_pair() -> None:
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        levels = [60_000.0, 3_000.0, *NOISE.values()]
        walks = log_random_walks(1_000, levels, rng)
        closes = frame({f"C{i}/USDT:USDT": walks[:, i] for i in range(walks.shape[1])})
        result = scan_pairs(closes, as_of=None, lookback=1_000, params=RAW)
        assert result.selected == ()
        assert len(result.candidates) == 45


def test_a_pair_cointegrated_only_in_the_first_half_is_not_selected() -> None:
    for seed in range(6):
        closes, _ = market(1_200, seed=seed, resid_sd=10.0)
        rng = np.random.default_rng(1_000 + seed)
        btc = closes["BTC/USDT:USDT"].to_numpy().copy()
        btc[600:] += np.cumsum(rng.normal(0.0, 10.0, 600))  # the relation breaks at the middle
        closes["BTC/USDT:USDT"] = btc
        result = scan_pairs(closes, as_of=None, lookback=1_200, params=RAW)
        c = candidate(result, "BTC/USDT:USDT", "ETH/USDT:USDT")
        assert not c.selected
        if c.qvalue <= 0.05:  # significant on the whole window: the halves must catch it
            assert c.reject_reason in (
                RejectReason.UNSTABLE_SECOND_HALF,
                RejectReason.UNSTABLE_HEDGE_RATIO,
            )


def test_the_half_rule_rejects_a_significant_pair_that_fails_on_a_half() -> None:
    closes, _ = market(1_500, seed=1)
    strict = ScanParams(half_pvalue_max=1e-12, price_space="raw")
    c = candidate(
        scan_pairs(closes, as_of=None, lookback=1_500, params=strict),
        "BTC/USDT:USDT",
        "ETH/USDT:USDT",
    )
    assert c.qvalue <= 0.05
    assert c.reject_reason == RejectReason.UNSTABLE_FIRST_HALF
    assert "first half p=" in c.detail


def test_a_hedge_ratio_that_shifts_between_halves_is_rejected() -> None:
    rng = np.random.default_rng(7)
    n = 1_200
    walks = log_random_walks(n, [3_000.0, 150.0, 2.0, 0.3, 40.0, 7.0], rng)
    sol = walks[:, 1]
    beta = np.where(np.arange(n) < n // 2, 2.0, 2.5)
    btc = 500.0 + beta * sol + ar1(n, 2.0**-0.2, 1.0, rng)
    btc[n // 2 :] += (2.0 - 2.5) * sol[n // 2]  # continuous at the shift
    names = ["ETH", "SOL", "XRP", "DOGE", "LINK", "DOT"]
    closes = frame(
        {"BTC/USDT:USDT": btc} | {f"{s}/USDT:USDT": walks[:, i] for i, s in enumerate(names)}
    )
    c = candidate(
        scan_pairs(closes, as_of=None, lookback=n, params=RAW), "BTC/USDT:USDT", "SOL/USDT:USDT"
    )
    assert c.qvalue <= 0.05  # the whole window alone would have accepted it
    assert c.reject_reason == RejectReason.UNSTABLE_HEDGE_RATIO
    assert c.first_half_hedge_ratio == pytest.approx(2.0, rel=0.03)
    assert c.second_half_hedge_ratio == pytest.approx(2.5, rel=0.03)


def test_no_coin_is_ever_in_two_selected_pairs() -> None:
    # ETH, SOL and AVAX all track BTC: every pair among them is cointegrated.
    rng = np.random.default_rng(3)
    n = 1_500
    walks = log_random_walks(n, [60_000.0, 2.0, 0.3, 15.0, 7.0], rng)
    btc = walks[:, 0]
    legs = {
        "ETH/USDT:USDT": 100.0 + btc / 20.0 + ar1(n, 0.8, 5.0, rng),
        "SOL/USDT:USDT": 10.0 + btc / 400.0 + ar1(n, 0.7, 0.3, rng),
        "AVAX/USDT:USDT": 1.0 + btc / 2_000.0 + ar1(n, 0.75, 0.06, rng),
    }
    others = {
        f"{s}/USDT:USDT": walks[:, i + 1] for i, s in enumerate(["XRP", "DOGE", "LINK", "DOT"])
    }
    closes = frame({"BTC/USDT:USDT": btc} | legs | others)
    result = scan_pairs(closes, as_of=None, lookback=n, params=RAW)
    legs_used = [s for c in result.selected for s in (c.leg_a, c.leg_b)]
    assert len(legs_used) == len(set(legs_used))
    assert len(result.selected) == 2  # four related coins make two disjoint pairs at most
    taken = [c for c in result.candidates if c.reject_reason == RejectReason.COIN_TAKEN]
    assert len(taken) == 4
    assert all("is already in" in c.detail for c in taken)
    result.to_pairs_config()  # the schema's own one-coin-per-spread check agrees


def test_max_pairs_caps_the_selection_best_first() -> None:
    rng = np.random.default_rng(4)
    n = 1_200
    walks = log_random_walks(n, [60_000.0, 3_000.0, 150.0, 2.0], rng)
    columns = {
        "BTC/USDT:USDT": 500.0 + walks[:, 1] * 20.0 + ar1(n, 0.7, 20.0, rng),  # strong
        "ETH/USDT:USDT": walks[:, 1],
        "SOL/USDT:USDT": 20.0 + walks[:, 3] * 60.0 + ar1(n, 0.95, 1.0, rng),  # weaker
        "XRP/USDT:USDT": walks[:, 3],
    }
    result = scan_pairs(
        frame(columns), as_of=None, lookback=n, params=ScanParams(price_space="raw", max_pairs=1)
    )
    assert [(c.leg_a, c.leg_b) for c in result.selected] == [("BTC/USDT:USDT", "ETH/USDT:USDT")]
    assert (
        candidate(result, "SOL/USDT:USDT", "XRP/USDT:USDT").reject_reason == RejectReason.MAX_PAIRS
    )


def assert_same_scan(left: ScanResult, right: ScanResult) -> None:
    """Equal verdicts and numbers (NaN == NaN, e.g. refused pairs' q-values)."""
    pd.testing.assert_frame_equal(left.to_frame(), right.to_frame(), check_exact=True)
    assert (left.window_start, left.window_end, left.n_candles) == (
        right.window_start,
        right.window_end,
        right.n_candles,
    )
    assert left.selected == right.selected and left.dropped_coins == right.dropped_coins


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(400, 1_190), scale=st.floats(0.2, 5.0), seed=st.integers(0, 1_000))
def test_as_of_hides_every_candle_at_or_after_it(cut, scale, seed) -> None:
    closes, _ = market(1_200, seed=seed, noise_coins=4)
    closes["DOGE/USDT:USDT"] = 0.25  # a flat coin: dropped, never compared as NaN
    as_of = closes.index[cut].to_pydatetime()
    before = scan_pairs(closes, as_of=as_of, lookback=300, params=RAW)
    changed = closes.copy()
    changed.iloc[cut:] = changed.iloc[cut:].to_numpy() * scale  # rewrite the future
    changed.iloc[cut, 1] = np.nan  # even a hole exactly at as_of is invisible
    assert_same_scan(before, scan_pairs(changed, as_of=as_of, lookback=300, params=RAW))
    assert_same_scan(before, scan_pairs(closes.iloc[:cut], as_of=as_of, lookback=300, params=RAW))
    assert before.window_end == as_of
    assert before.n_candles == 300


def test_lookback_in_candles_or_time_selects_the_same_window() -> None:
    closes, _ = market(1_000, seed=5)
    as_of = datetime(2026, 1, 30, tzinfo=UTC)
    by_count = scan_pairs(closes, as_of=as_of, lookback=500, params=RAW)
    by_time = scan_pairs(closes, as_of=as_of, lookback=timedelta(hours=500), params=RAW)
    assert by_count == by_time
    assert by_count.window_start == as_of - timedelta(hours=500)
    latest = scan_pairs(closes, as_of=None, lookback=timedelta(days=10), params=RAW)
    assert latest.n_candles == 240
    assert latest.window_end == closes.index[-1] + timedelta(hours=1)


def test_a_coin_with_missing_candles_is_dropped_with_the_reason() -> None:
    closes, _ = market(1_000, seed=6)
    closes.loc[closes.index[700:705], "XRP/USDT:USDT"] = np.nan
    closes.loc[closes.index[:900], "DOGE/USDT:USDT"] = np.nan  # listed late
    closes.loc[closes.index[:100], "LINK/USDT:USDT"] = np.nan  # before the window: fine
    result = scan_pairs(closes, as_of=None, lookback=800, params=RAW)
    dropped = {d.symbol: d.reason for d in result.dropped_coins}
    assert set(dropped) == {"XRP/USDT:USDT", "DOGE/USDT:USDT"}
    assert "missing 5 of 800 candles" in dropped["XRP/USDT:USDT"]
    assert "data starts at 2026-02-07T12:00:00+00:00" in dropped["DOGE/USDT:USDT"]
    assert len(result.candidates) == 28  # 8 coins left
    assert [(c.leg_a, c.leg_b) for c in result.selected] == [("BTC/USDT:USDT", "ETH/USDT:USDT")]


def test_other_rules_name_their_reason() -> None:
    closes, _ = market(1_500, seed=1, noise_coins=2)
    eth = closes["ETH/USDT:USDT"].to_numpy()
    rng = np.random.default_rng(9)
    closes["LTC/USDT:USDT"] = 20_000.0 - 2.0 * eth + ar1(1_500, 0.7, 5.0, rng)  # moves against ETH
    closes["XRP/USDT:USDT"] = 3.0 + closes["DOGE/USDT:USDT"] * 2.0  # exactly collinear
    result = scan_pairs(
        closes,
        as_of=None,
        lookback=1_500,
        params=ScanParams(price_space="raw", max_half_life_candles=3.0),
    )
    assert (
        candidate(result, "LTC/USDT:USDT", "ETH/USDT:USDT").reject_reason
        == RejectReason.NEGATIVE_HEDGE
    )
    assert (
        candidate(result, "BTC/USDT:USDT", "ETH/USDT:USDT").reject_reason == RejectReason.HALF_LIFE
    )
    refused = candidate(result, "XRP/USDT:USDT", "DOGE/USDT:USDT")
    assert refused.reject_reason == RejectReason.TEST_REFUSED and "collinear" in refused.detail
    counts = result.rejection_counts()
    assert counts["test_refused"] == 1 and sum(counts.values()) == len(result.candidates)


def test_the_result_becomes_a_valid_pairs_config(tmp_path: Path) -> None:
    closes, _ = market(1_500, seed=1)
    params = ScanParams(
        reference_notional_usdt=5_000.0, entry_z=2.5, exit_z=0.4, stop_z=4.5, price_space="raw"
    )
    result = scan_pairs(closes, as_of=None, lookback=1_000, params=params)
    stamp = datetime(2026, 3, 1, 12, tzinfo=UTC)
    config = result.to_pairs_config(generated_at=stamp)
    pair = config.pairs[0]
    chosen = result.selected[0]
    # The id comes from the legs, so tomorrow's re-scan names the same pair the same way.
    assert (pair.pair_id, pair.leg_a, pair.leg_b) == ("BTC_ETH", "BTC/USDT:USDT", "ETH/USDT:USDT")
    assert pair.hedge_ratio == chosen.hedge_ratio and pair.intercept == chosen.intercept
    assert pair.entry_size_leg_a == pytest.approx(5_000.0 / closes["BTC/USDT:USDT"].iloc[-1])
    assert pair.entry_size_leg_b == pytest.approx(pair.hedge_ratio * pair.entry_size_leg_a)
    assert (pair.z_score_threshold, pair.exit_z, pair.stop_loss_z) == (2.5, 0.4, 4.5)
    assert pair.mean_reversion_window == 50 and pair.n_obs == 1_000
    assert pair.cointegration_stat == chosen.stat and pair.qvalue == chosen.qvalue
    assert math.isfinite(pair.half_life_candles)
    assert config.timeframe == "1h" and pair.last_updated == stamp
    assert config.scan_window.start == closes.index[500].to_pydatetime()
    assert config.scan_window.end == closes.index[-1].to_pydatetime() + timedelta(hours=1)
    target = tmp_path / "pairs_config.json"
    write_pairs_config(config, target)
    assert load_pairs_config(target) == config
    # Without explicit thresholds none are written: the strategy's hyperoptable ones apply.
    default = scan_pairs(closes, as_of=None, lookback=1_000, params=RAW).to_pairs_config().pairs[0]
    assert (default.z_score_threshold, default.exit_z, default.stop_loss_z) == (None, None, None)
    # A backtest call without a clock stamps the end of its window.
    assert result.to_pairs_config().pairs[0].last_updated == config.scan_window.end


def test_bad_input_is_refused_with_a_clear_error() -> None:
    closes, _ = market(400, seed=2, noise_coins=2)
    with pytest.raises(ScanInputError, match="time zone"):
        scan_pairs(closes, as_of=datetime(2026, 1, 5), lookback=100, params=RAW)  # noqa: DTZ001
    with pytest.raises(ScanInputError, match=f"at least {MIN_SCAN_CANDLES}"):
        scan_pairs(closes, as_of=None, lookback=50, params=RAW)
    with pytest.raises(ScanInputError, match="fewer than two candles before"):
        scan_pairs(closes, as_of=datetime(2025, 1, 1, tzinfo=UTC), lookback=100, params=RAW)
    with pytest.raises(ScanInputError, match="tz-aware"):
        scan_pairs(closes.tz_localize(None), as_of=None, lookback=100, params=RAW)
    with pytest.raises(ScanInputError, match="sorted"):
        scan_pairs(closes.iloc[::-1], as_of=None, lookback=100, params=RAW)
    with pytest.raises(ScanInputError, match="duplicate candles"):
        scan_pairs(
            pd.concat([closes, closes.iloc[:1]]).sort_index(), as_of=None, lookback=100, params=RAW
        )
    with pytest.raises(ScanInputError, match="lookback"):
        scan_pairs(closes, as_of=None, lookback=0, params=RAW)
    with pytest.raises(ValueError, match="fdr_alpha"):
        ScanParams(fdr_alpha=1.5)
    with pytest.raises(ValueError, match="exit_z < entry_z < stop_z"):
        ScanParams(entry_z=5.0)
    with pytest.raises(ValueError, match="half-life bounds"):
        ScanParams(min_half_life_candles=50.0, max_half_life_candles=10.0)


def test_a_lag_rule_too_big_for_half_the_window_says_so() -> None:
    closes, _ = market(1_500, seed=1, noise_coins=2)
    # 60 lags fit the 200-candle window but not its 100-candle halves: refused before testing.
    with pytest.raises(ScanInputError, match=r"maxlag=60 does not fit half of the 200-candle"):
        scan_pairs(
            closes, as_of=None, lookback=200, params=ScanParams(price_space="raw", maxlag=60)
        )
    with pytest.raises(ScanInputError, match="degrees of freedom"):
        scan_pairs(
            closes, as_of=None, lookback=200, params=ScanParams(price_space="raw", maxlag=45)
        )


def test_a_refused_pair_keeps_nan_statistics_in_either_direction() -> None:
    closes, _ = market(600, seed=2, noise_coins=3)
    closes["XRP/USDT:USDT"] = 3.0 + closes["DOGE/USDT:USDT"] * 2.0  # exactly collinear
    for cols in (list(closes.columns), list(closes.columns)[::-1]):
        result = scan_pairs(closes[cols], as_of=None, lookback=600, params=RAW)
        c = candidate(result, "XRP/USDT:USDT", "DOGE/USDT:USDT")
        assert c.reject_reason == RejectReason.TEST_REFUSED
        assert math.isnan(c.pair_pvalue) and math.isnan(c.qvalue)


def test_a_universe_left_with_one_coin_tests_nothing() -> None:
    closes, _ = market(300, seed=2, noise_coins=1)
    closes.iloc[10, 1:] = np.nan
    result = scan_pairs(closes, as_of=None, lookback=300, params=RAW)
    assert result.candidates == () and result.selected == ()
    assert len(result.dropped_coins) == 2
    assert result.to_pairs_config().pairs == []


def test_the_default_half_life_cap_scales_with_the_window() -> None:
    # On 1m candles planted half-lives reach 180 candles: a fixed cap of ~50-100 drops them.
    assert ScanParams().max_half_life(1_000) == 50.0
    assert ScanParams().max_half_life(43_200) == 2_160.0
    closes, _ = market(4_000, seed=0, half_life=60.0, resid_sd=30.0, noise_coins=3)
    result = scan_pairs(closes, as_of=None, lookback=4_000, params=RAW)
    assert [(c.leg_a, c.leg_b) for c in result.selected] == [("BTC/USDT:USDT", "ETH/USDT:USDT")]
    assert result.selected[0].half_life_candles == pytest.approx(60.0, rel=0.2)
    fixed = scan_pairs(
        closes,
        as_of=None,
        lookback=4_000,
        params=ScanParams(price_space="raw", max_half_life_candles=50.0),
    )
    c = candidate(fixed, "BTC/USDT:USDT", "ETH/USDT:USDT")
    assert c.reject_reason == RejectReason.HALF_LIFE and "[1, 50]" in c.detail

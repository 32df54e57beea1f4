"""Per-candle spread columns are causal and identical for both legs of a spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from statarb.pairs_config import parse_pairs_config
from statarb.spread.book import SpreadBook
from statarb.spread.features import (
    RetestParams,
    model_features,
    open_spread_z,
    reversion_label,
    spread_columns,
)
from statarb.stats.rolling import rolling_zscore

A, B, C = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
N = 1_500


def market(seed: int = 3) -> tuple[pd.Series, dict[str, pd.Series]]:
    rng = np.random.default_rng(seed)
    dates = pd.Series(pd.date_range("2026-01-01", periods=N, freq="1min", tz="UTC"))
    b = 3_000 + np.cumsum(rng.normal(0, 2, N))
    resid = np.zeros(N)
    for t in range(1, N):
        resid[t] = 0.9 * resid[t - 1] + rng.normal(0, 20)
    a = 1_000 + 20 * b + resid
    c = 150 + np.cumsum(rng.normal(0, 0.3, N))
    return dates, {A: pd.Series(a), B: pd.Series(b), C: pd.Series(c)}


BOOK = SpreadBook.from_config(
    parse_pairs_config(
        [
            {
                "pair_id": "P1",
                "leg_a": A,
                "leg_b": B,
                "hedge_ratio": 20.0,
                "intercept": 1_000.0,
                "cointegration_stat": -5.0,
                "pvalue": 0.0001,
                "entry_size_leg_a": 1.0,
                "entry_size_leg_b": 20.0,
                "mean_reversion_window": 50,
                "last_updated": "2026-01-01T00:00:00Z",
            }
        ]
    )
)
RETEST = RetestParams(window=300, every=60, max_pvalue=0.1)


def columns(symbol: str, dates: pd.Series, closes: dict[str, pd.Series]) -> pd.DataFrame:
    return spread_columns(dates, closes, BOOK, symbol, timeframe_minutes=1, retest=RETEST)


def test_both_legs_see_the_same_spread_and_z() -> None:
    dates, closes = market()
    leg_a, leg_b = columns(A, dates, closes), columns(B, dates, closes)
    pd.testing.assert_series_equal(leg_a["spread_z"], leg_b["spread_z"])
    assert (leg_a["spread_role"] == "A").all() and (leg_b["spread_role"] == "B").all()
    expected = rolling_zscore(closes[A] - 1_000 - 20 * closes[B], 50)
    np.testing.assert_allclose(leg_a["spread_z"], expected, equal_nan=True)


def test_a_coin_in_no_pair_gets_no_spread() -> None:
    dates, closes = market()
    out = columns(C, dates, closes)
    assert (out["spread_pair"] == "").all()
    assert out["spread_z"].isna().all() and not out["coint_ok"].any()


def test_missing_partner_candles_give_no_spread_rather_than_a_guess() -> None:
    dates, closes = market()
    out = columns(A, dates, {A: closes[A]})
    assert out["spread_z"].isna().all() and not out["coint_ok"].any()


def test_the_retest_accepts_a_stationary_spread_and_rejects_a_random_walk() -> None:
    dates, closes = market()
    ok = columns(A, dates, closes)["coint_ok"]
    assert not ok.iloc[:299].any()  # no verdict before a full window
    assert ok.iloc[400:].mean() > 0.9
    # A random-walk spread passes a 10 % test now and then; over many windows and markets it
    # must be the exception, or the re-test would not protect anything.
    accepted = []
    for seed in range(6):
        walk = dict(closes)
        rng = np.random.default_rng(100 + seed)
        walk[A] = 1_000 + 20 * closes[B] + np.cumsum(rng.normal(0, 20, N))
        accepted.append(columns(A, dates, walk)["coint_ok"].iloc[400:].mean())
    assert np.mean(accepted) < 0.2


def test_the_retest_keeps_its_p_value_beside_its_verdict_for_the_log() -> None:
    # A pair blocked by a failed re-test says by how much ("ADF p=0.23 > 0.10"); the verdict
    # and the p-value it was drawn from must be the same test.
    dates, closes = market()
    walk = dict(closes)
    walk[A] = 1_000 + 20 * closes[B] + np.cumsum(np.random.default_rng(9).normal(0, 20, N))
    for prices in (closes, walk):
        out = columns(A, dates, prices)
        assert out["coint_pvalue"].iloc[:299].isna().all()  # no test over a full window yet
        tested = out["coint_pvalue"].notna()
        assert tested.iloc[300:].all()
        assert (out["coint_ok"] == (out["coint_pvalue"] <= RETEST.max_pvalue)).all()
        assert out["coint_pvalue"].iloc[300:].between(0, 1).all()
        # Constant between re-test points (every 60 candles): one test, one answer.
        assert out["coint_pvalue"].iloc[300:].nunique() <= (N - 300) // 60 + 1


@pytest.mark.parametrize("cut", [400, 777, 1_234])
def test_columns_at_t_never_change_when_later_candles_change(cut: int) -> None:
    dates, closes = market()
    full = columns(A, dates, closes)
    altered = {k: v.copy() for k, v in closes.items()}
    rng = np.random.default_rng(cut)
    for series in altered.values():
        series.iloc[cut:] = series.iloc[cut:] * rng.uniform(0.5, 1.5)
    changed = columns(A, dates, altered)
    pd.testing.assert_frame_equal(full.iloc[:cut], changed.iloc[:cut])


def test_open_spread_z_equals_the_rolling_z_of_the_last_closed_candle() -> None:
    _, closes = market()
    z = rolling_zscore(closes[A] - 20 * closes[B], 50)
    for end in (120, 500, N):
        a = closes[A].to_numpy()[:end]
        b = closes[B].to_numpy()[:end]
        z_now, z_prev = open_spread_z(a, b, hedge_ratio=20.0, window=50)
        assert z_now == pytest.approx(z.iloc[end - 1], abs=1e-9)
        assert z_prev == pytest.approx(z.iloc[end - 2], abs=1e-9)


def test_live_z_places_the_current_prices_against_the_closed_window() -> None:
    _, closes = market()
    a, b = closes[A].to_numpy(), closes[B].to_numpy()
    z_closed, _ = open_spread_z(a, b, hedge_ratio=20.0, window=50)
    spread = a[-50:] - 20 * b[-50:]
    shock = spread.mean() + 5 * spread.std(ddof=1) + 20 * b[-1]  # a's price 5 std away
    z_live, z_prev = open_spread_z(
        a, b, hedge_ratio=20.0, window=50, live_price_a=shock, live_price_b=b[-1]
    )
    assert z_live == pytest.approx(5.0, abs=1e-9)
    assert z_prev == pytest.approx(z_closed)


def test_too_few_candles_give_nan_not_a_number() -> None:
    z_now, z_prev = open_spread_z(np.ones(10), np.ones(10), hedge_ratio=1.0, window=50)
    assert np.isnan(z_now) and np.isnan(z_prev)


def test_model_inputs_are_zero_outside_a_pair_and_the_label_measures_reversion() -> None:
    z = pd.Series([np.nan, -2.5, -2.0, -1.0, 0.2, 1.0])
    in_pair = pd.Series([False, True, True, True, True, True])
    feats = model_features(z, in_pair)
    assert (feats.loc[0] == 0).all() and feats.loc[1, "%-in_pair"] == 1.0
    label = reversion_label(z, in_pair, horizon=2)
    # From -2.5 the spread moved to -1.0: 1.5 z of reversion in the long spread's favour.
    assert label.iloc[1] == pytest.approx(1.5)
    assert label.iloc[0] == 0.0
    assert np.isnan(label.iloc[-1])  # the future is unknown at the end

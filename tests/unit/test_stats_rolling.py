"""Rolling hedge ratio, spread and z-score use only past candles and match a naive computation.

`rolling(center=True)` leaked 45 minutes of future data into the original bot's backtests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stats_sim import ar1, frame, random_walk

from statarb.stats.inputs import StatsInputError
from statarb.stats.rolling import (
    rolling_hedge_ratio,
    rolling_ols,
    rolling_zscore,
    spread,
)


def btc_eth(n: int = 600, seed: int = 0) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    eth = random_walk(n, 3_000.0, 8.0, rng)
    btc = 2_000.0 + 16.67 * eth + ar1(n, 0.9, 40.0, rng)
    closes = frame({"BTC": btc, "ETH": eth}, freq="5min")
    return closes["BTC"], closes["ETH"]


def naive_ols(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    a_c, b_c = a - a.mean(), b - b.mean()
    hedge = (a_c @ b_c) / (b_c @ b_c)
    return hedge, a.mean() - hedge * b.mean()


@pytest.mark.parametrize("window", [2, 3, 50, 288])
def test_rolling_ols_equals_a_per_window_regression(window: int) -> None:
    a, b = btc_eth()
    fit = rolling_ols(a, b, window)
    assert fit.hedge_ratio.iloc[: window - 1].isna().all()
    for t in range(window - 1, len(a)):
        hedge, intercept = naive_ols(
            a.to_numpy()[t - window + 1 : t + 1], b.to_numpy()[t - window + 1 : t + 1]
        )
        assert fit.hedge_ratio.iloc[t] == pytest.approx(hedge, rel=1e-9)
        assert fit.intercept.iloc[t] == pytest.approx(intercept, rel=1e-9, abs=1e-6)
    assert rolling_hedge_ratio(a, b, window).equals(fit.hedge_ratio)


@pytest.mark.parametrize("window", [2, 20, 50])
def test_rolling_zscore_equals_a_per_window_zscore_with_sample_std(window: int) -> None:
    a, b = btc_eth()
    s = spread(a, b, 16.67, 2_000.0)
    z = rolling_zscore(s, window)
    assert z.iloc[: window - 1].isna().all()
    values = s.to_numpy()
    for t in range(window - 1, len(s)):
        w = values[t - window + 1 : t + 1]
        assert z.iloc[t] == pytest.approx((w[-1] - w.mean()) / w.std(ddof=1), rel=1e-9, abs=1e-9)


def test_outputs_keep_the_input_index() -> None:
    a, b = btc_eth()
    for out in (rolling_hedge_ratio(a, b, 50), spread(a, b, 1.0), rolling_zscore(a, 50)):
        assert out.index.equals(a.index)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    window=st.integers(2, 60),
    cut=st.integers(0, 299),
    shock=st.floats(0.01, 1e4) | st.floats(-1e4, -0.01),
)
def test_changing_a_later_candle_never_changes_an_earlier_output(seed, window, cut, shock) -> None:
    a, b = btc_eth(300, seed)
    fit, z = rolling_ols(a, b, window), rolling_zscore(spread(a, b, 16.67), window)
    a2, b2 = a.copy(), b.copy()
    a2.iloc[cut:] += shock
    b2.iloc[cut:] -= shock / 7.0
    fit2, z2 = rolling_ols(a2, b2, window), rolling_zscore(spread(a2, b2, 16.67), window)
    before = slice(0, cut)
    for old, new in ((fit.hedge_ratio, fit2.hedge_ratio), (fit.intercept, fit2.intercept), (z, z2)):
        pd.testing.assert_series_equal(old.iloc[before], new.iloc[before], check_exact=True)
    # ... and the change does reach the candle itself (the test can fail).
    if cut >= window - 1:
        assert fit.hedge_ratio.iloc[cut] != fit2.hedge_ratio.iloc[cut]


def test_a_missing_candle_gives_nan_for_the_windows_that_contain_it() -> None:
    a, b = btc_eth(200)
    a.iloc[100] = np.nan
    z = rolling_zscore(spread(a, b, 16.67), 20)
    assert z.iloc[100:120].isna().all()
    assert z.iloc[99] == z.iloc[99] and z.iloc[120] == z.iloc[120]


def test_a_flat_window_gives_no_signal_rather_than_infinity() -> None:
    s = frame({"s": np.r_[np.arange(30.0), np.full(30, 5.0)]})["s"]
    z = rolling_zscore(s, 10)
    assert z.iloc[45:].isna().all()
    assert not np.isinf(z).any()


def test_rolling_hedge_ratio_is_nan_where_leg_b_is_flat() -> None:
    a, b = btc_eth(100)
    b.iloc[40:70] = 3_000.0
    h = rolling_hedge_ratio(a, b, 20)
    assert h.iloc[59:70].isna().all()


def test_a_rolling_hedge_ratio_tracks_a_known_relation() -> None:
    a, b = btc_eth(5_000)
    assert rolling_hedge_ratio(a, b, 1_000).iloc[-1] == pytest.approx(16.67, rel=0.02)


def test_misaligned_or_bad_inputs_are_refused() -> None:
    a, b = btc_eth(100)
    with pytest.raises(StatsInputError, match="different indexes"):
        rolling_ols(a, b.iloc[1:], 10)
    with pytest.raises(StatsInputError, match="window"):
        rolling_zscore(a, 1)
    with pytest.raises(StatsInputError, match="window"):
        rolling_zscore(a, 2.5)
    bad = a.copy()
    bad.iloc[3] = np.inf
    with pytest.raises(StatsInputError, match="infinite"):
        rolling_ols(bad, b, 10)
    with pytest.raises(StatsInputError, match="hedge_ratio"):
        spread(a, b, float("nan"))
    with pytest.raises(StatsInputError, match="not aligned"):
        spread(a, b, rolling_hedge_ratio(a, b, 10).iloc[1:])

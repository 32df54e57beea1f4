"""Per-candle spread columns for one coin: its pair, the spread, z, the re-test, model inputs.

Everything here is causal: the value at candle t uses candles <= t only (rolling windows end at
t; the stationarity re-test at t looks back; the walk-forward period valid at t was chosen on
earlier candles). The only exception is the model's *label*, which looks `horizon` candles ahead
by definition and is used for training only (FreqAI cuts it at each training window's end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from statarb.spread.book import SpreadBook
from statarb.spread.legs import LegTag
from statarb.stats.cointegration import adf_test
from statarb.stats.inputs import StatsInputError
from statarb.stats.rolling import rolling_zscore
from statarb.stats.space import spread_at, spread_values
from statarb.timeutil import epoch_minutes

SPREAD_COLUMNS = (
    "spread_pair",
    "spread_role",
    "hedge_ratio",
    "leg_a_close",
    "leg_b_close",
    "spread",
    "spread_z",
    "coint_ok",
    "coint_pvalue",
)


@dataclass(frozen=True)
class RetestParams:
    """Trailing ADF (with constant, fixed lag) on the traded spread, every `every` candles."""

    window: int = 500
    every: int = 60
    max_pvalue: float = 0.10
    lag: int = 1


def spread_columns(
    dates: pd.Series,
    closes: Mapping[str, pd.Series],
    book: SpreadBook,
    symbol: str,
    *,
    timeframe_minutes: int,
    retest: RetestParams,
) -> pd.DataFrame:
    """Spread columns for `symbol` over `dates`; empty pair ("") where it is in no spread.

    `closes` maps each symbol to its close prices aligned with `dates` (NaN where missing).
    """
    index = dates.index
    out = pd.DataFrame(
        {
            "spread_pair": pd.Series("", index=index, dtype=object),
            "spread_role": pd.Series("", index=index, dtype=object),
            "hedge_ratio": np.nan,
            "leg_a_close": np.nan,
            "leg_b_close": np.nan,
            "spread": np.nan,
            "spread_z": np.nan,
            "coint_ok": False,
            "coint_pvalue": np.nan,
        },
        index=index,
    )
    for mask, active in book.segments(symbol, dates):
        entry = active.entry
        if entry.leg_a not in closes or entry.leg_b not in closes:
            continue  # partner candles missing: no spread, so no entry (never a guess)
        close_a = closes[entry.leg_a].astype(float)
        close_b = closes[entry.leg_b].astype(float)
        spread = pd.Series(
            spread_values(
                close_a,
                close_b,
                beta=entry.hedge_ratio,
                intercept=entry.intercept,
                price_space=entry.price_space,
            ),
            index=close_a.index,
        )
        z = rolling_zscore(spread, entry.mean_reversion_window)
        pvalues = retest_pvalues(
            spread, dates, mask, timeframe_minutes=timeframe_minutes, params=retest
        )
        ok = pvalues <= retest.max_pvalue  # NaN (no verdict yet): False
        out.loc[mask, "spread_pair"] = entry.pair_id
        out.loc[mask, "spread_role"] = str(active.role)
        out.loc[mask, "hedge_ratio"] = entry.hedge_ratio
        out.loc[mask, "leg_a_close"] = close_a[mask]
        out.loc[mask, "leg_b_close"] = close_b[mask]
        out.loc[mask, "spread"] = spread[mask]
        out.loc[mask, "spread_z"] = z[mask]
        out.loc[mask, "coint_ok"] = ok[mask]
        out.loc[mask, "coint_pvalue"] = pvalues[mask]
    return out


def retest_pvalues(
    spread: pd.Series,
    dates: pd.Series,
    mask: np.ndarray,
    *,
    timeframe_minutes: int,
    params: RetestParams,
) -> pd.Series:
    """The ADF p-value of the last re-test at or before each candle (NaN before the first);
    the spread counts as stationary where it is <= `params.max_pvalue`.

    Re-test points are candles whose open time is a multiple of `every` candles since the epoch,
    so a backtest and a live bot test at the same moments. Each test uses the `window` candles
    ending at its point; the answer holds until the next point. A window with a missing close,
    or a constant spread, is not evidence of mean reversion: p = 1.
    """
    minutes = epoch_minutes(dates)
    is_point = (minutes // timeframe_minutes) % params.every == 0
    positions = np.flatnonzero(is_point)
    first_needed = np.flatnonzero(mask)[0] if mask.any() else len(mask)
    # The test point just before the segment starts also matters (its answer carries over).
    earlier = positions[positions <= first_needed]
    start_at = earlier[-1] if earlier.size else first_needed
    result = pd.Series(np.nan, index=spread.index)
    values = spread.to_numpy(dtype=float)
    selected = ((positions >= start_at) & mask[positions]) | (positions == start_at)
    for pos in positions[selected]:
        if pos + 1 < params.window:
            continue
        window = values[pos + 1 - params.window : pos + 1]
        if not np.isfinite(window).all():
            result.iloc[pos] = 1.0
            continue
        try:
            pvalue = adf_test(window, maxlag=params.lag, autolag=None, regression="c").pvalue
        except StatsInputError:
            pvalue = 1.0  # constant or degenerate spread: not evidence of mean reversion
        result.iloc[pos] = float(pvalue)
    return result.ffill()


def model_features(
    z: pd.Series,
    in_pair: pd.Series,
    leg_a_close: pd.Series | None = None,
    leg_b_close: pd.Series | None = None,
    periods: tuple[int, ...] = (15, 60),
) -> pd.DataFrame:
    """FreqAI inputs that describe the spread (`%` = feature). Zero outside any pair.

    Every feature is named by ROLE (leg a / leg b), never by symbol, so the two legs of a spread
    train on identical rows and their models give identical predictions: the spread's entry
    decision is then the same whichever leg FreqTrade asks first (and in an analysis run that
    loads a single leg).
    """
    feats = pd.DataFrame(index=z.index)
    feats["%-spread_z"] = z
    feats["%-spread_z_abs"] = z.abs()
    for lag in (1, 5, 15):
        feats[f"%-spread_z_chg_{lag}"] = z.diff(lag)
    feats["%-spread_z_vol_20"] = z.diff().rolling(20, min_periods=20).std()
    feats["%-spread_z_max_abs_60"] = z.abs().rolling(60, min_periods=60).max()
    for role, close in (("a", leg_a_close), ("b", leg_b_close)):
        if close is None:
            continue
        ret1 = close.pct_change()
        for period in periods:
            feats[f"%-{role}_ret_{period}"] = close.pct_change(period)
            feats[f"%-{role}_vol_{period}"] = ret1.rolling(period, min_periods=period).std()
            feats[f"%-{role}_rsi_{period}"] = _rsi(close, period)
    feats = feats.where(in_pair, 0.0)
    feats["%-in_pair"] = in_pair.astype(float)
    return feats


def reversion_label(z: pd.Series, in_pair: pd.Series, horizon: int) -> pd.Series:
    """Target: how far z moves towards (and through) zero over the next `horizon` candles.

    `-sign(z_t) * (z_{t+h} - z_t)`: positive when the stretched spread reverts, i.e. the P&L of
    the mean-reverting position in z units. 0 outside a pair (see model_features).
    """
    future = z.shift(-horizon)
    label = -np.sign(z) * (future - z)
    return label.where(in_pair, 0.0)


def tag_spread_z(
    tag: LegTag,
    close_a: np.ndarray,
    close_b: np.ndarray,
    *,
    live_price_a: float | None = None,
    live_price_b: float | None = None,
) -> tuple[float, float]:
    """(z_now, z_prev) of the open spread `tag` belongs to: its own entry β, window and price
    space (a log-space spread is judged on log prices, never on its legs' quantity ratio in
    raw prices). The one z of an open spread: the exits' and the live 5-second check's."""
    return open_spread_z(
        close_a,
        close_b,
        hedge_ratio=tag.beta,
        window=tag.window,
        live_price_a=live_price_a,
        live_price_b=live_price_b,
        price_space=tag.price_space,
    )


def open_spread_z(
    close_a: np.ndarray,
    close_b: np.ndarray,
    *,
    hedge_ratio: float,
    window: int,
    live_price_a: float | None = None,
    live_price_b: float | None = None,
    price_space: str = "raw",
) -> tuple[float, float]:
    """(z_now, z_prev) of an open spread from closed candles (oldest first), optionally live.

    `hedge_ratio` is the spread's β in `price_space` (a tag's `spread_beta`). Uses the spread's
    own entry β, so a re-scan that changes the pair's ratio never
    changes how an open position is judged. With live prices, z_now places the current spread
    against the window of closed candles (the 5-second stop check); z_prev is the last close's z.
    Returns NaN when there are fewer than `window + 1` finite candles.
    """
    spread = spread_values(close_a, close_b, beta=hedge_ratio, price_space=price_space)
    if spread.size < window + 1 or not np.isfinite(spread[-(window + 1) :]).all():
        return float("nan"), float("nan")
    last = spread[-window:]
    prev = spread[-(window + 1) : -1]
    z_last = _z(last[-1], last)
    z_prev = _z(prev[-1], prev)
    if live_price_a is None or live_price_b is None:
        return z_last, z_prev
    live = spread_at(live_price_a, live_price_b, beta=hedge_ratio, price_space=price_space)
    return _z(live, last), z_last


def _z(value: float, window: np.ndarray) -> float:
    std = window.std(ddof=1)
    if not np.isfinite(std) or std <= 0:
        return float("nan")
    return float((value - window.mean()) / std)


def _rsi(close: pd.Series, period: int) -> pd.Series:
    """Cutler's RSI (0..100): simple means of gains and losses over the trailing window.

    Unlike Wilder's exponential RSI it has a finite memory, so its value at a candle does not
    depend on how much history was loaded before it (FreqTrade's recursive-analysis).
    """
    delta = close.diff()
    gain = delta.clip(lower=0.0).rolling(period, min_periods=period).mean()
    loss = (-delta.clip(upper=0.0)).rolling(period, min_periods=period).mean()
    total = gain + loss
    return (100.0 * gain / total.where(total > 0)).where(total > 0, 50.0).where(gain.notna())

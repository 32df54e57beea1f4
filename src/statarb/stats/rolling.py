"""Causal rolling hedge ratio, spread and z-score.

The value at candle t uses candles t-window+1 .. t only (trailing windows, never `center=True`,
never a global statistic of the series): a backtest sees exactly what the live bot saw. Warm-up
candles (fewer than `window` values) and any window containing a NaN give NaN, not a guess.

Conventions: standard deviations and (co)variances use ddof=1 (sample statistics, pandas'
default: the same numbers a strategy gets from `.rolling(window).std()`); the hedge-ratio ratio
cov/var does not depend on ddof. All functions are O(n) in the series length (pandas' online
rolling moments), not O(n · window).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from statarb.stats.inputs import StatsInputError

ZSCORE_DDOF = 1


@dataclass(frozen=True, eq=False)
class RollingHedge:
    """Trailing-window OLS of A on B: `leg_a ≈ intercept + hedge_ratio * leg_b` at every candle."""

    hedge_ratio: pd.Series
    intercept: pd.Series


def rolling_ols(leg_a: pd.Series, leg_b: pd.Series, window: int) -> RollingHedge:
    """Hedge ratio and intercept of A on B over each trailing window of `window` candles."""
    a, b = _aligned(leg_a, leg_b)
    _check_window(window, minimum=2)
    # Moments of prices near 60,000 lose digits; shifting by the first valid price (a past value
    # for every window that can be complete) keeps them small without peeking ahead.
    a0, b0 = _first_valid(a), _first_valid(b)
    a_s, b_s = a - a0, b - b0
    roll_a, roll_b = (
        a_s.rolling(window, min_periods=window),
        b_s.rolling(window, min_periods=window),
    )
    cov_ab = roll_a.cov(b_s)
    var_b = roll_b.var()
    hedge = (cov_ab / var_b.where(var_b > 0.0)).rename("hedge_ratio")
    intercept = (roll_a.mean() + a0) - hedge * (roll_b.mean() + b0)
    return RollingHedge(hedge_ratio=hedge, intercept=intercept.rename("intercept"))


def rolling_hedge_ratio(leg_a: pd.Series, leg_b: pd.Series, window: int) -> pd.Series:
    """Trailing-window OLS slope of A on B (cov(A, B) / var(B)); NaN where B is flat."""
    return rolling_ols(leg_a, leg_b, window).hedge_ratio


def spread(
    leg_a: pd.Series,
    leg_b: pd.Series,
    hedge_ratio: float | pd.Series,
    intercept: float | pd.Series = 0.0,
) -> pd.Series:
    """`leg_a - intercept - hedge_ratio * leg_b`, the residual a spread position earns."""
    a, b = _aligned(leg_a, leg_b)
    for name, value in (("hedge_ratio", hedge_ratio), ("intercept", intercept)):
        if isinstance(value, pd.Series):
            if not value.index.equals(a.index):
                raise StatsInputError(f"{name} is not aligned with the legs' index")
        elif not np.isfinite(value):
            raise StatsInputError(f"{name} must be finite, got {value!r}")
    return (a - intercept - hedge_ratio * b).rename("spread")


def rolling_zscore(series: pd.Series, window: int) -> pd.Series:
    """`(x_t - mean) / std` over the trailing window ending at t (ddof=1).

    NaN where the window's standard deviation is 0: a flat spread gives no signal, not ±inf.
    """
    if not isinstance(series, pd.Series):
        raise StatsInputError("series must be a pandas Series indexed by candle date")
    _check_finite_or_nan(series, "series")
    _check_window(window, minimum=2)
    x = series.astype(np.float64)
    x0 = _first_valid(x)
    shifted = x - x0  # the z-score is shift-invariant; see rolling_ols for why shift
    roll = shifted.rolling(window, min_periods=window)
    std = roll.std(ddof=ZSCORE_DDOF)
    z = (shifted - roll.mean()) / std.where(std > 0.0)
    return z.rename("zscore")


def _aligned(leg_a: pd.Series, leg_b: pd.Series) -> tuple[pd.Series, pd.Series]:
    if not isinstance(leg_a, pd.Series) or not isinstance(leg_b, pd.Series):
        raise StatsInputError("leg_a and leg_b must be pandas Series indexed by candle date")
    if not leg_a.index.equals(leg_b.index):
        raise StatsInputError(
            "leg_a and leg_b have different indexes: align them on the candle date first "
            "(a silent alignment would compare different candles)"
        )
    _check_finite_or_nan(leg_a, "leg_a")
    _check_finite_or_nan(leg_b, "leg_b")
    return leg_a.astype(np.float64), leg_b.astype(np.float64)


def _check_finite_or_nan(series: pd.Series, name: str) -> None:
    # NaN marks a missing candle and propagates as NaN; an infinite price is corrupt data.
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise StatsInputError(f"{name} contains infinite values")


def _check_window(window: Any, minimum: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < minimum:
        raise StatsInputError(
            f"window must be a whole number of candles >= {minimum}, got {window!r}"
        )


def _first_valid(series: pd.Series) -> float:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    valid = np.flatnonzero(~np.isnan(values))
    return float(values[valid[0]]) if valid.size else 0.0

"""Ornstein-Uhlenbeck half-life of a spread, in candles.

Fit `Δs_t = c + b · s_{t-1} + e_t` by OLS; this is the discrete AR(1) `s_t = c + φ s_{t-1} + e_t`
with `φ = 1 + b`. A deviation decays as `φ^k`, so it halves after

    half_life = -ln 2 / ln(1 + b)      (exact for the discrete process, used here)

candles. The popular `-ln 2 / b` is its first-order approximation: fine for slow spreads but
18 % too long at a half-life of 2 candles (b = -0.29), 39 % at 1 candle, meaningless for
b <= -1. When |φ| >= 1 the spread does not revert and the half-life is `math.inf`; for
-1 < φ < 0 it overshoots while shrinking and the half-life of its magnitude, `-ln 2 / ln|φ|`,
is reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from statarb.stats.inputs import StatsInputError, as_series_array, require_length

LN2 = math.log(2.0)


def half_life_from_slope(slope: Any) -> Any:
    """Half-life in candles from the slope b of Δs on s_{t-1}; inf where not mean-reverting.

    Vectorised over numpy arrays (the batch scan), plain float for a float.
    """
    phi = np.abs(1.0 + np.asarray(slope, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(phi < 1.0, -LN2 / np.log(phi), np.inf)
    out = np.where(np.isnan(phi), np.nan, out)
    return float(out) if out.ndim == 0 else out


def mean_reversion_slope(spread: Any) -> float:
    """OLS slope b of Δs_t on s_{t-1} with an intercept."""
    s = as_series_array(spread, "spread")
    require_length(s, "spread", 3, "a half-life estimate")
    level = s[:-1] - s[:-1].mean()
    change = np.diff(s)
    denom = float(level @ level)
    if denom == 0.0:
        raise StatsInputError("spread is constant: it has no half-life")
    return float(level @ (change - change.mean()) / denom)


def ou_half_life(spread: Any) -> float:
    """Half-life of the spread's mean reversion in candles (`math.inf` if it does not revert)."""
    return half_life_from_slope(mean_reversion_slope(spread))

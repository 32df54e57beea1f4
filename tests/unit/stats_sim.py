"""Small simulated markets for the statistics tests: known hedge ratios and OU residuals.

Tests never read real candles; everything here is generated from a seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS
from statsmodels.tsa.adfvalues import mackinnonp
from statsmodels.tsa.stattools import adfuller, coint
from statsmodels.tsa.tsatools import add_trend

from statarb.stats.threads import single_threaded_blas


def ar1(n: int, phi: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """x_t = phi x_{t-1} + e_t, x_0 = e_0 (phi = 2**(-1/h) has half-life h candles)."""
    e = rng.normal(0.0, sd, n)
    x = np.empty(n)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def random_walk(n: int, level: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    return level + np.cumsum(rng.normal(0.0, sd, n))


def cointegrated_pair(
    n: int,
    *,
    hedge_ratio: float,
    half_life: float,
    rng: np.random.Generator,
    level_b: float = 100.0,
    sd_b: float = 1.0,
    resid_sd: float = 1.0,
    intercept: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) with A = intercept + hedge_ratio * B + OU residual of the given half-life."""
    b = random_walk(n, level_b, sd_b, rng)
    resid = ar1(n, 2.0 ** (-1.0 / half_life), resid_sd, rng)
    return intercept + hedge_ratio * b + resid, b


def log_random_walks(
    n: int, levels: list[float], rng: np.random.Generator, vol: float = 0.01
) -> np.ndarray:
    """Independent geometric random walks (candles x coins) at the given price levels."""
    steps = rng.normal(0.0, vol, (n, len(levels)))
    return np.asarray(levels) * np.exp(np.cumsum(steps, axis=0))


def frame(columns: dict[str, np.ndarray], freq: str = "1h") -> pd.DataFrame:
    """Closes with a UTC candle-open-time index starting 2026-01-01."""
    n = len(next(iter(columns.values())))
    index = pd.date_range("2026-01-01", periods=n, freq=freq, tz="UTC", name="date")
    return pd.DataFrame(columns, index=index)


@dataclass(frozen=True)
class Reference:
    """statsmodels' answer for A on B, and how far its first-stage residual is from exact."""

    stat: float  # coint
    pvalue: float
    lag: int  # adfuller on coint's own residual (coint does not return its lag)
    exact_stat: float  # adfuller on the residual computed in extended precision
    exact_pvalue: float
    exact_lag: int
    resid_rel_error: float  # max |coint residual - exact| / max |exact|
    hedge_ratio: float  # OLS slope of A on B with a constant (coint's first stage)

    @property
    def coint_is_accurate(self) -> bool:
        # statsmodels regresses on raw levels; with a tiny var(B) relative to its level the
        # residuals lose digits. Only then may our (de-meaned) answer differ from coint's.
        return self.resid_rel_error <= 1e-11


def statsmodels_eg(
    a: np.ndarray, b: np.ndarray, maxlag: int | None, autolag: str | None
) -> Reference:
    # Single-threaded BLAS as in our code: OpenBLAS threads stall for seconds on a loaded box.
    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore")
        stat, pvalue, _ = coint(a, b, trend="c", maxlag=maxlag, autolag=autolag)
        first_stage = OLS(a, add_trend(b[:, None], "c", prepend=False)).fit()
        resid = first_stage.resid
        adf = adfuller(resid, maxlag=maxlag, autolag=autolag, regression="n", result_object=True)
        exact = exact_residual(a, b)
        ex = adfuller(exact, maxlag=maxlag, autolag=autolag, regression="n", result_object=True)
    return Reference(
        stat=float(stat),
        pvalue=float(pvalue),
        lag=int(adf.lags),
        exact_stat=float(ex.statistic),
        exact_pvalue=float(mackinnonp(ex.statistic, regression="c", N=2)),
        exact_lag=int(ex.lags),
        resid_rel_error=float(np.abs(resid - exact).max() / np.abs(exact).max()),
        hedge_ratio=float(first_stage.params[0]),
    )


def exact_residual(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A - intercept - hedge * B by OLS, in 80-bit extended precision on de-meaned data."""
    a_l, b_l = a.astype(np.longdouble), b.astype(np.longdouble)
    a_c, b_c = a_l - a_l.mean(), b_l - b_l.mean()
    hedge = (a_c * b_c).sum() / (b_c * b_c).sum()
    return (a_c - hedge * b_c).astype(np.float64)

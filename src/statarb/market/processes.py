"""The stochastic building blocks of the synthetic market, as plain functions of arrays.

Each function takes its random numbers from a generator passed in (or from arrays), so the
caller decides which stream feeds what; that is what makes a coin's series independent of
which other coins are in the market and of the order they are listed in.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from statarb.market.spec import stable_int

MINUTES_PER_WEEK = 7 * 1440
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_US_OPEN_HOUR_UTC = 14.5


def rng_for(seed: int, *tags: str) -> np.random.Generator:
    """An independent random stream for (seed, tags): same inputs, same numbers, any order."""
    return np.random.default_rng(np.random.SeedSequence([seed, *(stable_int(t) for t in tags)]))


def student_t_unit(rng: np.random.Generator, dof: float, n: int) -> np.ndarray:
    """Student-t draws scaled to unit variance (fat tails without changing the vol level)."""
    return rng.standard_t(dof, n) / math.sqrt(dof / (dof - 2.0))


def garch_shocks(z: np.ndarray, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """GARCH(1,1) shocks with unit unconditional variance from unit-variance innovations `z`.

    Returns (shocks, conditional variances). The recursion is inherently sequential; a scalar
    loop over one series is ~10 ms per 43k candles and depends on nothing but `z`.
    """
    omega = 1.0 - alpha - beta
    h = 1.0
    shocks = [0.0] * len(z)
    variances = [0.0] * len(z)
    for i, zi in enumerate(z.tolist()):
        e = math.sqrt(h) * zi
        shocks[i] = e
        variances[i] = h
        h = omega + alpha * e * e + beta * h
    return np.asarray(shocks), np.asarray(variances)


def ar1(innovations: np.ndarray, phi: float, x0: float) -> np.ndarray:
    """x[t] = phi * x[t-1] + innovations[t], starting from x[-1] = x0 (exact, vectorised)."""
    out, _ = lfilter([1.0], [1.0, -phi], innovations, zi=[phi * x0])
    return out


def stationary_ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """A Gaussian AR(1) of length n already in its stationary distribution (no burn-in bias)."""
    x0 = rng.standard_normal() * sd
    return ar1(rng.standard_normal(n) * sd * math.sqrt(1.0 - phi * phi), phi, x0)


def half_life_to_phi(half_life: float) -> float:
    """Per-step AR(1) coefficient of a process that halves a deviation in `half_life` steps."""
    return 0.5 ** (1.0 / half_life)


def intraday_vol_profile(
    minutes_since_epoch: np.ndarray, amplitude: float, weekend_factor: float, step_minutes: int
) -> np.ndarray:
    """Volatility multiplier by time of day and day of week, mean square 1 over a week.

    Crypto volatility peaks around the US open and is lower on weekends; the daily cycle is
    what makes |returns| autocorrelated at a lag of one day in real candles.
    """

    def raw(minutes: np.ndarray) -> np.ndarray:
        hour = (minutes % 1440) / 60.0
        weekday = (minutes // 1440 + _EPOCH_WEEKDAY) % 7
        daily = 1.0 + amplitude * np.cos(2 * np.pi * (hour - _US_OPEN_HOUR_UTC) / 24.0)
        return daily * np.where(weekday >= 5, weekend_factor, 1.0)

    week = np.arange(0, MINUTES_PER_WEEK, step_minutes, dtype=np.int64)
    norm = math.sqrt(float(np.mean(raw(week) ** 2)))
    return raw(minutes_since_epoch) / norm


def jumps(rng: np.random.Generator, n: int, prob: float, sd: float) -> np.ndarray:
    """Compound Bernoulli jumps: at most one per candle with probability `prob`, N(0, sd²)."""
    hit = rng.random(n) < prob
    sizes = rng.standard_normal(n) * sd
    return np.where(hit, sizes, 0.0)


def bridge_extremes(
    log_return: np.ndarray, sigma: np.ndarray, u_high: np.ndarray, u_low: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Highest and lowest log excursion of a Brownian bridge from 0 to `log_return`.

    Exact draws (reflection principle) given the candle's diffusion sd: the high is at least
    max(0, r) and the low at most min(0, r), and the high-low range averages twice |r| like
    real candles. `u_high`, `u_low` are uniforms in (0, 1].
    """
    var2 = 2.0 * sigma * sigma
    r2 = log_return * log_return
    up = 0.5 * (log_return + np.sqrt(r2 - var2 * np.log(u_high)))
    down = 0.5 * (log_return - np.sqrt(r2 - var2 * np.log(u_low)))
    return up, down


def volume_multiplier(
    rng: np.random.Generator,
    abs_return_in_sigmas: np.ndarray,
    sigma_ratio: np.ndarray,
    noise_sd: float,
    noise_phi: float,
) -> np.ndarray:
    """Volume relative to the coin's typical candle: up with |return| and with volatility.

    Log volume = log(vol regime) + 1.5 log(0.25 + 0.75 |r|/E|r|) + persistent noise; the
    constants give roughly the ~0.6 correlation of log volume with |return| and the
    coefficient of variation ~1.5 measured on real 5m candles (bench/market_realism.py).
    """
    n = len(abs_return_in_sigmas)
    noise = stationary_ar1(rng, n, noise_phi, noise_sd)
    activity = 0.25 + 0.75 * abs_return_in_sigmas / math.sqrt(2.0 / math.pi)
    log_mult = np.log(sigma_ratio) + 1.5 * np.log(activity) + noise - 0.5 * noise_sd**2
    return np.exp(log_mult)

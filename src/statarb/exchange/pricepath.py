"""The price inside a candle, and the market after the data ends — pure numpy functions.

Inside a candle the price moves in straight lines open→low→high→close when the candle closed up
(or flat), open→high→low→close when it closed down, each leg taking a third of the candle. The
path is deterministic, so a resting order, a liquidation or a partial candle seen twice gives the
same answer, and the candle's own OHLC is exactly the extremes of its path.

After the data runs out prices continue as a seeded, driftless random walk (a martingale in price:
Gaussian log steps carrying the -σ²/2 correction) with the per-candle volatility of the data's last
day (at most 1440 candles): each candle is four sub-steps; open = previous close, high/low = the
extremes of the sub-steps; volume is the data's last-day median volume scaled by a lognormal
factor. The same seed gives the same walk.
"""

from __future__ import annotations

import zlib

import numpy as np

SUBSTEPS = 4
VOL_LOOKBACK_CANDLES = 1440


def candle_vertices(
    open_ms: np.ndarray,
    *,
    o: np.ndarray,
    h: np.ndarray,
    low: np.ndarray,
    c: np.ndarray,
    tf_ms: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Times (n, 4) and prices (n, 4) of each candle's path: start, 1/3, 2/3, end (=close)."""
    up = c >= o
    x1 = np.where(up, low, h)
    x2 = np.where(up, h, low)
    times = np.stack(
        [open_ms, open_ms + tf_ms / 3.0, open_ms + 2.0 * tf_ms / 3.0, open_ms + float(tf_ms)],
        axis=1,
    ).astype(np.float64)
    prices = np.stack([o, x1, x2, c], axis=1)
    return times, prices


def price_in_candle(
    t_ms: float, *, open_ms: int, o: float, h: float, low: float, c: float, tf_ms: int
) -> float:
    """The path's price at ``t_ms`` (clamped to the candle); at the candle's end it is the close."""
    frac = min(max((t_ms - open_ms) / tf_ms, 0.0), 1.0)
    x1, x2 = (low, h) if c >= o else (h, low)
    if frac <= 1.0 / 3.0:
        return o + (x1 - o) * frac * 3.0
    if frac <= 2.0 / 3.0:
        return x1 + (x2 - x1) * (frac * 3.0 - 1.0)
    return x2 + (c - x2) * (frac * 3.0 - 2.0)


def recent_log_volatility(close: np.ndarray) -> float:
    """Std of one-candle log returns over the last day of candles (a floor keeps walks moving)."""
    tail = close[-(VOL_LOOKBACK_CANDLES + 1) :]
    if len(tail) < 3:
        return 1e-3
    returns = np.diff(np.log(tail))
    sigma = float(np.std(returns))
    return max(sigma, 1e-5)


def symbol_seed(seed: int, symbol: str) -> int:
    """A stable per-symbol seed (crc32 rather than hash(), which Python salts per process)."""
    return (seed * 1_000_003 + zlib.crc32(symbol.encode())) & 0xFFFFFFFF


def random_walk_candles(
    *,
    seed: int,
    symbol: str,
    chunk_index: int,
    start_price: float,
    sigma: float,
    base_volume: float,
    count: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``count`` candles of a driftless log random walk starting at ``start_price``.

    Deterministic in (seed, symbol, chunk_index): chunk k always continues from chunk k-1's close.
    Returns (open, high, low, close, volume).
    """
    rng = np.random.default_rng([symbol_seed(seed, symbol), chunk_index])
    steps = rng.normal(0.0, sigma / np.sqrt(SUBSTEPS), size=(count, SUBSTEPS))
    # driftless in price: subtract the Ito term so E[price] stays at start_price
    steps -= 0.5 * (sigma**2) / SUBSTEPS
    log_path = np.log(start_price) + np.cumsum(steps.ravel()).reshape(count, SUBSTEPS)
    log_open = np.concatenate([[np.log(start_price)], log_path[:-1, -1]])
    sub = np.concatenate([log_open[:, None], log_path], axis=1)
    o = np.exp(log_open)
    c = np.exp(log_path[:, -1])
    h = np.exp(sub.max(axis=1))
    low = np.exp(sub.min(axis=1))
    v = base_volume * rng.lognormal(0.0, 0.5, size=count)
    return o, h, low, c, v

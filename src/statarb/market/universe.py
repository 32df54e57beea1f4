"""The default universe: real Binance USDT-M names, a few planted pairs, the rest random walks.

The names are real because FreqTrade refuses to backtest a futures pair missing from its
bundled leverage-tier file (a test checks every name below against that file).
"""

from __future__ import annotations

import math
from datetime import datetime

from statarb.market.processes import rng_for
from statarb.market.spec import (
    DEFAULT_START,
    KNOWN_COINS,
    MarketSpec,
    MarketSpecError,
    PlantedPair,
    timeframe_minutes,
)

# Liquid perpetuals, most liquid first; a universe of n coins takes the first n.
DEFAULT_UNIVERSE: tuple[str, ...] = tuple(KNOWN_COINS)

# Planted-pair parameter ranges. Half-lives are drawn in hours and converted to candles, but
# kept short enough that the series holds >= MIN_HALF_LIVES_IN_SERIES of them: a relation
# that reverts only a few times in the sample cannot be found or traded.
HALF_LIFE_HOURS = (0.5, 3.0)
MIN_HALF_LIFE_CANDLES = 5.0
MIN_HALF_LIVES_IN_SERIES = 150
RESIDUAL_SD_FRAC = (0.002, 0.005)  # stationary sd of the spread, fraction of leg A's price
INTERCEPT_FRAC = (0.0, 0.15)  # intercept as a fraction of leg A's price (keeps A > 0)


def default_spec(
    days: float = 30.0,
    timeframe: str = "1m",
    seed: int = 0,
    *,
    n_coins: int = 20,
    n_pairs: int = 3,
    start: datetime = DEFAULT_START,
) -> MarketSpec:
    """A realistic market of `n_coins` real symbols with `n_pairs` planted cointegrated pairs.

    Which coins are paired, and each pair's hedge ratio, half-life and spread width, follow
    from the seed, so a scanner cannot pass by knowing the names. Leg A is the dearer coin,
    giving hedge ratios >= 1 as in the BTC/ETH example of docs/design.md §2.4 (16.67).
    """
    if not 2 <= n_coins <= len(DEFAULT_UNIVERSE):
        raise MarketSpecError(f"n_coins must be in [2, {len(DEFAULT_UNIVERSE)}], got {n_coins}")
    if not 0 <= 2 * n_pairs <= n_coins:
        raise MarketSpecError(
            f"n_pairs={n_pairs} needs {2 * n_pairs} distinct coins but n_coins={n_coins}"
        )
    coins = DEFAULT_UNIVERSE[:n_coins]
    tf_min = timeframe_minutes(timeframe)
    n_candles = days * 1440 / tf_min
    rng = rng_for(seed, "default-universe")
    order = rng.permutation(len(coins))
    hl_lo = max(MIN_HALF_LIFE_CANDLES, HALF_LIFE_HOURS[0] * 60 / tf_min)
    hl_hi = min(HALF_LIFE_HOURS[1] * 60 / tf_min, n_candles / MIN_HALF_LIVES_IN_SERIES)
    hl_hi = max(hl_hi, hl_lo)
    pairs = []
    for k in range(n_pairs):
        first, second = coins[order[2 * k]], coins[order[2 * k + 1]]
        price = {c: KNOWN_COINS[c].base_price for c in (first, second)}
        leg_a, leg_b = sorted((first, second), key=lambda c: (-price[c], c))
        u_intercept = rng.uniform(*INTERCEPT_FRAC)
        half_life = _log_uniform(rng, hl_lo, hl_hi)
        sd_frac = _log_uniform(rng, *RESIDUAL_SD_FRAC)
        price_a0 = price[leg_a]
        pairs.append(
            PlantedPair(
                leg_a=leg_a,
                leg_b=leg_b,
                hedge_ratio=_round_sig((1 - u_intercept) * price_a0 / price[leg_b]),
                intercept=_round_sig(u_intercept * price_a0),
                half_life_candles=round(half_life, 1),
                residual_sd_frac=round(sd_frac, 5),
            )
        )
    return MarketSpec(
        coins=coins,
        pairs=tuple(pairs),
        start=start,
        days=days,
        timeframe=timeframe,
        seed=seed,
    )


def _log_uniform(rng, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _round_sig(value: float, digits: int = 6) -> float:
    if value == 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))

"""Order matching against a synthetic book that sits around the replayed price.

The book: best bid = the price rounded down to the tick, best ask one tick above (a one-tick
spread, like Binance's liquid majors); deeper levels every max(1 tick, 1 bp). Level i holds
``level_notional_usdt × (1 + growth × i)`` worth of contracts, so a large market order walks
the book and pays for it. ``slippage_bps`` moves every taker fill further against the taker.

Resting limit orders are maker orders: they fill at their own price when the replayed price path
reaches them. An order must first be "armed" — the price strictly on its resting side — so the
rest of a partly filled marketable order waits for a fresh touch instead of filling at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

D = Decimal
MAX_SWEEP_LEVELS = 10_000
DEFAULT_LEVEL_NOTIONAL_USDT = D(250_000)
DEFAULT_LEVEL_GROWTH = D("0.25")
NO_SLIPPAGE = D(0)


@dataclass(frozen=True)
class BookConfig:
    level_notional_usdt: Decimal = DEFAULT_LEVEL_NOTIONAL_USDT
    level_growth: Decimal = DEFAULT_LEVEL_GROWTH
    slippage_bps: Decimal = NO_SLIPPAGE


@dataclass(frozen=True)
class Level:
    price: Decimal
    qty: Decimal


@dataclass(frozen=True)
class Fill:
    price: Decimal
    qty: Decimal


def round_to_tick(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    """``price`` on the tick grid, rounded up or down."""
    steps = (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (steps * tick).quantize(tick)


def best_bid_ask(mid: Decimal, tick: Decimal) -> tuple[Decimal, Decimal]:
    """One-tick spread around ``mid``: bid = mid rounded down, ask = bid + tick."""
    bid = round_to_tick(mid, tick, up=False)
    if bid <= 0:
        bid = tick
    return bid, bid + tick


def _spacing(mid: Decimal, tick: Decimal) -> Decimal:
    return max(tick, round_to_tick(mid * D("0.0001"), tick, up=False))


def book_levels(
    mid: Decimal,
    *,
    side: str,
    count: int,
    tick: Decimal,
    step: Decimal,
    config: BookConfig,
) -> list[Level]:
    """``count`` levels of one side: "asks" ascending from the best ask, "bids" descending."""
    bid, ask = best_bid_ask(mid, tick)
    spacing = _spacing(mid, tick)
    levels: list[Level] = []
    for i in range(count):
        price = ask + spacing * i if side == "asks" else bid - spacing * i
        if price <= 0:
            break
        notional = config.level_notional_usdt * (1 + config.level_growth * i)
        qty = max(step, (notional / price / step).to_integral_value(rounding=ROUND_FLOOR) * step)
        levels.append(Level(price, qty))
    return levels


def taker_price(price: Decimal, *, buy: bool, slippage_bps: Decimal, tick: Decimal) -> Decimal:
    """A level price moved ``slippage_bps`` against the taker, back on the tick grid."""
    if slippage_bps == 0:
        return price
    factor = 1 + slippage_bps / D(10_000) if buy else 1 - slippage_bps / D(10_000)
    return round_to_tick(price * factor, tick, up=buy)


def sweep(
    mid: Decimal,
    *,
    buy: bool,
    qty: Decimal,
    limit_price: Decimal | None,
    tick: Decimal,
    step: Decimal,
    config: BookConfig,
) -> list[Fill]:
    """Taker fills for ``qty`` walking the opposite side, never past ``limit_price``.

    One fill per level consumed (Binance reports one trade per maker it meets).
    """
    fills: list[Fill] = []
    remaining = qty
    batch = 50
    offset = 0
    while remaining > 0 and offset < MAX_SWEEP_LEVELS:
        levels = book_levels(
            mid,
            side="asks" if buy else "bids",
            count=offset + batch,
            tick=tick,
            step=step,
            config=config,
        )[offset:]
        if not levels:
            break
        for level in levels:
            if limit_price is not None and (
                (buy and level.price > limit_price) or (not buy and level.price < limit_price)
            ):
                return fills
            take = min(remaining, level.qty)
            price = taker_price(level.price, buy=buy, slippage_bps=config.slippage_bps, tick=tick)
            if limit_price is not None:
                price = min(price, limit_price) if buy else max(price, limit_price)
            fills.append(Fill(price, take))
            remaining -= take
            if remaining <= 0:
                return fills
        offset += batch
    return fills


def is_marketable(mid: Decimal, *, buy: bool, price: Decimal, tick: Decimal) -> bool:
    """Would a limit order at ``price`` trade against the book at once?"""
    bid, ask = best_bid_ask(mid, tick)
    return price >= ask if buy else price <= bid


@dataclass(frozen=True)
class Touch:
    """Result of scanning a price path for a level."""

    time_ms: float | None  # when the level was reached (None: not reached)
    armed: bool  # whether the path was, at some point, strictly on the resting side


def first_touch(t: np.ndarray, p: np.ndarray, level: float, *, below: bool, armed: bool) -> Touch:
    """First time the path reaches ``level`` from the resting side.

    ``below`` = the event fires when the price falls to the level (a buy limit, a long's
    liquidation); otherwise when it rises to it. An unarmed watcher first needs the price strictly
    on the other side of the level.
    """
    if len(p) == 0:
        return Touch(None, armed)
    hit = p <= level if below else p >= level
    start = 0
    if not armed:
        on_side = ~hit
        if not on_side.any():
            return Touch(None, False)
        start = int(np.argmax(on_side))
        armed = True
    hits = np.flatnonzero(hit[start:])
    if len(hits) == 0:
        return Touch(None, armed)
    k = start + int(hits[0])
    if k == start:
        return Touch(float(t[k]), armed)
    t0, t1, p0, p1 = float(t[k - 1]), float(t[k]), float(p[k - 1]), float(p[k])
    if t1 <= t0 or p1 == p0:
        return Touch(t1, armed)
    frac = (p0 - level) / (p0 - p1)
    return Touch(t0 + frac * (t1 - t0), armed)

"""An in-memory market and venue with a hand-driven clock, for the exchange's unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from statarb.exchange.market import Market, RateSeries, SymbolTape
from statarb.exchange.specs import KNOWN_SPECS
from statarb.exchange.venue import OrderRequest, Venue

MIN = 60_000
HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a funding time


@dataclass
class Clock:
    now_ms: int = T0 + 10 * MIN

    def __call__(self) -> int:
        return self.now_ms


def flat_candles(price: float, n: int) -> np.ndarray:
    """n flat 1m candles at ``price`` (open = high = low = close)."""
    return np.tile([price, price, price, price, 10.0], (n, 1))


def tape(symbol: str, ohlcv: np.ndarray, *, start_ms: int = T0, seed: int = 1) -> SymbolTape:
    opens = start_ms + MIN * np.arange(len(ohlcv), dtype=np.int64)
    return SymbolTape(
        symbol=symbol, base=symbol[:-4], tf_ms=MIN, open_ms=opens, ohlcv=ohlcv, seed=seed
    )


@dataclass
class World:
    venue: Venue
    clock: Clock
    tapes: dict[str, SymbolTape] = field(default_factory=dict)

    def order(self, symbol: str, side: str, qty: str, **kw: object):
        request = OrderRequest(symbol=symbol, side=side, type=str(kw.pop("type", "MARKET")),
                               qty=Decimal(qty), **kw)  # type: ignore[arg-type]  # fmt: skip
        return self.venue.place_order(request)

    def at(self, ms: int) -> None:
        self.clock.now_ms = ms
        self.venue.advance()


def make_world(
    candles: dict[str, np.ndarray] | None = None,
    *,
    balance: str = "10000",
    funding_rate: float | None = None,
) -> World:
    """BTC at 60 000 and ETH at 3 000 (flat, 2 days of 1m candles) unless given."""
    candles = candles or {
        "BTCUSDT": flat_candles(60_000.0, 2 * 1440),
        "ETHUSDT": flat_candles(3_000.0, 2 * 1440),
    }
    tapes = {s: tape(s, c) for s, c in candles.items()}
    funding = {}
    if funding_rate is not None:
        times = T0 + 8 * HOUR * np.arange(12, dtype=np.int64)
        funding = {s: RateSeries(times, np.full(12, funding_rate)) for s in tapes}
    market = Market(
        tapes=tapes,
        specs={s: KNOWN_SPECS[s] for s in tapes},
        funding=funding,
        mark={},
        offset_ms=0,
    )
    clock = Clock()
    venue = Venue(market, balance_usdt=Decimal(balance), clock=clock)
    return World(venue, clock, tapes)

"""A spread's leg tags and the stand-ins the live-execution unit tests share."""

from __future__ import annotations

from datetime import UTC, datetime

from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag

# Leg A of a SOL/ADA spread: 10 SOL short against 1,800 ADA long (hedge ratio 180).
SOL_ADA_A = LegTag(
    pair_id="SOL_ADA",
    opened_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
    leg=Leg.A,
    direction=-1,
    hedge_ratio=180.0,
    leg_a="SOL/USDT:USDT",
    leg_b="ADA/USDT:USDT",
    window=50,
    planned_qty=10.0,
)
SOL_ADA_B = SOL_ADA_A.twin(1_800.0)


class NoOrdersApi:
    """A ccxt exchange object for a check that must not send orders (the seam wraps it)."""

    def __init__(self) -> None:
        self.options: dict[str, int] = {"recvWindow": 5000}

    def create_order(self, *args: object, **kwargs: object) -> dict:
        raise AssertionError("this check must not send orders")


class Clock:
    """`statarb.live.execution.now_ms`, moved by hand."""

    def __init__(self, ms: int = 1_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

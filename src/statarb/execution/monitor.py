"""The 5-second check of each open spread against what the exchange says it holds.

P&L is computed from our own entry prices, `(current − entry) × size × direction` per leg
(docs/design.md §2.5), and compared with the exchange's unrealised P&L; the spread's net delta is
its hedge error in USDT, `(qty_b − β·qty_a) × price_b` signed by direction. Any disagreement
beyond tolerance becomes a finding for a `[SAFETY]` line. Pure: plain values in and out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LegView:
    """One leg as the bot's database has it."""

    symbol: str
    is_short: bool
    qty_base: float
    open_rate: float


@dataclass(frozen=True)
class PositionView:
    """One position as the exchange reports it (signed quantity: negative = short)."""

    symbol: str
    qty_signed: float
    entry_price: float
    mark_price: float
    unrealized_pnl: float


@dataclass(frozen=True)
class SpreadReport:
    spread: str
    pnl_usdt: float
    exchange_pnl_usdt: float
    net_delta_usdt: float
    gross_notional_usdt: float
    z: float
    findings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def leg_pnl(leg: LegView, price: float) -> float:
    direction = -1.0 if leg.is_short else 1.0
    return (price - leg.open_rate) * leg.qty_base * direction


def monitor_spread(
    spread: str,
    hedge_ratio: float,
    leg_a: LegView | None,
    leg_b: LegView | None,
    positions: dict[str, PositionView],
    *,
    z: float,
    qty_tolerance: dict[str, float],
    pnl_tolerance_usdt: float = 1.0,
    pnl_tolerance_ratio: float = 0.002,
) -> SpreadReport:
    findings: list[str] = []
    pnl = exchange_pnl = gross = 0.0
    for name, leg in (("A", leg_a), ("B", leg_b)):
        if leg is None:
            findings.append(f"leg {name} missing from the bot's trades")
            continue
        held = positions.get(leg.symbol)
        if held is None or held.qty_signed == 0:
            findings.append(f"{leg.symbol}: the bot holds {leg.qty_base:g} but the exchange none")
            continue
        expected = -leg.qty_base if leg.is_short else leg.qty_base
        tolerance = qty_tolerance.get(leg.symbol, 1e-9)
        if (held.qty_signed > 0) != (expected > 0):
            findings.append(
                f"{leg.symbol}: the bot is {'short' if leg.is_short else 'long'} but the "
                f"exchange holds {held.qty_signed:+g}"
            )
        elif abs(abs(held.qty_signed) - leg.qty_base) > tolerance:
            held_qty = abs(held.qty_signed)
            findings.append(
                f"{leg.symbol}: the bot holds {leg.qty_base:g}, the exchange {held_qty:g}"
            )
        pnl += leg_pnl(leg, held.mark_price)
        exchange_pnl += held.unrealized_pnl
        gross += abs(held.qty_signed) * held.mark_price
    net_delta = 0.0
    if leg_a is not None and leg_b is not None:
        price_b = positions[leg_b.symbol].mark_price if leg_b.symbol in positions else math.nan
        sign = -1.0 if leg_b.is_short else 1.0
        net_delta = sign * (leg_b.qty_base - hedge_ratio * leg_a.qty_base) * price_b
    limit = max(pnl_tolerance_usdt, pnl_tolerance_ratio * gross)
    if not findings and abs(pnl - exchange_pnl) > limit:
        findings.append(
            f"P&L from entry prices {pnl:+.2f} USDT disagrees with the exchange's "
            f"{exchange_pnl:+.2f} USDT"
        )
    return SpreadReport(spread, pnl, exchange_pnl, net_delta, gross, z, tuple(findings))

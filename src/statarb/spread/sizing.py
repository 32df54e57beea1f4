"""Leg quantities for one spread: in the hedge ratio, on the exchange's lot grid, inside the budget.

The spread is `qty_a` of leg A against `hedge_ratio * qty_a` of leg B (base-coin quantities,
opposite sides). Its P&L is then `qty_a * Δresidual`, which is what makes it market-neutral.
Both quantities must be multiples of each market's step size, so the ratio can only be met
approximately: we walk down the lot grid from the budget's largest `qty_a` and take the first
whose rounded `qty_b` meets the hedge ratio within tolerance; if none does, the size is refused
with the best miss found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Candidates of qty_a examined below the budget's largest quantity. A few hundred steps are
# enough to find a near-exact ratio for realistic step sizes; the search is O(candidates).
_MAX_CANDIDATES = 400
# FreqTrade truncates `stake * leverage / rate` to the lot grid; a hair above the exact
# stake makes the truncation land on the planned quantity instead of one step below it.
_STAKE_ROUNDING_HEADROOM = 1e-9


class SizingError(ValueError):
    """No quantity satisfies the budget, the exchange's limits and the hedge tolerance."""


@dataclass(frozen=True)
class LegMarket:
    """The exchange limits that constrain one leg's quantity (Binance LOT_SIZE / MIN_NOTIONAL)."""

    symbol: str
    qty_step: float
    min_qty: float = 0.0
    max_qty: float | None = None
    min_notional_usdt: float = 0.0


@dataclass(frozen=True)
class SpreadSize:
    """Planned quantities of both legs and what they cost."""

    qty_a: float
    qty_b: float
    price_a: float
    price_b: float
    hedge_ratio: float

    @property
    def notional_a_usdt(self) -> float:
        return self.qty_a * self.price_a

    @property
    def notional_b_usdt(self) -> float:
        return self.qty_b * self.price_b

    @property
    def gross_notional_usdt(self) -> float:
        return self.notional_a_usdt + self.notional_b_usdt

    @property
    def hedge_error_qty_b(self) -> float:
        """Leg B quantity beyond (+) or short of (−) the hedge ratio, in B's base coin."""
        return self.qty_b - self.hedge_ratio * self.qty_a

    @property
    def hedge_error_ratio(self) -> float:
        """Relative miss of the hedge ratio: |qty_b − β·qty_a| / (β·qty_a)."""
        return abs(self.hedge_error_qty_b) / (self.hedge_ratio * self.qty_a)


def _steps(qty: float, step: float) -> int:
    """Whole steps in `qty`, robust to 0.1 + 0.2 style float noise."""
    return math.floor(qty / step + 1e-9)


def _on_grid(steps: int, step: float) -> float:
    # Round to the step's own decimal places so 3 * 0.001 prints as 0.003.
    decimals = max(0, -math.floor(math.log10(step))) + 2 if step < 1 else 0
    return round(steps * step, decimals)


def size_spread(
    *,
    gross_notional_usdt: float,
    price_a: float,
    price_b: float,
    hedge_ratio: float,
    market_a: LegMarket,
    market_b: LegMarket,
    max_hedge_error: float = 0.01,
) -> SpreadSize:
    """Largest spread within `gross_notional_usdt` (|A| + |B| notional) that is hedged to tolerance.

    Raises SizingError naming the constraint when the budget is below the exchange's minimums
    or no grid point meets `max_hedge_error`.
    """
    for name, value in (
        ("gross_notional_usdt", gross_notional_usdt),
        ("price_a", price_a),
        ("price_b", price_b),
        ("hedge_ratio", hedge_ratio),
    ):
        if not math.isfinite(value) or value <= 0:
            raise SizingError(f"{name} must be a positive finite number, got {value!r}")
    for market in (market_a, market_b):
        if not math.isfinite(market.qty_step) or market.qty_step <= 0:
            raise SizingError(f"{market.symbol}: step size must be positive, got {market.qty_step}")

    qty_a_budget = gross_notional_usdt / (price_a + hedge_ratio * price_b)
    top = _steps(qty_a_budget, market_a.qty_step)
    if market_a.max_qty is not None:
        top = min(top, _steps(market_a.max_qty, market_a.qty_step))
    if market_b.max_qty is not None:
        top = min(top, _steps(market_b.max_qty / hedge_ratio, market_a.qty_step))
    # The largest quantity within tolerance wins; if none is, the best miss is reported.
    best: SpreadSize | None = None
    for steps_a in range(top, max(0, top - _MAX_CANDIDATES), -1):
        qty_a = _on_grid(steps_a, market_a.qty_step)
        qty_b = _on_grid(round(hedge_ratio * qty_a / market_b.qty_step), market_b.qty_step)
        if qty_b <= 0:
            break
        if market_b.max_qty is not None and qty_b > market_b.max_qty:
            continue
        candidate = SpreadSize(qty_a, qty_b, price_a, price_b, hedge_ratio)
        if best is None or candidate.hedge_error_ratio < best.hedge_error_ratio - 1e-12:
            best = candidate
        if candidate.hedge_error_ratio <= max_hedge_error:
            best = candidate
            break

    if best is None:
        raise SizingError(
            f"budget {gross_notional_usdt:.2f} USDT buys less than one lot of {market_a.symbol} "
            f"(step {market_a.qty_step}) hedged with {market_b.symbol}"
        )
    _check_minimums(best, market_a, market_b)
    if best.hedge_error_ratio > max_hedge_error:
        raise SizingError(
            f"cannot meet hedge ratio {hedge_ratio:.6g} within {max_hedge_error:.2%} "
            "on the lot grid "
            f"({market_a.symbol} step {market_a.qty_step}, {market_b.symbol} step "
            f"{market_b.qty_step}); best miss {best.hedge_error_ratio:.2%} — raise the budget"
        )
    return best


def _check_minimums(size: SpreadSize, market_a: LegMarket, market_b: LegMarket) -> None:
    for market, qty, price in (
        (market_a, size.qty_a, size.price_a),
        (market_b, size.qty_b, size.price_b),
    ):
        if qty < market.min_qty:
            raise SizingError(
                f"{market.symbol}: quantity {qty} is below the minimum {market.min_qty}"
            )
        if qty * price < market.min_notional_usdt:
            raise SizingError(
                f"{market.symbol}: notional {qty * price:.2f} USDT is below the exchange minimum "
                f"{market.min_notional_usdt} USDT"
            )


def stake_for_qty(qty_base: float, price: float, leverage: float) -> float:
    """Margin (stake) FreqTrade must be given so that it orders exactly `qty_base`.

    FreqTrade computes `amount = stake * leverage / price` and truncates it to the lot grid.
    """
    if qty_base <= 0 or price <= 0 or leverage <= 0:
        raise SizingError("quantity, price and leverage must be positive")
    return qty_base * price / leverage * (1.0 + _STAKE_ROUNDING_HEADROOM)


def spread_budget_notional_usdt(
    *, balance_usdt: float, max_risk_percent: float, leverage: float
) -> float:
    """Gross notional of one spread: `balance × max_risk_percent` of margin, times leverage."""
    if balance_usdt <= 0:
        raise SizingError(f"account balance must be positive, got {balance_usdt}")
    if not 0 < max_risk_percent <= 100:
        raise SizingError(f"max_risk_percent must be in (0, 100], got {max_risk_percent}")
    return balance_usdt * max_risk_percent / 100.0 * leverage

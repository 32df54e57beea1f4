"""Per-symbol trading rules: Binance's symbol filters and leverage brackets.

Filters decide whether an order is accepted at all, brackets decide margin and liquidation, so both
use Binance's published values for the common coins. Sources: BTCUSDT and SOLUSDT filters from
captured ``/fapi/v1/exchangeInfo`` records, ETH/XRP/DOGE as published by Binance in 2024-25; the
brackets are the ones FreqTrade 2026.9 bundles (``binance_leverage_tiers.json``), so a backtest and
this exchange agree on maintenance margin. Symbols not in the table get rules derived from their
price (``derive_spec``): tick = 5 significant digits, a step worth 1-10 USDT, min notional 5 USDT.
The market derives them once per symbol from its first candle (as Binance fixes them at listing),
so no later price shapes the contract grid a backtest trades on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

D = Decimal

DEFAULT_LEVERAGE = 20  # Binance's default leverage for a symbol never configured
DEFAULT_MARGIN_TYPE = "CROSSED"  # Binance's default margin type


@dataclass(frozen=True)
class Bracket:
    """One notional tier: positions in [floor, cap) use this maintenance rate and max leverage."""

    bracket: int
    initial_leverage: int
    notional_floor_usdt: Decimal
    notional_cap_usdt: Decimal
    maint_margin_ratio: Decimal
    cum_usdt: Decimal  # maintenance amount: maint = notional * ratio - cum


@dataclass(frozen=True)
class SymbolSpec:
    """Everything ``/fapi/v1/exchangeInfo`` and ``leverageBracket`` publish for one symbol."""

    symbol: str  # Binance id, e.g. BTCUSDT
    base: str
    quote: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional_usdt: Decimal
    price_precision: int
    quantity_precision: int
    multiplier_up: Decimal
    multiplier_down: Decimal
    liquidation_fee: Decimal
    market_take_bound: Decimal
    onboard_date_ms: int
    brackets: tuple[Bracket, ...]

    @property
    def max_leverage(self) -> int:
        return self.brackets[0].initial_leverage

    def bracket_for(self, notional_usdt: Decimal) -> Bracket:
        """The bracket whose [floor, cap) holds ``notional_usdt`` (the last one above all caps)."""
        for bracket in self.brackets:
            if notional_usdt < bracket.notional_cap_usdt:
                return bracket
        return self.brackets[-1]

    def max_notional_for_leverage(self, leverage: int) -> Decimal:
        """Largest position notional Binance allows at ``leverage`` (the highest eligible cap)."""
        eligible = [b.notional_cap_usdt for b in self.brackets if b.initial_leverage >= leverage]
        return max(eligible) if eligible else D(0)


def _brackets(rows: list[tuple[int, int, float, int]]) -> tuple[Bracket, ...]:
    """Build brackets from (floor, cap, maint ratio, max leverage); cum as Binance defines it."""
    out: list[Bracket] = []
    cum = D(0)
    prev_ratio = D(0)
    for index, (floor, cap, ratio, leverage) in enumerate(rows, start=1):
        ratio_d = D(str(ratio))
        cum = cum + D(floor) * (ratio_d - prev_ratio)
        prev_ratio = ratio_d
        out.append(
            Bracket(
                bracket=index,
                initial_leverage=leverage,
                notional_floor_usdt=D(floor),
                notional_cap_usdt=D(cap),
                maint_margin_ratio=ratio_d,
                cum_usdt=cum,
            )
        )
    return tuple(out)


_BTC_BRACKETS = _brackets(
    [
        (0, 300_000, 0.004, 150),
        (300_000, 800_000, 0.005, 100),
        (800_000, 3_000_000, 0.0065, 75),
        (3_000_000, 12_000_000, 0.01, 50),
        (12_000_000, 70_000_000, 0.02, 25),
        (70_000_000, 100_000_000, 0.025, 20),
        (100_000_000, 230_000_000, 0.05, 10),
        (230_000_000, 480_000_000, 0.1, 5),
        (480_000_000, 600_000_000, 0.125, 4),
        (600_000_000, 800_000_000, 0.15, 3),
        (800_000_000, 1_200_000_000, 0.25, 2),
        (1_200_000_000, 1_800_000_000, 0.5, 1),
    ]
)
_ETH_BRACKETS = _brackets(
    [
        (0, 300_000, 0.004, 150),
        (300_000, 800_000, 0.005, 100),
        (800_000, 3_000_000, 0.0065, 75),
        (3_000_000, 12_000_000, 0.01, 50),
        (12_000_000, 50_000_000, 0.02, 25),
        (50_000_000, 65_000_000, 0.025, 20),
        (65_000_000, 150_000_000, 0.05, 10),
        (150_000_000, 320_000_000, 0.1, 5),
        (320_000_000, 400_000_000, 0.125, 4),
        (400_000_000, 530_000_000, 0.15, 3),
        (530_000_000, 800_000_000, 0.25, 2),
        (800_000_000, 1_200_000_000, 0.5, 1),
    ]
)
_SOL_BRACKETS = _brackets(
    [
        (0, 50_000, 0.005, 100),
        (50_000, 400_000, 0.0065, 75),
        (400_000, 1_000_000, 0.01, 50),
        (1_000_000, 4_000_000, 0.02, 25),
        (4_000_000, 8_000_000, 0.025, 20),
        (8_000_000, 40_000_000, 0.05, 10),
        (40_000_000, 80_000_000, 0.1, 5),
        (80_000_000, 100_000_000, 0.125, 4),
        (100_000_000, 200_000_000, 0.25, 2),
        (200_000_000, 400_000_000, 0.5, 1),
    ]
)
_XRP_BRACKETS = _brackets(
    [
        (0, 40_000, 0.005, 100),
        (40_000, 80_000, 0.006, 75),
        (80_000, 150_000, 0.01, 50),
        (150_000, 400_000, 0.0125, 40),
        (400_000, 1_000_000, 0.02, 25),
        (1_000_000, 2_000_000, 0.025, 20),
        (2_000_000, 10_000_000, 0.05, 10),
        (10_000_000, 20_000_000, 0.1, 5),
        (20_000_000, 25_000_000, 0.125, 4),
        (25_000_000, 50_000_000, 0.25, 2),
        (50_000_000, 100_000_000, 0.5, 1),
    ]
)
_DOGE_BRACKETS = _brackets(
    [
        (0, 80_000, 0.0065, 75),
        (80_000, 150_000, 0.01, 50),
        (150_000, 750_000, 0.0125, 40),
        (750_000, 2_000_000, 0.02, 25),
        (2_000_000, 4_000_000, 0.025, 20),
        (4_000_000, 20_000_000, 0.05, 10),
        (20_000_000, 40_000_000, 0.1, 5),
        (40_000_000, 50_000_000, 0.125, 4),
        (50_000_000, 100_000_000, 0.25, 2),
        (100_000_000, 200_000_000, 0.5, 1),
    ]
)
# Symbols outside the table: a typical small-cap schedule (max 50x).
_GENERIC_BRACKETS = _brackets(
    [
        (0, 5_000, 0.01, 50),
        (5_000, 25_000, 0.025, 20),
        (25_000, 100_000, 0.05, 10),
        (100_000, 250_000, 0.1, 5),
        (250_000, 1_000_000, 0.125, 2),
        (1_000_000, 5_000_000, 0.5, 1),
    ]
)


def _spec(
    symbol: str,
    base: str,
    *,
    tick: str,
    min_price: str,
    max_price: str,
    step: str,
    min_qty: str,
    max_qty: str,
    market_max_qty: str,
    min_notional: str,
    price_precision: int,
    quantity_precision: int,
    liquidation_fee: str,
    onboard_date_ms: int,
    brackets: tuple[Bracket, ...],
) -> SymbolSpec:
    return SymbolSpec(
        symbol=symbol,
        base=base,
        quote="USDT",
        tick_size=D(tick),
        min_price=D(min_price),
        max_price=D(max_price),
        step_size=D(step),
        min_qty=D(min_qty),
        max_qty=D(max_qty),
        market_max_qty=D(market_max_qty),
        min_notional_usdt=D(min_notional),
        price_precision=price_precision,
        quantity_precision=quantity_precision,
        multiplier_up=D("1.0500"),
        multiplier_down=D("0.9500"),
        liquidation_fee=D(liquidation_fee),
        market_take_bound=D("0.05"),
        onboard_date_ms=onboard_date_ms,
        brackets=brackets,
    )


KNOWN_SPECS: dict[str, SymbolSpec] = {
    s.symbol: s
    for s in (
        _spec(
            "BTCUSDT",
            "BTC",
            tick="0.10",
            min_price="556.80",
            max_price="4529764",
            step="0.001",
            min_qty="0.001",
            max_qty="1000",
            market_max_qty="120",
            min_notional="100",
            price_precision=2,
            quantity_precision=3,
            liquidation_fee="0.012500",
            onboard_date_ms=1569398400000,
            brackets=_BTC_BRACKETS,
        ),
        _spec(
            "ETHUSDT",
            "ETH",
            tick="0.01",
            min_price="39.86",
            max_price="306177",
            step="0.001",
            min_qty="0.001",
            max_qty="10000",
            market_max_qty="2000",
            min_notional="20",
            price_precision=2,
            quantity_precision=3,
            liquidation_fee="0.012500",
            onboard_date_ms=1569398400000,
            brackets=_ETH_BRACKETS,
        ),
        _spec(
            "SOLUSDT",
            "SOL",
            tick="0.0100",
            min_price="0.4200",
            max_price="6857",
            step="1",
            min_qty="1",
            max_qty="1000000",
            market_max_qty="5000",
            min_notional="5",
            price_precision=4,
            quantity_precision=0,
            liquidation_fee="0.015000",
            onboard_date_ms=1569398400000,
            brackets=_SOL_BRACKETS,
        ),
        _spec(
            "XRPUSDT",
            "XRP",
            tick="0.0001",
            min_price="0.0143",
            max_price="100000",
            step="0.1",
            min_qty="0.1",
            max_qty="10000000",
            market_max_qty="2000000",
            min_notional="5",
            price_precision=4,
            quantity_precision=1,
            liquidation_fee="0.015000",
            onboard_date_ms=1569398400000,
            brackets=_XRP_BRACKETS,
        ),
        _spec(
            "DOGEUSDT",
            "DOGE",
            tick="0.000010",
            min_price="0.002440",
            max_price="30",
            step="1",
            min_qty="1",
            max_qty="50000000",
            market_max_qty="30000000",
            min_notional="5",
            price_precision=6,
            quantity_precision=0,
            liquidation_fee="0.015000",
            onboard_date_ms=1569398400000,
            brackets=_DOGE_BRACKETS,
        ),
    )
}


def _pow10(exponent: int) -> Decimal:
    return D(1).scaleb(exponent)


def derive_spec(symbol: str, base: str, reference_price: float) -> SymbolSpec:
    """Rules for a symbol Binance's table above does not cover, derived from its price.

    tick = 10^(floor(log10 p) - 4) (five significant digits, like most Binance alts);
    step = 10^floor(log10(10 / p)) capped to [0.001, 1] (one step is worth 1-10 USDT);
    min notional 5 USDT, PERCENT_PRICE ±5 %, the generic 50x bracket schedule.
    """
    if not math.isfinite(reference_price) or reference_price <= 0:
        raise ValueError(f"{symbol}: cannot derive filters from price {reference_price!r}")
    tick_exp = math.floor(math.log10(reference_price)) - 4
    step_exp = min(0, max(-3, math.floor(math.log10(10.0 / reference_price))))
    tick = _pow10(tick_exp)
    step = _pow10(step_exp)
    max_qty = _pow10(max(0, math.ceil(math.log10(1e7 / reference_price))))
    return SymbolSpec(
        symbol=symbol,
        base=base,
        quote="USDT",
        tick_size=tick,
        min_price=tick,
        max_price=D(str(round(reference_price * 1000, 0))).quantize(D(1)),
        step_size=step,
        min_qty=step,
        max_qty=max_qty,
        market_max_qty=max_qty / 10 if max_qty >= 10 else max_qty,
        min_notional_usdt=D(5),
        price_precision=max(0, -tick_exp),
        quantity_precision=max(0, -step_exp),
        multiplier_up=D("1.0500"),
        multiplier_down=D("0.9500"),
        liquidation_fee=D("0.015000"),
        market_take_bound=D("0.05"),
        onboard_date_ms=1569398400000,
        brackets=_GENERIC_BRACKETS,
    )


def spec_for(symbol: str, base: str, reference_price: float) -> SymbolSpec:
    """Binance's published rules when known, else rules derived from the price."""
    known = KNOWN_SPECS.get(symbol)
    return known if known is not None else derive_spec(symbol, base, reference_price)

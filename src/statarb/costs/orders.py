"""Order types and prices: taker (market) or maker-first (a limit at the touch, then across).

Maker-first is FreqTrade's own machinery: `order_types` entry/exit "limit" with
`entry_pricing`/`exit_pricing` `price_side: "same"` places the order at the touch (the bid for a
buy). Live, an order still unfilled after `maker_timeout_s` is cancelled by the strategy's
`check_entry_timeout` / `check_exit_timeout` (FreqTrade asks every loop): a leg left without its
twin gets the twin at market from the hedging plan, and an exit goes on as FreqTrade's emergency
exit (market, `unfilledtimeout.exit_timeout_count` 1). A backtest, one moment per candle,
re-prices the order across the book at the next candle instead (`adjust_*_price`). Exits that
must not wait (a z stop, a lone leg, a failed hedge, a person's force-exit) cross at once.

The fee a fill pays is the exchange's maker rate when it rested and its taker rate when it
crossed. FreqTrade's backtest charges ONE rate on every fill (the config's `fee`, else the worse
of maker and taker), so a maker-first backtest's fills are re-priced by their role in the
spread accounting (statarb.backtest.spreads).

Backtests see candles, not a book. A resting limit is modelled one tick THROUGH the signal
close (a buy one tick below it): FreqTrade fills a backtest limit when the candle's range
reaches its price, so the price must trade past the last close for the order to fill, as a
resting order at the touch needs a seller to come down to it. Live, a leg never waits alone
longer than `maker_timeout_s` plus its hedging budget (seconds); a backtest moves one candle at
a time, so a leg left resting would sit naked for a whole candle. A backtest therefore decides
both legs' fate on the fill candle with FreqTrade's own fill rule (`backtest_leg_fill`): a leg
the candle reaches rests (maker); a leg whose twin rests but which the candle does not reach
crosses at the candle's open (taker: the live bot crosses it within seconds); when neither is
reached, an entry opens no spread (live cancels both after the timeout) and an exit crosses
both (live: FreqTrade's emergency exits). Both legs open on one candle and close on one candle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

# Exits that wait at the touch; every other exit (stops, lone legs, hedging) crosses at once.
PATIENT_EXIT_REASONS = frozenset({"z_reverted"})
DEFAULT_MAKER_TIMEOUT_S = 20
# How far past the opposite touch an order that must fill now (a stop, a lone leg, a maker order
# that waited out) may cross: FreqTrade sends such exits as limits in maker-first mode.
DEFAULT_CROSSING_SLIPPAGE_BPS = 10.0


def is_maker_first(order_types: Mapping[str, str]) -> bool:
    """Maker-first when FreqTrade's entry orders are limit orders."""
    return str(order_types.get("entry", "market")).lower() == "limit"


@dataclass(frozen=True)
class FeeRates:
    """Fee per fill as a fraction of its notional: resting (maker) and crossing (taker)."""

    maker: float
    taker: float

    def __post_init__(self) -> None:
        for name, rate in (("maker", self.maker), ("taker", self.taker)):
            if not (math.isfinite(rate) and 0 <= rate < 0.01):
                raise ValueError(f"{name} fee {rate!r} must be in [0, 0.01) per fill")


# Binance USDT-M futures, regular tier: ccxt's `binance().fees["linear"]["trading"]`, which is
# also what FreqTrade reads from the local exchange's markets.
BINANCE_USDM_FEES = FeeRates(maker=0.0002, taker=0.0005)


def expected_fee_rate(
    *,
    override: float | None,
    config_fee: float | None,
    maker_rate: float | None,
    taker_rate: float | None,
    maker_first: bool,
) -> float:
    """The fee rate per fill the round-trip cost should assume.

    Maker-first orders are planned to rest, so the maker rate (the fallbacks that cross pay
    taker: the margin covers them). Otherwise the config's `fee` when given (`config_fee`:
    FreqTrade honours it in dry runs and backtests only, so pass None live), else taker.
    """
    if override is not None:
        return override
    if maker_first and maker_rate is not None and math.isfinite(maker_rate):
        return maker_rate
    if config_fee is not None:
        return config_fee
    if taker_rate is not None and math.isfinite(taker_rate):
        return taker_rate
    known = [r for r in (maker_rate,) if r is not None and math.isfinite(r)]
    if not known:
        raise ValueError("no fee rate known: set statarb.fee_rate or the config's fee")
    return known[0]


def resting_price_backtest(signal_close: float, *, buy: bool, tick: float) -> float:
    """A limit at the touch in a backtest: one tick through the signal candle's close.

    Decimal arithmetic, so the price is the grid value itself (0.5834 - 0.0001 is 0.5833, not
    0.58329999...), and comparing it with a candle's low or high is exact.
    """
    if not (math.isfinite(signal_close) and signal_close > 0):
        raise ValueError(f"signal close {signal_close!r} is not a price")
    if not (math.isfinite(tick) and tick > 0):
        return signal_close
    close, step = Decimal(repr(signal_close)), Decimal(repr(tick))
    return float(close - step if buy else close + step)


def limit_reached(price: float, *, buy: bool, low: float, high: float) -> bool:
    """FreqTrade's backtest fill rule for a limit placed at a candle's open: filled when the
    candle's range reaches it. A buy above the high is lowered to the high (it fills), so a buy
    fills unless the candle stayed above it; a sell fills unless the candle stayed below it."""
    return price >= low if buy else price <= high


class BacktestFill(StrEnum):
    REST = "rest"  # the limit waits at the touch; the candle trades through it (maker)
    CROSS = "cross"  # crosses the book at the candle's open (taker)
    NO_SPREAD = "no_spread"  # an entry neither leg's limit would fill: no spread, as live


def backtest_leg_fill(reached: bool, twin_reached: bool, *, entering: bool) -> BacktestFill:
    """One leg's fate on a maker-first backtest's fill candle, decided with its twin's.

    The live bot never leaves a leg alone longer than its maker timeout and hedging budget
    (seconds), so a backtest (one moment per candle) must fill both legs on the same candle:
    - both limits reached: both rest;
    - only the twin's: this leg crosses at once, as the live hedging plan (entry) or
      FreqTrade's emergency exit (exit) sends it after the timeout;
    - neither: an entry opens no spread (live cancels both unfilled orders), an exit crosses
      both legs (emergency exits).
    """
    if reached:
        return BacktestFill.REST
    if twin_reached:
        return BacktestFill.CROSS
    return BacktestFill.NO_SPREAD if entering else BacktestFill.CROSS


def maker_waited_out(placed_at: datetime, now: datetime, timeout_s: float) -> bool:
    """True once a resting order has had its chance at the touch."""
    return (now - placed_at).total_seconds() >= timeout_s


def crossing_price(
    *,
    buy: bool,
    best_bid: float | None,
    best_ask: float | None,
    max_slippage_bps: float = 0.0,
) -> float | None:
    """A marketable limit: the opposite touch moved `max_slippage_bps` further. None without a
    book.

    A limit exactly AT the opposite touch misses whenever the book moves away between reading
    it and the order arriving (a lone leg's exit then rests, naked, until its timeout). With the
    allowance it fills like a market order — at the book's prices, not at the limit — yet never
    worse than the touch by more than the allowance.
    """
    touch = best_ask if buy else best_bid
    if touch is None or not math.isfinite(touch) or touch <= 0:
        return None
    return through_touch(float(touch), buy=buy, max_slippage_bps=max_slippage_bps)


def through_touch(price: float, *, buy: bool, max_slippage_bps: float) -> float:
    """`price` moved `max_slippage_bps` in the crossing direction (up for a buy)."""
    if not (math.isfinite(max_slippage_bps) and 0 <= max_slippage_bps < 10_000):
        raise ValueError(f"slippage allowance {max_slippage_bps!r} bps is not in [0, 10000)")
    allowance = max_slippage_bps / 10_000
    return price * (1 + allowance) if buy else price * (1 - allowance)


HEDGING_ORDER_TAGS = frozenset({"hedge_top_up", "hedge_reduce"})  # ft.live adjust_trade_position


def order_is_urgent(
    *, order_type: str | None, order_tag: str | None, exiting: bool, twin_closed: bool
) -> bool:
    """An order sent to fill now (a market order, a hedging order, an exit that does not wait
    in the queue): what of it rests after the hedging wait is cancelled and re-sent, never
    left at the book until the maker timeout (docs/design.md, "The hedging budget")."""
    if (order_type or "").lower() == "market" or order_tag in HEDGING_ORDER_TAGS:
        return True
    return exiting and not exit_waits(order_tag, twin_closed=twin_closed)


def exit_waits(exit_reason: str | None, *, twin_closed: bool = False) -> bool:
    """Does this exit rest at the touch first (True) or cross at once (False)?

    A leg whose twin has already closed never waits, whatever the spread's reason: it is
    naked until it is out.
    """
    return exit_reason in PATIENT_EXIT_REASONS and not twin_closed


# FreqTrade config sections of the two order modes (the one definition; config.json and the
# offline backtest's --order-mode use them). Forced and emergency orders are always market.
ORDER_MODES = ("taker", "maker_first")
_ALWAYS_MARKET = {
    "emergency_exit": "market",
    "force_entry": "market",
    "force_exit": "market",
    "stoploss": "market",
    "stoploss_on_exchange": False,
}


def order_mode_config(mode: str) -> dict[str, object]:
    """`order_types` and the pricing sides of an order mode, as FreqTrade config keys."""
    if mode not in ORDER_MODES:
        raise ValueError(f"order mode {mode!r} is not one of {', '.join(ORDER_MODES)}")
    kind, side = ("limit", "same") if mode == "maker_first" else ("market", "other")
    return {
        "order_types": {"entry": kind, "exit": kind, **_ALWAYS_MARKET},
        "price_side": side,
    }


def order_settings_problems(
    config: Mapping[str, object], maker_timeout_s: float, *, backtest_candle_s: float | None = None
) -> list[str]:
    """What makes a maker-first configuration unsafe or pointless (empty for taker orders).

    - the pricing side must be "same": "other" prices a limit at the opposite touch, a taker
      fill at a maker's patience;
    - `unfilledtimeout` must outlast `maker_timeout_s`: otherwise FreqTrade cancels a resting
      order before the strategy can cross with it, and a leg fills while its twin is cancelled.
      A backtest re-prices once per candle, so there it must outlast one candle
      (`backtest_candle_s`); scripts/backtest_offline.py sets that.
    """
    order_types = config.get("order_types") or {}
    if not isinstance(order_types, Mapping) or not is_maker_first(order_types):
        return []
    problems = []
    for section in ("entry_pricing", "exit_pricing"):
        pricing = config.get(section) or {}
        side = pricing.get("price_side") if isinstance(pricing, Mapping) else None
        if side != "same":
            problems.append(f"{section}.price_side is {side!r}: maker-first orders need 'same'")
    if str(order_types.get("exit", "")).lower() != "limit":
        problems.append("order_types.exit must be 'limit' too: maker-first is both ways")
    timeouts = config.get("unfilledtimeout") or {}
    if isinstance(timeouts, Mapping) and not backtest_candle_s:
        count = timeouts.get("exit_timeout_count", 0)
        if not isinstance(count, int) or count < 1:
            problems.append(
                f"unfilledtimeout.exit_timeout_count is {count!r}: maker-first needs 1 (a resting "
                "exit that timed out goes as FreqTrade's emergency exit, at market) instead of "
                "waiting at the touch again"
            )
    if isinstance(timeouts, Mapping):
        unit = 1.0 if timeouts.get("unit", "minutes") == "seconds" else 60.0
        for side in ("entry", "exit"):
            value = timeouts.get(side)
            seconds = float(value) * unit if isinstance(value, int | float) else math.inf
            if seconds <= maker_timeout_s:
                problems.append(
                    f"unfilledtimeout.{side} ({seconds:g} s) must exceed statarb.maker_timeout_s "
                    f"({maker_timeout_s:g} s), or FreqTrade cancels a resting order before it "
                    "crosses the book"
                )
            elif backtest_candle_s is not None and seconds <= backtest_candle_s:
                problems.append(
                    f"unfilledtimeout.{side} ({seconds:g} s) must exceed one candle "
                    f"({backtest_candle_s:g} s) in a backtest, which re-prices once per candle "
                    "(scripts/backtest_offline.py sets it)"
                )
    return problems

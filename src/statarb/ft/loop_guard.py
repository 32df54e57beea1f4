"""Keeps one bad answer from the exchange from stopping FreqTrade's loop.

FreqTrade 2026.9's worker (`Worker._process_running`) survives a `TemporaryError` (it retries
the loop) and stops trading on an `OperationalException`; anything else ends
`freqtrade trade`, holding whatever is open, its exits and stops unwatched. What can raise
where, in one loop (`FreqtradeBot.process`):

- `bot_loop_start`, `custom_exit`, the timeout checks, `adjust_trade_position`,
  `custom_entry_price` / `custom_exit_price`, `adjust_order_price`,
  `confirm_trade_*`, `custom_stake_amount`, `order_filled`: called through FreqTrade's
  `strategy_safe_wrapper`, which catches everything (a traceback, then a default);
- exits, position adjustments and entries (`exit_positions`, `process_open_trade_positions`,
  `enter_positions`) read their prices inside `except DependencyException` (PricingError,
  ExchangeError, TemporaryError are all one);
- `manage_open_orders` -> `replace_order`, the re-pricing of a resting order once a new candle
  closed: it reads the book (`exchange.get_rate`, refresh) OUTSIDE any `try`. One garbage
  order-book answer there (an empty book: `PricingError`) stopped the bot with four open
  trades (issue 16). This module wraps that one call.

The order-book answers themselves are checked in `statarb.live.book_reads` (garbage becomes a
`TemporaryError` FreqTrade retries); the strategy's own book reads (`statarb.ft.costs` `_crossing`)
fall back and say so.
"""

from __future__ import annotations

import logging
from typing import Any

from freqtrade.exceptions import DependencyException

from statarb.safety.log import Category, log

logger = logging.getLogger(__name__)


def guard_replace_order(bot: Any) -> None:
    """Wrap `bot.replace_order` so a failure keeps the working order as it is this loop.

    Keeping it is always safe: FreqTrade checks the order's timeouts (FreqTrade's and the
    strategy's maker timeout) BEFORE it asks to re-price it, every loop, so a kept order still
    ends on time; the re-price is simply tried again next loop. A price that could not be read
    (FreqTrade's `DependencyException`) is an `[EXECUTION]` line; anything else is unexpected
    and a `[SAFETY]` line. Idempotent.
    """
    original = bot.replace_order
    if getattr(original, "_statarb_guarded", False):
        return

    def replace_order(order: Any, order_obj: Any, trade: Any) -> None:
        try:
            original(order, order_obj, trade)
        except Exception as exc:
            expected = isinstance(exc, DependencyException)
            log(
                logger,
                Category.EXECUTION if expected else Category.SAFETY,
                trade.enter_tag,
                "re-pricing failed: keeping the working order this loop, retrying next loop",
                pair=trade.pair,
                side=order_obj.ft_order_side,
                order_id=order_obj.order_id,
                error=f"{type(exc).__name__}: {exc}"[:200],
            )

    replace_order._statarb_guarded = True  # type: ignore[attr-defined]
    bot.replace_order = replace_order

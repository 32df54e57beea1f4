"""Order-book answers checked before anyone prices an order from them.

A garbage answer to `GET /fapi/v1/depth` (a broken proxy, a half-written body) is not an error
for ccxt: it parses a truncated or empty document as an empty book, and some shapes
(`{"bids": 5}`) make its parser raise a bare `TypeError`. FreqTrade then fails in ways its
worker does not survive: an empty book is a `PricingError` (stops `freqtrade trade` when it
comes from re-pricing a resting order), a `TypeError` escapes every `except` of its loop.

This guard wraps `fetch_l2_order_book` (the only book read FreqTrade and the strategy make) on
FreqTrade's own ccxt object: a book without a usable top on both sides, or one ccxt could not
parse, becomes `ccxt.BadResponse`. FreqTrade maps that to its `TemporaryError`, retries the
request at once (its `retrier`: a single bad answer heals itself) and otherwise treats it like
any unreachable price (`DependencyException`: skip this trade this loop). A real USDT-M
perpetual always has both sides; an answer without them cannot price an order anyway.
"""

from __future__ import annotations

import math
from typing import Any

import ccxt


def book_problem(book: Any) -> str | None:
    """Why this parsed order book cannot price an order; None when it can."""
    if not isinstance(book, dict):
        return f"not a book: {type(book).__name__}"
    for side in ("bids", "asks"):
        levels = book.get(side)
        if not isinstance(levels, list) or not levels:
            return f"no {side}"
        for level in levels:
            if not isinstance(level, list | tuple) or len(level) < 2:
                return f"{side} level {level!r} is not [price, amount]"
            price, amount = level[0], level[1]
            if not _positive(price) or not (_positive(amount) or amount == 0):
                return f"{side} level {level!r} has no price or amount"
    return None


def _positive(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def install_book_read_guard(api: Any) -> None:
    """Wrap `api.fetch_l2_order_book` (a ccxt exchange object); idempotent."""
    if getattr(api, "_statarb_book_guarded", False):
        return
    original = api.fetch_l2_order_book

    def fetch_l2_order_book(
        symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        try:
            book = original(symbol, limit, params or {})
        except ccxt.BaseError:
            raise  # FreqTrade classifies ccxt's own errors
        except Exception as exc:  # ccxt's parser choked on the answer
            raise ccxt.BadResponse(
                f"order book of {symbol} unreadable: {type(exc).__name__}: {exc}"
            ) from exc
        problem = book_problem(book)
        if problem is not None:
            raise ccxt.BadResponse(f"order book of {symbol} unusable: {problem}")
        return book

    api.fetch_l2_order_book = fetch_l2_order_book
    api._statarb_book_guarded = True

"""`--flatten-orphans`: close orphaned positions with reduce-only market orders, never twice.

Only on explicit request. Each order carries a deterministic client order id (purpose FLATTEN):
the orphan's spread and leg when a bot order explains it, otherwise the symbol and the minute
the position last changed. Before sending, the exchange is asked for that id: an order that
exists and still works is left alone, a finished one moves to the next attempt number, so a
recovery killed mid-flatten and run again never sends a second close for the same position.
A reduce-only order cannot open or grow a position even if something else closed it first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ccxt

from statarb.recovery import binance_parse as parse
from statarb.recovery.exchange_reader import ExchangeReader, ExchangeReadError, binance_code
from statarb.recovery.findings import Finding, FindingKind
from statarb.recovery.snapshots import ExchangeOrder, ExchangePosition
from statarb.safety.log import Category, log
from statarb.spread.client_ids import Leg, OrderIntent, Purpose, parse_client_order_id

MAX_ATTEMPTS = 5
WORKING = ("NEW", "PARTIALLY_FILLED")
ORDER_NOT_FOUND = -2013


@dataclass(frozen=True)
class FlattenAction:
    symbol: str
    side: str  # the closing order's side
    qty_base: float
    client_order_id: str
    status: str  # "sent", "already working", "failed", "attempts exhausted", "skipped"
    order_id: str | None = None
    filled_base: float | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def flatten_intent(pos: ExchangePosition, origin_client_order_id: str | None) -> OrderIntent:
    """The id family of this orphan's close: its spread's, or the symbol's and last change's."""
    parsed = parse_client_order_id(origin_client_order_id or "")
    if parsed is not None:
        return OrderIntent(
            str(parsed["pair_id"]),
            parsed["spread_opened_at"],  # type: ignore[arg-type]
            parsed["leg"],  # type: ignore[arg-type]
            Purpose.FLATTEN,
        )
    minute = pos.update_time_ms // 60_000 * 60
    return OrderIntent(
        pos.exchange_symbol, datetime.fromtimestamp(minute, tz=UTC), Leg.A, Purpose.FLATTEN
    )


def quantity_text(qty: float) -> str:
    """Binance's decimal quantity (no exponent): the position amount as the exchange gave it."""
    return format(Decimal(repr(abs(qty))).normalize(), "f")


def flatten_orphans(
    reader: ExchangeReader,
    orphans: Sequence[Finding],
    positions: Sequence[ExchangePosition],
    logger: logging.Logger,
) -> list[FlattenAction]:
    by_symbol = {p.symbol: p for p in positions}
    actions = []
    for finding in orphans:
        if finding.kind is not FindingKind.ORPHANED_POSITION or finding.symbol not in by_symbol:
            continue
        pos = by_symbol[finding.symbol]
        intent = flatten_intent(pos, finding.details.get("origin_client_order_id"))
        if finding.details.get("adopted_at_start"):
            # The strategy takes this position in as the missing leg of its spread (same
            # client order id, found on the exchange). Closing it now would leave the other
            # leg naked, and the bot would then record an order whose position is gone.
            action = FlattenAction(
                pos.symbol, "SELL" if pos.qty_base > 0 else "BUY", abs(pos.qty_base),
                intent.client_order_id, "skipped",
                detail="adopted by the strategy at start as the missing leg of spread "
                f"{finding.spread_id}: not closed",
            )  # fmt: skip
        else:
            action = _flatten_one(reader, pos, intent)
        log(
            logger,
            Category.SAFETY,
            finding.spread_id,
            f"flatten orphan: {action.status}",
            symbol=pos.symbol,
            side=action.side,
            qty=action.qty_base,
            client_order_id=action.client_order_id,
            order_id=action.order_id or "-",
        )
        actions.append(action)
    return actions


def _find(reader: ExchangeReader, pos: ExchangePosition, cid: str) -> ExchangeOrder | None:
    def query() -> Any:
        try:
            return reader.client.fapiPrivateGetOrder(
                {"symbol": pos.exchange_symbol, "origClientOrderId": cid}
            )
        except (ccxt.OrderNotFound, ccxt.ExchangeError) as exc:
            if isinstance(exc, ccxt.OrderNotFound) or binance_code(exc) == ORDER_NOT_FOUND:
                return None
            raise

    return reader.call(
        f"order {cid}",
        query,
        lambda body: None if body is None else parse.order(body, reader.symbol_of, "order"),
    )


def _flatten_one(
    reader: ExchangeReader, pos: ExchangePosition, intent: OrderIntent
) -> FlattenAction:
    side = "SELL" if pos.qty_base > 0 else "BUY"
    qty = abs(pos.qty_base)
    for _ in range(MAX_ATTEMPTS):
        cid = intent.client_order_id
        try:
            existing = _find(reader, pos, cid)
        except ExchangeReadError as exc:
            return FlattenAction(pos.symbol, side, qty, cid, "failed", detail=str(exc))
        if existing is not None and existing.status in WORKING:
            return FlattenAction(
                pos.symbol, side, qty, cid, "already working", existing.order_id,
                existing.filled_base, f"status {existing.status}",
            )  # fmt: skip
        if existing is None:
            return _send(reader, pos, side, qty, cid)
        intent = intent.next_attempt()
    return FlattenAction(
        pos.symbol, side, qty, intent.client_order_id, "attempts exhausted",
        detail=f"{MAX_ATTEMPTS} earlier flatten orders finished without closing the position",
    )  # fmt: skip


def _send(
    reader: ExchangeReader, pos: ExchangePosition, side: str, qty: float, cid: str
) -> FlattenAction:
    params = {
        "symbol": pos.exchange_symbol,
        "side": side,
        "type": "MARKET",
        "quantity": quantity_text(qty),
        "reduceOnly": "true",
        "newClientOrderId": cid,
    }
    try:
        body = reader.client.fapiPrivatePostOrder(params)
        order = parse.order(body, reader.symbol_of, "order")
    except (ccxt.BaseError, parse.GarbageResponseError, OSError) as exc:
        # Sent or not, the id is deterministic: the next run finds it and does not resend.
        return FlattenAction(
            pos.symbol, side, qty, cid, "failed",
            detail=f"{type(exc).__name__}: {exc}; re-run to check by client order id",
        )  # fmt: skip
    # A market order usually fills at once: report how far it got (best effort).
    with contextlib.suppress(ExchangeReadError):
        order = _find(reader, pos, cid) or order
    return FlattenAction(
        pos.symbol, side, qty, cid, "sent", order.order_id, order.filled_base,
        f"status {order.status}",
    )  # fmt: skip

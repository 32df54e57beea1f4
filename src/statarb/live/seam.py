"""The one place orders leave the bot: FreqTrade's ccxt `create_order`, wrapped.

FreqTrade sends no client order id and ccxt invents a random one per request, so a retried
request becomes a second order and a crash forgets what was sent. FreqTrade offers no hook for
the order parameters, so this seam replaces the `create_order` method of FreqTrade's own
(synchronous) ccxt object — every FreqTrade order path (entries, exits, position adjustments,
force entries/exits from the REST API) goes through it — and routes each request through the
OrderGuard with the deterministic client order id of the intent the strategy registered just
before (in confirm_trade_entry / confirm_trade_exit / adjust_trade_position).

An order that ADDS to a leg without an announced intent is refused (FreqTrade would otherwise
add to an open leg on a REST force-entry and break the hedge). A reduce-only order nobody
announced (FreqTrade's own emergency paths) still gets a stable id derived from its symbol, side
and a 10-second bucket, so an immediate retry is recognised too.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import ccxt

from statarb.execution.errors import NotSentError
from statarb.execution.guard import OrderGuard, UnresolvedOrderError
from statarb.execution.journal import IntentRecord
from statarb.safety.log import Category, log

logger = logging.getLogger(__name__)

INTENT_TTL_MS = 15_000


@dataclass(frozen=True)
class PendingIntent:
    record: IntentRecord
    expires_ms: int


@dataclass(frozen=True)
class CompanionOrder:
    """A spread's other leg, sent in the same request as the leg it accompanies: the time
    between two legs is unhedged exposure (docs/design.md, "Both legs in one request").
    FreqTrade's own send of this leg, a moment later, is handed the order already placed."""

    record: IntentRecord
    order_type: str
    price: float | None
    leverage: float


class IntentRegistry:
    """Intents announced by the strategy, taken by the seam when FreqTrade sends the order."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms
        self._pending: dict[str, list[PendingIntent]] = {}
        self._companions: dict[str, CompanionOrder] = {}
        self._lock = threading.Lock()

    def announce(self, record: IntentRecord, companion: CompanionOrder | None = None) -> None:
        """`companion`: the other leg, to go out in the same request as this one."""
        with self._lock:
            if companion is not None:
                self._companions[record.client_order_id] = companion
            else:
                self._companions.pop(record.client_order_id, None)
            queue = [
                p
                for p in self._pending.get(record.symbol, [])
                if p.record.client_order_id != record.client_order_id
            ]
            queue.append(PendingIntent(record, self._now_ms() + INTENT_TTL_MS))
            self._pending[record.symbol] = queue

    def take(self, symbol: str, side: str, reduce_only: bool) -> IntentRecord | None:
        now = self._now_ms()
        with self._lock:
            queue = [p for p in self._pending.get(symbol, []) if p.expires_ms > now]
            for index, pending in enumerate(queue):
                if pending.record.side == side and pending.record.reduce_only == reduce_only:
                    del queue[index]
                    self._pending[symbol] = queue
                    return pending.record
            self._pending[symbol] = queue
        return None

    def take_companion(self, client_order_id: str) -> CompanionOrder | None:
        with self._lock:
            return self._companions.pop(client_order_id, None)


def unregistered_client_id(symbol: str, side: str, reduce_only: bool, now_ms: int) -> str:
    coin = re.sub(r"[^A-Za-z0-9]", "", symbol.split("/", 1)[0])[:10]
    bucket = format(now_ms // 10_000, "x")
    return f"sa-u-{coin}-{side[0]}{'r' if reduce_only else 'o'}-{bucket}"[:36]


def intent_for_order(
    registry: IntentRegistry,
    symbol: str,
    side: str,
    amount: float,
    reduce_only: bool,
    now: int,
    *,
    refuse: Callable[[str], Exception],
) -> IntentRecord:
    """The intent an order leaving the bot goes out under (live and dry-run alike).

    Every order that ADDS to a leg is announced by the strategy (entry, twin, top-up). An
    unannounced one is FreqTrade adding to an open leg on its own — e.g. a REST force-entry
    on a pair already in a spread — and would break the hedge: refused with `refuse(message)`.
    Reduce-only orders only ever lower the risk and pass, under a stable derived id.
    """
    record = registry.take(symbol, side, reduce_only)
    if record is None and not reduce_only:
        log(
            logger,
            Category.SAFETY,
            None,
            "order to add to a leg not initiated by the strategy: refused",
            symbol=symbol,
            side=side,
            qty=amount,
        )
        raise refuse(
            f"refused by the spread guard: an unannounced {side} order on {symbol} would "
            "change a hedged spread (only the strategy adds to legs)"
        )
    if record is not None:
        return replace(record, qty_base=amount, created_ms=now)
    log(
        logger,
        Category.EXECUTION,
        None,
        "order without a registered intent",
        symbol=symbol,
        side=side,
        qty=amount,
        reduce_only=reduce_only,
    )
    return IntentRecord(
        client_order_id=unregistered_client_id(symbol, side, reduce_only, now),
        symbol=symbol,
        side=side,
        qty_base=amount,
        reduce_only=reduce_only,
        purpose="U",
        spread="",
        leg="",
        attempt=0,
        created_ms=now,
    )


def install_guarded_create_order(
    api: Any,
    guard: OrderGuard,
    registry: IntentRegistry,
    now_ms: Callable[[], int],
    prepare: Callable[[CompanionOrder], None] | None = None,
) -> None:
    """Replace `api.create_order` (a ccxt exchange object) by the guarded version; idempotent.

    An entry announced with a companion goes out with it in one `batchOrders` request, after
    `prepare(companion)` (FreqTrade's margin mode and leverage for the companion's symbol, as
    it does before each entry); if that preparation fails, the legs go one at a time."""
    if getattr(api, "_statarb_guarded", False):
        return
    original = api.create_order

    def create_order(
        symbol: str,
        type: str,
        side: str,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        params = dict(params or {})
        reduce_only = bool(params.get("reduceOnly", False))
        record = intent_for_order(
            registry, symbol, side, float(amount), reduce_only, now_ms(), refuse=ccxt.InvalidOrder
        )

        def send(client_order_id: str) -> dict[str, Any]:
            with _refused_before_sending():
                return original(
                    symbol,
                    type,
                    side,
                    amount,
                    price,
                    {**params, "newClientOrderId": client_order_id},
                )

        companion = registry.take_companion(record.client_order_id)
        if companion is not None and not reduce_only:
            companion = _prepared(companion, prepare)

        def send_both(first_id: str, second_id: str) -> list[dict[str, Any] | Exception]:
            assert companion is not None
            twin = companion.record
            with _refused_before_sending():
                answers = api.create_orders(
                    [
                        {
                            "symbol": symbol,
                            "type": type,
                            "side": side,
                            "amount": amount,
                            "price": price,
                            "params": {**params, "newClientOrderId": first_id},
                        },
                        {
                            "symbol": twin.symbol,
                            "type": companion.order_type,
                            "side": twin.side,
                            "amount": twin.qty_base,
                            "price": companion.price,
                            "params": {**params, "newClientOrderId": second_id},
                        },
                    ]
                )
            return _by_client_id(answers, [first_id, second_id])

        try:
            if companion is not None and not reduce_only:
                return guard.place_pair(record, companion.record, send_both, send)
            return guard.place(record, send)
        except NotSentError as exc:  # settled as refused: FreqTrade gets ccxt's own error
            raise exc.error from None
        except UnresolvedOrderError as exc:
            # A network error for FreqTrade: it logs it and creates no trade; the ghost check
            # keeps asking the exchange about this id.
            raise ccxt.RequestTimeout(str(exc)) from exc
        except ccxt.BaseError:
            raise
        except Exception as exc:
            # The guard's own verdict (an answer without an order id, found absent after
            # recvWindow). FreqTrade's worker survives ccxt's errors only: anything else ends
            # `freqtrade trade` holding open trades (found by the chaos soak).
            raise ccxt.ExchangeError(str(exc)) from exc

    api.create_order = create_order
    api._statarb_guarded = True


@contextmanager
def _refused_before_sending() -> Iterator[None]:
    """A ccxt error raised before any request left (ccxt's own checks: an amount below the
    symbol's precision, a missing argument) becomes `NotSentError`: the guard settles the intent as
    refused at once instead of asking the exchange, for seconds, about an order that cannot
    exist. Whether a request left is read from the error's own traceback (ccxt's `fetch2`
    makes every request), so another thread's requests cannot be mistaken for this one's."""
    try:
        yield
    except ccxt.BaseError as error:
        frames = traceback.walk_tb(error.__traceback__)
        if not any(frame.f_code.co_name in ("fetch2", "fetch") for frame, _ in frames):
            raise NotSentError(error) from error
        raise


def _prepared(
    companion: CompanionOrder, prepare: Callable[[CompanionOrder], None] | None
) -> CompanionOrder | None:
    """The companion, once its symbol's margin mode and leverage are set; None (the legs go
    one at a time, each prepared by FreqTrade) when that failed."""
    if prepare is None:
        return companion
    try:
        prepare(companion)
    except Exception as error:
        log(
            logger,
            Category.EXECUTION,
            companion.record.spread or None,
            "second leg's margin mode or leverage not set: the legs go one at a time",
            symbol=companion.record.symbol,
            error=str(error)[:160],
        )
        return None
    return companion


def _by_client_id(
    answers: list[dict[str, Any]], client_ids: list[str]
) -> list[dict[str, Any] | Exception]:
    """The batch's answers in the order of `client_ids`. ccxt sorts parsed orders by time, so
    a refusal (no time) moves ahead of an order: placed ones are matched by their client id,
    refusals fill the remaining places in the order they came."""
    placed = {a.get("clientOrderId"): a for a in answers if a.get("id")}
    refusals = [_order_or_refusal(a) for a in answers if not a.get("id")]
    out: list[dict[str, Any] | Exception] = []
    for cid in client_ids:
        if cid in placed:
            out.append(placed[cid])
        elif refusals:
            out.append(refusals.pop(0))
        else:
            out.append(ccxt.ExchangeError(f"batch answer without an entry for {cid}"))
    return out


def _order_or_refusal(answer: dict[str, Any]) -> dict[str, Any] | Exception:
    """One entry of a batch answer: the order, or Binance's refusal of it as an exception
    carrying Binance's JSON (its code classifies the refusal, statarb.execution.errors)."""
    if answer.get("id"):
        return answer
    info = answer.get("info") or {}
    if isinstance(info, dict) and "code" in info:
        return ccxt.ExchangeError(
            f"binance {json.dumps({'code': info['code'], 'msg': info.get('msg')})}"
        )
    return ccxt.ExchangeError(f"batch entry without an order id: {answer!r:.200}")

"""Send an order at most once per intent, even across timeouts, dropped answers and crashes.

Before sending, the intent is written to the journal under its deterministic client order id.
- If that id was already written (a retry, or a restart after a crash), the exchange is asked
  for it first; an order that exists is returned instead of being sent again.
- If the send fails without a usable answer (timeout, reset, 5xx), the order may exist: the
  exchange is polled by client id until Binance's `recvWindow` has passed since the request was
  signed — after that a delayed request can no longer be accepted — and the order is returned
  if found. Only then is it declared not placed.
- Definitive refusals (an error code from Binance) are recorded and re-raised.

Time and sleeping are injected, so the logic is tested without a clock or a network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from statarb.execution.errors import SendOutcome, classify_send_error, is_order_missing
from statarb.execution.journal import IntentJournal, IntentRecord, IntentStatus
from statarb.safety.log import Category, log

logger = logging.getLogger(__name__)

# Binance rejects a signed request older than recvWindow at receipt; our configs set 5 s.
DEFAULT_RECV_WINDOW_MS = 5_000
# Clock skew and queueing margin on top of recvWindow before "absent" is believed.
SAFETY_MARGIN_MS = 1_500


class ExchangePort(Protocol):
    """The two exchange calls the guard needs (an adapter wraps ccxt)."""

    def fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        """The order with that client id, or None when the exchange says it has none."""
        ...


class UnresolvedOrderError(RuntimeError):
    """The order's fate could not be established in time; it is left PENDING for the checker."""


@dataclass
class OrderGuard:
    journal: IntentJournal
    port: ExchangePort
    now_ms: Callable[[], int]
    sleep: Callable[[float], None]
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS

    @property
    def settle_ms(self) -> int:
        """After this long since the send, an order the exchange does not know never existed."""
        return self.recv_window_ms + SAFETY_MARGIN_MS

    def place(self, intent: IntentRecord, send: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        """Send `intent` (send(client_order_id) does the request) unless it already exists."""
        cid = intent.client_order_id
        known = self.journal.get(cid)
        if known is None:
            self.journal.record(intent)
        elif known.status in (IntentStatus.NOT_PLACED, IntentStatus.REJECTED):
            # It never reached the book; this same intent may go out under the same id.
            self.journal.update(
                cid,
                status=IntentStatus.PENDING,
                now_ms=self.now_ms(),
                note="resend after not placed",
            )
        else:
            existing = self._await_existing(known)
            if existing is not None:
                log(
                    logger,
                    Category.EXECUTION,
                    known.spread or None,
                    "order already on the exchange: not sent again",
                    client_order_id=cid,
                    symbol=known.symbol,
                    status=existing.get("status"),
                )
                return existing
            settled = self.journal.get(cid)
            if (
                known.status is IntentStatus.PENDING
                and settled is not None
                and (settled.status is IntentStatus.NOT_PLACED)
            ):
                self.journal.update(
                    cid,
                    status=IntentStatus.PENDING,
                    now_ms=self.now_ms(),
                    note="resend after confirmed absent",
                )
            else:
                if known.status is not IntentStatus.PENDING:
                    self.journal.update(
                        cid,
                        status=IntentStatus.GHOST,
                        now_ms=self.now_ms(),
                        note="acknowledged earlier, unknown to the exchange now",
                    )
                raise UnresolvedOrderError(
                    f"order {cid} on {known.symbol} was sent before and its fate is not known "
                    "(exchange unreachable, or an acknowledged order it no longer knows): "
                    "not sent again"
                )
        sent_ms = self.now_ms()
        try:
            order = send(cid)
        except Exception as error:  # classify, then re-raise or resolve
            return self._after_failed_send(intent, error, sent_ms)
        if not order.get("id"):
            return self._after_failed_send(
                intent, RuntimeError(f"answer without an order id: {order!r:.200}"), sent_ms
            )
        return self._acknowledged(intent, order)

    def place_pair(
        self,
        first: IntentRecord,
        second: IntentRecord,
        send_both: Callable[[str, str], Sequence[dict[str, Any] | Exception]],
        send_first: Callable[[str], dict[str, Any]],
    ) -> dict[str, Any]:
        """Send a spread's two legs in ONE request (Binance's batchOrders), both journaled
        before it goes, so no moment exists where one leg is on the wire and the other is not
        yet decided (docs/design.md, "Both legs in one request"). Returns `first`'s order as
        `place` does (raising as it would); `second`'s outcome is journaled — acknowledged,
        refused, or pending when the answer was lost — and its own `place` later hands the
        order back instead of sending it again. An intent with any history (a retry, a
        restart) goes the usual way, one leg at a time: `place(first, send_first)`.

        `send_both(first_id, second_id)` returns one entry per order, in order: the order, or
        the exception its refusal amounts to."""
        if self.journal.get(first.client_order_id) or self.journal.get(second.client_order_id):
            return self.place(first, send_first)
        self.journal.record(first)
        self.journal.record(second)
        sent_ms = self.now_ms()
        try:
            answers = list(send_both(first.client_order_id, second.client_order_id))
            if len(answers) != 2:
                raise RuntimeError(f"batch answer with {len(answers)} entries for 2 orders")
        except Exception as error:  # no usable answer for either order
            if classify_send_error(error) is SendOutcome.REJECTED:
                self._rejected(second, error)
            else:
                self._second_unanswered(second, error)
            return self._after_failed_send(first, error, sent_ms)
        first_answer, second_answer = answers
        if isinstance(second_answer, Exception):
            if classify_send_error(second_answer) is SendOutcome.REJECTED:
                self._rejected(second, second_answer)
            else:
                self._second_unanswered(second, second_answer)
        elif not second_answer.get("id"):
            self._second_unanswered(second, RuntimeError("answer without an order id"))
        else:
            self._acknowledged(second, second_answer)
        if isinstance(first_answer, Exception):
            return self._after_failed_send(first, first_answer, sent_ms)
        if not first_answer.get("id"):
            return self._after_failed_send(
                first, RuntimeError(f"answer without an order id: {first_answer!r:.200}"), sent_ms
            )
        return self._acknowledged(first, first_answer)

    def _rejected(self, intent: IntentRecord, error: Exception) -> None:
        """Binance refused it: nothing was placed, so the same intent may go out again (a
        batch's refused second leg does, on its own turn)."""
        self.journal.update(
            intent.client_order_id,
            status=IntentStatus.REJECTED,
            now_ms=self.now_ms(),
            note=str(error)[:200],
        )
        log(
            logger,
            Category.EXECUTION,
            intent.spread or None,
            "order rejected",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            error=str(error)[:160],
        )

    def _second_unanswered(self, intent: IntentRecord, error: Exception) -> None:
        """Its fate is open: it stays pending; its own send (or the ghost check) asks the
        exchange by client id before anything is sent again."""
        log(
            logger,
            Category.EXECUTION,
            intent.spread or None,
            "no answer for the second leg of a two-leg request: its own send checks first",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            error=str(error)[:160],
        )

    def _acknowledged(self, intent: IntentRecord, order: dict[str, Any]) -> dict[str, Any]:
        self.journal.update(
            intent.client_order_id,
            status=IntentStatus.ACKNOWLEDGED,
            now_ms=self.now_ms(),
            exchange_order_id=str(order["id"]),
            filled_qty=_filled(order),
        )
        log(
            logger,
            Category.EXECUTION,
            intent.spread or None,
            "order acknowledged",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=intent.qty_base,
            order_id=order["id"],
            status=order.get("status"),
            filled=_filled(order),
        )
        return order

    def _after_failed_send(
        self, intent: IntentRecord, error: Exception, sent_ms: int
    ) -> dict[str, Any]:
        cid = intent.client_order_id
        outcome = classify_send_error(error)
        if outcome is SendOutcome.REJECTED:
            self._rejected(intent, error)
            raise error
        log(
            logger,
            Category.EXECUTION,
            intent.spread or None,
            "no answer to order: checking the exchange by client id",
            client_order_id=cid,
            symbol=intent.symbol,
            error=str(error)[:160],
            duplicate=outcome is SendOutcome.DUPLICATE,
        )
        found = self._poll_until_settled(intent, sent_ms)
        if found is not None:
            self.journal.update(
                cid,
                status=IntentStatus.ACKNOWLEDGED,
                now_ms=self.now_ms(),
                exchange_order_id=str(found.get("id")),
                filled_qty=_filled(found),
                note="found after failed send",
            )
            log(
                logger,
                Category.EXECUTION,
                intent.spread or None,
                "ghost order found on the exchange after a failed send: adopted",
                client_order_id=cid,
                symbol=intent.symbol,
                order_id=found.get("id"),
                status=found.get("status"),
                filled=_filled(found),
            )
            return found
        status = self.journal.get(cid)
        if status is not None and status.status is IntentStatus.NOT_PLACED:
            raise error
        raise UnresolvedOrderError(
            f"order {cid} on {intent.symbol}: no answer and the exchange could not be asked "
            f"in time ({error}); left pending for the ghost check"
        ) from error

    def _poll_until_settled(self, intent: IntentRecord, sent_ms: int) -> dict[str, Any] | None:
        cid = intent.client_order_id
        delay = 0.25
        while True:
            answered = False
            try:
                found = self.port.fetch_by_client_id(intent.symbol, cid)
                answered = True
            except Exception as error:  # the query itself failed: keep trying until settled
                if is_order_missing(error):
                    found, answered = None, True
                else:
                    found = None
            if found is not None and not found.get("id"):
                found, answered = None, False  # not an order: the answer says nothing
            if found is not None:
                return found
            if answered and self.now_ms() - sent_ms >= self.settle_ms:
                self.journal.update(
                    cid,
                    status=IntentStatus.NOT_PLACED,
                    now_ms=self.now_ms(),
                    note="absent after recvWindow",
                )
                return None
            if self.now_ms() - sent_ms >= 4 * self.settle_ms:
                return None  # the exchange keeps failing: leave it PENDING
            self.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _await_existing(self, known: IntentRecord) -> dict[str, Any] | None:
        """An intent sent before (maybe by a crashed process): does the exchange have it?"""
        found = self._poll_until_settled(known, max(known.created_ms, known.updated_ms))
        if found is not None:
            self.journal.update(
                known.client_order_id,
                status=IntentStatus.ACKNOWLEDGED,
                now_ms=self.now_ms(),
                exchange_order_id=str(found.get("id")),
                filled_qty=_filled(found),
                note="found before resend",
            )
        return found


def _filled(order: dict[str, Any]) -> float | None:
    value = order.get("filled")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None

"""A maker order the strategy cancels unfilled must not lend its client id to the next send.

Protects against the failure the live maker-first test found: after FreqTrade cancelled an
unfilled maker entry (and deleted its trade), the next send of that leg reused the dead order's
client id, the guard handed back the cancelled order instead of sending, and the twin was never
opened until the hedging plan gave up and flattened the spread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ccxt

from statarb.execution.journal import IntentStatus
from statarb.live.execution import LiveExecution, exchange_execution
from statarb.spread.client_ids import Purpose
from support.spread_legs import SOL_ADA_A

TAG = SOL_ADA_A


class FakeApi:
    """Just enough of ccxt's exchange object for the seam to wrap and the guard to send."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {"recvWindow": 5000}
        self.sent: list[str] = []

    def create_order(self, symbol: str, type: str, side: str, amount: float,
                     price: float | None = None, params: dict | None = None) -> dict:  # fmt: skip
        cid = (params or {})["newClientOrderId"]
        self.sent.append(cid)
        return self._order(symbol, cid)

    def fetch_order(self, order_id: str | None, symbol: str, params: dict) -> dict:
        cid = params["origClientOrderId"]
        if cid not in self.sent:
            raise ccxt.OrderNotFound(cid)
        return {**self._order(symbol, cid), "status": "canceled"}

    def _order(self, symbol: str, cid: str) -> dict:
        number = self.sent.index(cid) + 1
        return {"id": f"ex-{number}", "clientOrderId": cid, "status": "open", "filled": 0.0,
                "symbol": symbol}  # fmt: skip


def live(tmp_path: Path, known: set[str]) -> tuple[LiveExecution, FakeApi]:
    api = FakeApi()
    execution = exchange_execution(
        api,
        journal_path=tmp_path / "intents.json",
        notify=lambda line: None,
        raise_review=lambda message, spread: None,
        order_known=lambda order_id: order_id in known,
    )
    return execution, api


def send_entry(execution: LiveExecution, api: FakeApi) -> str:
    execution.announce(tag=TAG, symbol=TAG.leg_a, side="sell", reduce_only=False,
                       purpose=Purpose.ENTRY, qty_base=10.0)  # fmt: skip
    api.create_order(TAG.leg_a, "limit", "sell", 10.0, 93.5)  # the seam-wrapped method
    return api.sent[-1]


def test_a_maker_entry_cancelled_unfilled_gives_the_next_send_a_new_id(tmp_path: Path) -> None:
    execution, api = live(tmp_path, known=set())  # FreqTrade deleted the trade and its order
    first = send_entry(execution, api)
    execution.cancelled_unfilled("ex-1", "maker order timed out unfilled")
    second = send_entry(execution, api)
    assert second != first and api.sent == [first, second], api.sent
    assert execution.journal.get(first).status is IntentStatus.CANCELLED


def test_a_dead_order_without_the_cancel_mark_is_found_dead_and_not_handed_back(
    tmp_path: Path,
) -> None:
    # An order FreqTrade does not know keeps its id (the crash case: the guard must find it,
    # not send it twice) unless the exchange holds it dead with nothing filled. A cancel the
    # strategy did not make (a person's force-exit) leaves no mark; the exchange is asked.
    execution, api = live(tmp_path, known=set())
    first = send_entry(execution, api)
    execution.journal.update(first, status=IntentStatus.VERIFIED, now_ms=0)
    second = send_entry(execution, api)
    assert second != first and api.sent == [first, second], api.sent
    assert execution.journal.get(first).status is IntentStatus.CANCELLED

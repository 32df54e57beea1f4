"""An order ccxt refuses itself, before any request (an amount below the symbol's precision),
is settled as refused at once, through the order seam on the local exchange.

Protects against the hedging loop standing still: such a refusal carries no Binance answer, so
the guard took it for a lost answer and asked the exchange about an order that cannot exist
for a whole recvWindow (~6.5 s) while a leg sat unhedged, against a 30 s hedging budget.
"""

from __future__ import annotations

from pathlib import Path

import ccxt
import pytest
from tests_exchange_helpers import sync_client

from statarb.exchange.launcher import RunningExchange
from statarb.execution.journal import IntentStatus
from statarb.live.execution import LiveExecution, exchange_execution
from statarb.spread.client_ids import Purpose
from support.spread_legs import SOL_ADA_A

SOL = SOL_ADA_A.leg_a
TOO_SMALL = 1e-9  # rounds to zero at any futures lot size: ccxt refuses it locally


def seam(exchange: RunningExchange, tmp_path: Path) -> tuple[ccxt.Exchange, LiveExecution]:
    api = sync_client(exchange, "binanceusdm")
    api.load_markets()
    execution = exchange_execution(
        api,
        journal_path=tmp_path / "intents.json",
        notify=lambda line: None,
        raise_review=lambda message, spread: None,
        order_known=lambda order_id: False,
    )
    return api, execution


def announce_leg_a(execution: LiveExecution, qty: float) -> str:
    record = execution.announce(tag=SOL_ADA_A, symbol=SOL, side="sell", reduce_only=False,
                                purpose=Purpose.ENTRY, qty_base=qty)  # fmt: skip
    return record.client_order_id


def order_requests(exchange: RunningExchange) -> list[dict]:
    return [r for r in exchange.admin.request_log() if "order" in r["path"].lower()]


def test_an_order_ccxt_refuses_itself_is_settled_as_refused_without_asking_the_exchange(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    api, execution = seam(exchange, tmp_path)
    client_id = announce_leg_a(execution, TOO_SMALL)
    with pytest.raises(ccxt.InvalidOrder):  # FreqTrade gets ccxt's own refusal, as before
        api.create_order(SOL, "market", "sell", TOO_SMALL)
    record = execution.journal.get(client_id)
    assert record is not None and record.status is IntentStatus.REJECTED
    assert order_requests(exchange) == [], "nothing was sent, nothing was asked"


def test_after_a_refusal_of_its_own_the_leg_goes_out_once_with_a_valid_amount(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    api, execution = seam(exchange, tmp_path)
    refused = announce_leg_a(execution, TOO_SMALL)
    with pytest.raises(ccxt.InvalidOrder):
        api.create_order(SOL, "market", "sell", TOO_SMALL)
    again = announce_leg_a(execution, 1.0)
    order = api.create_order(SOL, "market", "sell", 1.0)
    assert order["clientOrderId"] == again
    record = execution.journal.get(refused)
    assert record is not None and record.status is IntentStatus.REJECTED
    assert [e["outcome"] for e in exchange.admin.order_log()] == ["accepted"]


def test_a_refusal_from_the_exchange_itself_is_still_told_apart_from_a_lost_answer(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    api, execution = seam(exchange, tmp_path)
    client_id = announce_leg_a(execution, 1.0)
    exchange.admin.inject_fault("reject", symbol="SOLUSDT", code=-2019)  # margin insufficient
    with pytest.raises(ccxt.BaseError):
        api.create_order(SOL, "market", "sell", 1.0)
    record = execution.journal.get(client_id)
    assert record is not None and record.status is IntentStatus.REJECTED
    assert [e["outcome"] for e in exchange.admin.order_log()] == ["rejected"]

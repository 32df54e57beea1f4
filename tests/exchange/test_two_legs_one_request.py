"""Both legs of a spread leave in ONE request (Binance's batchOrders), through the order seam
FreqTrade's ccxt object is wrapped with, against the local exchange over signed HTTP.

Protects against: the second leg going out a second after the first (unhedged exposure on
every spread), and — the price of sending it early — the second leg being sent twice when
FreqTrade's own turn for it comes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import ccxt
import pytest
from tests_exchange_helpers import sync_client

from statarb.exchange.launcher import RunningExchange
from statarb.execution.journal import IntentStatus
from statarb.live.execution import LiveExecution, exchange_execution
from statarb.live.seam import CompanionOrder
from statarb.spread.client_ids import Leg, Purpose
from statarb.spread.legs import LegTag

ETH, SOL = "ETH/USDT:USDT", "SOL/USDT:USDT"
TAG_A = LegTag(
    pair_id="ETH_SOL",
    opened_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
    leg=Leg.A,
    direction=-1,
    hedge_ratio=20.0,
    leg_a=ETH,
    leg_b=SOL,
    window=50,
    planned_qty=1.0,
)
TAG_B = TAG_A.twin(20.0)


def seam(
    exchange: RunningExchange, tmp_path: Path, *, leverage_fails: bool = False
) -> tuple[ccxt.Exchange, LiveExecution]:
    """ccxt on the local exchange, its `create_order` wrapped by the order seam."""
    api = sync_client(exchange, "binanceusdm")
    api.load_markets()
    prepared: list[str] = []

    def prepare(companion: CompanionOrder) -> None:
        if leverage_fails:
            raise ccxt.NetworkError("leverage request timed out")
        api.set_leverage(int(companion.leverage), companion.record.symbol)
        prepared.append(companion.record.symbol)

    execution = exchange_execution(
        api,
        journal_path=tmp_path / "intents.json",
        notify=lambda line: None,
        raise_review=lambda message, spread: None,
        order_known=lambda order_id: False,
        prepare=prepare,
    )
    api.prepared = prepared
    return api, execution


def send_spread(api: ccxt.Exchange, execution: LiveExecution, qty_b: float) -> dict:
    """Leg A (ETH short) announced with leg B (SOL long) as its companion, then sent as
    FreqTrade sends: one `create_order` call for leg A."""
    eth = api.fetch_ticker(ETH)["last"]
    sol = api.fetch_ticker(SOL)["last"]
    price_b = float(api.price_to_precision(SOL, sol * 0.99))
    companion = execution.companion(tag=TAG_B, symbol=SOL, side="buy", qty_base=qty_b,
                                    order_type="limit", price=price_b, leverage=3)  # fmt: skip
    execution.announce(tag=TAG_A, symbol=ETH, side="sell", reduce_only=False,
                       purpose=Purpose.ENTRY, qty_base=1.0, companion=companion)  # fmt: skip
    return api.create_order(
        ETH, "limit", "sell", 1.0, float(api.price_to_precision(ETH, eth * 1.01))
    )


def test_both_legs_arrive_in_one_request_and_the_twins_own_send_gets_it_back(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    api, execution = seam(exchange, tmp_path)
    order_a = send_spread(api, execution, 20.0)
    log = exchange.admin.order_log()
    assert [(e["symbol"], e["side"], e["outcome"]) for e in log] == [
        ("ETHUSDT", "SELL", "accepted"), ("SOLUSDT", "BUY", "accepted"),
    ]  # fmt: skip
    assert {e["endpoint"] for e in log} == {"POST /fapi/v1/batchOrders"}, "one request"
    assert api.prepared == [SOL], "the companion's leverage is set before the batch"
    orders = [
        r for r in exchange.admin.request_log() if "rder" in r["path"] and r["method"] == "POST"
    ]
    assert [r["path"] for r in orders] == ["/fapi/v1/batchOrders"]
    assert order_a["clientOrderId"] == log[0]["newClientOrderId"]
    # FreqTrade's turn for leg B, a moment later: same intent, same id, nothing sent.
    execution.announce(tag=TAG_B, symbol=SOL, side="buy", reduce_only=False,
                       purpose=Purpose.ENTRY, qty_base=20.0)  # fmt: skip
    order_b = api.create_order(SOL, "limit", "buy", 20.0, 100.0)
    assert order_b["clientOrderId"] == log[1]["newClientOrderId"]
    assert len(exchange.admin.order_log()) == 2, "the twin must not reach the exchange twice"


def test_a_twin_refused_inside_the_batch_goes_out_again_on_its_own_turn(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    api, execution = seam(exchange, tmp_path)
    exchange.admin.inject_fault("reject", symbol="SOLUSDT", code=-2019)  # margin insufficient
    send_spread(api, execution, 20.0)
    log = exchange.admin.order_log()
    assert [(e["symbol"], e["outcome"]) for e in log] == [
        ("ETHUSDT", "accepted"),
        ("SOLUSDT", "rejected"),
    ]
    (record_b,) = [r for r in execution.journal.records() if r.leg == "B"]
    assert record_b.status is IntentStatus.REJECTED
    execution.announce(tag=TAG_B, symbol=SOL, side="buy", reduce_only=False,
                       purpose=Purpose.ENTRY, qty_base=20.0)  # fmt: skip
    sol = api.fetch_ticker(SOL)["last"]
    api.create_order(SOL, "limit", "buy", 20.0, float(api.price_to_precision(SOL, sol * 0.99)))
    assert [e["outcome"] for e in exchange.admin.order_log()] == [
        "accepted",
        "rejected",
        "accepted",
    ]


def test_without_a_companion_an_entry_goes_alone_as_before(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    api, execution = seam(exchange, tmp_path)
    execution.announce(tag=TAG_A, symbol=ETH, side="sell", reduce_only=False,
                       purpose=Purpose.ENTRY, qty_base=1.0)  # fmt: skip
    eth = api.fetch_ticker(ETH)["last"]
    api.create_order(ETH, "limit", "sell", 1.0, float(api.price_to_precision(ETH, eth * 1.01)))
    posts = [r["path"] for r in exchange.admin.request_log() if r["method"] == "POST"]
    assert posts[-1] == "/fapi/v1/order" and len(exchange.admin.order_log()) == 1


def test_a_companion_whose_leverage_cannot_be_set_is_not_batched(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    """Sending leg B under whatever leverage and margin mode the account last had is a risk
    the batch must not take: it falls back to one leg at a time (FreqTrade prepares each)."""
    api, execution = seam(exchange, tmp_path, leverage_fails=True)
    send_spread(api, execution, 20.0)
    assert [e["symbol"] for e in exchange.admin.order_log()] == ["ETHUSDT"]


def test_a_garbage_answer_to_an_order_reaches_freqtrade_as_an_exchange_error(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    """A 200 answer whose body is not an order (another endpoint's, cut short) parses as an
    order without an id. The guard settles it by client id, then gives up with its own error:
    that must reach FreqTrade as a ccxt error, which its worker survives — a RuntimeError
    ended `freqtrade trade` three times in a row with four trades open (the chaos soak)."""
    api, execution = seam(exchange, tmp_path)
    cut_short = '[{"symbol":"BTCUSDT","positionAmt":"0.010",'
    exchange.admin.inject_fault("garbage", endpoint="orders", symbol="ETHUSDT", status=200,
                                body_text=cut_short)  # fmt: skip
    execution.announce(tag=TAG_A, symbol=ETH, side="sell", reduce_only=False,
                       purpose=Purpose.ENTRY, qty_base=1.0)  # fmt: skip
    eth = api.fetch_ticker(ETH)["last"]
    with pytest.raises(ccxt.ExchangeError):
        api.create_order(ETH, "limit", "sell", 1.0, float(api.price_to_precision(ETH, eth * 1.01)))


def test_a_garbled_lookup_is_never_handed_to_freqtrade_as_the_twins_order(
    exchange: RunningExchange, tmp_path: Path
) -> None:
    """FreqTrade's turn for the twin asks the exchange for the order already placed under its
    client id. A garbled answer to that lookup parses as an order without an id; handed back,
    it became FreqTrade's order "None", which it could never query again, while the real twin
    filled on the exchange unmanaged and unseen (the chaos soak). The lookup asks again."""
    api, execution = seam(exchange, tmp_path)
    send_spread(api, execution, 20.0)
    placed_b = exchange.admin.order_log()[1]
    exchange.admin.inject_fault("garbage", endpoint="GET /fapi/v1/order", symbol="SOLUSDT",
                                status=200, count=1)  # fmt: skip
    execution.announce(tag=TAG_B, symbol=SOL, side="buy", reduce_only=False,
                       purpose=Purpose.ENTRY, qty_base=20.0)  # fmt: skip
    order_b = api.create_order(SOL, "limit", "buy", 20.0, 100.0)
    assert order_b["id"] and order_b["clientOrderId"] == placed_b["newClientOrderId"], order_b
    fired = exchange.admin.faults()["fired"]
    assert fired and fired[-1]["kind"] == "garbage", "the garbled answer was served"
    assert len(exchange.admin.order_log()) == 2, "the twin must not reach the exchange twice"

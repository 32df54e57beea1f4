"""Each injectable fault, and what a ccxt client sees when it fires.

These are the exchange-side halves of the live-execution drills: a ghost order must really exist
after the client saw a timeout, a partial fill must really be partial, a 429 must not place the
order — otherwise the bot's safety code would be tested against a fiction.
"""

from __future__ import annotations

import asyncio
import time

import ccxt
import ccxt.async_support as accxt
import pytest
from tests_exchange_helpers import place_limit_away

from statarb.exchange.admin import AdminError
from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import RunningExchange

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


@pytest.fixture
def client(exchange: RunningExchange) -> ccxt.Exchange:
    ex = ccxt.binance(ccxt_config(exchange.url, timeout=1500))
    ex.load_markets()
    return ex


def test_rejected_order_is_refused_with_the_given_code_and_never_created(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("reject", symbol="ETHUSDT", code=-2019)
    with pytest.raises(ccxt.ExchangeError, match="-2019"):
        client.create_order(ETH, "market", "buy", 0.5)
    assert exchange.admin.orders() == []
    assert client.create_order(ETH, "market", "buy", 0.5)["status"] == "closed"  # count 1: used up
    log = exchange.admin.order_log()
    assert [(e["outcome"], e.get("code")) for e in log] == [("rejected", -2019), ("accepted", None)]


def test_reject_fault_scoped_to_reduce_only_leaves_entries_alone(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("reject", reduce_only=True, code=-2022, count=-1)
    client.create_order(ETH, "market", "buy", 0.5)
    client.create_order(BTC, "market", "sell", 0.01)
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeError, match="-2022"):
            client.create_order(ETH, "market", "sell", 0.5, params={"reduceOnly": True})
    exchange.admin.clear_faults()
    client.create_order(ETH, "market", "sell", 0.5, params={"reduceOnly": True})
    assert [p["symbol"] for p in client.fetch_positions()] == [BTC]


def test_dropped_answer_raises_network_error_but_the_order_lives_and_fills(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("drop_response", symbol="ETHUSDT", mode="reset")
    with pytest.raises(ccxt.NetworkError):
        client.create_order(ETH, "market", "buy", 0.5, params={"newClientOrderId": "ghost-1"})
    ghost = client.fetch_order(None, ETH, params={"clientOrderId": "ghost-1"})
    assert (ghost["status"], ghost["filled"]) == ("closed", 0.5)
    (pos,) = client.fetch_positions([ETH])
    assert pos["contracts"] == 0.5
    (entry,) = exchange.admin.order_log()
    assert (entry["outcome"], entry["response"]) == ("accepted", "dropped_reset")


def test_answer_held_past_the_client_timeout_is_a_request_timeout_with_a_live_order(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("drop_response", mode="timeout", hold_ms=2500)
    price = float(client.price_to_precision(ETH, client.fetch_ticker(ETH)["last"] * 0.98))
    with pytest.raises(ccxt.RequestTimeout):
        client.create_order(ETH, "limit", "buy", 0.5, price, params={"newClientOrderId": "ghost-2"})
    ghost = client.fetch_order(None, ETH, params={"clientOrderId": "ghost-2"})
    assert ghost["status"] == "open"
    assert [o["clientOrderId"] for o in client.fetch_open_orders(ETH)] == ["ghost-2"]


def test_async_client_sees_a_network_error_for_a_dropped_answer(exchange: RunningExchange):
    exchange.admin.inject_fault("drop_response", symbol="BTCUSDT")

    async def scenario() -> type[BaseException]:
        client = accxt.binance(ccxt_config(exchange.url, timeout=1500))
        try:
            await client.load_markets()
            try:
                await client.create_order(BTC, "market", "buy", 0.01)
            except ccxt.BaseError as exc:
                return type(exc)
            return type(None)
        finally:
            await client.close()

    raised = asyncio.run(scenario())
    assert issubclass(raised, ccxt.NetworkError)
    assert [o["status"] for o in exchange.admin.orders("BTCUSDT")] == ["FILLED"]


def test_partial_fill_of_a_market_order_fills_the_ratio_and_expires_the_rest(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("partial_fill", symbol="ETHUSDT", ratio=0.7)
    order = client.create_order(ETH, "market", "buy", 1.0)
    assert (order["status"], order["filled"], order["remaining"]) == ("expired", 0.7, 0.3)
    assert client.fetch_positions([ETH])[0]["contracts"] == 0.7


def test_partial_fill_of_a_marketable_limit_leaves_the_rest_resting(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("partial_fill", symbol="ETHUSDT", ratio=0.4)
    ask = client.fetch_order_book(ETH, 5)["asks"][0][0]
    order = client.create_order(ETH, "limit", "buy", 1.0, ask)
    assert (order["status"], order["filled"]) == ("open", 0.4)
    again = client.fetch_order(order["id"], ETH)
    assert again["info"]["status"] == "PARTIALLY_FILLED"
    assert again["remaining"] == pytest.approx(0.6)


def test_rate_limit_answers_429_with_retry_after_and_places_nothing(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault(
        "http_error", status=429, retry_after_s=3, endpoint="/fapi/v1/order"
    )
    with pytest.raises(ccxt.DDoSProtection, match="-1003"):
        client.create_order(ETH, "market", "buy", 0.5)
    assert client.last_response_headers["Retry-After"] == "3"
    assert exchange.admin.orders() == []
    assert [e["outcome"] for e in exchange.admin.order_log()] == ["http_429"]


def test_ban_answers_418_and_names_the_end_of_the_ban(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("http_error", status=418, endpoint="GET /fapi/v3/account")
    with pytest.raises(ccxt.DDoSProtection, match="banned until"):
        client.fetch_balance()
    assert client.fetch_balance()["USDT"]["total"] == 10000.0


def test_service_unavailable_before_processing_places_nothing(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("http_error", status=503, endpoint="/fapi/v1/order")
    with pytest.raises(ccxt.OperationFailed, match="Service Unavailable"):  # FreqTrade: temporary
        client.create_order(ETH, "market", "buy", 0.5)
    assert exchange.admin.orders() == []


def test_unknown_execution_503_can_hide_a_placed_order(
    exchange: RunningExchange, client: ccxt.Exchange
):
    """Binance: a 503 'Unknown error' means the order may have been executed."""
    exchange.admin.inject_fault("http_error", status=503, after=True, endpoint="/fapi/v1/order")
    with pytest.raises(ccxt.OperationFailed, match="-1001"):
        client.create_order(ETH, "market", "buy", 0.5, params={"newClientOrderId": "maybe-1"})
    found = client.fetch_order(None, ETH, params={"clientOrderId": "maybe-1"})
    assert found["status"] == "closed"


def test_latency_delays_the_answer_but_not_the_outcome(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("latency", latency_ms=400, endpoint="/fapi/v1/order")
    started = time.monotonic()
    order = client.create_order(ETH, "market", "buy", 0.5)
    assert time.monotonic() - started >= 0.4
    assert order["status"] == "closed"


@pytest.mark.parametrize(
    ("status", "ccxt_status"), [("CANCELED", "canceled"), ("EXPIRED", "expired")]
)
def test_exchange_side_cancel_of_a_resting_order_is_seen_by_the_client(
    exchange: RunningExchange, client: ccxt.Exchange, status: str, ccxt_status: str
):
    order = place_limit_away(client, ETH, "buy", 0.5)
    exchange.admin.cancel_order("ETHUSDT", order_id=order["id"], status=status)
    assert client.fetch_order(order["id"], ETH)["status"] == ccxt_status
    assert client.fetch_open_orders(ETH) == []


def test_price_shock_moves_the_market_and_the_position_value(
    exchange: RunningExchange, client: ccxt.Exchange
):
    client.create_order(ETH, "market", "buy", 1.0)
    before = client.fetch_positions([ETH])[0]
    shocked = exchange.admin.price_shock("ETHUSDT", factor=1.02)
    after = client.fetch_positions([ETH])[0]
    assert shocked == pytest.approx(before["markPrice"] * 1.02, rel=1e-3)
    assert after["unrealizedPnl"] == pytest.approx(
        before["unrealizedPnl"] + before["markPrice"] * 0.02, rel=0.05
    )


def test_a_fault_with_a_count_fires_that_many_times(
    exchange: RunningExchange, client: ccxt.Exchange
):
    exchange.admin.inject_fault("reject", code=-2019, count=2)
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeError, match="-2019"):
            client.create_order(ETH, "market", "buy", 0.5)
    assert client.create_order(ETH, "market", "buy", 0.5)["status"] == "closed"
    assert exchange.admin.faults()["faults"] == []


def test_a_fault_description_that_cannot_exist_is_refused(exchange: RunningExchange):
    with pytest.raises(AdminError, match="ratio"):
        exchange.admin.inject_fault("partial_fill", ratio=1.5)
    with pytest.raises(AdminError, match="kind"):
        exchange.admin.inject_fault("explode")


def test_garbage_answer_makes_ccxt_report_no_positions_without_raising(
    exchange: RunningExchange, client: ccxt.Exchange
):
    """A truncated JSON body under status 200 is not an error for ccxt: ``fetch_positions``
    answers [] and ``fetch_balance`` a balance without USDT. Whoever reconciles must check the
    raw ``info`` (a str here), never trust "no positions" (the recovery script's trap)."""
    client.create_order(ETH, "market", "buy", 0.5)
    exchange.admin.inject_fault("garbage", endpoint="GET /fapi/v3/positionRisk")
    assert client.fetch_positions() == []  # a lie: there is a position
    assert client.fetch_positions()[0]["contracts"] == 0.5  # count 1: the next answer is whole
    exchange.admin.inject_fault("garbage", endpoint="GET /fapi/v3/account")
    balance = client.fetch_balance()
    assert isinstance(balance["info"], str) and "USDT" not in balance
    exchange.admin.inject_fault("garbage", status=502, body_text="<html>502 Bad Gateway</html>")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.fetch_balance()


def test_a_fault_aimed_at_a_symbols_orders_also_hits_the_batch_that_carries_one(
    exchange: RunningExchange, client: ccxt.Exchange
):
    """The bot sends a spread's two legs in one batch: a drill aimed at "leg B's order"
    (endpoint `orders`, symbol ETHUSDT) must still drop that request, or the drill silently
    tests nothing. Both orders of the batch live; the client saw no answer."""
    exchange.admin.inject_fault("drop_response", endpoint="orders", symbol="ETHUSDT", mode="reset")
    legs = [
        {"symbol": BTC, "type": "market", "side": "sell", "amount": 0.01,
         "params": {"newClientOrderId": "batch-a"}},
        {"symbol": ETH, "type": "market", "side": "buy", "amount": 0.2,
         "params": {"newClientOrderId": "batch-b"}},
    ]  # fmt: skip
    with pytest.raises(ccxt.NetworkError):
        client.create_orders(legs)
    log = exchange.admin.order_log()
    assert [(e["newClientOrderId"], e["outcome"]) for e in log] == [
        ("batch-a", "accepted"), ("batch-b", "accepted"),
    ]  # fmt: skip
    fired = exchange.admin.faults()["fired"][-1]
    assert (fired["endpoint"], fired["symbol"]) == ("/fapi/v1/batchOrders", "ETHUSDT")
    # A fault on another symbol's orders leaves the batch alone.
    exchange.admin.inject_fault("drop_response", endpoint="orders", symbol="SOLUSDT", mode="reset")
    legs = [{**leg, "params": {"newClientOrderId": leg["params"]["newClientOrderId"] + "2"}}
            for leg in legs]  # fmt: skip
    assert len(client.create_orders(legs)) == 2


def test_a_batch_refused_before_processing_logs_each_of_its_orders_by_client_id(
    exchange: RunningExchange, client: ccxt.Exchange
):
    """The order log is how a drill (and the chaos soak) proves no order was sent without an
    intent: a batch answered 503 before processing must appear as its orders, each with its
    own client id — not as one nameless entry (the soak took that for an unannounced order)."""
    exchange.admin.inject_fault("http_error", endpoint="orders", symbol="ETHUSDT", status=503)
    legs = [
        {"symbol": BTC, "type": "market", "side": "sell", "amount": 0.01,
         "params": {"newClientOrderId": "refused-a"}},
        {"symbol": ETH, "type": "market", "side": "buy", "amount": 0.2,
         "params": {"newClientOrderId": "refused-b"}},
    ]  # fmt: skip
    with pytest.raises(ccxt.OperationFailed):
        client.create_orders(legs)
    log = exchange.admin.order_log()
    assert [(e["newClientOrderId"], e["symbol"], e["outcome"]) for e in log] == [
        ("refused-a", "BTCUSDT", "http_503"), ("refused-b", "ETHUSDT", "http_503"),
    ]  # fmt: skip

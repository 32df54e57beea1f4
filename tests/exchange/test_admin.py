"""The admin API the drills build on: planted positions look like real ones to every client,
balances move with a ledger entry, the order log records every order request once."""

from __future__ import annotations

import ccxt
import pytest
from tests_exchange_helpers import sync_client

from statarb.exchange.admin import AdminError
from statarb.exchange.launcher import RunningExchange

ETH, BTC = "ETH/USDT:USDT", "BTC/USDT:USDT"


def test_a_planted_position_is_an_orphan_every_client_sees(exchange: RunningExchange):
    exchange.admin.plant_position("ETHUSDT", "-2.5", entry_price="2800.00", leverage=5,
                                  margin_type="ISOLATED")  # fmt: skip
    client = sync_client(exchange)
    (pos,) = client.fetch_positions([ETH])
    assert (pos["side"], pos["contracts"], pos["entryPrice"]) == ("short", 2.5, 2800.0)
    assert pos["marginMode"] == "isolated"
    assert pos["collateral"] == pytest.approx(2.5 * 2800 / 5 + pos["unrealizedPnl"], rel=1e-6)
    assert client.fetch_my_trades(ETH) == []  # no trade explains it: an orphan
    assert client.fetch_leverages([ETH])[ETH]["longLeverage"] == 5


def test_planting_off_the_step_size_is_refused(exchange: RunningExchange):
    with pytest.raises(AdminError, match="step size"):
        exchange.admin.plant_position("BTCUSDT", "0.0005")


def test_set_balance_moves_the_wallet_with_a_transfer_entry(exchange: RunningExchange):
    exchange.admin.set_balance("2500")
    client = sync_client(exchange)
    assert client.fetch_balance()["USDT"]["total"] == 2500.0
    transfers = client.fapiPrivateGetIncome({"incomeType": "TRANSFER"})
    assert [float(t["income"]) for t in transfers] == [10000.0, -7500.0]


def test_order_log_has_one_entry_per_order_request_with_its_outcome(exchange: RunningExchange):
    client = sync_client(exchange)
    client.load_markets()
    client.create_order(ETH, "market", "buy", 0.2, params={"newClientOrderId": "intent-1"})
    with pytest.raises(ccxt.ExchangeError):
        client.create_order(BTC, "market", "buy", 0.001)  # below min notional
    log = exchange.admin.order_log()
    assert [(e["symbol"], e["side"], e["newClientOrderId"], e["outcome"]) for e in log] == [
        ("ETHUSDT", "BUY", "intent-1", "accepted"),
        ("BTCUSDT", "BUY", log[1]["newClientOrderId"], "rejected"),
    ]
    assert log[1]["code"] == -4164
    assert log[0]["quantity"] == "0.2" and log[0]["reduceOnly"] is False


def test_admin_api_explains_bad_requests(exchange: RunningExchange):
    with pytest.raises(AdminError, match="give exactly one of factor or price"):
        exchange.admin.price_shock("ETHUSDT")
    with pytest.raises(AdminError, match="Invalid symbol"):
        exchange.admin.price_shock("NOPEUSDT", factor=1.1)


def test_request_log_times_every_api_request_with_its_answer(exchange: RunningExchange):
    """The entry-latency bench reads where a client's time goes between two legs from this
    log: every API request (not the admin API's), in arrival order, with its status."""
    client = sync_client(exchange)
    client.load_markets()
    before = len(exchange.admin.request_log())
    client.fetch_ticker(ETH)
    with pytest.raises(ccxt.ExchangeError):
        client.create_order(BTC, "market", "buy", 0.001)  # below min notional
    new = exchange.admin.request_log()[before:]
    assert [(r["method"], r["path"], r["symbol"], r["status"]) for r in new] == [
        ("GET", "/fapi/v1/ticker/24hr", "ETHUSDT", 200),
        ("POST", "/fapi/v1/order", "BTCUSDT", 400),
    ]
    assert new[0]["time_ms"] <= new[1]["time_ms"] and new[1]["took_ms"] >= 0

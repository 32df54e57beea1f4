"""Unmodified ccxt (``binance`` with defaultType swap, and ``binanceusdm``) against the local
exchange, over HTTP, each answer checked against what Binance returns (fields and types)."""

from __future__ import annotations

import json
from itertools import pairwise

import ccxt
import pytest
from tests_exchange_helpers import last_json, place_limit_away

from statarb.exchange.launcher import RunningExchange

BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
BINANCE_ORDER_URL = "https://fapi.binance.com/fapi/v1/order"


# ---- markets and market data -----------------------------------------------------------------


def test_markets_carry_binances_precision_limits_and_contract_size(client: ccxt.Exchange):
    btc = client.market(BTC)
    assert (btc["id"], btc["type"], btc["linear"], btc["settle"]) == (
        "BTCUSDT",
        "swap",
        True,
        "USDT",
    )
    assert btc["contractSize"] == 1
    assert btc["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
    assert btc["limits"]["amount"] == {"min": 0.001, "max": 1000.0}
    assert btc["limits"]["market"] == {"min": 0.001, "max": 120.0}
    assert btc["limits"]["cost"]["min"] == 100.0
    eth, sol = client.market(ETH), client.market(SOL)
    assert (eth["precision"]["price"], eth["limits"]["cost"]["min"]) == (0.01, 20.0)
    assert (sol["precision"]["amount"], sol["precision"]["price"]) == (1.0, 0.01)
    assert set(client.markets) == {BTC, ETH, SOL}


def test_ohlcv_pages_forward_without_gaps_and_ends_at_the_live_candle(client: ccxt.Exchange):
    now = client.fetch_time()
    since = now - 250 * 60_000
    first = client.fetch_ohlcv(BTC, "1m", since=since, limit=100)
    second = client.fetch_ohlcv(BTC, "1m", since=first[-1][0] + 60_000, limit=200)
    later = client.fetch_time()
    candles = first + second
    assert first[0][0] >= since
    steps = {b[0] - a[0] for a, b in pairwise(candles)}
    assert steps == {60_000}
    assert now // 60_000 * 60_000 <= candles[-1][0] <= later  # the live, partial candle
    for _, o, h, low, c, v in candles:
        assert low <= min(o, c) <= max(o, c) <= h
        assert v >= 0
    assert all(isinstance(x, float) for x in candles[0][1:])


def test_klines_of_any_binance_interval_are_aggregated(client: ccxt.Exchange):
    one_minute = client.fetch_ohlcv(BTC, "1m", limit=120)
    hourly = client.fetch_ohlcv(BTC, "1h", limit=3)
    last_full = hourly[-2]
    inside = [c for c in one_minute if last_full[0] <= c[0] < last_full[0] + 3_600_000]
    if len(inside) == 60:
        assert last_full[1] == inside[0][1]
        assert last_full[2] == max(c[2] for c in inside)
        assert last_full[3] == min(c[3] for c in inside)
        assert last_full[4] == inside[-1][4]
    assert [c[0] % 3_600_000 for c in hourly] == [0, 0, 0]


def test_mark_price_klines_come_from_the_mark_endpoint(client: ccxt.Exchange):
    mark = client.fetch_ohlcv(ETH, "1h", limit=5, params={"price": "mark"})
    assert len(mark) == 5
    assert all(c[5] == 0 for c in mark)  # Binance's mark klines carry no volume


def test_ticker_book_and_last_candle_agree(client: ccxt.Exchange):
    ticker = client.fetch_ticker(ETH)
    book = client.fetch_order_book(ETH, 10)
    assert ticker["symbol"] == ETH
    assert isinstance(ticker["last"], float) and ticker["last"] > 0
    assert ticker["high"] >= ticker["last"] >= ticker["low"]
    bid, ask = book["bids"][0][0], book["asks"][0][0]
    assert ask - bid == pytest.approx(0.01)  # one tick
    assert [p for p, _ in book["bids"]] == sorted((p for p, _ in book["bids"]), reverse=True)
    assert [p for p, _ in book["asks"]] == sorted(p for p, _ in book["asks"])
    assert len(book["bids"]) == len(book["asks"]) == 10
    tickers = client.fetch_tickers([BTC, ETH])
    assert set(tickers) == {BTC, ETH}


def test_funding_rate_history_and_the_next_funding_time(client: ccxt.Exchange):
    history = client.fetch_funding_rate_history(BTC, limit=5)
    assert len(history) == 5
    assert all(h["timestamp"] % (8 * 3_600_000) == 0 for h in history)  # 00/08/16 UTC
    current = client.fetch_funding_rate(BTC)
    assert current["fundingTimestamp"] % (8 * 3_600_000) == 0
    assert current["fundingTimestamp"] > client.fetch_time()
    assert isinstance(current["fundingRate"], float)


# ---- account ---------------------------------------------------------------------------------


def test_balance_is_the_deposit_until_something_trades(client: ccxt.Exchange):
    usdt = client.fetch_balance()["USDT"]
    assert usdt == {"free": 10000.0, "used": 0.0, "total": 10000.0}


def test_set_leverage_answers_binances_shape_and_refuses_impossible_leverage(client: ccxt.Exchange):
    answer = client.set_leverage(5, BTC)
    assert answer == {"leverage": 5, "maxNotionalValue": "480000000", "symbol": "BTCUSDT"}
    with pytest.raises(ccxt.BadRequest, match="-4028"):
        client.set_leverage(110, SOL)  # SOL's first bracket allows 100x


def test_margin_mode_is_set_and_refused_while_a_position_is_open(client: ccxt.Exchange):
    assert client.set_margin_mode("isolated", ETH) == {"code": 200, "msg": "success"}
    with pytest.raises(ccxt.MarginModeAlreadySet, match="-4046"):
        client.set_margin_mode("isolated", ETH)
    client.create_order(ETH, "market", "buy", 0.1)
    with pytest.raises(ccxt.OperationRejected, match="-4048"):
        client.set_margin_mode("cross", ETH)


def test_market_order_fills_and_is_found_by_id_and_by_client_order_id(client: ccxt.Exchange):
    client.set_margin_mode("isolated", ETH)
    order = client.create_order(
        ETH, "market", "buy", 0.5, params={"newClientOrderId": "sa-1-A-open-0"}
    )
    assert order["status"] == "closed"
    assert (order["amount"], order["filled"], order["remaining"]) == (0.5, 0.5, 0.0)
    assert order["cost"] == pytest.approx(order["average"] * 0.5)
    assert order["clientOrderId"] == "sa-1-A-open-0"
    by_id = client.fetch_order(order["id"], ETH)
    by_client = client.fetch_order(None, ETH, params={"clientOrderId": "sa-1-A-open-0"})
    assert by_id["id"] == by_client["id"] == order["id"]
    assert by_id["info"]["time"] > 0 and by_id["reduceOnly"] is False
    trades = client.fetch_my_trades(ETH)
    assert [t["order"] for t in trades] == [order["id"]]
    trade = trades[0]
    assert trade["takerOrMaker"] == "taker"
    assert trade["fee"]["currency"] == "USDT"
    assert trade["fee"]["cost"] == pytest.approx(trade["cost"] * 0.0005, rel=1e-6)


def test_limit_order_rests_is_listed_and_cancels(client: ccxt.Exchange):
    order = place_limit_away(client, ETH, "buy", 0.5)
    assert order["status"] == "open" and order["filled"] == 0
    assert [o["id"] for o in client.fetch_open_orders(ETH)] == [order["id"]]
    canceled = client.cancel_order(order["id"], ETH)
    assert canceled["status"] == "canceled"
    assert client.fetch_order(order["id"], ETH)["status"] == "canceled"
    assert client.fetch_open_orders(ETH) == []
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        client.cancel_order(order["id"], ETH)


def test_open_orders_without_a_symbol_hide_futures_orders_unless_the_type_is_given(
    client: ccxt.Exchange,
):
    """docs/design.md §6.6: without a symbol ccxt refuses (a warning raised as ExchangeError);
    once that is acknowledged, ``binance`` asks the *spot* account — which, on Binance and here,
    answers [] although futures orders exist. ``binanceusdm`` asks futures. A symbol or
    ``type: swap`` is the safe call."""
    place_limit_away(client, ETH, "buy", 0.5)
    place_limit_away(client, BTC, "sell", 0.01)
    with pytest.raises(ccxt.ExchangeError, match="without specifying a symbol"):
        client.fetch_open_orders()
    client.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    if client.id == "binance":
        assert client.fetch_open_orders() == []  # the trap: the spot account
    else:
        assert {o["symbol"] for o in client.fetch_open_orders()} == {BTC, ETH}
    swap = client.fetch_open_orders(params={"type": "swap"})
    assert {o["symbol"] for o in swap} == {BTC, ETH}


def test_unknown_order_is_reported_as_not_found(client: ccxt.Exchange):
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        client.fetch_order("123", ETH)


def test_reduce_only_closes_and_never_opens(client: ccxt.Exchange):
    with pytest.raises(ccxt.ExchangeError, match="-2022"):
        client.create_order(ETH, "market", "sell", 0.5, params={"reduceOnly": True})
    client.create_order(ETH, "market", "buy", 0.5)
    close = client.create_order(ETH, "market", "sell", 0.5, params={"reduceOnly": True})
    assert close["reduceOnly"] is True and close["filled"] == 0.5
    assert client.fetch_positions([ETH]) == []


def test_short_position_has_side_short_and_positive_contracts(client: ccxt.Exchange):
    client.set_margin_mode("isolated", ETH)
    client.set_leverage(10, ETH)
    client.create_order(ETH, "market", "sell", 1.2)
    (pos,) = client.fetch_positions([ETH])
    assert pos["side"] == "short"
    assert pos["contracts"] == 1.2  # positive: the side says short (docs/design.md §6.5)
    assert pos["info"]["positionAmt"] == "-1.200"
    assert pos["marginMode"] == "isolated"
    assert pos["liquidationPrice"] > pos["entryPrice"]
    assert pos["collateral"] == pytest.approx(pos["notional"] / 10, rel=0.02)


def test_leverage_and_margin_mode_per_symbol_are_readable(client: ccxt.Exchange):
    client.set_margin_mode("isolated", BTC)
    client.set_leverage(3, BTC)
    leverages = client.fetch_leverages([BTC, ETH])
    assert (leverages[BTC]["marginMode"], leverages[BTC]["longLeverage"]) == ("isolated", 3)
    assert leverages[ETH]["marginMode"] == "cross"  # Binance's default
    assert leverages[ETH]["longLeverage"] == 20  # Binance's default leverage


def test_realized_pnl_and_fees_reach_the_income_history(client: ccxt.Exchange):
    client.create_order(ETH, "market", "buy", 1.0)
    client.create_order(ETH, "market", "sell", 1.0, params={"reduceOnly": True})
    trades = client.fetch_my_trades(ETH)
    realized = sum(float(t["info"]["realizedPnl"]) for t in trades)
    fees = sum(t["fee"]["cost"] for t in trades)
    ledger = client.fapiPrivateGetIncome({"symbol": "ETHUSDT"})
    by_type: dict[str, float] = {}
    for entry in ledger:
        by_type[entry["incomeType"]] = by_type.get(entry["incomeType"], 0) + float(entry["income"])
    assert by_type["COMMISSION"] == pytest.approx(-fees)
    assert by_type.get("REALIZED_PNL", 0.0) == pytest.approx(realized)
    balance = client.fetch_balance()["USDT"]["total"]
    assert balance == pytest.approx(10_000 + realized - fees)


def test_funding_history_appears_once_a_funding_time_passes(
    exchange: RunningExchange, client: ccxt.Exchange
):
    client.create_order(ETH, "market", "sell", 2.0)
    before = client.fetch_funding_history(ETH)
    now = client.fetch_time()
    next_funding = (now // 28_800_000 + 1) * 28_800_000
    exchange.admin.advance_clock(ms=next_funding - now + 1_000)
    history = client.fetch_funding_history(ETH)
    new = [h for h in history if h not in before]
    assert [h["timestamp"] for h in new] == [next_funding]
    assert new[0]["symbol"] == ETH and new[0]["code"] == "USDT"
    rates = client.fetch_funding_rate_history(ETH, since=next_funding)
    rate = next(r for r in rates if r["timestamp"] == next_funding)
    assert (new[0]["amount"] > 0) == (rate["fundingRate"] > 0)  # a short receives a positive rate


def test_min_notional_and_quantity_filters_answer_binances_codes(client: ccxt.Exchange):
    with pytest.raises(ccxt.ExchangeError, match="-4164"):
        client.create_order(BTC, "market", "buy", 0.001)  # ~56 USDT < 100
    with pytest.raises(ccxt.ExchangeError, match="-1111"):
        client.fapiPrivatePostOrder(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0015"}
        )


def test_our_error_bodies_map_to_ccxts_classes_as_binances_do(client: ccxt.Exchange):
    """Against an overridden URL ccxt only uses its shared error table; given Binance's own URL,
    the same bodies map to the classes ccxt uses for Binance (see client_config's docstring)."""
    bodies = {}
    for name, call in {
        "reduce_only": lambda: client.create_order(
            ETH, "market", "sell", 0.5, params={"reduceOnly": True}
        ),
        "min_notional": lambda: client.create_order(BTC, "market", "buy", 0.001),
        "margin": lambda: client.create_order(BTC, "market", "buy", 100),
    }.items():
        with pytest.raises(ccxt.ExchangeError):
            call()
        bodies[name] = last_json(client)
    expected = {"reduce_only": ccxt.InvalidOrder, "min_notional": ccxt.InvalidOrder,
                "margin": ccxt.InsufficientFunds}  # fmt: skip
    for name, body in bodies.items():
        with pytest.raises(expected[name]):
            client.handle_errors(
                400,
                "Bad Request",
                BINANCE_ORDER_URL,
                "POST",
                {},
                json.dumps(body),
                body,
                None,
                None,
            )


def test_batch_orders_place_each_leg_and_report_each_outcome(client: ccxt.Exchange):
    orders = client.create_orders(
        [
            {"symbol": BTC, "type": "market", "side": "buy", "amount": 0.01},
            {"symbol": ETH, "type": "market", "side": "sell", "amount": 0.5},
            {"symbol": SOL, "type": "market", "side": "buy", "amount": 1,
             "params": {"reduceOnly": True}},
        ]
    )  # fmt: skip
    assert sorted(o["status"] for o in orders) == ["closed", "closed", "rejected"]
    (rejected,) = (o for o in orders if o["status"] == "rejected")
    assert rejected["info"] == {"code": -2022, "msg": "ReduceOnly Order is rejected."}
    assert {p["symbol"]: p["side"] for p in client.fetch_positions()} == {BTC: "long", ETH: "short"}

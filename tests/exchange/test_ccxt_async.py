"""ccxt's async classes (what FreqTrade uses for candles, and the bot for concurrent legs)
against the local exchange: the same answers as the sync client."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from typing import Any

import ccxt.async_support as accxt
import pytest

from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import RunningExchange

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def run(exchange: RunningExchange, cls: str, scenario: Any) -> Any:
    async def main() -> Any:
        client = getattr(accxt, cls)(ccxt_config(exchange.url))
        try:
            await client.load_markets()
            return await scenario(client)
        finally:
            await client.close()

    return asyncio.run(main())


@pytest.fixture(params=["binance", "binanceusdm"])
def cls(request: pytest.FixtureRequest) -> str:
    return request.param


def test_async_market_data_matches_binances_shapes(exchange: RunningExchange, cls: str):
    async def scenario(client: Any) -> Any:
        candles, ticker, book, rates = await asyncio.gather(
            client.fetch_ohlcv(BTC, "5m", limit=50),
            client.fetch_ticker(BTC),
            client.fetch_order_book(BTC, 5),
            client.fetch_funding_rate_history(BTC, limit=3),
        )
        return candles, ticker, book, rates, client.market(BTC)

    candles, ticker, book, rates, market = run(exchange, cls, scenario)
    assert len(candles) == 50
    assert {b[0] - a[0] for a, b in pairwise(candles)} == {300_000}
    assert book["asks"][0][0] - book["bids"][0][0] == pytest.approx(0.1)
    assert ticker["last"] == pytest.approx(candles[-1][4], rel=1e-3)
    assert len(rates) == 3
    assert market["precision"]["amount"] == 0.001


def test_two_legs_sent_concurrently_both_fill_and_show_as_positions(
    exchange: RunningExchange, cls: str
):
    async def scenario(client: Any) -> Any:
        for symbol in (BTC, ETH):
            await client.set_margin_mode("isolated", symbol)
            await client.set_leverage(5, symbol)
        leg_a, leg_b = await asyncio.gather(
            client.create_order(BTC, "market", "buy", 0.01, params={"newClientOrderId": "p1-A"}),
            client.create_order(ETH, "market", "sell", 0.4, params={"newClientOrderId": "p1-B"}),
        )
        positions = await client.fetch_positions([BTC, ETH])
        fetched = await client.fetch_order(None, ETH, params={"clientOrderId": "p1-B"})
        trades = await client.fetch_my_trades(BTC)
        return leg_a, leg_b, positions, fetched, trades

    leg_a, leg_b, positions, fetched, trades = run(exchange, cls, scenario)
    assert (leg_a["status"], leg_b["status"]) == ("closed", "closed")
    sides = {p["symbol"]: (p["side"], p["contracts"], p["leverage"]) for p in positions}
    assert sides[BTC][:2] == ("long", 0.01)
    assert sides[ETH][:2] == ("short", 0.4)
    assert fetched["id"] == leg_b["id"]
    assert [t["order"] for t in trades] == [leg_a["id"]]


def test_async_limit_order_rests_and_cancels(exchange: RunningExchange, cls: str):
    async def scenario(client: Any) -> Any:
        last = (await client.fetch_ticker(ETH))["last"]
        price = float(client.price_to_precision(ETH, last * 0.97))
        order = await client.create_order(ETH, "limit", "buy", 0.5, price)
        open_orders = await client.fetch_open_orders(ETH)
        canceled = await client.cancel_order(order["id"], ETH)
        balance = await client.fetch_balance()
        return order, open_orders, canceled, balance

    order, open_orders, canceled, balance = run(exchange, cls, scenario)
    assert order["status"] == "open"
    assert [o["id"] for o in open_orders] == [order["id"]]
    assert canceled["status"] == "canceled"
    assert balance["USDT"]["used"] == 0.0  # the order's margin is released

"""Private endpoints demand Binance's authentication: API key header, HMAC-SHA256 signature over
the exact query/body, a timestamp inside recvWindow. A simulator that accepted anything would let
a bot with broken signing pass every test and fail on its first real order."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import ccxt
import pytest

from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import RunningExchange
from statarb.exchange.protocol import DEFAULT_API_KEY, DEFAULT_API_SECRET, sign


def call(
    exchange: RunningExchange,
    method: str,
    path: str,
    query: str = "",
    body: str = "",
    key: str | None = DEFAULT_API_KEY,
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if key is not None:
        headers["X-MBX-APIKEY"] = key
    url = exchange.url + path + (f"?{query}" if query else "")
    request = urllib.request.Request(
        url, data=body.encode() or None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signed(params: str, secret: str = DEFAULT_API_SECRET) -> str:
    return f"{params}&signature={sign(secret, params)}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_a_correctly_signed_request_is_served(exchange: RunningExchange):
    status, body = call(exchange, "GET", "/fapi/v3/account", signed(f"timestamp={now_ms()}"))
    assert status == 200
    assert body["assets"][0]["asset"] == "USDT"


def test_signature_may_cover_query_and_body_together(exchange: RunningExchange):
    query = "symbol=ETHUSDT"
    body = f"side=BUY&type=MARKET&quantity=0.100&timestamp={now_ms()}"
    signature = sign(DEFAULT_API_SECRET, query + body)
    status, answer = call(
        exchange, "POST", "/fapi/v1/order", query, f"{body}&signature={signature}"
    )
    assert status == 200, answer
    assert answer["status"] == "NEW"  # newOrderRespType defaults to ACK, as on Binance


def test_missing_api_key_is_refused_with_401(exchange: RunningExchange):
    status, body = call(
        exchange, "GET", "/fapi/v3/account", signed(f"timestamp={now_ms()}"), key=None
    )
    assert (status, body["code"]) == (401, -2014)


def test_unknown_api_key_is_an_authentication_error_for_ccxt(exchange: RunningExchange):
    client = ccxt.binance(ccxt_config(exchange.url, api_key="not-the-key"))
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        client.fetch_balance()


def test_wrong_secret_fails_the_signature_check(exchange: RunningExchange):
    client = ccxt.binance(ccxt_config(exchange.url, api_secret="wrong-secret"))
    client.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        client.create_order("ETH/USDT:USDT", "market", "buy", 0.1)
    (entry,) = exchange.admin.order_log()
    assert (entry["outcome"], entry["code"]) == ("rejected", -1022)
    assert exchange.admin.orders() == []


def test_tampered_parameters_fail_the_signature_check(exchange: RunningExchange):
    params = f"symbol=ETHUSDT&side=BUY&type=MARKET&quantity=0.100&timestamp={now_ms()}"
    tampered = signed(params).replace("quantity=0.100", "quantity=9.000")
    status, body = call(exchange, "POST", "/fapi/v1/order", body=tampered)
    assert (status, body["code"]) == (400, -1022)


def test_unsigned_private_request_is_refused(exchange: RunningExchange):
    status, body = call(exchange, "GET", "/fapi/v3/account", f"timestamp={now_ms()}")
    assert (status, body["code"]) == (400, -1102)


def test_stale_timestamp_is_outside_the_recv_window(exchange: RunningExchange):
    client = ccxt.binance(ccxt_config(exchange.url))
    client.options["timeDifference"] = 30_000  # the client's clock runs 30 s late
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        client.fetch_balance()
    status, body = call(exchange, "GET", "/fapi/v3/account", signed(f"timestamp={now_ms() + 5000}"))
    assert (status, body["code"]) == (400, -1021)
    assert "ahead" in body["msg"]


def test_recv_window_widens_the_accepted_age_up_to_binances_maximum(exchange: RunningExchange):
    stale = now_ms() - 20_000
    ok, _ = call(exchange, "GET", "/fapi/v3/account", signed(f"timestamp={stale}&recvWindow=30000"))
    too_wide, body = call(
        exchange, "GET", "/fapi/v3/account", signed(f"timestamp={stale}&recvWindow=90000")
    )
    assert ok == 200
    assert (too_wide, body["code"]) == (400, -1131)


def test_public_market_data_needs_no_key(exchange: RunningExchange):
    status, body = call(exchange, "GET", "/fapi/v1/depth", "symbol=BTCUSDT&limit=5", key=None)
    assert status == 200 and len(body["bids"]) == 5


def test_unknown_symbol_and_unknown_path_answer_binances_errors(exchange: RunningExchange):
    status, body = call(exchange, "GET", "/fapi/v1/klines", "symbol=NOPEUSDT&interval=1m", key=None)
    assert (status, body["code"]) == (400, -1121)
    status, body = call(exchange, "GET", "/fapi/v1/klines", "symbol=BTCUSDT&interval=7m", key=None)
    assert (status, body["code"]) == (400, -1120)
    status, body = call(exchange, "GET", "/fapi/v9/nothing", key=None)
    assert status == 404

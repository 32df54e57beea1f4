"""Small helpers shared by the exchange tests (imported by name: pytest puts this folder first)."""

from __future__ import annotations

import json
from typing import Any

import ccxt

from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import RunningExchange


def sync_client(running: RunningExchange, cls: str = "binance", **extra: Any) -> ccxt.Exchange:
    return getattr(ccxt, cls)(ccxt_config(running.url, **extra))


def place_limit_away(
    client: ccxt.Exchange, symbol: str, side: str, amount: float
) -> dict[str, Any]:
    """A limit order 2 % away from the price: it rests (and passes PERCENT_PRICE)."""
    last = client.fetch_ticker(symbol)["last"]
    price = last * (0.98 if side == "buy" else 1.02)
    return client.create_order(
        symbol, "limit", side, amount, float(client.price_to_precision(symbol, price))
    )


def last_json(client: ccxt.Exchange) -> dict[str, Any]:
    """The body of the client's last HTTP answer (an error body after a failed call)."""
    return json.loads(client.last_http_response)

"""Each test starts from a fresh account on the module's local exchange (`exchange`, from
tests/conftest.py), and `client` is ccxt on it."""

from __future__ import annotations

import ccxt
import pytest
from tests_exchange_helpers import sync_client

from statarb.exchange.launcher import RunningExchange


@pytest.fixture(autouse=True)
def fresh_account(request: pytest.FixtureRequest) -> None:
    """A clean account and no armed faults before every test that uses the exchange."""
    if "exchange" in request.fixturenames:
        request.getfixturevalue("exchange").admin.reset()


@pytest.fixture(params=["binance", "binanceusdm"])
def client(request: pytest.FixtureRequest, exchange: RunningExchange) -> ccxt.Exchange:
    """ccxt's ``binance`` (defaultType swap) and ``binanceusdm``, markets loaded."""
    ex = sync_client(exchange, request.param)
    ex.load_markets()
    return ex

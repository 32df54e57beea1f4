"""One real local-exchange process per test module; each test starts from a fresh account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ccxt
import pytest
from tests_exchange_helpers import sync_client

from statarb.exchange.launcher import RunningExchange, start_local_exchange


@pytest.fixture(scope="module")
def exchange(
    sample_market_datadir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningExchange]:
    folder = tmp_path_factory.mktemp("exchange")
    running = start_local_exchange(
        sample_market_datadir,
        log_path=folder / "exchange.log",
        state_path=folder / "state.json",
    )
    try:
        yield running
    finally:
        running.stop()


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

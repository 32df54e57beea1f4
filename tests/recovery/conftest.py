"""One local exchange per test module (a real subprocess); each test gets a fresh account and a
fresh bot folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from recovery_site import Site

from statarb.exchange.launcher import RunningExchange, start_local_exchange


@pytest.fixture(scope="module")
def exchange(
    sample_market_datadir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningExchange]:
    folder = tmp_path_factory.mktemp("exchange")
    running = start_local_exchange(
        sample_market_datadir, log_path=folder / "exchange.log", state_path=folder / "state.json"
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def site(exchange: RunningExchange, tmp_path: Path) -> Site:
    exchange.admin.reset()
    return Site(tmp_path / "bot", exchange)

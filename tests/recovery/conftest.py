"""Each test gets a fresh account on the module's local exchange (`exchange`, from
tests/conftest.py) and a fresh bot folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from recovery_site import Site

from statarb.exchange.launcher import RunningExchange


@pytest.fixture
def site(exchange: RunningExchange, tmp_path: Path) -> Site:
    exchange.admin.reset()
    return Site(tmp_path / "bot", exchange)

"""Pointing clients at the local exchange: a partial URL override would silently send the rest
of ccxt's calls to binance.com with real keys (docs/design.md §4.3)."""

from __future__ import annotations

import json
from pathlib import Path

import ccxt
import pytest

from statarb.exchange.client_config import (
    ccxt_config,
    ccxt_url_overrides,
    freqtrade_exchange_config,
)
from statarb.exchange.runner import DEFAULT_PORT

FRAGMENT = Path(__file__).parents[2] / "user_data" / "config.local-exchange.json"


@pytest.mark.parametrize("cls", ["binance", "binanceusdm"])
def test_every_ccxt_api_url_is_overridden(cls: str):
    overrides = ccxt_url_overrides("http://127.0.0.1:1234/")
    client = getattr(ccxt, cls)(ccxt_config("http://127.0.0.1:1234"))
    assert set(overrides) == set(getattr(ccxt, cls)().urls["api"])
    assert all(url.startswith("http://127.0.0.1:1234/") for url in client.urls["api"].values())


def test_each_override_keeps_binances_path():
    stock = ccxt.binance().urls["api"]
    for key, url in ccxt_url_overrides("http://127.0.0.1:1234").items():
        assert url.removeprefix("http://127.0.0.1:1234") == "/" + stock[key].split("/", 3)[3]


def test_a_base_url_without_a_scheme_is_refused():
    with pytest.raises(ValueError, match="http"):
        ccxt_url_overrides("127.0.0.1:8900")


def test_the_shipped_freqtrade_fragment_is_the_generated_one():
    shipped = json.loads(FRAGMENT.read_text())
    # No keys in a committed file, not even the simulator's: they come from the environment.
    generated = freqtrade_exchange_config(
        f"http://127.0.0.1:{DEFAULT_PORT}", api_key=None, api_secret=None
    )
    assert shipped == {"exchange": generated}
    assert "key" not in shipped["exchange"] and "secret" not in shipped["exchange"]
    assert generated["only_from_ccxt"] is True
    assert generated["ccxt_config"]["options"]["fetchMarkets"] == {"types": ["linear"]}

"""The FreqTrade internals the strategy needs are reached in one module and checked at start.

Protects against the next FreqTrade release renaming one of them and the bot finding out in
the middle of a hedge (an AttributeError while a lone leg waits for its twin), instead of a
clear refusal to open spreads at start that names what is missing and the version.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from types import SimpleNamespace

import freqtrade
import pytest
from freqtrade.data.dataprovider import DataProvider

from statarb.ft.freqtrade_internals import FreqtradeInternalsError, reach

REPO = Path(__file__).resolve().parents[2]
# A FreqTrade object's private attribute (an object's own `self._x` is not one).
PRIVATE_NAMES = re.compile(
    r"_DataProvider__|\bdp\._|(?<!self)\.(_exchange|_exit_lock|_rpc|_freqtrade|_api|_lev_prep)\b"
    r"|[\"'](_exchange|_exit_lock|_rpc|_freqtrade|_api|_lev_prep)[\"']|_dry_run_open_orders"
)


def test_a_data_provider_without_the_bot_is_refused_naming_what_is_missing() -> None:
    dp = DataProvider({"runmode": "dry_run", "timeframe": "1m"}, None, rpc=None)
    with pytest.raises(FreqtradeInternalsError) as refused:
        reach(dp)
    message = str(refused.value)
    assert "DataProvider.__rpc" in message
    assert f"FreqTrade {freqtrade.__version__}" in message
    assert "2026.9" in message


def test_a_bot_without_its_exit_lock_is_refused() -> None:
    bot = SimpleNamespace(execute_entry=print, replace_order=print)  # no _exit_lock
    dp = SimpleNamespace(_DataProvider__rpc=SimpleNamespace(_rpc=SimpleNamespace(_freqtrade=bot)))
    with pytest.raises(FreqtradeInternalsError, match=r"FreqtradeBot\._exit_lock"):
        reach(dp)


def test_a_renamed_call_is_refused_by_name() -> None:
    api = SimpleNamespace(create_order=print, fetch_order=print, fetch_positions=print)
    exchange = SimpleNamespace(
        _api=api, create_order=print, fetch_dry_run_order=print, _lev_prep=print
    )
    bot = SimpleNamespace(execute_entry=print, replace_order=print, _exit_lock=threading.Lock())
    dp = SimpleNamespace(
        _DataProvider__rpc=SimpleNamespace(_rpc=SimpleNamespace(_freqtrade=bot)),
        _exchange=exchange,
    )
    with pytest.raises(FreqtradeInternalsError, match=r"Exchange\._api\.fetch_l2_order_book"):
        reach(dp)
    api.fetch_l2_order_book = print
    assert reach(dp).bot is bot


def test_no_other_module_reaches_a_freqtrade_private_name() -> None:
    files = [
        *(REPO / "src" / "statarb").rglob("*.py"),
        *(REPO / "user_data" / "strategies").glob("*.py"),
        *(REPO / "scripts").glob("*.py"),
    ]
    allowed = REPO / "src" / "statarb" / "ft" / "freqtrade_internals.py"
    reaching = {
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        if path != allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE_NAMES.search(line.split("#", 1)[0])
    }
    assert not reaching, sorted(reaching)

"""The FreqTrade internals the strategy relies on: reached here only, checked at start.

FreqTrade 2026.9 gives a strategy per-pair callbacks and a DataProvider; a spread needs a few
things beyond that, each reached through a name FreqTrade does not promise to keep:

- the running `FreqtradeBot` (through the DataProvider's RPC handle): `execute_entry` opens a
  spread's missing twin (the call FreqTrade's own force-entry makes), `replace_order` is
  guarded so one bad book read does not stop the loop (statarb.ft.loop_guard), and
  `_exit_lock` settles the state before a twin is sent;
- the FreqTrade `Exchange` (`DataProvider._exchange`): its `create_order` is guarded in
  dry-run and `fetch_dry_run_order` answers the ghost check (statarb.ft.simulated_orders);
  `_lev_prep` sets a leg's margin mode and leverage before it leaves with its partner
  (statarb.ft.companion);
- its synchronous ccxt object (`Exchange._api`): `create_order` is guarded in live
  (statarb.live.seam), `fetch_l2_order_book` is checked (statarb.live.book_reads), and
  `fetch_order` / `fetch_positions` answer the ghost check and the monitor.

`reach` walks every one of them at start. A missing name is a clear `FreqtradeInternalsError` naming
it and FreqTrade's version, so the strategy refuses to trade at start (docs/design.md: when in
doubt, no new spreads) instead of failing with an AttributeError in the middle of a hedge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import freqtrade

PINNED_FREQTRADE = "2026.9"

BOT_CALLS = ("execute_entry", "replace_order")
EXCHANGE_CALLS = ("create_order", "fetch_dry_run_order", "_lev_prep")
CCXT_CALLS = ("create_order", "fetch_order", "fetch_positions", "fetch_l2_order_book")


class FreqtradeInternalsError(RuntimeError):
    """A FreqTrade internal the strategy needs is not there (another FreqTrade version)."""


@dataclass(frozen=True)
class FreqtradeInternals:
    bot: Any  # freqtrade.freqtradebot.FreqtradeBot
    exchange: Any  # freqtrade.exchange.Exchange
    ccxt_api: Any  # the Exchange's synchronous ccxt object
    exit_lock: Any  # FreqtradeBot._exit_lock (a threading.Lock)


def freqtrade_version() -> str:
    return str(freqtrade.__version__)


def _step(owner: Any, name: str, path: str) -> Any:
    value = getattr(owner, name, None)
    if value is None:
        raise FreqtradeInternalsError(
            f"FreqTrade {freqtrade_version()}: `{path}` is missing or empty (this strategy is "
            f"written for FreqTrade {PINNED_FREQTRADE}): spreads cannot be executed safely"
        )
    return value


def _calls(owner: Any, names: tuple[str, ...], path: str) -> None:
    for name in names:
        if not callable(getattr(owner, name, None)):
            raise FreqtradeInternalsError(
                f"FreqTrade {freqtrade_version()}: `{path}.{name}` is missing or not callable "
                f"(this strategy is written for FreqTrade {PINNED_FREQTRADE})"
            )


def exchange_of(dp: Any) -> Any | None:
    """FreqTrade's Exchange behind the DataProvider, in any run mode (backtests too): the fee
    schedule it charges. None when there is none (the strategy then assumes the config's)."""
    return getattr(dp, "_exchange", None)


def prepare_entry(exchange: Any, symbol: str, leverage: float, side: str) -> None:
    """FreqTrade's margin mode and leverage for `symbol`, as its `create_order` sets them
    before every entry (raises FreqTrade's TemporaryError when the exchange refuses)."""
    exchange._lev_prep(symbol, leverage, side)


def reach(dp: Any) -> FreqtradeInternals:
    """Every internal the live and dry-run execution path uses, from the strategy's `dp`."""
    rpc_manager = _step(dp, "_DataProvider__rpc", "DataProvider.__rpc (the RPC handle)")
    rpc = _step(rpc_manager, "_rpc", "RPCManager._rpc")
    bot = _step(rpc, "_freqtrade", "RPC._freqtrade (the running FreqtradeBot)")
    exit_lock = _step(bot, "_exit_lock", "FreqtradeBot._exit_lock")
    exchange = _step(dp, "_exchange", "DataProvider._exchange")
    ccxt_api = _step(exchange, "_api", "Exchange._api (its synchronous ccxt object)")
    _calls(bot, BOT_CALLS, "FreqtradeBot")
    _calls(exchange, EXCHANGE_CALLS, "Exchange")
    _calls(ccxt_api, CCXT_CALLS, "Exchange._api")
    if not (hasattr(exit_lock, "__enter__") and hasattr(exit_lock, "__exit__")):
        raise FreqtradeInternalsError(
            f"FreqTrade {freqtrade_version()}: `FreqtradeBot._exit_lock` is not a lock"
        )
    return FreqtradeInternals(bot=bot, exchange=exchange, ccxt_api=ccxt_api, exit_lock=exit_lock)

"""The guard's and the monitor's view of the exchange, through FreqTrade's own ccxt object."""

from __future__ import annotations

from typing import Any

from statarb.execution.errors import is_order_missing


class CcxtPort:
    def __init__(self, api: Any) -> None:
        self._api = api

    def fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        try:
            return self._api.fetch_order(None, symbol, {"origClientOrderId": client_order_id})
        except Exception as error:
            if is_order_missing(error):
                return None
            raise

    def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        """Open orders of ONE symbol (docs/design.md §6.6: the symbol-less call hides futures
        orders)."""
        return list(self._api.fetch_open_orders(symbol))

    def positions(self, symbols: list[str]) -> list[dict[str, Any]]:
        return list(self._api.fetch_positions(symbols))

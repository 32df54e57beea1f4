"""The guard's and the monitor's view of the exchange, through FreqTrade's own ccxt object."""

from __future__ import annotations

from typing import Any

import ccxt

from statarb.execution.errors import is_order_missing


class CcxtPort:
    def __init__(self, api: Any) -> None:
        self._api = api

    def fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        """The order with this client id, None if the exchange has none; an answer that is
        not that order (a garbled body ccxt parsed into an order without an id) raises: it
        says nothing, and handed on it became an order "None" FreqTrade could never query
        again while the real one filled unmanaged (found by the chaos soak)."""
        try:
            order = self._api.fetch_order(None, symbol, {"origClientOrderId": client_order_id})
        except Exception as error:
            if is_order_missing(error):
                return None
            raise
        if not order.get("id") or order.get("clientOrderId") != client_order_id:
            raise ccxt.BadResponse(
                f"answer for client order id {client_order_id} is not that order: "
                f"id={order.get('id')!r} clientOrderId={order.get('clientOrderId')!r}"
            )
        return order

    def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        """Open orders of ONE symbol (docs/design.md §6.6: the symbol-less call hides futures
        orders)."""
        return list(self._api.fetch_open_orders(symbol))

    def positions(self, symbols: list[str]) -> list[dict[str, Any]]:
        return list(self._api.fetch_positions(symbols))

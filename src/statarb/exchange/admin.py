"""A tiny client for the local exchange's admin API (stdlib urllib only).

Used by tests, the demo and the crash drills::

    admin = LocalExchangeAdmin("http://127.0.0.1:8900")
    admin.inject_fault("drop_response", symbol="BTCUSDT")
    admin.price_shock("ETHUSDT", factor=1.02)
    assert len(admin.order_log()) == 2
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class AdminError(RuntimeError):
    """The admin API refused a request (its message says why)."""


class LocalExchangeAdmin:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            raise AdminError(f"{method} {path} → {exc.code}: {body}") from exc

    # -- health and clock ----------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/admin/health")

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/admin/clock")

    def advance_clock(self, *, ms: int) -> int:
        return int(self._call("POST", "/admin/clock/advance", {"ms": ms})["now_ms"])

    # -- faults --------------------------------------------------------------------------------
    def inject_fault(self, kind: str, **scope: Any) -> dict[str, Any]:
        """Arm a fault: reject / drop_response / partial_fill / http_error / latency / garbage."""
        return self._call("POST", "/admin/faults", {"kind": kind, **scope})

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/admin/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/admin/faults")

    # -- market --------------------------------------------------------------------------------
    def price(self, symbol: str) -> float:
        return float(self._call("GET", f"/admin/price?symbol={symbol}")["price"])

    def price_shock(
        self, symbol: str, *, factor: float | None = None, price: float | None = None
    ) -> float:
        payload: dict[str, Any] = {"symbol": symbol}
        if factor is not None:
            payload["factor"] = factor
        if price is not None:
            payload["price"] = price
        return float(self._call("POST", "/admin/price_shock", payload)["price"])

    # -- account and orders --------------------------------------------------------------------
    def cancel_order(
        self,
        symbol: str,
        *,
        order_id: int | str | None = None,
        client_order_id: str | None = None,
        status: str = "CANCELED",
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"symbol": symbol, "status": status}
        if order_id is not None:
            payload["orderId"] = int(order_id)
        if client_order_id is not None:
            payload["origClientOrderId"] = client_order_id
        return self._call("POST", "/admin/cancel_order", payload)

    def plant_position(
        self,
        symbol: str,
        position_amt: float | str,
        *,
        entry_price: float | str | None = None,
        leverage: int | None = None,
        margin_type: str | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"symbol": symbol, "positionAmt": str(position_amt)}
        if entry_price is not None:
            payload["entryPrice"] = str(entry_price)
        if leverage is not None:
            payload["leverage"] = leverage
        if margin_type is not None:
            payload["marginType"] = margin_type
        return self._call("POST", "/admin/plant_position", payload)

    def set_balance(self, wallet_balance_usdt: float | str) -> dict[str, Any]:
        return self._call("POST", "/admin/set_balance", {"walletBalance": str(wallet_balance_usdt)})

    def order_log(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/admin/order_log")["orders"])

    def request_log(self) -> list[dict[str, Any]]:
        """Every answered API request: time_ms (venue clock), method, path, symbol, status."""
        return list(self._call("GET", "/admin/request_log")["requests"])

    def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        suffix = f"?symbol={symbol}" if symbol else ""
        return list(self._call("GET", "/admin/orders" + suffix)["orders"])

    def positions(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/admin/positions")["positions"])

    def trades(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/admin/trades")["trades"])

    def account(self) -> dict[str, Any]:
        return self._call("GET", "/admin/account")

    def reset(self) -> None:
        self._call("POST", "/admin/reset")

"""The admin API under ``/admin/``: JSON in and out, no signature, loopback clients only.

Tests, the demo and the crash drills use it (through ``admin.LocalExchangeAdmin``) to inject
faults, move prices, cancel a resting order from the exchange side, plant positions and balances,
read the log of order requests, and move the clock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from statarb.exchange import responses
from statarb.exchange.api import LocalExchange, Request, Response
from statarb.exchange.faults import FaultSpecError, normalise_symbol
from statarb.exchange.protocol import ApiError
from statarb.exchange.venue import Order

AdminHandler = Callable[[LocalExchange, dict[str, Any]], Any]
ADMIN_ROUTES: dict[tuple[str, str], AdminHandler] = {}


class AdminError(ValueError):
    """A bad admin request; answered as 400 {"error": message}."""


def admin(method: str, path: str) -> Callable[[AdminHandler], AdminHandler]:
    def register(fn: AdminHandler) -> AdminHandler:
        ADMIN_ROUTES[(method, path)] = fn
        return fn

    return register


def handle_admin(app: LocalExchange, req: Request) -> Response:
    try:
        loopback = ipaddress.ip_address(req.client_ip).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return Response(403, {"error": "the admin API answers loopback clients only"})
    handler = ADMIN_ROUTES.get((req.method, req.path))
    if handler is None:
        return Response(404, {"error": f"no admin route {req.method} {req.path}"})
    payload: dict[str, Any] = dict(req.params.raw)
    if isinstance(req.json_body, dict):
        payload.update(req.json_body)
    elif req.json_body is not None:
        return Response(400, {"error": "the admin API takes a JSON object"})
    with app.venue.lock:
        try:
            body = handler(app, payload)
            status = 200
        except (AdminError, FaultSpecError, ValueError, TypeError) as exc:
            status, body = 400, {"error": str(exc)}
        except ApiError as err:
            status, body = 400, {"error": err.msg, "code": err.code}
        finally:
            app.store.save(app.venue)
    return Response(status, body)


def _symbol(payload: dict[str, Any]) -> str:
    symbol = normalise_symbol(payload.get("symbol"))
    if not symbol:
        raise AdminError("symbol is required")
    return symbol


def _decimal(payload: dict[str, Any], name: str, *, required: bool = True) -> Decimal | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise AdminError(f"{name} is required")
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise AdminError(f"{name} must be a number, got {value!r}") from exc


def _raw_order(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "clientOrderId": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "timeInForce": order.time_in_force,
        "origQty": str(order.orig_qty),
        "price": str(order.price),
        "reduceOnly": order.reduce_only,
        "status": order.status,
        "executedQty": str(order.executed_qty),
        "cumQuote": str(order.cum_quote),
        "time": order.time_ms,
        "updateTime": order.update_time_ms,
    }


@admin("GET", "/admin/health")
def health(app: LocalExchange, payload: dict[str, Any]) -> Any:
    return {"ok": True, "symbols": app.venue.market.symbols, "now_ms": app.venue.now_ms()}


@admin("GET", "/admin/clock")
def clock(app: LocalExchange, payload: dict[str, Any]) -> Any:
    venue = app.venue
    return {
        "now_ms": venue.now_ms(),
        "offset_ms": venue.market.offset_ms,
        "clock_advance_ms": venue.clock_advance_ms,
        "processed_ms": venue.processed_ms,
    }


@admin("POST", "/admin/clock/advance")
def advance_clock(app: LocalExchange, payload: dict[str, Any]) -> Any:
    if "ms" in payload:
        ms = int(payload["ms"])
    elif "seconds" in payload:
        ms = int(float(payload["seconds"]) * 1000)
    else:
        raise AdminError("give ms or seconds")
    return {"now_ms": app.venue.advance_clock(ms)}


@admin("GET", "/admin/faults")
def list_faults(app: LocalExchange, payload: dict[str, Any]) -> Any:
    return {"faults": [f.to_dict() for f in app.faults.list()], "fired": app.faults.fired}


@admin("POST", "/admin/faults")
def add_fault(app: LocalExchange, payload: dict[str, Any]) -> Any:
    return app.faults.add(payload).to_dict()


@admin("DELETE", "/admin/faults")
def clear_faults(app: LocalExchange, payload: dict[str, Any]) -> Any:
    app.faults.clear()
    return {"faults": []}


@admin("GET", "/admin/price")
def price(app: LocalExchange, payload: dict[str, Any]) -> Any:
    symbol = _symbol(payload)
    app.venue.spec(symbol)
    app.venue.advance()
    return {"symbol": symbol, "price": str(app.venue.price(symbol)), "time": app.venue.now_ms()}


@admin("POST", "/admin/price_shock")
def price_shock(app: LocalExchange, payload: dict[str, Any]) -> Any:
    symbol = _symbol(payload)
    factor = payload.get("factor")
    target = payload.get("price")
    new_price = app.venue.shock(
        symbol,
        factor=None if factor is None else float(factor),
        price=None if target is None else float(target),
    )
    return {"symbol": symbol, "price": f"{new_price:.8f}"}


@admin("POST", "/admin/cancel_order")
def cancel_order(app: LocalExchange, payload: dict[str, Any]) -> Any:
    symbol = _symbol(payload)
    order_id = payload.get("orderId")
    client_id = payload.get("origClientOrderId")
    if order_id is None and client_id is None:
        raise AdminError("give orderId or origClientOrderId")
    order = app.venue.expire_order(
        symbol,
        None if order_id is None else int(order_id),
        client_id,
        str(payload.get("status", "CANCELED")).upper(),
    )
    return responses.order(order, app.venue.market.specs[symbol])


@admin("POST", "/admin/plant_position")
def plant_position(app: LocalExchange, payload: dict[str, Any]) -> Any:
    symbol = _symbol(payload)
    amt = _decimal(payload, "positionAmt")
    assert amt is not None
    leverage = payload.get("leverage")
    margin_type = payload.get("marginType")
    pos = app.venue.plant_position(
        symbol,
        amt=amt,
        entry_price=_decimal(payload, "entryPrice", required=False),
        leverage=None if leverage is None else int(leverage),
        margin_type=None if margin_type is None else str(margin_type).upper(),
    )
    return {"symbol": symbol, "positionAmt": str(pos.amt), "entryPrice": str(pos.entry_price)}


@admin("POST", "/admin/set_balance")
def set_balance(app: LocalExchange, payload: dict[str, Any]) -> Any:
    amount = _decimal(payload, "walletBalance")
    assert amount is not None
    app.venue.set_balance(amount)
    return {"walletBalance": str(app.venue.account.wallet_balance)}


@admin("GET", "/admin/order_log")
def order_log(app: LocalExchange, payload: dict[str, Any]) -> Any:
    return {"orders": app.venue.order_log}


@admin("GET", "/admin/request_log")
def request_log(app: LocalExchange, payload: dict[str, Any]) -> Any:
    return {"requests": list(app.request_log)}


@admin("GET", "/admin/orders")
def orders(app: LocalExchange, payload: dict[str, Any]) -> Any:
    app.venue.advance()
    symbol = normalise_symbol(payload.get("symbol"))
    return {
        "orders": [
            _raw_order(o) for o in app.venue.orders.values() if symbol is None or o.symbol == symbol
        ]
    }


@admin("GET", "/admin/positions")
def positions(app: LocalExchange, payload: dict[str, Any]) -> Any:
    venue = app.venue
    venue.advance()
    out = []
    for symbol, pos in sorted(venue.account.positions.items()):
        if pos.amt == 0:
            continue
        settings = venue.account.settings_for(venue.market.specs[symbol])
        out.append(
            {
                "symbol": symbol,
                "positionAmt": str(pos.amt),
                "entryPrice": str(pos.entry_price),
                "isolatedWallet": str(pos.isolated_wallet),
                "leverage": settings.leverage,
                "marginType": settings.margin_type,
                "markPrice": str(venue.price(symbol)),
            }
        )
    return {"positions": out}


@admin("GET", "/admin/account")
def account(app: LocalExchange, payload: dict[str, Any]) -> Any:
    venue = app.venue
    venue.advance()
    acc = venue.account
    return {
        "walletBalance": str(acc.wallet_balance),
        "crossWalletBalance": str(acc.cross_wallet()),
        "availableBalance": str(venue.available_balance()),
        "trades": len(venue.trades),
        "orders": len(venue.orders),
        "income": len(acc.income),
    }


@admin("GET", "/admin/trades")
def trades(app: LocalExchange, payload: dict[str, Any]) -> Any:
    venue = app.venue
    venue.advance()
    return {"trades": [responses.trade(t, venue.market.specs[t.symbol]) for t in venue.trades]}


@admin("POST", "/admin/reset")
def reset(app: LocalExchange, payload: dict[str, Any]) -> Any:
    app.venue.reset()
    app.faults.clear()
    return {"ok": True}

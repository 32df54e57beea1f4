"""Signed order endpoints: new / query / cancel orders, open and all orders, user trades.

Every new-order request — accepted, rejected, faulted — lands in the venue's order log, so a test
can prove that no order was sent twice.
"""

from __future__ import annotations

import json
from typing import Any

from statarb.exchange import protocol, responses
from statarb.exchange.api import (
    CLIENT_ID_RE,
    LocalExchange,
    Request,
    route,
    time_window,
)
from statarb.exchange.faults import RequestScope
from statarb.exchange.protocol import ApiError, Params
from statarb.exchange.venue import Order, OrderRequest

MAX_BATCH = 5


def order_log_entry(req_time_ms: int, endpoint: str, p: Params) -> dict[str, Any]:
    """What a test needs to prove an intent was sent once: who, what, how much, which id."""
    return {
        "time_ms": req_time_ms,
        "endpoint": endpoint,
        "symbol": p.get("symbol"),
        "side": p.get("side"),
        "type": p.get("type"),
        "quantity": p.get("quantity"),
        "price": p.get("price"),
        "timeInForce": p.get("timeInForce"),
        "reduceOnly": (p.get("reduceOnly") or "false").lower() == "true",
        "newClientOrderId": p.get("newClientOrderId"),
        "outcome": "pending",
    }


def _parse_request(p: Params) -> OrderRequest:
    symbol = p.required("symbol").upper()
    side = p.required("side").upper()
    order_type = p.required("type").upper()
    client_id = p.get("newClientOrderId")
    if client_id is not None and not CLIENT_ID_RE.match(client_id):
        raise ApiError(
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'; "
            "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
        )
    tif = p.get("timeInForce")
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=order_type,
        qty=p.decimal("quantity"),
        price=p.decimal("price"),
        time_in_force=tif.upper() if tif else None,
        reduce_only=p.boolean("reduceOnly"),
        close_position=p.boolean("closePosition"),
        client_order_id=client_id,
        position_side=(p.get("positionSide") or "BOTH").upper(),
    )


def _new_order(app: LocalExchange, p: Params, method: str, path: str) -> dict[str, Any]:
    """Place one order (shared by /order and /batchOrders); logs the request and its outcome."""
    venue = app.venue
    entry = order_log_entry(venue.now_ms(), f"{method} {path}", p)
    venue.log_order_request(entry)
    try:
        resp_type = (p.get("newOrderRespType") or "ACK").upper()
        if resp_type not in ("ACK", "RESULT"):
            raise ApiError(-1130, "Data sent for parameter 'newOrderRespType' is not valid.")
        request = _parse_request(p)
        app.spec(request.symbol)
        scope = RequestScope(method, path, request.symbol, request.side, request.reduce_only)
        reject = app.faults.take("reject", scope)
        if reject is not None:
            raise _fault_error(reject.code, reject.msg)
        partial = app.faults.take("partial_fill", scope)
        placed = venue.place_order(request, fill_ratio=None if partial is None else partial.ratio)
    except ApiError as err:
        entry.update(outcome="rejected", code=err.code, msg=err.msg)
        raise
    order = placed.order
    entry.update(
        outcome="accepted",
        orderId=order.order_id,
        clientOrderId=order.client_order_id,
        status=order.status,
        executedQty=str(order.executed_qty),
    )
    spec = venue.market.specs[order.symbol]
    shown = placed.ack if resp_type == "ACK" else order
    return responses.order(shown, spec, with_time=False)


_FAULT_ERRORS = {
    -1001: protocol.err_unknown_execution,
    -1003: protocol.err_too_many_requests,
    -1021: protocol.err_timestamp_outside_window,
    -1022: protocol.err_bad_signature,
    -2010: lambda: ApiError(-2010, "NEW_ORDER_REJECTED"),
    -2019: protocol.err_margin_insufficient,
    -2022: protocol.err_reduce_only_rejected,
    -2027: protocol.err_max_position,
    -4116: protocol.err_duplicate_client_id,
    -4131: lambda: ApiError(
        -4131, "The counterparty's best price does not meet the PERCENT_PRICE filter limit."
    ),
    -5022: protocol.err_post_only_rejected,
}


def _fault_error(code: int, msg: str | None) -> ApiError:
    """The Binance error an injected rejection answers with (catalogue message unless given)."""
    factory = _FAULT_ERRORS.get(code)
    base = factory() if factory is not None else ApiError(code, msg or "Order rejected.")
    return ApiError(code, msg or base.msg, base.http_status)


@route("POST", "/fapi/v1/order", signed=True)
def new_order(app: LocalExchange, req: Request) -> Any:
    return _new_order(app, req.params, req.method, req.path)


@route("POST", "/fapi/v1/batchOrders", signed=True)
def batch_orders(app: LocalExchange, req: Request) -> Any:
    raw = req.params.required("batchOrders")
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(-1130, "Data sent for parameter 'batchOrders' is not valid.") from exc
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        raise ApiError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
    out: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            out.append(
                ApiError(-1130, "Data sent for parameter 'batchOrders' is not valid.").body()
            )
            continue
        params = Params(
            {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in item.items()}
        )
        try:
            out.append(_new_order(app, params, req.method, req.path))
        except ApiError as err:
            out.append(err.body())
    return out


def _find(app: LocalExchange, p: Params) -> tuple[str, int | None, str | None]:
    symbol = app.spec(p.get("symbol")).symbol
    order_id = p.integer("orderId")
    client_id = p.get("origClientOrderId")
    if order_id is None and client_id is None:
        raise protocol.err_mandatory_either("orderId", "origClientOrderId")
    return symbol, order_id, client_id


def _show(app: LocalExchange, order: Order) -> dict[str, Any]:
    return responses.order(order, app.venue.market.specs[order.symbol])


@route("GET", "/fapi/v1/order", signed=True)
def query_order(app: LocalExchange, req: Request) -> Any:
    symbol, order_id, client_id = _find(app, req.params)
    app.venue.advance()
    order = app.venue.find_order(symbol, order_id, client_id)
    if order is None:
        raise protocol.err_order_not_found()
    return _show(app, order)


@route("GET", "/fapi/v1/openOrder", signed=True)
def query_open_order(app: LocalExchange, req: Request) -> Any:
    symbol, order_id, client_id = _find(app, req.params)
    app.venue.advance()
    order = app.venue.find_order(symbol, order_id, client_id)
    if order is None or not order.is_open:
        raise ApiError(-2013, "Order does not exist.")
    return _show(app, order)


@route("DELETE", "/fapi/v1/order", signed=True)
def cancel_order(app: LocalExchange, req: Request) -> Any:
    symbol, order_id, client_id = _find(app, req.params)
    order = app.venue.cancel_order(symbol, order_id, client_id)
    return responses.order(order, app.venue.market.specs[symbol], with_time=False)


@route("DELETE", "/fapi/v1/batchOrders", signed=True)
def cancel_batch(app: LocalExchange, req: Request) -> Any:
    p = req.params
    symbol = app.spec(p.get("symbol")).symbol
    ids_raw, client_raw = p.get("orderIdList"), p.get("origClientOrderIdList")
    if ids_raw is None and client_raw is None:
        raise protocol.err_mandatory_either("orderIdList", "origClientOrderIdList")
    try:
        ids = json.loads(ids_raw) if ids_raw else []
        client_ids = json.loads(client_raw) if client_raw else []
    except json.JSONDecodeError as exc:
        raise ApiError(-1130, "Data sent for parameter 'orderIdList' is not valid.") from exc
    out: list[Any] = []
    for order_id, client_id in [(int(i), None) for i in ids] + [(None, str(c)) for c in client_ids]:
        try:
            order = app.venue.cancel_order(symbol, order_id, client_id)
            out.append(responses.order(order, app.venue.market.specs[symbol], with_time=False))
        except ApiError as err:
            out.append(err.body())
    return out


@route("DELETE", "/fapi/v1/allOpenOrders", signed=True)
def cancel_all(app: LocalExchange, req: Request) -> Any:
    symbol = app.spec(req.params.get("symbol")).symbol
    app.venue.cancel_all(symbol)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


@route("GET", "/fapi/v1/openOrders", signed=True)
def open_orders(app: LocalExchange, req: Request) -> Any:
    p = req.params
    symbol = app.spec(p.get("symbol")).symbol if p.get("symbol") else None
    app.venue.advance()
    return [_show(app, o) for o in app.venue.open_orders(symbol)]


@route("GET", "/fapi/v1/allOrders", signed=True)
def all_orders(app: LocalExchange, req: Request) -> Any:
    p = req.params
    venue = app.venue
    symbol = app.spec(p.get("symbol")).symbol
    venue.advance()
    limit = p.limit(500, 1000)
    from_id = p.integer("orderId")
    orders = [o for o in venue.orders.values() if o.symbol == symbol]
    if from_id is not None:
        orders = [o for o in orders if o.order_id >= from_id][:limit]
    elif p.get("startTime") or p.get("endTime"):
        start, end = time_window(p, venue.now_ms())
        orders = [o for o in orders if start <= o.time_ms <= end][:limit]
    else:
        orders = orders[-limit:]
    return [_show(app, o) for o in orders]


@route("GET", "/fapi/v1/userTrades", signed=True)
def user_trades(app: LocalExchange, req: Request) -> Any:
    p = req.params
    venue = app.venue
    spec = app.spec(p.get("symbol"))
    venue.advance()
    limit = p.limit(500, 1000)
    order_id = p.integer("orderId")
    from_id = p.integer("fromId")
    if from_id is not None and (p.get("startTime") or p.get("endTime")):
        raise ApiError(-4135, "The parameter fromId cannot be sent with startTime or endTime.")
    trades = [t for t in venue.trades if t.symbol == spec.symbol]
    if order_id is not None:
        trades = [t for t in trades if t.order_id == order_id][:limit]
    elif from_id is not None:
        trades = [t for t in trades if t.trade_id >= from_id][:limit]
    else:
        explicit = p.get("startTime") is not None
        start, end = time_window(p, venue.now_ms())
        trades = [t for t in trades if start <= t.time_ms <= end]
        trades = trades[:limit] if explicit else trades[-limit:]
    return [responses.trade(t, spec) for t in trades]

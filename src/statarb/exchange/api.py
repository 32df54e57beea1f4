"""Binance USDT-M REST endpoints as plain handlers: a parsed request in, status + JSON out.

No web code here (that is ``http``): each handler reads Binance's parameter names, calls the
venue, and prints Binance's response shapes. Security follows Binance: NONE (public market data),
SIGNED (API key + HMAC signature + timestamp within recvWindow). Every request runs under the
venue lock and the state is saved before the answer leaves, so an answer never reports something
a crash could forget.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from statarb.exchange import protocol, responses
from statarb.exchange.faults import FaultBook, RequestScope
from statarb.exchange.protocol import ApiError, Params
from statarb.exchange.specs import SymbolSpec
from statarb.exchange.state import StateStore
from statarb.exchange.venue import Venue

logger = logging.getLogger("statarb.exchange")

SEVEN_DAYS_MS = 7 * 86_400_000
CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")


@dataclass
class Request:
    method: str
    path: str
    params: Params
    headers: dict[str, str]  # lower-case names
    raw_query: str = ""
    raw_body: str = ""
    client_ip: str = "127.0.0.1"
    json_body: Any = None  # admin requests only


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    # order-log entries written while handling (``http`` marks them when it drops the answer)
    order_log_entries: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[["LocalExchange", Request], Any]


@dataclass(frozen=True)
class Route:
    handler: Handler
    signed: bool


ROUTES: dict[tuple[str, str], Route] = {}
REQUEST_LOG_SIZE = 50_000


def route(method: str, *paths: str, signed: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for path in paths:
            ROUTES[(method, path)] = Route(fn, signed)
        return fn

    return register


class LocalExchange:
    """The application: venue + state + faults + keys, answering parsed requests."""

    def __init__(
        self,
        venue: Venue,
        *,
        store: StateStore,
        api_key: str,
        api_secret: str,
        faults: FaultBook | None = None,
    ) -> None:
        self.venue = venue
        self.store = store
        self.api_key = api_key
        self.api_secret = api_secret
        self.faults = faults or FaultBook()
        self._weight_minute = 0
        self._weight = 0
        # Every API request's arrival and answer (not the admin API's): where a client's time
        # goes between two orders (bench/entry_latency_bench.py). Bounded: a soak runs hours.
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def log_request(
        self, scope: RequestScope, *, arrived_ms: int, status: int, took_ms: float
    ) -> None:
        """One API request, timed on the venue's clock (as the order log is)."""
        self.request_log.append(
            {
                "time_ms": arrived_ms,
                "method": scope.method,
                "path": scope.path,
                "symbol": scope.symbol,
                "status": status,
                "took_ms": round(took_ms, 3),
            }
        )

    # -- entry point ---------------------------------------------------------------------------
    def scope(self, req: Request) -> RequestScope:
        p = req.params
        symbol = p.get("symbol")
        side = p.get("side")
        return RequestScope(
            method=req.method,
            path=req.path,
            symbol=symbol.upper() if symbol else None,
            side=side.upper() if side else None,
            reduce_only=(p.get("reduceOnly") or "").lower() == "true",
            orders=_batch_scopes(req),
        )

    def handle(self, req: Request) -> Response:
        """Authenticate, dispatch and persist; Binance's error JSON for every failure."""
        found = ROUTES.get((req.method, req.path))
        headers = {"X-MBX-USED-WEIGHT-1M": str(self._count_weight())}
        if found is None:
            err = protocol.err_invalid_path(req.method, req.path)
            return Response(err.http_status, err.body(), headers)
        with self.venue.lock:
            logged_before = len(self.venue.order_log)
            try:
                if found.signed:
                    self._authenticate(req)
                body = found.handler(self, req)
                status = 200
            except ApiError as err:
                status, body = err.http_status, err.body()
                if len(self.venue.order_log) == logged_before and self.scope(req).is_order:
                    self.log_unprocessed_order(req, outcome="rejected", code=err.code)
            except Exception:
                logger.exception("internal error on %s %s", req.method, req.path)
                err = protocol.err_internal()
                status, body = err.http_status, err.body()
            finally:
                self.store.save(self.venue)
            entries = self.venue.order_log[logged_before:]
        return Response(status, body, headers, entries)

    def log_unprocessed_order(self, req: Request, *, outcome: str, code: int | None) -> None:
        """An order request that never reached matching (auth failure, injected HTTP error):
        one entry per order it carried (a batch's each, by its own client id)."""
        orders = _batch_items(req) or [dict(req.params.raw)]
        with self.venue.lock:
            for order in orders:

                def field(name: str, order: dict[str, Any] = order) -> str | None:
                    value = order.get(name)
                    return None if value is None else str(value)

                self.venue.log_order_request(
                    {
                        "time_ms": self.venue.now_ms(),
                        "endpoint": f"{req.method} {req.path}",
                        "symbol": field("symbol"),
                        "side": field("side"),
                        "type": field("type"),
                        "quantity": field("quantity"),
                        "price": field("price"),
                        "timeInForce": field("timeInForce"),
                        "reduceOnly": (field("reduceOnly") or "false").lower() == "true",
                        "newClientOrderId": field("newClientOrderId"),
                        "outcome": outcome,
                        "code": code,
                    }
                )
            self.store.save(self.venue)

    def mark_dropped(self, entries: list[dict[str, Any]], how: str) -> None:
        """Record in the order log that the client never received these answers."""
        if not entries:
            return
        with self.venue.lock:
            for entry in entries:
                entry["response"] = how
            self.venue.dirty = True
            self.store.save(self.venue)

    def _count_weight(self) -> int:
        minute = int(time.time() // 60)
        if minute != self._weight_minute:
            self._weight_minute, self._weight = minute, 0
        self._weight += 1
        return self._weight

    def _authenticate(self, req: Request) -> None:
        key = req.headers.get("x-mbx-apikey")
        if not key:
            raise protocol.err_api_key_format()
        if key != self.api_key:
            raise protocol.err_invalid_key()
        protocol.check_signature(self.api_secret, req.raw_query, req.raw_body)
        # the recvWindow check uses the wall clock, not the replay clock (which an admin may
        # have moved forward): clients sign with their own wall clock, as against Binance
        protocol.check_timestamp(req.params.raw, time.time_ns() // 1_000_000)

    # -- helpers -------------------------------------------------------------------------------
    def spec(self, symbol: str | None) -> SymbolSpec:
        if symbol is None:
            raise protocol.err_mandatory("symbol")
        return self.venue.spec(symbol.upper())

    def specs_for(self, p: Params) -> list[SymbolSpec]:
        symbol = p.get("symbol")
        if symbol is not None:
            return [self.spec(symbol)]
        return [self.venue.market.specs[s] for s in self.venue.market.symbols]

    def view(self) -> responses.AccountView:
        venue = self.venue
        venue.advance()
        marks = venue.marks()
        return responses.AccountView(
            account=venue.account,
            specs=venue.market.specs,
            marks=marks,
            open_orders=venue.open_orders(),
            open_order_margins=venue.open_order_margins(marks),
            now_ms=venue.now_ms(),
        )


def ok_body() -> dict[str, Any]:
    return {"code": 200, "msg": "success"}


def time_window(p: Params, now_ms: int, *, max_span_ms: int = SEVEN_DAYS_MS) -> tuple[int, int]:
    """Binance's 7-day windows: none given = the last 7 days; only start = start + 7 days."""
    start, end = p.integer("startTime"), p.integer("endTime")
    if start is None and end is None:
        return now_ms - max_span_ms, now_ms
    if start is None:
        assert end is not None
        return end - max_span_ms, end
    if end is None:
        return start, start + max_span_ms
    if end - start > max_span_ms:
        raise ApiError(-1127, "More than 168 hours between startTime and endTime.")
    return start, end


def _batch_items(req: Request) -> list[dict[str, Any]]:
    """The orders of a POST batchOrders request (unparseable: none; the endpoint answers that
    request with its own error)."""
    if req.method != "POST" or req.path != "/fapi/v1/batchOrders":
        return []
    try:
        items = json.loads(req.params.get("batchOrders") or "[]")
    except json.JSONDecodeError:
        return []
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _batch_scopes(req: Request) -> tuple[RequestScope, ...]:
    """The orders of a POST batchOrders request, as scopes."""
    return tuple(
        RequestScope(
            method=req.method,
            path=req.path,
            symbol=str(item["symbol"]).upper() if item.get("symbol") else None,
            side=str(item["side"]).upper() if item.get("side") else None,
            reduce_only=str(item.get("reduceOnly", "")).lower() == "true",
        )
        for item in _batch_items(req)
    )

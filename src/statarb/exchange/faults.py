"""Injectable faults: the ways Binance misbehaves, on demand, scoped and counted.

Each fault matches requests by endpoint (``"POST /fapi/v1/order"`` or a bare path), and for order
requests by symbol, side and reduce-only; it fires ``count`` times (-1 = until cleared). Kinds:

- ``reject``: the next matching order is refused with the given Binance code (not created).
- ``drop_response``: the order is processed (it exists and may fill) but the client gets no
  answer: ``mode="reset"`` closes the socket (ccxt: NetworkError), ``mode="timeout"`` holds the
  connection ``hold_ms`` then closes it (set it past the client's timeout: RequestTimeout).
- ``partial_fill``: the order's first fill is only ``ratio`` of its quantity; a market order's
  remainder expires, a limit order's remainder rests until the price touches it again.
- ``http_error``: answer ``status`` 429 / 418 / 503 (or 500) with Binance's body and headers
  (Retry-After) without processing; ``after=True`` with 503 processes the request first and then
  answers "Unknown error" (Binance's execution-status-unknown case).
- ``latency``: hold matching requests ``latency_ms`` before answering.
- ``garbage``: answer ``status`` (default 200) with ``body_text`` — by default a truncated JSON
  document — without processing: what a broken proxy or a half-written answer looks like.
Cancelling a resting order on the exchange side is an immediate admin action, not a fault.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from typing import Any

KINDS = ("reject", "drop_response", "partial_fill", "http_error", "latency", "garbage")
DEFAULT_GARBAGE = '[{"symbol":"BTCUSDT","positionAmt":"0.010","entryPrice":'  # cut mid-answer
ORDER_KINDS = ("reject", "drop_response", "partial_fill")
ORDER_ENDPOINTS = ("POST /fapi/v1/order", "POST /fapi/v1/batchOrders")
# A fault's endpoint that means any order request: one order, or a batch that carries one.
ANY_ORDER = "orders"


class FaultSpecError(ValueError):
    """An admin request described a fault that cannot exist."""


@dataclass(frozen=True)
class Fault:
    fault_id: int
    kind: str
    count: int = 1  # -1: until cleared
    symbol: str | None = None  # Binance id, e.g. BTCUSDT
    side: str | None = None  # BUY / SELL
    reduce_only: bool | None = None
    endpoint: str | None = None  # "METHOD /path" or "/path"
    code: int = -2019  # reject: the Binance error code
    msg: str | None = None  # reject: overrides the catalogue message
    mode: str = "reset"  # drop_response: reset | timeout
    hold_ms: int = 0  # drop_response timeout: how long to hold the socket
    ratio: float = 0.5  # partial_fill
    status: int = 429  # http_error (garbage: 200 unless given)
    retry_after_s: int = 1  # http_error 429/418
    after: bool = False  # http_error 503: process first, then answer the error
    latency_ms: int = 0  # latency
    body_text: str = DEFAULT_GARBAGE  # garbage

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_symbol(symbol: str | None) -> str | None:
    """Accept ``BTCUSDT`` or ccxt's ``BTC/USDT:USDT``."""
    if symbol is None:
        return None
    if "/" in symbol:
        base, rest = symbol.split("/", 1)
        quote = rest.split(":", 1)[0]
        return f"{base}{quote}".upper()
    return symbol.upper()


def parse_fault(payload: dict[str, Any], fault_id: int) -> Fault:
    """Validate an admin payload into a ``Fault`` (clear errors, never a silent default)."""
    kind = payload.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"kind must be one of {KINDS}, got {kind!r}")
    known = set(Fault.__dataclass_fields__) - {"fault_id"}
    unknown = set(payload) - known
    if unknown:
        raise FaultSpecError(f"unknown fault fields: {sorted(unknown)}")
    if kind == "garbage" and "status" not in payload:
        payload = {**payload, "status": 200}  # a broken body behind a success status
    fault = Fault(fault_id=fault_id, **payload)
    fault = replace(fault, symbol=normalise_symbol(fault.symbol))
    if fault.side is not None and fault.side.upper() not in ("BUY", "SELL"):
        raise FaultSpecError(f"side must be BUY or SELL, got {fault.side!r}")
    if fault.side is not None:
        fault = replace(fault, side=fault.side.upper())
    if fault.count == 0 or fault.count < -1:
        raise FaultSpecError("count must be a positive number of requests, or -1 (until cleared)")
    if kind == "partial_fill" and not 0 < fault.ratio < 1:
        raise FaultSpecError(f"partial_fill ratio must be in (0, 1), got {fault.ratio}")
    if kind == "drop_response" and fault.mode not in ("reset", "timeout"):
        raise FaultSpecError(f"drop_response mode must be reset or timeout, got {fault.mode!r}")
    if kind == "garbage" and not 200 <= fault.status <= 599:
        raise FaultSpecError(f"garbage status must be an HTTP status 200..599, got {fault.status}")
    if kind == "http_error" and fault.status not in (429, 418, 500, 503):
        raise FaultSpecError(f"http_error status must be 429, 418, 500 or 503, got {fault.status}")
    if kind == "http_error" and fault.after and fault.status != 503:
        raise FaultSpecError("after=True is Binance's 503 'unknown execution status' case only")
    if kind == "latency" and fault.latency_ms <= 0:
        raise FaultSpecError("latency needs latency_ms > 0")
    return fault


@dataclass(frozen=True)
class RequestScope:
    """What a fault is matched against."""

    method: str
    path: str
    symbol: str | None = None
    side: str | None = None
    reduce_only: bool | None = None
    # A batch request's orders: the request matches a fault that one of them matches (a
    # fault aimed at "an order on SOL" also holds or drops the batch that carries it).
    orders: tuple[RequestScope, ...] = ()

    @property
    def is_order(self) -> bool:
        return f"{self.method} {self.path}" in ORDER_ENDPOINTS


def _matches(fault: Fault, scope: RequestScope) -> bool:
    if fault.endpoint is not None:
        wanted = fault.endpoint.strip()
        if wanted == ANY_ORDER:
            if not scope.is_order:
                return False
        elif " " in wanted:
            if wanted.upper() != f"{scope.method} {scope.path}".upper():
                return False
        elif wanted != scope.path:
            return False
    elif fault.kind in ORDER_KINDS and not scope.is_order:
        return False
    if scope.orders:
        return any(_order_matches(fault, order) for order in scope.orders)
    return _order_matches(fault, scope)


def _order_matches(fault: Fault, scope: RequestScope) -> bool:
    if fault.symbol is not None and fault.symbol != scope.symbol:
        return False
    if fault.side is not None and fault.side != scope.side:
        return False
    return not (fault.reduce_only is not None and fault.reduce_only != bool(scope.reduce_only))


class FaultBook:
    """The armed faults; thread-safe, each match consumes one count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self.fired: list[dict[str, Any]] = []

    def add(self, payload: dict[str, Any]) -> Fault:
        with self._lock:
            fault = parse_fault(payload, self._next_id)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, kind: str, scope: RequestScope) -> Fault | None:
        """The first armed fault of ``kind`` matching ``scope``, consuming one of its uses."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.kind != kind or not _matches(fault, scope):
                    continue
                if fault.count == 1:
                    del self._faults[index]
                elif fault.count > 1:
                    self._faults[index] = replace(fault, count=fault.count - 1)
                # A batch is named by the order in it the fault was aimed at.
                hit = next((o for o in scope.orders if _order_matches(fault, o)), scope)
                self.fired.append(
                    {
                        "fault_id": fault.fault_id,
                        "kind": kind,
                        "endpoint": scope.path,
                        "symbol": hit.symbol,
                        "side": hit.side,
                    }
                )
                return fault
            return None

"""The simulated venue: orders and trades over the market, the account and the matching rules.

Time moves in one direction. Before any request is answered, ``advance`` replays everything that
happened since the last request in time order — resting orders touched by the price path,
isolated liquidations, funding at 00/08/16 UTC — each at the instant it happened. A client cannot
tell this from an engine that runs continuously, and after a restart the downtime is replayed the
same way. Cross-margin liquidation is checked at each event and at "now" (not continuously).

Validation follows Binance's order: request shape (done by ``api``), then filters, then the
account (reduce-only, margin, position limit), then time-in-force outcomes (FOK/GTX rejects).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from statarb.exchange import matching, protocol
from statarb.exchange.accounts import ZERO, Account, Position, SymbolSettings, q8
from statarb.exchange.market import FUNDING_INTERVAL_MS, Market
from statarb.exchange.matching import BookConfig, Fill
from statarb.exchange.protocol import ApiError
from statarb.exchange.specs import SymbolSpec

D = Decimal
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
MAX_OPEN_ORDERS = 200
DEFAULT_MAKER_FEE = D("0.0002")  # Binance VIP0
DEFAULT_TAKER_FEE = D("0.0005")
CONDITIONAL_TYPES = (
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
)
VALID_TIF = ("GTC", "IOC", "FOK", "GTX", "GTD")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Order:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    type: str  # LIMIT / MARKET
    time_in_force: str
    orig_qty: Decimal
    price: Decimal  # 0 for market orders
    reduce_only: bool
    time_ms: int
    update_time_ms: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    close_position: bool = False
    orig_type: str = ""
    armed: bool = True  # resting orders: the price has been strictly on the resting side
    fill_ratio: float | None = None  # a pending partial-fill fault for the order's first fill

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def buy(self) -> bool:
        return self.side == "BUY"

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty


@dataclass(frozen=True)
class Trade:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    realized_pnl: Decimal
    commission: Decimal
    time_ms: int
    maker: bool

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


@dataclass(frozen=True)
class OrderRequest:
    """A new-order request after its parameters were parsed (types, not yet the rules)."""

    symbol: str
    side: str
    type: str
    qty: Decimal | None
    price: Decimal | None = None
    time_in_force: str | None = None
    reduce_only: bool = False
    close_position: bool = False
    client_order_id: str | None = None
    position_side: str = "BOTH"


@dataclass(frozen=True)
class Placed:
    """The order as first accepted (Binance's ACK answer) and after matching (RESULT)."""

    ack: Order
    order: Order


class Venue:
    """Orders, trades and the account over one ``Market``; not thread-safe by itself (callers
    hold ``lock`` for a whole request)."""

    def __init__(
        self,
        market: Market,
        *,
        balance_usdt: Decimal,
        maker_fee: Decimal = DEFAULT_MAKER_FEE,
        taker_fee: Decimal = DEFAULT_TAKER_FEE,
        book: BookConfig | None = None,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.market = market
        self.book = book or BookConfig()
        self._clock = clock
        self.lock = threading.RLock()
        self.clock_advance_ms = 0
        self.initial_balance = balance_usdt
        self.account = Account(wallet_balance=ZERO, maker_fee=maker_fee, taker_fee=taker_fee)
        self.orders: dict[int, Order] = {}
        self.client_index: dict[tuple[str, str], int] = {}
        self.trades: list[Trade] = []
        self.order_log: list[dict[str, Any]] = []
        self.next_order_id = 8_100_000_001
        self.next_trade_id = 610_000_001
        self.processed_ms = self.now_ms()
        self.dirty = True
        self.generation = 0  # bumped by an admin reset (the state store starts afresh)
        self.account.deposit(balance_usdt, self.processed_ms)

    # -- clock and prices ----------------------------------------------------------------------
    def now_ms(self) -> int:
        return self._clock() + self.clock_advance_ms

    def spec(self, symbol: str) -> SymbolSpec:
        spec = self.market.specs.get(symbol)
        if spec is None:
            raise protocol.err_invalid_symbol()
        return spec

    def price(self, symbol: str, t_ms: int | None = None) -> Decimal:
        """Last (= mark) price as a Decimal with 8 decimals."""
        value = self.market.tapes[symbol].price_at(self.now_ms() if t_ms is None else t_ms)
        return D(f"{value:.8f}")

    def marks(self, t_ms: int | None = None) -> dict[str, Decimal]:
        return {symbol: self.price(symbol, t_ms) for symbol in self.market.specs}

    # -- queries -------------------------------------------------------------------------------
    def find_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        if order_id is not None:
            order = self.orders.get(order_id)
            return order if order is not None and order.symbol == symbol else None
        if client_id is not None:
            found = self.client_index.get((symbol, client_id))
            return None if found is None else self.orders.get(found)
        return None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [
            o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def open_order_margins(self, marks: dict[str, Decimal]) -> dict[str, Decimal]:
        """Initial margin held by each symbol's open orders: only what would grow a position."""
        margins: dict[str, Decimal] = {}
        for symbol in {o.symbol for o in self.orders.values() if o.is_open}:
            spec = self.market.specs[symbol]
            leverage = self.account.settings_for(spec).leverage
            pos = self.account.positions.get(symbol)
            amt = ZERO if pos is None else pos.amt
            total = ZERO
            for buy in (True, False):
                orders = [
                    o
                    for o in self.orders.values()
                    if o.is_open and o.symbol == symbol and o.buy == buy and not o.reduce_only
                ]
                qty = sum((o.remaining for o in orders), ZERO)
                if qty == 0:
                    continue
                notional = sum(
                    (o.remaining * (o.price if o.price > 0 else marks[symbol]) for o in orders),
                    ZERO,
                )
                offset = abs(amt) if amt != 0 and (amt > 0) != buy else ZERO
                growing = max(ZERO, qty - offset)
                total += notional * growing / qty / leverage
            margins[symbol] = total
        return margins

    def open_order_margin(self, marks: dict[str, Decimal]) -> Decimal:
        return sum(self.open_order_margins(marks).values(), ZERO)

    def available_balance(self) -> Decimal:
        marks = self.marks()
        return self.account.available_balance(
            marks, self.market.specs, self.open_order_margin(marks)
        )

    # -- settings ------------------------------------------------------------------------------
    def set_leverage(self, symbol: str, leverage: int) -> SymbolSettings:
        spec = self.spec(symbol)
        self.advance()
        if leverage < 1 or leverage > spec.max_leverage:
            raise protocol.err_invalid_leverage(str(leverage))
        settings = self.account.settings_for(spec)
        pos = self.account.positions.get(symbol)
        has_position = pos is not None and pos.amt != 0
        if settings.isolated and has_position and leverage < settings.leverage:
            raise protocol.err_leverage_reduce_isolated()
        notional = ZERO if pos is None else abs(pos.amt) * self.price(symbol)
        if notional > spec.max_notional_for_leverage(leverage):
            raise protocol.err_max_position()
        settings.leverage = leverage
        self.dirty = True
        return settings

    def set_margin_type(self, symbol: str, margin_type: str) -> None:
        spec = self.spec(symbol)
        self.advance()
        if margin_type not in ("ISOLATED", "CROSSED"):
            raise protocol.err_invalid_param("marginType")
        settings = self.account.settings_for(spec)
        if settings.margin_type == margin_type:
            raise protocol.err_no_need_margin_type()
        pos = self.account.positions.get(symbol)
        if pos is not None and pos.amt != 0:
            raise protocol.err_margin_type_position()
        if self.open_orders(symbol):
            raise protocol.err_margin_type_open_orders()
        settings.margin_type = margin_type
        self.dirty = True

    def set_position_mode(self, dual: bool) -> None:
        self.advance()
        if dual == self.account.dual_side_position:
            raise protocol.err_no_need_position_side()
        if self.open_orders():
            raise protocol.err_position_side_with_orders()
        if any(p.amt != 0 for p in self.account.positions.values()):
            raise protocol.err_position_side_with_position()
        self.account.dual_side_position = dual
        self.dirty = True

    def set_multi_assets(self, enabled: bool) -> None:
        self.advance()
        self.account.multi_assets_margin = enabled
        self.dirty = True

    # -- orders --------------------------------------------------------------------------------
    def _new_client_id(self) -> str:
        n = self.next_order_id * 7919
        chars = []
        while n:
            n, r = divmod(n, 62)
            chars.append(_BASE62[r])
        return "web_" + "".join(chars).rjust(18, "0")

    def place_order(self, req: OrderRequest, *, fill_ratio: float | None = None) -> Placed:
        """Validate and accept ``req``, match what is marketable, rest the rest."""
        self.advance()
        spec = self.spec(req.symbol)
        now = self.now_ms()
        self._validate(spec, req)
        tif = req.time_in_force or "GTC"
        qty = req.qty if req.qty is not None else ZERO
        mid = self.price(req.symbol)  # the book sits around the last price
        buy = req.side == "BUY"
        if req.type == "LIMIT" and req.price is not None:
            marketable = matching.is_marketable(mid, buy=buy, price=req.price, tick=spec.tick_size)
            if tif == "GTX" and marketable:
                raise protocol.err_post_only_rejected()
            if tif == "FOK":
                fills = self._sweep(spec, mid, buy=buy, qty=qty, limit=req.price)
                if sum((f.qty for f in fills), ZERO) < qty:
                    raise protocol.err_fok_rejected()
        client_id = req.client_order_id or self._new_client_id()
        order = Order(
            order_id=self.next_order_id,
            client_order_id=client_id,
            symbol=req.symbol,
            side=req.side,
            type=req.type,
            time_in_force=tif,
            orig_qty=qty,
            price=req.price if req.price is not None else ZERO,
            reduce_only=req.reduce_only,
            time_ms=now,
            update_time_ms=now,
            orig_type=req.type,
            fill_ratio=fill_ratio,
        )
        self.next_order_id += 1
        self.orders[order.order_id] = order
        self.client_index[(req.symbol, client_id)] = order.order_id
        ack = replace(order)
        self._match_on_arrival(spec, order, mid)
        self._cancel_stale_reduce_only(spec.symbol, now)
        self.dirty = True
        return Placed(ack=ack, order=order)

    def _validate(self, spec: SymbolSpec, req: OrderRequest) -> None:
        if self.account.dual_side_position or req.position_side != "BOTH":
            raise protocol.err_position_side_mismatch()
        if req.side not in ("BUY", "SELL"):
            raise protocol.err_invalid_side()
        if req.type in CONDITIONAL_TYPES:
            raise ApiError(
                -4120,
                "Order type not supported for this endpoint. "
                "Please use the Algo Order API endpoints instead.",
            )
        if req.type not in ("LIMIT", "MARKET"):
            raise protocol.err_invalid_order_type()
        if req.close_position:
            raise ApiError(-1106, "Parameter 'closePosition' sent when not required.")
        if req.type == "LIMIT":
            if req.time_in_force is None:
                raise protocol.err_mandatory("timeInForce")
            if req.time_in_force not in VALID_TIF:
                raise protocol.err_invalid_tif()
            if req.price is None:
                raise protocol.err_mandatory("price")
        if req.qty is None:
            raise protocol.err_mandatory("quantity")
        protocol.check_quantity(spec, req.qty, is_market=req.type == "MARKET")
        mark = self.price(req.symbol)
        if req.type == "LIMIT" and req.price is not None:
            protocol.check_price(spec, req.price)
            protocol.check_percent_price(spec, req.side, req.price, mark)
        if req.client_order_id is not None:
            existing = self.find_order(req.symbol, None, req.client_order_id)
            if existing is not None and existing.is_open:
                raise protocol.err_duplicate_client_id()
        buy = req.side == "BUY"
        pos = self.account.positions.get(req.symbol)
        amt = ZERO if pos is None else pos.amt
        if req.reduce_only and (amt == 0 or (amt > 0) == buy):
            raise protocol.err_reduce_only_rejected()
        bid, ask = matching.best_bid_ask(mark, spec.tick_size)
        ref_price = req.price if req.type == "LIMIT" and req.price else (ask if buy else bid)
        if not req.reduce_only:
            protocol.check_min_notional(spec, req.qty, ref_price)
        if len(self.open_orders(req.symbol)) >= MAX_OPEN_ORDERS:
            raise protocol.err_max_open_orders()
        if req.reduce_only:
            return
        settings = self.account.settings_for(spec)
        growing = self.account.increasing_qty(req.symbol, buy=buy, qty=req.qty)
        required = growing * ref_price / settings.leverage
        if growing > 0 and required > self.available_balance():
            raise protocol.err_margin_insufficient()
        if (abs(amt) + growing) * mark > spec.max_notional_for_leverage(settings.leverage):
            raise protocol.err_max_position()

    def _sweep(
        self, spec: SymbolSpec, mid: Decimal, *, buy: bool, qty: Decimal, limit: Decimal | None
    ) -> list[Fill]:
        return matching.sweep(
            mid,
            buy=buy,
            qty=qty,
            limit_price=limit,
            tick=spec.tick_size,
            step=spec.step_size,
            config=self.book,
        )

    def _fillable(self, spec: SymbolSpec, order: Order, qty: Decimal) -> Decimal:
        """Trim for reduce-only (never past the position) and for a pending partial fault."""
        if order.reduce_only:
            pos = self.account.positions.get(order.symbol)
            amt = ZERO if pos is None else pos.amt
            qty = ZERO if amt == 0 or (amt > 0) == order.buy else min(qty, abs(amt))
        if order.fill_ratio is not None and qty > 0:
            scaled = qty * D(str(order.fill_ratio)) / spec.step_size
            qty = scaled.to_integral_value(rounding=ROUND_FLOOR) * spec.step_size
            order.fill_ratio = None
            order.armed = False
        return qty

    def _match_on_arrival(self, spec: SymbolSpec, order: Order, mid: Decimal) -> None:
        now = order.time_ms
        if order.type == "MARKET":
            qty = self._fillable(spec, order, order.orig_qty)
            for fill in self._sweep(spec, mid, buy=order.buy, qty=qty, limit=None):
                self._fill(spec, order, fill.price, fill.qty, maker=False, time_ms=now)
            order.status = "FILLED" if order.remaining == 0 else "EXPIRED"
            order.update_time_ms = now
            return
        marketable = matching.is_marketable(
            mid, buy=order.buy, price=order.price, tick=spec.tick_size
        )
        if marketable:
            qty = self._fillable(spec, order, order.orig_qty)
            for fill in self._sweep(spec, mid, buy=order.buy, qty=qty, limit=order.price):
                self._fill(spec, order, fill.price, fill.qty, maker=False, time_ms=now)
        if order.remaining == 0:
            order.status = "FILLED"
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
        else:
            if order.fill_ratio is None and not marketable:
                order.armed = (mid > order.price) if order.buy else (mid < order.price)
            order.status = "PARTIALLY_FILLED" if order.executed_qty > 0 else "NEW"
        order.update_time_ms = now

    def _fill(
        self,
        spec: SymbolSpec,
        order: Order,
        price: Decimal,
        qty: Decimal,
        *,
        maker: bool,
        time_ms: int,
    ) -> Trade:
        signed = qty if order.buy else -qty
        trade_id = self.next_trade_id
        self.next_trade_id += 1
        outcome = self.account.apply_fill(
            spec,
            signed_qty=signed,
            price=price,
            fee_rate=self.account.maker_fee if maker else self.account.taker_fee,
            time_ms=time_ms,
            trade_id=trade_id,
        )
        trade = Trade(
            trade_id=trade_id,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            realized_pnl=outcome.realized_pnl,
            commission=outcome.commission,
            time_ms=time_ms,
            maker=maker,
        )
        self.trades.append(trade)
        order.executed_qty += qty
        order.cum_quote += qty * price
        order.update_time_ms = time_ms
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        return trade

    def _cancel_stale_reduce_only(self, symbol: str, time_ms: int) -> None:
        """Binance expires reduce-only orders that could no longer reduce the position."""
        pos = self.account.positions.get(symbol)
        amt = ZERO if pos is None else pos.amt
        for order in self.open_orders(symbol):
            if order.reduce_only and (amt == 0 or (amt > 0) == order.buy):
                order.status = "EXPIRED"
                order.update_time_ms = time_ms

    def cancel_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        self.spec(symbol)
        self.advance()
        if order_id is None and client_id is None:
            raise protocol.err_mandatory_either("orderId", "origClientOrderId")
        order = self.find_order(symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise protocol.err_unknown_order()
        order.status = "CANCELED"
        order.update_time_ms = self.now_ms()
        self.dirty = True
        return order

    def cancel_all(self, symbol: str) -> int:
        self.spec(symbol)
        self.advance()
        orders = self.open_orders(symbol)
        for order in orders:
            order.status = "CANCELED"
            order.update_time_ms = self.now_ms()
        self.dirty = self.dirty or bool(orders)
        return len(orders)

    def expire_order(
        self, symbol: str, order_id: int | None, client_id: str | None, status: str
    ) -> Order:
        """Admin: the exchange itself cancels or expires a resting order (Binance does, rarely)."""
        if status not in ("CANCELED", "EXPIRED"):
            raise ValueError(f"status must be CANCELED or EXPIRED, got {status!r}")
        self.advance()
        order = self.find_order(symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise protocol.err_unknown_order()
        order.status = status
        order.update_time_ms = self.now_ms()
        self.dirty = True
        return order

    # -- the event loop ------------------------------------------------------------------------
    def advance(self) -> None:
        """Replay every fill, liquidation and funding between the last request and now."""
        now = self.now_ms()
        t = self.processed_ms
        if now <= t:
            return
        while True:
            event = self._next_event(t, now)
            if event is None:
                break
            t = event[0]
            event[1]()
            self._check_cross(t)
            self.dirty = True
        self.processed_ms = now
        self._check_cross(now)

    def _next_event(self, t: int, now: int) -> tuple[int, Callable[[], None]] | None:
        best: tuple[int, Callable[[], None]] | None = None
        funding_t = (t // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
        if funding_t <= now:
            best = (funding_t, lambda ft=funding_t: self._settle_funding(ft))
        paths: dict[str, Any] = {}

        def path(symbol: str) -> Any:
            if symbol not in paths:
                paths[symbol] = self.market.tapes[symbol].points(t, now)
            return paths[symbol]

        for order in self.open_orders():
            if order.type != "LIMIT":
                continue
            times, prices = path(order.symbol)
            touch = matching.first_touch(
                times, prices, float(order.price), below=order.buy, armed=order.armed
            )
            if touch.armed and not order.armed:
                order.armed = True
                self.dirty = True
            if touch.time_ms is not None:
                when = max(t, int(touch.time_ms))
                if best is None or when < best[0]:
                    best = (when, lambda o=order, w=when: self._fill_resting(o, w))
        marks: dict[str, Decimal] | None = None
        for symbol, pos in self.account.positions.items():
            spec = self.market.specs[symbol]
            if pos.amt == 0 or not self.account.settings_for(spec).isolated:
                continue
            marks = marks or self.marks(t)
            level = self.account.liquidation_price(spec, marks, self.market.specs)
            if level <= 0:
                continue
            times, prices = path(symbol)
            touch = matching.first_touch(times, prices, float(level), below=pos.amt > 0, armed=True)
            if touch.time_ms is not None:
                when = max(t, int(touch.time_ms))
                if best is None or when < best[0]:
                    best = (when, lambda s=symbol, w=when, lp=level: self._liquidate(s, w, lp))
        return best

    def _settle_funding(self, funding_ms: int) -> None:
        for symbol, pos in list(self.account.positions.items()):
            if pos.amt == 0:
                continue
            spec = self.market.specs[symbol]
            rate = D(f"{self.market.funding_rate_at(symbol, funding_ms):.8f}")
            mark = D(f"{self.market.settlement_mark_price(symbol, funding_ms):.8f}")
            self.account.settle_funding(spec, rate=rate, mark=mark, time_ms=funding_ms)

    def _fill_resting(self, order: Order, when: int) -> None:
        spec = self.market.specs[order.symbol]
        qty = self._fillable(spec, order, order.remaining)
        if qty > 0:
            self._fill(spec, order, order.price, qty, maker=True, time_ms=when)
        elif order.reduce_only:
            order.status = "EXPIRED"
            order.update_time_ms = when
        self._cancel_stale_reduce_only(order.symbol, when)

    def _liquidate(self, symbol: str, when: int, level: Decimal) -> None:
        spec = self.market.specs[symbol]
        pos = self.account.positions[symbol]
        price = matching.round_to_tick(level, spec.tick_size, up=pos.amt < 0)
        self._close_by_liquidation(spec, pos, price, when)

    def _close_by_liquidation(
        self, spec: SymbolSpec, pos: Position, price: Decimal, when: int
    ) -> None:
        """Binance's forced close: an IOC ``autoclose-`` order and its trade; open orders go."""
        for order in self.open_orders(spec.symbol):
            order.status = "CANCELED"
            order.update_time_ms = when
        qty = abs(pos.amt)
        side = "SELL" if pos.amt > 0 else "BUY"
        trade_id = self.next_trade_id
        self.next_trade_id += 1
        outcome = self.account.liquidate(spec, price=price, time_ms=when, trade_id=trade_id)
        order = Order(
            order_id=self.next_order_id,
            client_order_id=f"autoclose-{when}{self.next_order_id % 1000:03d}",
            symbol=spec.symbol,
            side=side,
            type="LIMIT",
            time_in_force="IOC",
            orig_qty=qty,
            price=price,
            reduce_only=True,
            time_ms=when,
            update_time_ms=when,
            status="FILLED",
            executed_qty=qty,
            cum_quote=qty * price,
            orig_type="LIMIT",
        )
        self.next_order_id += 1
        self.orders[order.order_id] = order
        self.client_index[(spec.symbol, order.client_order_id)] = order.order_id
        self.trades.append(
            Trade(
                trade_id=trade_id,
                order_id=order.order_id,
                symbol=spec.symbol,
                side=side,
                price=price,
                qty=qty,
                realized_pnl=outcome.realized_pnl,
                commission=ZERO,
                time_ms=when,
                maker=False,
            )
        )

    def _check_cross(self, t: int) -> None:
        if not self.account.cross_positions():
            return
        marks = self.marks(t)
        if not self.account.cross_margin_breached(marks, self.market.specs):
            return
        for pos in list(self.account.cross_positions()):
            spec = self.market.specs[pos.symbol]
            price = matching.round_to_tick(marks[pos.symbol], spec.tick_size, up=pos.amt < 0)
            self._close_by_liquidation(spec, pos, price, t)
        self.dirty = True

    # -- admin ---------------------------------------------------------------------------------
    def plant_position(
        self,
        symbol: str,
        *,
        amt: Decimal,
        entry_price: Decimal | None,
        leverage: int | None,
        margin_type: str | None,
    ) -> Position:
        """Put a position on the account as if opened earlier (orphan-position drills).

        The margin comes out of the cross wallet like a real open would; no trade is recorded.
        """
        spec = self.spec(symbol)
        self.advance()
        settings = self.account.settings_for(spec)
        if margin_type is not None:
            if margin_type not in ("ISOLATED", "CROSSED"):
                raise ValueError(f"margin_type must be ISOLATED or CROSSED, got {margin_type!r}")
            settings.margin_type = margin_type
        if leverage is not None:
            if not 1 <= leverage <= spec.max_leverage:
                raise ValueError(f"leverage must be 1..{spec.max_leverage}, got {leverage}")
            settings.leverage = leverage
        if amt % spec.step_size != 0:
            raise ValueError(f"amount {amt} is not a multiple of the step size {spec.step_size}")
        price = entry_price if entry_price is not None else self.price(symbol)
        pos = self.account.position(symbol)
        pos.amt = amt
        pos.entry_price = price if amt != 0 else ZERO
        pos.isolated_wallet = (
            q8(abs(amt) * price / settings.leverage) if settings.isolated else ZERO
        )
        pos.update_time_ms = self.now_ms()
        self.dirty = True
        return pos

    def set_balance(self, wallet_balance_usdt: Decimal) -> None:
        """Admin: move the wallet to ``wallet_balance_usdt`` with a TRANSFER entry."""
        self.advance()
        self.account.deposit(wallet_balance_usdt - self.account.wallet_balance, self.now_ms())
        self.dirty = True

    def shock(self, symbol: str, *, factor: float | None, price: float | None) -> float:
        """Admin: multiply the price from now on by ``factor``, or move it to ``price``."""
        self.spec(symbol)
        self.advance()
        tape = self.market.tapes[symbol]
        now = self.now_ms()
        if (factor is None) == (price is None):
            raise ValueError("give exactly one of factor or price")
        if price is not None:
            if price <= 0:
                raise ValueError(f"price must be positive, got {price}")
            factor = price / tape.price_at(now)
        assert factor is not None
        tape.add_shock(now + 1, factor)
        self.dirty = True
        return tape.price_at(now + 1)

    def advance_clock(self, ms: int) -> int:
        """Admin: move the exchange clock forward (never back); returns the new now."""
        if ms < 0:
            raise ValueError("the clock only moves forward")
        self.advance()
        self.clock_advance_ms += ms
        self.advance()
        self.dirty = True
        return self.now_ms()

    def reset(self) -> None:
        """Admin: a fresh account (initial balance, no orders, trades, positions or shocks).

        The clock and the id counters keep going, so ids stay unique across resets.
        """
        for tape in self.market.tapes.values():
            tape.clear_shocks()
        self.account = Account(
            wallet_balance=ZERO,
            maker_fee=self.account.maker_fee,
            taker_fee=self.account.taker_fee,
            next_tran_id=self.account.next_tran_id,
        )
        self.orders.clear()
        self.client_index.clear()
        self.trades.clear()
        self.order_log.clear()
        self.generation += 1
        self.processed_ms = self.now_ms()
        self.account.deposit(self.initial_balance, self.processed_ms)
        self.dirty = True

    def log_order_request(self, entry: dict[str, Any]) -> None:
        self.order_log.append(entry)
        self.dirty = True

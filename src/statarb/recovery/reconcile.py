"""Classify every difference between the exchange and the bot's database: a pure function.

The exchange is the truth about positions, orders and fills; the database is what FreqTrade
will act on when it starts. FreqTrade itself re-reads only the orders its database already
holds (`startup_update_open_orders`): a position, order or fill the database never recorded is
invisible to it forever. Those are what this module finds, per symbol and per spread.

Amounts are compared with a tolerance because FreqTrade stores floats. A difference that an
order FreqTrade already tracks can explain (it filled while the bot was down) is INFO: FreqTrade
updates the trade from that order at start. Everything else is REVIEW.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from statarb.execution.hedging import MAX_RETRIES
from statarb.recovery import recommend
from statarb.recovery.attribution import Attribution, attribute
from statarb.recovery.findings import (
    KIND_ORDER,
    Finding,
    FindingKind,
    Reconciliation,
    Severity,
)
from statarb.recovery.snapshots import (
    ISOLATED,
    DbSnapshot,
    DbTrade,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    ExchangeSnapshot,
    side_of,
)
from statarb.spread.client_ids import Leg, Purpose
from statarb.spread.legs import leg_is_short

# FreqTrade stores amounts as floats; Binance quantities have at most 8 decimals.
QTY_REL_TOL = 1e-6
QTY_ABS_TOL = 1e-9


def same_qty(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=QTY_REL_TOL, abs_tol=QTY_ABS_TOL)


def reconcile(
    exchange: ExchangeSnapshot,
    db: DbSnapshot,
    *,
    configured_leverage: float,
    now: datetime,
    hedge_tolerance: float = 0.01,
) -> Reconciliation:
    """Every exchange position is matched or reported; every finding is reported once.

    `configured_leverage` is the strategy's `statarb.leverage` (Binance takes whole numbers and
    FreqTrade floors it); `hedge_tolerance` the relative hedge-ratio miss accepted between two
    legs (the sizing's `max_hedge_error`); `now` is the exchange's time, for order ages.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a UTC datetime")
    if configured_leverage < 1:
        raise ValueError(f"configured leverage must be >= 1, got {configured_leverage}")
    warnings: list[str] = []
    view = _View.build(exchange, db, warnings)
    findings: list[Finding] = []
    matched: list[str] = []
    for symbol in sorted(set(view.positions) | set(view.trades_by_pair)):
        finding = _compare_symbol(view, symbol)
        if finding is None:
            matched.append(symbol)
        else:
            findings.append(finding)
    findings += _unknown_open_orders(view, now)
    findings += _missing_fills(view)
    findings += _spreads(view, hedge_tolerance, warnings)
    findings += _settings(view, configured_leverage, warnings)
    findings.sort(key=lambda f: (KIND_ORDER[f.kind], f.symbol or "", f.spread_id or "", f.subject))
    return Reconciliation(
        checked_at=now,
        findings=tuple(findings),
        matched_symbols=tuple(matched),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- the joined view
@dataclass(frozen=True)
class _View:
    exchange: ExchangeSnapshot
    db: DbSnapshot
    positions: Mapping[str, ExchangePosition]
    trades_by_pair: Mapping[str, tuple[DbTrade, ...]]
    db_order_ids: frozenset[str]
    fills_by_order: Mapping[str, tuple[ExchangeFill, ...]]
    open_legs: Mapping[str, frozenset[Leg]]  # spread id → legs with an open tagged trade
    closed_legs: Mapping[tuple[str, Leg], DbTrade]  # (spread id, leg) → its closed trade

    @classmethod
    def build(cls, exchange: ExchangeSnapshot, db: DbSnapshot, warnings: list[str]) -> _View:
        positions: dict[str, ExchangePosition] = {}
        for entry in exchange.positions:
            if entry.qty_base == 0:
                continue
            pos = entry
            if pos.symbol in positions:
                # Hedge mode (LONG and SHORT sides at once) is refused by FreqTrade; net them.
                warnings.append(f"{pos.symbol}: more than one position entry (hedge mode?)")
                prev = positions[pos.symbol]
                pos = ExchangePosition(
                    pos.symbol,
                    pos.exchange_symbol,
                    prev.qty_base + pos.qty_base,
                    prev.entry_price,
                    pos.mark_price,
                    prev.unrealized_pnl_usdt + pos.unrealized_pnl_usdt,
                    pos.liquidation_price,
                    max(prev.update_time_ms, pos.update_time_ms),
                )
            positions[pos.symbol] = pos
        trades: dict[str, list[DbTrade]] = defaultdict(list)
        for trade in db.open_trades:
            trades[trade.pair].append(trade)
        order_ids = set(db.known_order_ids)
        for trade in db.open_trades:
            order_ids.update(o.order_id for o in trade.orders)
        fills: dict[str, list[ExchangeFill]] = defaultdict(list)
        for fill in exchange.fills:
            fills[fill.order_id].append(fill)
        open_legs: dict[str, set[Leg]] = defaultdict(set)
        for trade in db.open_trades:
            if trade.tag is not None:
                open_legs[str(trade.tag.key)].add(trade.tag.leg)
        closed = {
            (str(t.tag.key), t.tag.leg): t for t in db.closed_legs if t.tag is not None
        }  # the latest closed trade of a leg wins (ordered by id)
        return cls(
            exchange=exchange,
            db=db,
            positions=positions,
            trades_by_pair={k: tuple(v) for k, v in trades.items()},
            db_order_ids=frozenset(order_ids),
            fills_by_order={k: tuple(v) for k, v in fills.items()},
            open_legs={k: frozenset(v) for k, v in open_legs.items()},
            closed_legs=closed,
        )

    def adopted_at_start(self, origin: Attribution | None) -> bool:
        """Will the strategy take this unrecorded fill in as the missing leg of its spread?

        Yes when it is the bot's own ENTRY of leg L of spread S whose other leg is open in the
        DB, L has no open trade and was not closed, and the entry's retry budget is not spent:
        the hedging plan then re-sends that entry under the SAME client order id, the guard
        finds the order on the exchange and returns it, and FreqTrade records it as the trade
        of leg L — no order is sent. (With the budget spent it closes the other leg instead.)
        """
        if origin is None or not origin.ours or origin.leg is None:
            return False
        if origin.purpose is not Purpose.ENTRY or (origin.attempt or 0) >= MAX_RETRIES:
            return False
        spread = str(origin.spread_id)
        twin = Leg.B if origin.leg is Leg.A else Leg.A
        legs = self.open_legs.get(spread, frozenset())
        return (
            twin in legs
            and origin.leg not in legs
            and (spread, origin.leg) not in (self.closed_legs)
        )

    def mark(self, symbol: str) -> float | None:
        pos = self.positions.get(symbol)
        if pos is not None and pos.mark_price > 0:
            return pos.mark_price
        price = self.exchange.mark_prices.get(symbol)
        return price if price and price > 0 else None

    def true_qty(self, trade: DbTrade) -> float:
        """A leg's amount as the exchange holds it (its DB amount if the symbol is shared)."""
        if len(self.trades_by_pair.get(trade.pair, ())) != 1:
            return trade.signed_qty_base
        pos = self.positions.get(trade.pair)
        return pos.qty_base if pos is not None else 0.0

    def attribution_of_order(self, order_id: str) -> Attribution | None:
        order = self.exchange.order_lookups.get(order_id)
        return attribute(order.client_order_id) if order is not None else None

    def origin_of_position(self, symbol: str) -> Attribution | None:
        """The bot order (by client id) whose unrecorded fill most recently moved `symbol`."""
        best: tuple[int, Attribution] | None = None
        for order_id, fills in self.fills_by_order.items():
            if fills[0].symbol != symbol or order_id in self.db_order_ids:
                continue
            attribution = self.attribution_of_order(order_id)
            if attribution is None:
                continue
            stamp = max(f.time_ms for f in fills)
            if best is None or stamp > best[0]:
                best = (stamp, attribution)
        return best[1] if best else None


# --------------------------------------------------------------------------- per symbol
def _pending_range(trades: Iterable[DbTrade]) -> tuple[float, float]:
    """How far DB-tracked open orders could still move the position (signed, base)."""
    low = high = 0.0
    for trade in trades:
        for order in trade.orders:
            if not order.is_open:
                continue
            delta = order.remaining_base if order.ft_order_side == "buy" else -order.remaining_base
            low += min(0.0, delta)
            high += max(0.0, delta)
    return low, high


def _compare_symbol(view: _View, symbol: str) -> Finding | None:
    pos = view.positions.get(symbol)
    trades = view.trades_by_pair.get(symbol, ())
    ex_qty = pos.qty_base if pos is not None else 0.0
    db_qty = sum(t.signed_qty_base for t in trades)
    if same_qty(ex_qty, db_qty):
        return None
    low, high = _pending_range(trades)
    explained = (
        db_qty + low - QTY_ABS_TOL <= ex_qty <= db_qty + high + QTY_ABS_TOL
        and (ex_qty == 0 or db_qty == 0 or (ex_qty > 0) == (db_qty > 0))
        and bool(trades)
    )
    trade_ids = [t.trade_id for t in trades]
    mark = view.mark(symbol)
    if pos is not None and not trades:
        origin = view.origin_of_position(symbol)
        adopted = view.adopted_at_start(origin)
        return Finding(
            kind=FindingKind.ORPHANED_POSITION,
            severity=Severity.REVIEW,
            symbol=symbol,
            amount=pos.amount,
            side=pos.side,
            entry_price=pos.entry_price,
            current_price=mark,
            current_pnl=pos.unrealized_pnl_usdt,
            recommendation=recommend.orphan(pos, origin, adopted=adopted),
            spread_id=origin.spread_id if origin else None,
            subject="position",
            details={
                "exchange_symbol": pos.exchange_symbol,
                "position_amt": pos.qty_base,
                "liquidation_price": pos.liquidation_price,
                "origin_client_order_id": origin.client_order_id if origin else None,
                "adopted_at_start": adopted,
                "pnl_basis": "exchange unrealized P&L of the position",
            },
        )
    open_rate = _avg_open_rate(trades)
    details = {
        "exchange_qty": ex_qty,
        "db_qty": db_qty,
        "trade_ids": trade_ids,
        "explained_by_tracked_orders": explained,
        "tracked_open_orders": [
            o.order_id for t in trades for o in t.orders if o.is_open and o.remaining_base > 0
        ],
    }
    if pos is None:
        pnl = (mark - open_rate) * db_qty if mark is not None else None
        return Finding(
            kind=FindingKind.GHOST_TRADE,
            severity=Severity.INFO if explained else Severity.REVIEW,
            symbol=symbol,
            amount=abs(db_qty),
            side=side_of(db_qty),
            entry_price=open_rate,
            current_price=mark,
            current_pnl=pnl,
            recommendation=recommend.ghost(symbol, trades, explained),
            spread_id=_spread_of(trades),
            subject="trades " + ",".join(str(i) for i in trade_ids),
            details={**details, "pnl_basis": "what the DB amount would be worth at the mark"},
        )
    sides_differ = db_qty != 0 and (ex_qty > 0) != (db_qty > 0)
    return Finding(
        kind=FindingKind.SIZE_MISMATCH,
        severity=Severity.INFO if explained and not sides_differ else Severity.REVIEW,
        symbol=symbol,
        amount=abs(ex_qty - db_qty),
        side=pos.side,
        entry_price=pos.entry_price,
        current_price=mark,
        current_pnl=pos.unrealized_pnl_usdt,
        recommendation=recommend.size_mismatch(symbol, ex_qty, db_qty, trades, explained),
        spread_id=_spread_of(trades),
        subject="trades " + ",".join(str(i) for i in trade_ids),
        details={**details, "pnl_basis": "exchange unrealized P&L of the whole position"},
    )


def _avg_open_rate(trades: Iterable[DbTrade]) -> float | None:
    weighted = [(t.qty_base, t.open_rate) for t in trades if t.qty_base > 0]
    total = sum(q for q, _ in weighted)
    if total <= 0:
        return None
    return sum(q * r for q, r in weighted) / total


def _spread_of(trades: Iterable[DbTrade]) -> str | None:
    ids = {_spread_id(t) for t in trades} - {None}
    return next(iter(ids)) if len(ids) == 1 else None


def _spread_id(trade: DbTrade) -> str | None:
    if trade.tag is not None:
        return str(trade.tag.key)
    if trade.enter_tag:
        return f"{trade.enter_tag} (untagged)"
    return None


# --------------------------------------------------------------------------- orders and fills
def _unknown_open_orders(view: _View, now: datetime) -> list[Finding]:
    out = []
    for order in view.exchange.open_orders:
        if order.order_id in view.db_order_ids:
            continue
        attribution = attribute(order.client_order_id)
        remaining = max(0.0, order.qty_base - order.filled_base)
        out.append(
            Finding(
                kind=FindingKind.UNKNOWN_OPEN_ORDER,
                severity=Severity.REVIEW,
                symbol=order.symbol,
                amount=remaining,
                side=order.side.upper(),
                entry_price=order.price or None,
                current_price=view.mark(order.symbol),
                current_pnl=None,
                recommendation=recommend.unknown_order(order, attribution),
                spread_id=attribution.spread_id,
                subject=f"order {order.order_id}",
                details={
                    "order_id": order.order_id,
                    "client_order_id": order.client_order_id,
                    "type": order.order_type,
                    "status": order.status,
                    "orig_qty": order.qty_base,
                    "filled_qty": order.filled_base,
                    "reduce_only": order.reduce_only,
                    "age_s": max(0.0, round(now.timestamp() - order.time_ms / 1000, 3)),
                    "leg": str(attribution.leg) if attribution.leg else None,
                    "purpose": attribution.purpose.name if attribution.purpose else None,
                    "pnl_basis": "none: an order holds no position",
                },
            )
        )
    return out


def _missing_fills(view: _View) -> list[Finding]:
    out = []
    for order_id, fills in view.fills_by_order.items():
        if order_id in view.db_order_ids:
            continue
        symbol = fills[0].symbol
        signed = sum(f.signed_qty_base for f in fills)
        qty = sum(f.qty_base for f in fills)
        avg = sum(f.qty_base * f.price for f in fills) / qty if qty > 0 else None
        mark = view.mark(symbol)
        attribution = view.attribution_of_order(order_id)
        order = view.exchange.order_lookups.get(order_id)
        own_flatten = (
            attribution is not None
            and attribution.purpose is Purpose.FLATTEN
            and symbol not in view.positions
        )
        out.append(
            Finding(
                kind=FindingKind.FILL_MISSING_FROM_DB,
                severity=Severity.INFO if own_flatten else Severity.REVIEW,
                symbol=symbol,
                amount=qty,
                side="BUY" if signed >= 0 else "SELL",
                entry_price=avg,
                current_price=mark,
                current_pnl=(mark - avg) * signed if mark is not None and avg is not None else None,
                recommendation=recommend.missing_fill(
                    symbol,
                    order_id,
                    signed,
                    avg,
                    attribution,
                    own_flatten,
                    symbol in view.positions,
                ),
                spread_id=attribution.spread_id if attribution else None,
                subject=f"order {order_id}",
                details={
                    "order_id": order_id,
                    "client_order_id": attribution.client_order_id if attribution else None,
                    "reduce_only": order.reduce_only if order else None,
                    "fills": len(fills),
                    "trade_ids": [f.trade_id for f in fills],
                    "first_fill_ms": min(f.time_ms for f in fills),
                    "last_fill_ms": max(f.time_ms for f in fills),
                    "realized_pnl_usdt": sum(f.realized_pnl_usdt for f in fills),
                    "pnl_basis": "the filled amount marked to the current price",
                },
            )
        )
    return out


# --------------------------------------------------------------------------- spreads
def _spreads(view: _View, hedge_tolerance: float, warnings: list[str]) -> list[Finding]:
    groups: dict[str, list[DbTrade]] = defaultdict(list)
    for trade in view.db.open_trades:
        if trade.tag_problem:
            warnings.append(f"trade {trade.trade_id} ({trade.pair}): {trade.tag_problem}")
        spread_id = _spread_id(trade)
        if spread_id is None:
            warnings.append(
                f"trade {trade.trade_id} ({trade.pair}) carries no spread tag and no enter tag: "
                "not checked as a spread leg"
            )
            continue
        groups[spread_id].append(trade)
    out: list[Finding] = []
    for spread_id, trades in sorted(groups.items()):
        if all(t.tag is not None for t in trades):
            out += _tagged_spread(view, spread_id, trades, hedge_tolerance)
        else:
            out += _untagged_spread(view, spread_id, trades)
    return out


def _leg_finding(
    view: _View,
    spread_id: str,
    trade: DbTrade,
    subject: str,
    recommendation: str,
    details: Mapping[str, object],
) -> Finding:
    qty = view.true_qty(trade)
    pos = view.positions.get(trade.pair)
    return Finding(
        kind=FindingKind.BROKEN_SPREAD,
        severity=Severity.REVIEW,
        symbol=trade.pair,
        amount=abs(qty),
        side=side_of(qty) if qty else trade.side,
        entry_price=pos.entry_price if pos is not None else trade.open_rate,
        current_price=view.mark(trade.pair),
        current_pnl=pos.unrealized_pnl_usdt if pos is not None else None,
        recommendation=recommendation,
        spread_id=spread_id,
        subject=subject,
        details={**details, "trade_id": trade.trade_id, "pnl_basis": "this leg's unrealized P&L"},
    )


def _tagged_spread(
    view: _View, spread_id: str, trades: list[DbTrade], hedge_tolerance: float
) -> list[Finding]:
    by_leg: dict[Leg, list[DbTrade]] = defaultdict(list)
    for trade in trades:
        assert trade.tag is not None
        by_leg[trade.tag.leg].append(trade)
    out: list[Finding] = []
    for leg, claimants in sorted(by_leg.items()):
        if len(claimants) > 1:
            ids = [t.trade_id for t in claimants]
            out.append(
                _leg_finding(
                    view,
                    spread_id,
                    claimants[0],
                    f"leg {leg} claimed twice",
                    recommend.duplicate_leg(spread_id, leg, ids),
                    {"trade_ids": ids},
                )
            )
    if out:
        return out
    legs = {leg: claimants[0] for leg, claimants in by_leg.items()}
    held = {leg: t for leg, t in legs.items() if not same_qty(view.true_qty(t), 0.0)}
    for leg, trade in sorted(held.items()):
        assert trade.tag is not None
        should_be_short = leg_is_short(leg, trade.tag.direction)
        if (view.true_qty(trade) < 0) != should_be_short:
            out.append(
                _leg_finding(
                    view,
                    spread_id,
                    trade,
                    f"leg {leg} wrong side",
                    recommend.wrong_side(spread_id, leg, trade, should_be_short),
                    {"expected_side": "SHORT" if should_be_short else "LONG"},
                )
            )
    if out:
        return out
    if len(held) == 1:
        ((leg, trade),) = held.items()
        assert trade.tag is not None
        twin_leg = Leg.B if leg is Leg.A else Leg.A
        twin_trade = legs.get(twin_leg)
        twin_symbol = trade.tag.partner
        closed_twin = view.closed_legs.get((spread_id, twin_leg))
        adopted = False
        if twin_trade is not None:
            twin_state = "ghost"  # the DB holds it, the exchange does not
        elif closed_twin is not None:
            twin_state = "closed"  # the spread was halfway through its exit
        elif twin_symbol in view.positions and not view.trades_by_pair.get(twin_symbol):
            twin_state = "orphan"  # on the exchange, not in the DB
            adopted = view.adopted_at_start(view.origin_of_position(twin_symbol))
        else:
            twin_state = "absent"  # never opened
        details: dict[str, object] = {
            "leg": str(leg),
            "twin_symbol": twin_symbol,
            "twin_state": twin_state,
        }
        if closed_twin is not None:
            details["twin_trade_id"] = closed_twin.trade_id
            details["twin_closed_at"] = (
                closed_twin.close_date.isoformat() if closed_twin.close_date else None
            )
        if twin_state == "orphan":
            details["twin_adopted_at_start"] = adopted
        return [
            _leg_finding(
                view,
                spread_id,
                trade,
                f"leg {leg} without twin",
                recommend.lone_leg(
                    spread_id, leg, trade, twin_symbol, twin_state, closed_twin, adopted
                ),
                details,
            )
        ]
    if len(held) == 2:
        return _ratio(view, spread_id, legs[Leg.A], legs[Leg.B], hedge_tolerance)
    return []


def _ratio(
    view: _View, spread_id: str, trade_a: DbTrade, trade_b: DbTrade, hedge_tolerance: float
) -> list[Finding]:
    assert trade_a.tag is not None and trade_b.tag is not None
    qty_a, qty_b = abs(view.true_qty(trade_a)), abs(view.true_qty(trade_b))
    ratio_a, ratio_b = trade_a.tag.hedge_ratio, trade_b.tag.hedge_ratio
    if not math.isclose(ratio_a, ratio_b, rel_tol=1e-9):
        return [
            _leg_finding(
                view,
                spread_id,
                trade_b,
                "legs disagree on hedge ratio",
                recommend.ratio_disagreement(spread_id, ratio_a, ratio_b),
                {"hedge_ratio_a": ratio_a, "hedge_ratio_b": ratio_b},
            )
        ]
    as_planned = same_qty(qty_a, trade_a.tag.planned_qty) and same_qty(
        qty_b, trade_b.tag.planned_qty
    )
    target_b = ratio_a * qty_a
    error = abs(qty_b - target_b) / target_b if target_b > 0 else math.inf
    if as_planned or error <= hedge_tolerance:
        return []
    finding = _leg_finding(
        view,
        spread_id,
        trade_b,
        "legs out of ratio",
        recommend.out_of_ratio(spread_id, trade_a, trade_b, qty_a, qty_b, ratio_a, error),
        {
            "qty_a": qty_a,
            "qty_b": qty_b,
            "hedge_ratio": ratio_a,
            "target_qty_b": target_b,
            "hedge_error": error,
            "tolerance": hedge_tolerance,
        },
    )
    pos_a, pos_b = view.positions.get(trade_a.pair), view.positions.get(trade_b.pair)
    pnl = (
        pos_a.unrealized_pnl_usdt + pos_b.unrealized_pnl_usdt
        if pos_a is not None and pos_b is not None
        else None
    )
    return [
        replace(
            finding,
            amount=abs(qty_b - target_b),
            current_pnl=pnl,
            details={**finding.details, "pnl_basis": "both legs' unrealized P&L"},
        )
    ]


def _untagged_spread(view: _View, spread_id: str, trades: list[DbTrade]) -> list[Finding]:
    """Legs known only by their enter tag (pair id): twin and side checks, no hedge ratio."""
    held = [t for t in trades if not same_qty(view.true_qty(t), 0.0)]
    if len(held) == 1:
        trade = held[0]
        return [
            _leg_finding(
                view,
                spread_id,
                trade,
                f"{trade.pair} without twin",
                recommend.lone_untagged(spread_id, trade, len(trades)),
                {"legs_in_db": len(trades)},
            )
        ]
    if len(held) == 2 and (view.true_qty(held[0]) > 0) == (view.true_qty(held[1]) > 0):
        return [
            _leg_finding(
                view,
                spread_id,
                held[1],
                "legs on the same side",
                recommend.same_side(spread_id, held[0], held[1]),
                {"other_trade_id": held[0].trade_id},
            )
        ]
    if len(held) > 2:
        return [
            _leg_finding(
                view,
                spread_id,
                held[0],
                "more than two legs",
                recommend.too_many_legs(spread_id, [t.trade_id for t in held]),
                {"trade_ids": [t.trade_id for t in held]},
            )
        ]
    return []


# --------------------------------------------------------------------------- settings
def _settings(view: _View, configured_leverage: float, warnings: list[str]) -> list[Finding]:
    """Margin mode and leverage where they matter now: symbols with a position or open order.

    FreqTrade sets both before every new entry, so a flat symbol's setting is harmless; on a
    held symbol it decides how much of the wallet a loss can take and where liquidation is.
    """
    wanted_leverage = math.floor(configured_leverage)
    exposed: dict[str, ExchangeOrder | ExchangePosition] = {}
    for order in view.exchange.open_orders:
        exposed.setdefault(order.symbol, order)
    exposed.update(view.positions)
    out = []
    for symbol in sorted(exposed):
        settings = view.exchange.settings_for(symbol)
        if settings is None:
            warnings.append(f"{symbol}: the exchange gave no leverage / margin mode for it")
            continue
        pos = view.positions.get(symbol)
        common = {
            "symbol": symbol,
            "amount": pos.amount if pos else 0.0,
            "side": pos.side if pos else None,
            "entry_price": pos.entry_price if pos else None,
            "current_price": view.mark(symbol),
            "current_pnl": pos.unrealized_pnl_usdt if pos else None,
            "spread_id": _spread_of(view.trades_by_pair.get(symbol, ())),
        }
        if settings.margin_mode != ISOLATED:
            out.append(
                Finding(
                    kind=FindingKind.MARGIN_NOT_ISOLATED,
                    severity=Severity.REVIEW,
                    recommendation=recommend.margin(symbol, settings.margin_mode, pos is not None),
                    subject="margin mode",
                    details={
                        "margin_mode": settings.margin_mode,
                        "pnl_basis": "exchange unrealized P&L of the position",
                    },
                    **common,  # type: ignore[arg-type]
                )
            )
        if settings.leverage != wanted_leverage:
            out.append(
                Finding(
                    kind=FindingKind.LEVERAGE_DIFFERS,
                    severity=Severity.REVIEW,
                    recommendation=recommend.leverage(
                        symbol, settings.leverage, wanted_leverage, pos is not None
                    ),
                    subject="leverage",
                    details={
                        "exchange_leverage": settings.leverage,
                        "configured_leverage": configured_leverage,
                        "expected_exchange_leverage": wanted_leverage,
                        "pnl_basis": "exchange unrealized P&L of the position",
                    },
                    **common,  # type: ignore[arg-type]
                )
            )
    return out

"""Hand-built snapshots for the reconciliation tests (imported by name: pytest puts this first).

A `World` holds spreads as the bot would have them (two legs in the DB, the same positions on
the exchange, isolated margin at the configured leverage); tests then break one thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from statarb.recovery.snapshots import (
    ISOLATED,
    DbOrder,
    DbSnapshot,
    DbTrade,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    ExchangeSnapshot,
    SymbolSettings,
)
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag, leg_is_short

NOW = datetime(2026, 2, 2, 22, 26, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
LEVERAGE = 2
PRICES = {
    "BTC/USDT:USDT": 60_000.0,
    "ETH/USDT:USDT": 3_000.0,
    "SOL/USDT:USDT": 150.0,
    "XRP/USDT:USDT": 0.5,
    "DOGE/USDT:USDT": 0.1,
    "BNB/USDT:USDT": 600.0,
}
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def exchange_id(symbol: str) -> str:
    return symbol.split("/", maxsplit=1)[0] + "USDT"


def tag(
    pair_id: str,
    leg: Leg,
    direction: int,
    leg_a: str,
    leg_b: str,
    hedge_ratio: float,
    planned_qty: float,
    opened_at: datetime = NOW - timedelta(hours=1),
) -> LegTag:
    return LegTag(
        pair_id=pair_id,
        opened_at=opened_at,
        leg=leg,
        direction=direction,
        hedge_ratio=hedge_ratio,
        leg_a=leg_a,
        leg_b=leg_b,
        window=50,
        planned_qty=planned_qty,
    )


@dataclass
class World:
    positions: list[ExchangePosition] = field(default_factory=list)
    settings: dict[str, SymbolSettings] = field(default_factory=dict)
    open_orders: list[ExchangeOrder] = field(default_factory=list)
    fills: list[ExchangeFill] = field(default_factory=list)
    lookups: dict[str, ExchangeOrder] = field(default_factory=dict)
    trades: list[DbTrade] = field(default_factory=list)
    closed: list[DbTrade] = field(default_factory=list)  # recently closed legs (tagged)
    known_order_ids: set[str] = field(default_factory=set)
    next_trade_id: int = 1
    next_order_id: int = 1000

    # -- building blocks -----------------------------------------------------------------
    def order_id(self) -> str:
        self.next_order_id += 1
        return str(self.next_order_id)

    def set_symbol(
        self, symbol: str, leverage: int = LEVERAGE, margin_mode: str = ISOLATED
    ) -> None:
        self.settings[symbol] = SymbolSettings(symbol, exchange_id(symbol), leverage, margin_mode)

    def position(self, symbol: str, signed_qty: float, entry: float | None = None) -> None:
        entry = entry if entry is not None else PRICES[symbol]
        mark = PRICES[symbol] * 1.01
        self.positions = [p for p in self.positions if p.symbol != symbol]
        self.positions.append(
            ExchangePosition(
                symbol=symbol,
                exchange_symbol=exchange_id(symbol),
                qty_base=signed_qty,
                entry_price=entry,
                mark_price=mark,
                unrealized_pnl_usdt=(mark - entry) * signed_qty,
                liquidation_price=entry * (0.5 if signed_qty > 0 else 1.5),
                update_time_ms=NOW_MS - 3_600_000,
            )
        )
        self.set_symbol(symbol)

    def fill(
        self,
        symbol: str,
        signed_qty: float,
        order_id: str,
        client_order_id: str = "x-random",
        reduce_only: bool = False,
    ) -> None:
        side = "buy" if signed_qty > 0 else "sell"
        self.fills.append(
            ExchangeFill(
                symbol=symbol,
                exchange_symbol=exchange_id(symbol),
                trade_id=f"t{order_id}-{len(self.fills)}",
                order_id=order_id,
                side=side,
                qty_base=abs(signed_qty),
                price=PRICES[symbol],
                realized_pnl_usdt=0.0,
                commission=0.01,
                commission_asset="USDT",
                time_ms=NOW_MS - 60_000,
            )
        )
        self.lookups[order_id] = self.exchange_order(
            symbol, signed_qty, order_id, client_order_id, reduce_only, status="FILLED"
        )

    def exchange_order(
        self,
        symbol: str,
        signed_qty: float,
        order_id: str,
        client_order_id: str = "x-random",
        reduce_only: bool = False,
        status: str = "NEW",
        filled: float = 0.0,
    ) -> ExchangeOrder:
        return ExchangeOrder(
            symbol=symbol,
            exchange_symbol=exchange_id(symbol),
            order_id=order_id,
            client_order_id=client_order_id,
            side="buy" if signed_qty > 0 else "sell",
            order_type="LIMIT",
            qty_base=abs(signed_qty),
            filled_base=filled,
            price=PRICES[symbol] * 0.98,
            reduce_only=reduce_only,
            status=status,
            time_ms=NOW_MS - 30_000,
        )

    def db_trade(
        self,
        symbol: str,
        signed_qty: float,
        leg_tag: LegTag | None = None,
        enter_tag: str | None = None,
        orders: tuple[DbOrder, ...] | None = None,
    ) -> DbTrade:
        trade_id = self.next_trade_id
        self.next_trade_id += 1
        if orders is None:
            entry_id = self.order_id()
            orders = (
                DbOrder(
                    order_id=entry_id,
                    ft_order_side="buy" if signed_qty > 0 else "sell",
                    status="closed",
                    is_open=False,
                    qty_base=abs(signed_qty),
                    filled_base=abs(signed_qty),
                    average_price=PRICES[symbol],
                ),
            )
        trade = DbTrade(
            trade_id=trade_id,
            pair=symbol,
            is_short=signed_qty < 0,
            qty_base=abs(signed_qty),
            open_rate=PRICES[symbol],
            leverage=LEVERAGE,
            open_date=NOW - timedelta(minutes=59),
            enter_tag=enter_tag
            if enter_tag is not None
            else (leg_tag.pair_id if leg_tag else None),
            stake_usdt=abs(signed_qty) * PRICES[symbol] / LEVERAGE,
            orders=orders,
            tag=leg_tag,
        )
        self.trades.append(trade)
        self.known_order_ids.update(o.order_id for o in orders)
        return trade

    def spread(
        self,
        pair_id: str,
        leg_a: str,
        leg_b: str,
        qty_a: float,
        hedge_ratio: float,
        direction: int = 1,
        *,
        on_exchange: bool = True,
    ) -> tuple[DbTrade, DbTrade]:
        """Both legs in the DB and (by default) the same positions on the exchange."""
        qty_b = round(hedge_ratio * qty_a, 8)
        sign_a = -1 if leg_is_short(Leg.A, direction) else 1
        tag_a = tag(pair_id, Leg.A, direction, leg_a, leg_b, hedge_ratio, qty_a)
        tag_b = tag(pair_id, Leg.B, direction, leg_a, leg_b, hedge_ratio, qty_b)
        a = self.db_trade(leg_a, sign_a * qty_a, tag_a)
        b = self.db_trade(leg_b, -sign_a * qty_b, tag_b)
        if on_exchange:
            self.position(leg_a, sign_a * qty_a)
            self.position(leg_b, -sign_a * qty_b)
        return a, b

    # -- snapshots -----------------------------------------------------------------------
    def exchange(self) -> ExchangeSnapshot:
        symbols = sorted({p.symbol for p in self.positions} | {t.pair for t in self.trades})
        return ExchangeSnapshot(
            server_time_ms=NOW_MS,
            positions=tuple(self.positions),
            settings=tuple(self.settings.values()),
            open_orders=tuple(self.open_orders),
            fills=tuple(self.fills),
            fills_since_ms=NOW_MS - 86_400_000,
            balance=None,
            symbols_checked=tuple(symbols),
            mark_prices={s: p * 1.01 for s, p in PRICES.items()},
            order_lookups=dict(self.lookups),
        )

    def db(self) -> DbSnapshot:
        return DbSnapshot(
            source="test.db",
            exists=True,
            open_trades=tuple(self.trades),
            known_order_ids=frozenset(self.known_order_ids),
            closed_legs=tuple(self.closed),
        )

    def close_trade(self, trade: DbTrade, minutes_ago: float = 2.0) -> DbTrade:
        """The trade leaves the open trades (and its position the exchange), closed recently."""
        closed = replace(trade, close_date=NOW - timedelta(minutes=minutes_ago))
        self.trades = [t for t in self.trades if t.trade_id != trade.trade_id]
        self.positions = [p for p in self.positions if p.symbol != trade.pair]
        self.closed.append(closed)
        return closed

    def replace_trade(self, trade: DbTrade, **changes: object) -> DbTrade:
        new = replace(trade, **changes)  # type: ignore[arg-type]
        self.trades = [new if t.trade_id == trade.trade_id else t for t in self.trades]
        return new

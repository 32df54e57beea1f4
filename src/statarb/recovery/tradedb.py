"""Write trades into a FreqTrade database with FreqTrade's own persistence models.

For tests, the bench and crash drills: a database built by `freqtrade.persistence` has exactly
the schema and value encodings a real `freqtrade trade` run leaves behind, so recovery is tested
against the real thing. Recovery itself never imports this module (FreqTrade's models cost
seconds to import and `init_db` creates and migrates tables: the opposite of read-only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from freqtrade.enums import TradingMode
from freqtrade.persistence import Order, Trade, init_db

from statarb.spread.legs import LegTag

TAG_KEY = "spread"


@dataclass(frozen=True)
class OrderSpec:
    order_id: str  # the exchange's order id
    side: str  # "buy" | "sell"
    qty_base: float
    filled_base: float
    price: float
    is_entry: bool = True
    is_open: bool = False
    status: str | None = None  # default: "closed" when filled, "open" when is_open


@dataclass(frozen=True)
class TradeSpec:
    pair: str
    is_short: bool
    qty_base: float  # filled amount (FreqTrade's trade.amount)
    open_rate: float
    open_date: datetime
    leverage: float = 2.0
    enter_tag: str | None = None
    is_open: bool = True
    close_date: datetime | None = None
    close_rate: float | None = None
    orders: Sequence[OrderSpec] = field(default_factory=tuple)
    tag: LegTag | None = None


def write_trades(db_path: Path, trades: Iterable[TradeSpec], *, batch: int = 2000) -> list[int]:
    """Create (or extend) the database at `db_path`; returns the new trade ids in order."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    init_db(f"sqlite:///{db_path}")
    ids: list[int] = []
    pending: list[tuple[Any, TradeSpec]] = []
    try:
        for spec in trades:
            trade = Trade(
                pair=spec.pair,
                base_currency=spec.pair.split("/")[0],
                stake_currency="USDT",
                exchange="binance",
                is_open=spec.is_open,
                is_short=spec.is_short,
                amount=spec.qty_base,
                amount_requested=spec.qty_base,
                open_rate=spec.open_rate,
                open_rate_requested=spec.open_rate,
                stake_amount=spec.qty_base * spec.open_rate / spec.leverage,
                leverage=spec.leverage,
                open_date=spec.open_date.replace(tzinfo=None),
                close_date=spec.close_date.replace(tzinfo=None) if spec.close_date else None,
                close_rate=spec.close_rate,
                fee_open=0.0005,
                fee_close=0.0005,
                enter_tag=spec.enter_tag,
                trading_mode=TradingMode.FUTURES,
                strategy="CointPairsStrategy",
                timeframe=1,
            )
            for order in spec.orders:
                trade.orders.append(_order(Order, spec, order))
            Trade.session.add(trade)
            pending.append((trade, spec))
            if len(pending) >= batch:
                ids += _flush(Trade, pending)
                pending = []
        ids += _flush(Trade, pending)
    finally:
        engine = Trade.session.get_bind()
        Trade.session.remove()
        engine.dispose()  # no pooled connection may outlive the call (it would hold locks)
    return ids


def _order(order_cls: Any, trade: TradeSpec, spec: OrderSpec) -> Any:
    stamp = trade.open_date if spec.is_entry else (trade.close_date or trade.open_date)
    status = spec.status or ("open" if spec.is_open else "closed")
    return order_cls(
        ft_order_side=spec.side,
        ft_pair=trade.pair,
        ft_is_open=spec.is_open,
        ft_amount=spec.qty_base,
        ft_price=spec.price,
        order_id=spec.order_id,
        status=status,
        symbol=trade.pair,
        order_type="limit",
        side=spec.side,
        price=spec.price,
        average=spec.price if spec.filled_base else None,
        amount=spec.qty_base,
        filled=spec.filled_base,
        remaining=spec.qty_base - spec.filled_base,
        cost=spec.filled_base * spec.price,
        order_date=stamp.replace(tzinfo=None),
        order_filled_date=(stamp + timedelta(seconds=1)).replace(tzinfo=None)
        if spec.filled_base
        else None,
    )


def _flush(trade_cls: Any, pending: list[tuple[Any, TradeSpec]]) -> list[int]:
    if not pending:
        return []
    trade_cls.commit()
    for trade, spec in pending:
        if spec.tag is not None:
            trade.set_custom_data(TAG_KEY, spec.tag.to_json())
    trade_cls.commit()
    return [int(trade.id) for trade, _ in pending]

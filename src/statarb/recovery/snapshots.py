"""What recovery read, in plain values: one snapshot of the exchange, one of the database.

Quantities are base-coin amounts (`qty_base`); a position's amount is SIGNED (> 0 long,
< 0 short) because that is what Binance's `positionAmt` says. ccxt's `contracts` is positive
for shorts too (docs/design.md §6.5), so the sign never comes from there. Symbols are
FreqTrade's pair names (`BTC/USDT:USDT`); the exchange's own id (`BTCUSDT`) rides along for
orders sent back to it.
Times are epoch milliseconds (`_ms`, exchange) or UTC datetimes (database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from statarb.spread.legs import LegTag

LONG = "LONG"
SHORT = "SHORT"
ISOLATED = "isolated"
CROSS = "cross"


def side_of(signed_qty: float) -> str:
    """LONG for a positive amount, SHORT for a negative one (never from ccxt's contracts)."""
    return SHORT if signed_qty < 0 else LONG


@dataclass(frozen=True)
class ExchangePosition:
    symbol: str  # FreqTrade pair, e.g. "BTC/USDT:USDT"
    exchange_symbol: str  # Binance id, e.g. "BTCUSDT"
    qty_base: float  # signed: > 0 long, < 0 short (Binance positionAmt)
    entry_price: float
    mark_price: float
    unrealized_pnl_usdt: float
    liquidation_price: float | None = None
    update_time_ms: int = 0

    @property
    def side(self) -> str:
        return side_of(self.qty_base)

    @property
    def amount(self) -> float:
        return abs(self.qty_base)


@dataclass(frozen=True)
class SymbolSettings:
    """Leverage and margin mode the exchange applies to a symbol (`/fapi/v1/symbolConfig`)."""

    symbol: str
    exchange_symbol: str
    leverage: int
    margin_mode: str  # "isolated" | "cross"


@dataclass(frozen=True)
class ExchangeOrder:
    symbol: str
    exchange_symbol: str
    order_id: str
    client_order_id: str
    side: str  # "buy" | "sell"
    order_type: str  # "LIMIT", "MARKET", ...
    qty_base: float
    filled_base: float
    price: float
    reduce_only: bool
    status: str  # Binance status, e.g. "NEW", "PARTIALLY_FILLED", "FILLED"
    time_ms: int

    @property
    def signed_qty_base(self) -> float:
        return self.qty_base if self.side == "buy" else -self.qty_base


@dataclass(frozen=True)
class ExchangeFill:
    """One user trade (`/fapi/v1/userTrades`): a fill of one order."""

    symbol: str
    exchange_symbol: str
    trade_id: str
    order_id: str
    side: str  # "buy" | "sell"
    qty_base: float
    price: float
    realized_pnl_usdt: float
    commission: float
    commission_asset: str
    time_ms: int

    @property
    def signed_qty_base(self) -> float:
        return self.qty_base if self.side == "buy" else -self.qty_base


@dataclass(frozen=True)
class Balance:
    wallet_usdt: float
    available_usdt: float
    unrealized_pnl_usdt: float
    margin_balance_usdt: float


@dataclass(frozen=True)
class ExchangeSnapshot:
    server_time_ms: int
    positions: tuple[ExchangePosition, ...]
    settings: tuple[SymbolSettings, ...]
    open_orders: tuple[ExchangeOrder, ...]
    fills: tuple[ExchangeFill, ...]  # user trades since `fills_since_ms`, every symbol checked
    fills_since_ms: int
    balance: Balance | None
    symbols_checked: tuple[str, ...]  # open orders and fills were read for exactly these
    mark_prices: Mapping[str, float] = field(default_factory=dict)
    # Orders behind fills the database does not know, looked up by id (client order id etc.).
    order_lookups: Mapping[str, ExchangeOrder] = field(default_factory=dict)

    def settings_for(self, symbol: str) -> SymbolSettings | None:
        for item in self.settings:
            if item.symbol == symbol:
                return item
        return None


@dataclass(frozen=True)
class DbOrder:
    order_id: str  # the exchange's order id
    ft_order_side: str  # "buy" | "sell": the side sent to the exchange
    status: str | None
    is_open: bool  # FreqTrade's ft_is_open: FreqTrade re-checks it on the exchange at start
    qty_base: float | None
    filled_base: float | None
    average_price: float | None = None
    order_date: datetime | None = None

    @property
    def remaining_base(self) -> float:
        """What could still fill; unknown amounts count as nothing left."""
        if self.qty_base is None:
            return 0.0
        return max(0.0, self.qty_base - (self.filled_base or 0.0))


@dataclass(frozen=True)
class DbTrade:
    trade_id: int
    pair: str
    is_short: bool
    qty_base: float  # FreqTrade's trade.amount (filled so far), always positive
    open_rate: float
    leverage: float
    open_date: datetime  # UTC
    enter_tag: str | None
    stake_usdt: float
    orders: tuple[DbOrder, ...] = ()
    tag: LegTag | None = None
    tag_problem: str | None = None  # why a stored spread tag could not be read, if it could not
    close_date: datetime | None = None  # UTC; None while the trade is open

    @property
    def side(self) -> str:
        return SHORT if self.is_short else LONG

    @property
    def signed_qty_base(self) -> float:
        return -self.qty_base if self.is_short else self.qty_base

    @property
    def entry_side(self) -> str:
        return "sell" if self.is_short else "buy"


@dataclass(frozen=True)
class DbSnapshot:
    source: str  # the database file (or URL) read
    exists: bool  # False: no database yet (a fresh install); compared as an empty one
    open_trades: tuple[DbTrade, ...]
    # Exchange order ids of every order of the trades open now or closed inside the fills
    # window: a user trade whose order is not here is a fill the database never recorded.
    known_order_ids: frozenset[str]
    recent_pairs: tuple[str, ...] = ()  # pairs of those trades
    # Trades closed inside the fills window on the partner symbols of the open legs, with their
    # tags: a lone leg whose twin is here was halfway through its spread's exit, not unhedged
    # from the start (the strategy closes it instead of opening a new twin).
    closed_legs: tuple[DbTrade, ...] = ()
    total_trades: int = 0
    notes: tuple[str, ...] = ()  # how it was read (e.g. a hot journal rolled back on a copy)

    @classmethod
    def empty(cls, source: str, *, exists: bool) -> DbSnapshot:
        return cls(source=source, exists=exists, open_trades=(), known_order_ids=frozenset())

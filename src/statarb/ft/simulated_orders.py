"""Dry-run's exchange: FreqTrade's simulated orders, seen through the same port as live.

In dry-run FreqTrade never calls ccxt's `create_order`; `Exchange.create_order` makes a
simulated order instead (filled against the real book). So that a paper run rehearses the
live execution path (docs/paper_trading.md), the order guard wraps `Exchange.create_order`
here, exactly as `statarb.live.seam` wraps ccxt's in live: an order that adds to a leg needs
the intent the strategy announced, every order is journaled under its deterministic client id
first, and the ghost check 5 s later asks FreqTrade's simulation, not the exchange, whether it
knows the order. The 5-second monitor compares the database with positions made of the
simulated fills.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from freqtrade.exceptions import InvalidOrderException, TemporaryError

from statarb.execution.guard import OrderGuard, UnresolvedOrderError
from statarb.execution.journal import IntentJournal
from statarb.live.seam import IntentRegistry, intent_for_order

logger = logging.getLogger(__name__)

# A simulated order exists the moment `create_order` returns, or never: no request can arrive
# late, so the guard needs no receive window before it believes "absent".
SIMULATED_RECV_WINDOW_MS = 0

# What a dry run cannot rehearse, said once at start.
NOT_SIMULATED = (
    "dry-run: orders are FreqTrade's simulation (no request reaches the exchange, so rate "
    "limits, rejections, dropped answers and exchange-side cancels never happen); the monitor "
    "compares the database with the simulated fills; margin mode, leverage and funding are "
    "not checked; recovery does not reconcile a dry run"
)


class SimulatedOrders:
    """The guard's and the monitor's port on FreqTrade's dry-run simulation."""

    def __init__(
        self,
        exchange: Any,
        positions: Callable[[list[str]], list[dict[str, Any]]],
        journal: IntentJournal,
    ) -> None:
        self._exchange = exchange
        self._positions = positions
        # client order id -> simulated order id; the journal's acknowledged records restore it
        # after a restart (FreqTrade then finds the order in its database).
        self._ids = {
            r.client_order_id: r.exchange_order_id for r in journal.records() if r.exchange_order_id
        }

    def remember(self, client_order_id: str, order_id: str) -> None:
        self._ids[client_order_id] = order_id

    def fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        order_id = self._ids.get(client_order_id)
        if order_id is None:
            return None
        try:
            order = dict(self._exchange.fetch_dry_run_order(order_id))
        except InvalidOrderException:
            return None  # neither simulated in this process nor in the database
        order["clientOrderId"] = client_order_id
        return order

    def positions(self, symbols: list[str]) -> list[dict[str, Any]]:
        return self._positions(symbols)


def install_simulated_order_seam(
    exchange: Any,
    guard: OrderGuard,
    registry: IntentRegistry,
    port: SimulatedOrders,
    now_ms: Callable[[], int],
) -> None:
    """Route FreqTrade's dry-run `Exchange.create_order` through the guard; idempotent."""
    if getattr(exchange, "_statarb_guarded", False):
        return
    original = exchange.create_order

    def create_order(*, pair: str, side: str, amount: float, **kwargs: Any) -> dict[str, Any]:
        reduce_only = bool(kwargs.get("reduceOnly", False))
        record = intent_for_order(
            registry, pair, side, float(amount), reduce_only, now_ms(), refuse=InvalidOrderException
        )

        def send(client_order_id: str) -> dict[str, Any]:
            order = original(pair=pair, side=side, amount=amount, **kwargs)
            port.remember(client_order_id, str(order["id"]))
            return {**order, "clientOrderId": client_order_id}

        try:
            return guard.place(record, send)
        except UnresolvedOrderError as exc:
            raise TemporaryError(str(exc)) from exc

    exchange.create_order = create_order
    exchange._statarb_guarded = True


def simulated_positions(
    open_legs: Iterable[Any], mark_price: Callable[[str], float]
) -> list[dict[str, Any]]:
    """Positions as an exchange would report them, from FreqTrade's filled simulated orders
    (entries add, exits remove) of each open trade: what a dry run holds."""
    out = []
    for trade in open_legs:
        held = 0.0
        for order in trade.orders:
            filled = float(order.safe_filled or 0.0)
            if order.ft_order_side == trade.entry_side:
                held += filled
            elif order.ft_order_side == trade.exit_side:
                held -= filled
        if held <= 0:
            continue
        mark = mark_price(trade.pair)
        entry = float(trade.open_rate or 0.0)
        sign = -1.0 if trade.is_short else 1.0
        out.append(
            {
                "symbol": trade.pair,
                "contracts": held,
                "contractSize": 1.0,
                "side": "short" if trade.is_short else "long",
                "entryPrice": entry,
                "markPrice": mark,
                "unrealizedPnl": sign * held * (mark - entry),
            }
        )
    return out

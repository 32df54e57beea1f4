"""A live signal entry's other leg, built to leave in the same request as the first
(docs/design.md, "Both legs in one request").

FreqTrade confirms one leg at a time; when it confirms the first leg of a new spread, the
second leg's order is built here from the same entry decision (its quantity) and FreqTrade's
own pricing and leverage rules, so the order that goes out now is the one FreqTrade's turn for
that leg would have sent a second later. None whenever that cannot be done safely: the legs
then go one at a time, as FreqTrade sends them.
"""

from __future__ import annotations

import logging
from typing import Any

from statarb.ft.freqtrade_internals import prepare_entry
from statarb.live.execution import LiveExecution
from statarb.live.seam import CompanionOrder
from statarb.safety.log import Category, log
from statarb.spread.client_ids import Leg, Purpose
from statarb.spread.planner import LegPlan
from statarb.spread.sizing import stake_for_qty

logger = logging.getLogger(__name__)


def companion_for(
    plan: LegPlan,
    *,
    exchange: Any,
    live: LiveExecution,
    leverage_setting: float,
    order_type: str,
) -> CompanionOrder | None:
    """The other leg of `plan`'s new spread as a companion order, or None: not a new spread's
    first leg (a twin completed by the hedging plan, a forced entry), the other leg already
    sent (a retry, a restart), or its price unreadable."""
    decision = plan.decision
    if decision is None or decision.size is None:
        return None
    other = Leg.B if plan.tag.leg is Leg.A else Leg.A
    if live.sends(str(plan.tag.key), str(other), str(Purpose.ENTRY)):
        return None
    symbol = plan.tag.partner
    is_short = decision.leg_side(other) == "short"
    qty = float(exchange.amount_to_precision(symbol, decision.leg_qty(other)))
    try:
        rate = float(exchange.get_rate(symbol, refresh=True, side="entry", is_short=is_short))
        price = float(exchange.price_to_precision(symbol, rate))
        leverage = min(
            leverage_setting,
            float(exchange.get_max_leverage(symbol, stake_for_qty(qty, price, leverage_setting))),
        )
    except Exception as error:  # FreqTrade's own turn for that leg prices it (or says why not)
        log(
            logger,
            Category.EXECUTION,
            plan.tag.pair_id,
            "second leg not priced: the legs go one at a time",
            symbol=symbol,
            error=str(error)[:160],
        )
        return None
    if qty <= 0 or price <= 0:
        return None
    return live.companion(
        tag=plan.tag.twin(qty),
        symbol=symbol,
        side="sell" if is_short else "buy",
        qty_base=qty,
        order_type=order_type,
        price=price if order_type == "limit" else None,
        leverage=leverage,
    )


def prepare(exchange: Any) -> Any:
    """The seam's `prepare`: FreqTrade's margin mode and leverage for the companion's symbol,
    set as FreqTrade sets them before every entry of its own."""

    def run(companion: CompanionOrder) -> None:
        record = companion.record
        prepare_entry(exchange, record.symbol, companion.leverage, record.side)

    return run

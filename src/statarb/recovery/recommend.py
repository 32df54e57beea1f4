"""The sentence a person acts on, per finding: what happened, what the bot will do, what to do.

Kept apart from the classification so the wording can change without touching a decision.
Each text says what FreqTrade and the strategy do by themselves at start (so nobody closes a
position twice) and what only a person can do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from statarb.execution.hedging import MAX_RETRIES
from statarb.recovery.snapshots import DbTrade, ExchangeOrder, ExchangePosition, side_of
from statarb.spread.client_ids import Leg

if TYPE_CHECKING:
    from statarb.recovery.attribution import Attribution

# Closer than this (relative to the mark) to the liquidation price is called a liquidation risk.
LIQUIDATION_WARNING_DISTANCE = 0.10
FLATTEN_HINT = "`scripts/state_recovery.py --flatten-orphans` (reduce-only market order)"


def _qty(value: float) -> str:
    return f"{value:.10g}"


def _describe(attribution: Attribution) -> str:
    purpose = attribution.purpose.name.lower().replace("_", " ") if attribution.purpose else "?"
    return (
        f"the bot's own order {attribution.client_order_id} ({purpose} of leg "
        f"{attribution.leg} of spread {attribution.spread_id}, attempt {attribution.attempt})"
    )


def liquidation_distance(pos: ExchangePosition) -> float | None:
    if not pos.liquidation_price or pos.mark_price <= 0:
        return None
    return abs(pos.mark_price - pos.liquidation_price) / pos.mark_price


def orphan(pos: ExchangePosition, origin: Attribution | None, *, adopted: bool = False) -> str:
    head = ""
    distance = liquidation_distance(pos)
    if distance is not None and distance < LIQUIDATION_WARNING_DISTANCE:
        head = (
            f"Liquidation risk: the mark {pos.mark_price:.8g} is {distance:.1%} from the "
            f"liquidation price {pos.liquidation_price:.8g}. "
        )
    what = f"{pos.side} {_qty(pos.amount)} {pos.symbol} is on the exchange but not in the DB"
    if adopted and origin is not None:
        return (
            f"{head}Adopted at start - {what}: it comes from {_describe(origin)}, which filled "
            "but was never recorded (the bot died between sending and recording). The spread's "
            "other leg is open in the DB, so at start the strategy completes the spread with "
            "it: it re-sends that entry under the same client order id, finds the order on the "
            f"exchange and records it as leg {origin.leg} - no order is sent. Do NOT close it "
            "(the other leg would be left naked and get a new twin); --flatten-orphans leaves "
            "it alone. Acknowledge the review once /api/v1/status shows both legs."
        )
    if origin is not None and origin.ours:
        why = (
            f": it comes from {_describe(origin)}, which filled but was never recorded "
            "(the bot died between sending and recording)."
        )
    elif origin is not None and origin.liquidation:
        why = f": last moved by the exchange's own order {origin.client_order_id} (liquidation)."
    else:
        why = (
            ": it was not opened through this bot's DB in the last 24 h (manual trade, another "
            "bot on the account, or older)."
        )
    return (
        f"{head}Investigate - {what}{why} FreqTrade never manages it and a new entry on this "
        f"symbol would net against it. Close it on Binance or with {FLATTEN_HINT}, then "
        "acknowledge the review."
    )


def ghost(symbol: str, trades: Sequence[DbTrade], explained: bool) -> str:
    ids = ", ".join(f"#{t.trade_id}" for t in trades)
    if explained:
        return (
            f"Trade {ids} on {symbol} has no position left on the exchange, which its open exit "
            "order (tracked in the DB) explains: FreqTrade reads that order at start and closes "
            "the trade. Nothing to do unless it is still open after the first loop."
        )
    return (
        f"Trade {ids} on {symbol} is open in the DB but the exchange holds nothing: it was closed "
        "outside the bot (manual close, liquidation or ADL). FreqTrade looks for the closing "
        "order at its next loop and closes the trade if it finds it; the spread's other leg is "
        "then unhedged (see broken_spread). Check the symbol's order history on Binance."
    )


def size_mismatch(
    symbol: str, ex_qty: float, db_qty: float, trades: Sequence[DbTrade], explained: bool
) -> str:
    ids = ", ".join(f"#{t.trade_id}" for t in trades)
    held = f"The exchange holds {side_of(ex_qty)} {_qty(abs(ex_qty))} {symbol}"
    believed = f"the DB {side_of(db_qty)} {_qty(abs(db_qty))} (trade {ids})"
    if explained:
        return (
            f"{held}, {believed}: an order the DB already tracks filled while the bot was down. "
            "FreqTrade re-reads it at start and updates the trade; nothing to do."
        )
    if db_qty and (ex_qty > 0) != (db_qty > 0):
        return (
            f"{held}, {believed}: the SIDES differ. The bot would close the wrong way. Close "
            "the position on Binance and delete the trade (FreqTrade API DELETE /trades/{id}) "
            "before trading on."
        )
    return (
        f"{held}, {believed}. A fill the DB never recorded, or a partial close outside the bot. "
        "Re-read the trade from the exchange (FreqTrade API POST /trades/{id}/reload) or trim "
        "the difference on Binance, then check the spread's hedge."
    )


def unknown_order(order: ExchangeOrder, attribution: Attribution) -> str:
    what = (
        f"Open {order.side.upper()} {order.order_type} order {order.order_id} for "
        f"{_qty(order.qty_base - order.filled_base)} {order.symbol}"
        + (" (reduce-only)" if order.reduce_only else "")
        + " is on the exchange but not in the DB"
    )
    if attribution.ours:
        why = f": {_describe(attribution)}, sent but never recorded."
    else:
        why = ": not placed through this bot's DB."
    effect = (
        " It can only shrink a position."
        if order.reduce_only
        else " If it fills it opens or grows a position the bot does not know."
    )
    return f"{what}{why}{effect} FreqTrade never manages it: cancel it on Binance."


def missing_fill(
    symbol: str,
    order_id: str,
    signed_qty: float,
    avg_price: float | None,
    attribution: Attribution | None,
    own_flatten: bool,
    position_open: bool,
) -> str:
    side = "BUY" if signed_qty >= 0 else "SELL"
    price = f" at {avg_price:.8g}" if avg_price else ""
    what = (
        f"Order {order_id} filled {side} {_qty(abs(signed_qty))} {symbol}{price} in the last 24 h"
    )
    if own_flatten:
        return f"{what}: recovery's own --flatten-orphans close. Nothing to do."
    if attribution is not None and attribution.ours:
        why = f"; it is {_describe(attribution)} and the DB has no record of it."
    elif attribution is not None and attribution.liquidation:
        why = "; it is the exchange's liquidation / ADL order."
    else:
        why = "; the DB has no order with that id (manual trade or another bot on the account)."
    now = (
        " Its position is still open: see the orphaned_position / size_mismatch finding."
        if position_open
        else " The symbol is flat now, so the realised P&L is outside the bot's books."
    )
    return what + why + now


def duplicate_leg(spread_id: str, leg: Leg, trade_ids: Sequence[int]) -> str:
    ids = ", ".join(f"#{i}" for i in trade_ids)
    return (
        f"Trades {ids} all claim to be leg {leg} of spread {spread_id}: an entry was sent twice. "
        "Keep one, close the extra on Binance and delete its trade (FreqTrade API DELETE "
        "/trades/{id})."
    )


def wrong_side(spread_id: str, leg: Leg, trade: DbTrade, should_be_short: bool) -> str:
    want = "SHORT" if should_be_short else "LONG"
    return (
        f"Leg {leg} ({trade.pair}, trade #{trade.trade_id}) of spread {spread_id} is held on the "
        f"wrong side (should be {want}): the spread is doubled, not hedged. Close both legs."
    )


def lone_leg(
    spread_id: str,
    leg: Leg,
    trade: DbTrade,
    twin_symbol: str,
    twin_state: str,
    closed_twin: DbTrade | None = None,
    adopted: bool = False,
) -> str:
    """What the live strategy does at start with a leg open without its twin, by the twin's
    state: closed (follow it out), orphan of its own entry (adopt), ghost, absent (open it)."""
    head = (
        f"Leg {leg} {trade.pair} (trade #{trade.trade_id}) of spread {spread_id} is open without "
        f"its twin {twin_symbol}: not market-neutral."
    )
    if twin_state == "closed" and closed_twin is not None:
        closed = closed_twin.close_date
        when = closed.strftime("%Y-%m-%d %H:%M:%S UTC") if closed else "recently"
        return (
            f"{head} The twin's trade #{closed_twin.trade_id} was closed at {when}: the bot "
            "stopped halfway through closing the spread. At start the strategy closes this leg "
            "too, following its twin out (under the twin's exit reason), and never re-opens the "
            "twin. Confirm no trade of the spread is left open, or close this leg on Binance."
        )
    if twin_state == "orphan" and adopted:
        return (
            f"{head} The twin IS on the exchange (see orphaned_position): the bot's own entry "
            "for it filled but was never recorded. At start the strategy adopts it as the twin "
            "(same client order id, found on the exchange: no new order) and the spread is "
            "whole again. Do not flatten it; confirm both legs in /api/v1/status."
        )
    if twin_state == "orphan":
        return (
            f"{head} The twin's symbol holds a position the DB does not know (orphaned "
            "position) that the strategy will not take in as the twin: at start it either "
            "opens the twin with a new order (Binance nets it into that position) or, if the "
            f"twin's retries are spent, closes this leg. Flatten the orphan with {FLATTEN_HINT} "
            "or close both on Binance."
        )
    if twin_state == "ghost":
        return (
            f"{head} The twin's DB trade has no position on the exchange (ghost trade): once "
            "FreqTrade closes that trade, the strategy closes this leg too, following its twin "
            "out. Confirm it did, or close it on Binance."
        )
    return (
        f"{head} The bot holds no trade for the twin (its entry was refused, lost before "
        "reaching the exchange, or never sent). At start the strategy opens it in the hedge "
        "ratio of what this leg holds - a twin entry in flight at the crash is first looked up "
        f"on the exchange by its client order id, so it is never doubled - up to "
        f"{MAX_RETRIES} retries 2 s apart; if it still cannot, it closes this leg and keeps the "
        "review flag up. Confirm both legs in /api/v1/status, or close this leg on Binance."
    )


def ratio_disagreement(spread_id: str, ratio_a: float, ratio_b: float) -> str:
    return (
        f"The legs of spread {spread_id} carry different hedge ratios ({ratio_a:.8g} and "
        f"{ratio_b:.8g}): their tags were written by different decisions. Close both legs."
    )


def out_of_ratio(
    spread_id: str,
    trade_a: DbTrade,
    trade_b: DbTrade,
    qty_a: float,
    qty_b: float,
    hedge_ratio: float,
    error: float,
) -> str:
    target = hedge_ratio * qty_a
    verb = "more" if qty_b > target else "less"
    return (
        f"Spread {spread_id}: leg B holds {_qty(qty_b)} {trade_b.pair}, {_qty(abs(qty_b - target))}"
        f" {verb} than hedge ratio {hedge_ratio:.8g} x leg A's {_qty(qty_a)} {trade_a.pair} "
        f"({error:.1%} off): the spread carries market exposure. Trim the larger leg to the "
        "ratio on Binance (reduce-only), or close both legs."
    )


def lone_untagged(spread_id: str, trade: DbTrade, legs_in_db: int) -> str:
    return (
        f"Trade #{trade.trade_id} on {trade.pair} (spread {spread_id}, no spread tag) is the only "
        f"leg held of {legs_in_db} open in the DB: not market-neutral. The strategy closes a "
        "lone leg it can identify; confirm it did, or close it on Binance."
    )


def same_side(spread_id: str, first: DbTrade, second: DbTrade) -> str:
    return (
        f"Both legs of spread {spread_id} ({first.pair} #{first.trade_id}, {second.pair} "
        f"#{second.trade_id}) are on the same side: doubled exposure, no hedge. Close both."
    )


def too_many_legs(spread_id: str, trade_ids: Sequence[int]) -> str:
    ids = ", ".join(f"#{i}" for i in trade_ids)
    return (
        f"Spread {spread_id} has more than two legs open ({ids}): an entry was repeated. Close "
        "the extra trades on Binance and delete them (FreqTrade API DELETE /trades/{id})."
    )


def margin(symbol: str, mode: str, has_position: bool) -> str:
    held = "holds a position" if has_position else "has an open order"
    return (
        f"{symbol} {held} in {mode} margin, not isolated: a loss on it can take the whole "
        "wallet, not only this leg's margin. Binance refuses to switch while a position or "
        "order is open: close it (or let the bot close the spread), then set isolated; "
        "FreqTrade sets isolated before its next entry."
    )


def leverage(symbol: str, exchange_leverage: int, wanted: int, has_position: bool) -> str:
    held = "holds a position" if has_position else "has an open order"
    closer = (
        f" liquidation is about {exchange_leverage / wanted:.3g}x closer than planned."
        if exchange_leverage > wanted
        else " it ties up more margin than planned."
    )
    return (
        f"{symbol} {held} at {exchange_leverage}x where the config says {wanted}x:{closer} "
        "Set it on Binance or close the position; FreqTrade sets the configured leverage "
        "before each new entry."
    )

"""The decision to open one spread, taken once for both legs.

FreqTrade asks about each leg separately (custom_stake_amount, then confirm_trade_entry, for
leg A and then for leg B). If each leg decided on its own, leg A could pass a check that leg B
then fails, leaving a naked leg. So the first question about a spread instance produces one
`EntryDecision`; both legs read that same decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from statarb.costs.entry_cost import CostView, EntryCostInputs, judge_entry_cost
from statarb.pairs_config import PairEntry
from statarb.spread.blocks import Block
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag
from statarb.spread.signals import (
    LONG_SPREAD,
    SHORT_SPREAD,
    ModelView,
    Thresholds,
    model_agrees,
)
from statarb.spread.sizing import (
    LegMarket,
    SizingError,
    SpreadSize,
    size_spread,
    spread_budget_notional_usdt,
)


@dataclass(frozen=True)
class EntryContext:
    """Everything the decision depends on, gathered by the adapter at the signal candle."""

    entry: PairEntry
    signal_candle: datetime  # open time of the candle whose close produced the signal
    z: float
    thresholds: Thresholds
    cointegrated: bool
    model: ModelView | None  # None = model gate off
    min_model_reversion: float
    min_model_confidence: float
    review_flag_raised: bool
    open_spreads: int  # spreads already open (both legs or one), this one excluded
    free_trade_slots: float  # FreqTrade slots still free (max_open_trades - open trades; inf)
    max_open_spreads: int
    pair_already_open: bool  # this pair has an open spread (another instance)
    # Legs of this pair that already hold an open trade of another spread (a coin can move to
    # a new pair at a re-scan while its old spread is still open): FreqTrade holds one trade
    # per symbol, so the new spread would open one leg only.
    busy_legs: tuple[str, ...]
    balance_usdt: float
    available_margin_usdt: float  # stake currency not tied up in open trades
    max_risk_percent: float
    leverage: float
    price_a: float
    price_b: float
    market_a: LegMarket
    market_b: LegMarket
    max_hedge_error: float
    # A person's forced entry (FreqTrade's forceenter): the side they chose replaces the z
    # signal, the cointegration re-test, the model and the cost check; every money rule still
    # applies.
    forced_direction: int | None = None
    # Cost-aware entry (None = off): the expected reversion must pay the round trip.
    cost: CostView | None = None
    # Legs FreqTrade will not enter on a signal now (a pair lock, e.g. the z-stop cooldown of
    # the coin's previous spread): the other leg would open alone. A person's forced entry and
    # the hedging plan are not bound by FreqTrade's pair locks, so this refuses signals only.
    locked_legs: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntryDecision:
    pair_id: str
    signal_candle: datetime
    approved: bool
    reason: str
    direction: int = 0  # +1 long spread, -1 short spread
    size: SpreadSize | None = None
    # False: refused for now only (a leg's signal candle has not been fetched yet); asked
    # again on the next loop. Live, FreqTrade fetches each leg's candles on its own, and one
    # can arrive a loop later; a final "no" then would drop the signal for the whole candle.
    final: bool = True
    # A refusal by a block that stands beyond this candle (review flag, failed re-test, cost
    # gate): the strategy reports it once per change (statarb.spread.blocks), not per candle.
    block: Block | None = None
    # The blocks this decision's checks found absent (it got past them).
    lifts: tuple[Block, ...] = ()

    def leg_side(self, leg: Leg) -> str:
        """'long' or 'short' for a leg of an approved spread."""
        long_a = self.direction == LONG_SPREAD
        return "long" if (leg is Leg.A) == long_a else "short"

    def leg_qty(self, leg: Leg) -> float:
        if self.size is None:
            raise ValueError("no size for a refused spread")
        return self.size.qty_a if leg is Leg.A else self.size.qty_b


@dataclass(frozen=True)
class LegPlan:
    """What one leg entry is for: its tag (spread, leg, direction) and its quantity."""

    tag: LegTag
    qty: float
    decision: EntryDecision | None  # None: completing the missing twin of an open spread


def decide_entry(ctx: EntryContext) -> EntryDecision:
    """Approve or refuse a spread entry; the reason is a short, loggable sentence."""

    passed: list[Block] = []  # the standing blocks checked and found absent so far

    def refuse(reason: str, direction: int = 0, block: Block | None = None) -> EntryDecision:
        return EntryDecision(
            ctx.entry.pair_id,
            ctx.signal_candle,
            False,
            reason,
            direction,
            block=block,
            lifts=tuple(passed),
        )

    if ctx.review_flag_raised:
        return refuse("manual review pending: no new spreads", block=Block.REVIEW)
    passed.append(Block.REVIEW)
    z = ctx.z
    forced = ctx.forced_direction is not None
    if forced:
        direction = int(ctx.forced_direction)  # type: ignore[arg-type]
        if direction not in (LONG_SPREAD, SHORT_SPREAD):
            return refuse(f"forced direction {direction} is not +1 or -1")
        kind = "long" if direction == LONG_SPREAD else "short"
        if not math.isfinite(z):
            return refuse("z-score unavailable (missing candles)", direction)
        if direction * z >= -ctx.thresholds.exit_z:
            return refuse(f"z={z:.2f}: a forced {kind} spread would be closed at once", direction)
        if direction * z <= -ctx.thresholds.stop_z:
            return refuse(f"z={z:.2f}: a forced {kind} spread is beyond its stop", direction)
    elif not math.isfinite(z):
        return refuse("z-score unavailable (missing candles)")
    elif -ctx.thresholds.stop_z < z < -ctx.thresholds.entry_z:
        direction = LONG_SPREAD
    elif ctx.thresholds.entry_z < z < ctx.thresholds.stop_z:
        direction = SHORT_SPREAD
    else:
        return refuse(f"z={z:.2f} not in an entry zone")
    if not forced and not ctx.cointegrated:
        return refuse("trailing cointegration re-test failed", direction, Block.RETEST)
    if not forced:
        passed.append(Block.RETEST)
    if ctx.pair_already_open:
        return refuse("spread already open for this pair", direction)
    if ctx.busy_legs:
        return refuse(
            f"{', '.join(ctx.busy_legs)} already holds a leg of another spread", direction
        )
    if ctx.locked_legs and not forced:
        return refuse(
            f"{', '.join(ctx.locked_legs)} is locked (a z-stop cooldown or a review): its twin "
            "would open alone",
            direction,
        )
    if ctx.open_spreads >= ctx.max_open_spreads:
        return refuse(f"{ctx.open_spreads} spreads open (max {ctx.max_open_spreads})", direction)
    if ctx.free_trade_slots < 2:
        return refuse(
            f"only {ctx.free_trade_slots} trade slot(s) free: no room for both legs", direction
        )
    if (
        not forced
        and ctx.model is not None
        and not model_agrees(
            ctx.model,
            min_reversion=ctx.min_model_reversion,
            min_confidence=ctx.min_model_confidence,
        )
    ):
        return refuse(
            f"model disagrees (reversion={ctx.model.predicted_reversion:.3g}, "
            f"confidence={ctx.model.confidence:.2f}, do_predict={ctx.model.do_predict})",
            direction,
        )
    cost_note = ""
    if not forced and ctx.cost is not None:
        if ctx.cost.problem is not None or ctx.cost.params is None:
            return refuse(f"cost check impossible: {ctx.cost.problem}", direction, Block.COST)
        verdict = judge_entry_cost(
            EntryCostInputs(
                z=z,
                exit_z=ctx.thresholds.exit_z,
                direction=direction,
                hedge_ratio=ctx.entry.quantity_ratio,
                price_a=ctx.price_a,
                price_b=ctx.price_b,
                spread_sd_usdt=ctx.cost.spread_sd_usdt,
                half_life_candles=ctx.cost.half_life_candles,
                timeframe_minutes=ctx.cost.timeframe_minutes,
                funding_rate_a=ctx.cost.funding_rate_a,
                funding_rate_b=ctx.cost.funding_rate_b,
                predicted_reversion_z=(
                    ctx.model.predicted_reversion if ctx.model is not None else None
                ),
            ),
            ctx.cost.params,
        )
        if not verdict.ok:
            return refuse(f"too small to pay its costs: {verdict.reason}", direction, Block.COST)
        cost_note = f"; {verdict.reason}"
    if not forced:  # paid its costs, or the cost gate is off
        passed.append(Block.COST)
    try:
        budget = spread_budget_notional_usdt(
            balance_usdt=ctx.balance_usdt,
            max_risk_percent=ctx.max_risk_percent,
            leverage=ctx.leverage,
        )
        size = size_spread(
            gross_notional_usdt=budget,
            price_a=ctx.price_a,
            price_b=ctx.price_b,
            hedge_ratio=ctx.entry.quantity_ratio,
            market_a=ctx.market_a,
            market_b=ctx.market_b,
            max_hedge_error=ctx.max_hedge_error,
        )
    except SizingError as exc:
        return refuse(f"cannot size: {exc}", direction)
    margin = size.gross_notional_usdt / ctx.leverage
    if margin > ctx.available_margin_usdt:
        return refuse(
            f"margin {margin:.2f} USDT for both legs exceeds the available "
            f"{ctx.available_margin_usdt:.2f} USDT",
            direction,
        )
    kind = "long" if direction == LONG_SPREAD else "short"
    return EntryDecision(
        ctx.entry.pair_id,
        ctx.signal_candle,
        True,
        f"forced {kind} spread (z={z:.2f})"
        if forced
        else f"open {kind} spread at z={z:.2f}{cost_note}",
        direction,
        size,
        lifts=tuple(passed),
    )

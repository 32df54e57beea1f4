"""Entry decisions: ONE decision per spread instance (model gate, slots, review flag, sizing in
the hedge ratio); both legs read it, so a check cannot pass for leg A and fail for leg B.

`EntryDesk` is what FreqTrade's entry callbacks hand over to (`custom_stake_amount`,
`confirm_trade_entry`, `order_filled`); the decision itself is
`statarb.spread.planner.decide_entry`, and the pieces that need no FreqTrade are the plain
functions below (tests/unit/test_ft_entries.py).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from freqtrade.enums import RunMode
from freqtrade.persistence import Trade

from statarb.ft.candles import prices_of
from statarb.ft.companion import companion_for
from statarb.ft.frames import LABEL
from statarb.ft.trades import LIVE_MODES, market_of
from statarb.live.seam import CompanionOrder
from statarb.safety.log import Category, log
from statarb.spread.blocks import Block
from statarb.spread.book import ActivePair
from statarb.spread.client_ids import Leg, Purpose
from statarb.spread.features import open_spread_z
from statarb.spread.history import common_closes
from statarb.spread.legs import (
    TAG_KEY,
    LegTag,
    SpreadKey,
    group_by_spread,
    leg_is_short,
    signal_candle_of,
    spread_direction,
)
from statarb.spread.planner import EntryContext, EntryDecision, LegPlan, decide_entry
from statarb.spread.signals import ModelView, Thresholds
from statarb.spread.sizing import stake_for_qty

if TYPE_CHECKING:
    from statarb.ft.blocks import EntryBlockReporter
    from statarb.ft.host import StrategyHost
    from statarb.pairs_config import PairEntry

logger = logging.getLogger(__name__)

FORCED_TAGS = (None, "", "force_entry")  # what FreqTrade's forceenter tags a trade with
DECISION_HORIZON_CANDLES = 10  # entry decisions are per signal candle; the recent ones are kept


# ------------------------------------------------------------------ plain decisions
def tag_for(decision: EntryDecision, active: ActivePair, thresholds: Thresholds) -> LegTag:
    """The tag a leg is entered with: the spread's ratio, β, window and the thresholds it is
    entered under, so it is judged by them until it closes (whatever a re-scan changes)."""
    entry = active.entry
    return LegTag(
        pair_id=entry.pair_id,
        opened_at=decision.signal_candle,
        leg=active.role,
        direction=decision.direction,
        hedge_ratio=entry.quantity_ratio,
        leg_a=entry.leg_a,
        leg_b=entry.leg_b,
        window=entry.mean_reversion_window,
        planned_qty=decision.leg_qty(active.role),
        entry_z=thresholds.entry_z,
        exit_z=thresholds.exit_z,
        stop_z=thresholds.stop_z,
        spread_beta=entry.hedge_ratio,
        price_space=entry.price_space,
    )


def thresholds_of(entry: PairEntry, defaults: Thresholds) -> Thresholds:
    """The thresholds a pair trades by: its own overrides from the scan over the defaults."""
    exit_z, entry_z, stop_z = entry.thresholds_or(
        defaults.exit_z, defaults.entry_z, defaults.stop_z
    )
    return Thresholds(entry_z=entry_z, exit_z=exit_z, stop_z=stop_z)


def capped_stake(stake: float, max_stake: float) -> float | None:
    """The stake FreqTrade may place for a leg, or None when the plan is above what the account
    can carry (then neither leg may go). A hair above the cap is the truncation headroom."""
    if stake <= max_stake:
        return stake
    if stake > max_stake * (1 + 1e-6):
        return None
    return max_stake


def leg_problem(
    pair: str, side: str, expected_side: str, amount: float, planned_qty: float, step: float
) -> str | None:
    """Why the order FreqTrade is about to send is not the planned leg (None: it is)."""
    if side != expected_side:
        return f"{pair} side {side} disagrees with the spread ({expected_side})"
    if abs(amount - planned_qty) > step * 1.01:
        return f"{pair} amount {amount} is off the plan {planned_qty}"
    return None


def max_open_trades(config: Mapping[str, Any], max_open_spreads: int) -> float:
    """FreqTrade's trade limit (two legs a spread by default); -1 means unlimited."""
    max_trades = float(config.get("max_open_trades", 2 * max_open_spreads))
    return math.inf if max_trades < 0 else max_trades


def int_or_zero(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if math.isfinite(number) else 0


def model_view(row: Mapping[str, Any]) -> ModelView:
    """FreqAI's prediction on the signal candle as the model gate reads it."""
    return ModelView(
        predicted_reversion=float(row.get(LABEL, math.nan)),
        label_mean=float(row.get(f"{LABEL}_mean", math.nan)),
        label_std=float(row.get(f"{LABEL}_std", math.nan)),
        do_predict=int_or_zero(row.get("do_predict")),
    )


# ------------------------------------------------------------------ the desk
class EntryDesk:
    def __init__(self, host: StrategyHost, blocks: EntryBlockReporter) -> None:
        self.host = host
        self.blocks = blocks

    # ---------------------------------------------------------------- callbacks
    def stake_amount(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        max_stake: float,
        leverage: float,
        entry_tag: str | None,
        side: str,
    ) -> float:
        plan = self.leg_plan(pair, current_time, entry_tag, side)
        if plan is None:
            return 0.0
        stake = stake_for_qty(plan.qty, current_rate, leverage)
        capped = capped_stake(stake, max_stake)
        if capped is None:
            if plan.decision is not None:
                self.revoke(
                    plan.decision, f"{pair} stake {stake:.2f} above the maximum {max_stake:.2f}"
                )
            return 0.0
        return capped

    def confirm(
        self,
        pair: str,
        amount: float,
        rate: float,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
    ) -> bool:
        host = self.host
        if self.reprices_own_entry(pair, side):
            return True
        plan = self.leg_plan(pair, current_time, entry_tag, side)
        if plan is None:
            return False
        expected_side = "short" if leg_is_short(plan.tag.leg, plan.tag.direction) else "long"
        step = market_of(host.dp, pair).qty_step
        problem = leg_problem(pair, side, expected_side, amount, plan.qty, step)
        if problem is not None:
            if plan.decision is not None:
                self.revoke(plan.decision, problem)
            return False
        if plan.decision is not None and host.costs.backtest_entry_never_fills(
            pair, current_time, side
        ):
            self.revoke(
                plan.decision,
                "neither leg's maker entry fills on the fill candle: no spread (live cancels "
                "both after maker_timeout_s)",
                category=Category.EXECUTION,
            )
            return False
        host.state.entry_tags[pair] = plan.tag
        host.state.forced = {k: v for k, v in host.state.forced.items() if v is not plan.decision}
        if host.live_desk.live is not None:
            host.live_desk.live.announce(
                tag=plan.tag,
                symbol=pair,
                side="sell" if side == "short" else "buy",
                reduce_only=False,
                purpose=Purpose.ENTRY,
                qty_base=amount,
                companion=self.companion(plan, entry_tag),
            )
        log(
            logger,
            Category.EXECUTION,
            plan.tag.pair_id,
            "sending leg",
            pair=pair,
            side=side,
            qty=amount,
            rate=rate,
            leg=str(plan.tag.leg),
            spread=str(plan.tag.key),
        )
        return True

    def companion(self, plan: LegPlan, entry_tag: str | None) -> CompanionOrder | None:
        """Live signal entries: the spread's other leg, to leave in the same request
        (docs/design.md, "Both legs in one request"). Forced entries and dry runs send one
        leg at a time."""
        host, desk = self.host, self.host.live_desk
        if (
            desk.live is None
            or desk.internals is None
            or host.dp.runmode is not RunMode.LIVE
            or entry_tag in FORCED_TAGS
        ):
            return None
        return companion_for(
            plan,
            exchange=desk.internals.exchange,
            live=desk.live,
            leverage_setting=host.settings.leverage,
            order_type=str(host.order_types.get("entry", "limit")),
        )

    def order_filled(self, pair: str, trade: Any, order: Any) -> None:
        """An entry fill: the leg's tag goes into FreqTrade's trade (it survives restarts)."""
        host = self.host
        if order.ft_order_side == trade.entry_side and trade.get_custom_data(TAG_KEY) is None:
            tag = host.state.entry_tags.pop(pair, None)
            if tag is None or leg_is_short(tag.leg, tag.direction) != trade.is_short:
                tag = host.tags.rebuild(trade)
            if tag is not None:
                host.tags.store(trade, tag)
        log(
            logger,
            Category.EXECUTION,
            trade.enter_tag,
            "fill",
            pair=pair,
            side=order.ft_order_side,
            qty=order.filled,
            price=order.safe_price,
            trade_id=trade.id,
        )

    def forget_old(self, current_time: datetime) -> None:
        """Entry decisions are per signal candle; keep only the recent ones."""
        state = self.host.state
        horizon = current_time.astimezone(UTC) - timedelta(
            minutes=self.host.tf_minutes * DECISION_HORIZON_CANDLES
        )
        state.decisions = {k: v for k, v in state.decisions.items() if k.opened_at >= horizon}
        state.forced = {k: v for k, v in state.forced.items() if k.opened_at >= horizon}
        state.waiting = {k for k in state.waiting if k.opened_at >= horizon}

    # ---------------------------------------------------------------- decisions
    def decision_for(
        self, pair: str, current_time: datetime
    ) -> tuple[ActivePair, EntryDecision] | None:
        """The one decision about the spread `pair` would open at `current_time`.

        The signal candle is the last one closed by `current_time`: in a backtest FreqTrade
        fills at the next candle's open, live a few seconds after the close.
        """
        state = self.host.state
        signal_candle = signal_candle_of(current_time, self.host.tf_minutes)
        active = self.host.book.active(pair, signal_candle)
        if active is None:
            return None
        key = SpreadKey(active.entry.pair_id, signal_candle)
        decision = state.decisions.get(key)
        if decision is None:
            decision = self.decide(active, signal_candle)
            if decision.final:
                state.decisions[key] = decision
            elif key in state.waiting:
                return active, decision  # said once; asked again next loop
            else:
                state.waiting.add(key)
            if decision.final:
                blocks: dict[Block, str | None] = dict.fromkeys(decision.lifts)
                if decision.block is not None:
                    blocks[decision.block] = decision.reason
                self.blocks.report(key.pair_id, blocks)
                if decision.block is not None:
                    return active, decision  # it stands beyond this candle: said once
            log(
                logger,
                Category.STRATEGY,
                key.pair_id,
                "entry approved" if decision.approved else "entry refused",
                reason=decision.reason,
                signal_candle=signal_candle.isoformat(),
            )
        return active, decision

    def decide(
        self, active: ActivePair, signal_candle: datetime, forced_direction: int | None = None
    ) -> EntryDecision:
        """Decide from what both legs share: the spread's z, re-test and (identical) models.

        Those columns are the same in either leg's frame, so the leg asked first decides and
        the answer does not depend on FreqTrade's pair order; the partner only adds its price.
        """
        host = self.host
        settings = host.settings
        entry = active.entry
        cache = host.state.candles.get(active.symbol)
        row = cache.row_at(signal_candle) if cache else None
        partner_close = host.candles.close_at(active.partner, signal_candle)
        if row is None or not math.isfinite(partner_close):
            return EntryDecision(
                entry.pair_id,
                signal_candle,
                False,
                "both legs not analysed on the signal candle (yet)",
                final=False,
            )
        closes = {active.symbol: float(row["close"]), active.partner: partner_close}
        legs = host.tags.open_legs()
        spreads = group_by_spread(legs)
        max_trades = max_open_trades(host.config, settings.max_open_spreads)
        max_spreads = settings.max_open_spreads
        if host.analysis_run:
            # lookahead-/recursive-analysis replay one pair at a time with unlimited trades;
            # a spread limit that depends on the other pairs would make every run differ.
            max_spreads = 10**6
        model = None
        if settings.model_gate and host.config.get("freqai", {}).get("enabled", False):
            model = model_view(row)
        balance = float(host.wallets.get_total_stake_amount()) if host.wallets else 0.0
        available = float(host.wallets.get_available_stake_amount()) if host.wallets else 0.0
        return decide_entry(
            EntryContext(
                entry=entry,
                signal_candle=signal_candle,
                # A person forcing an entry trades at today's prices: judge it on the live z.
                z=self.live_entry_z(entry) if forced_direction else float(row["spread_z"]),
                thresholds=host.thresholds_for(entry),
                cointegrated=bool(row["coint_ok"]),
                model=model,
                min_model_reversion=settings.min_model_reversion,
                min_model_confidence=settings.min_model_confidence,
                review_flag_raised=host.review_flag.is_raised(),
                open_spreads=len(spreads),
                free_trade_slots=max_trades - len(Trade.get_trades_proxy(is_open=True)),
                max_open_spreads=max_spreads,
                pair_already_open=any(k.pair_id == entry.pair_id for k in spreads),
                busy_legs=tuple(
                    t.pair
                    for t in Trade.get_trades_proxy(is_open=True)
                    if t.pair in (entry.leg_a, entry.leg_b)
                ),
                balance_usdt=balance,
                available_margin_usdt=available,
                max_risk_percent=settings.max_risk_percent,
                leverage=settings.leverage,
                price_a=closes[entry.leg_a],
                price_b=closes[entry.leg_b],
                market_a=market_of(host.dp, entry.leg_a),
                market_b=market_of(host.dp, entry.leg_b),
                max_hedge_error=settings.max_hedge_error,
                forced_direction=forced_direction,
                cost=None if forced_direction else host.costs.cost_view(active, signal_candle),
                locked_legs=()
                if forced_direction
                else tuple(
                    symbol
                    for symbol in (entry.leg_a, entry.leg_b)
                    if host.is_pair_locked(symbol, candle_date=signal_candle)
                ),
            )
        )

    def revoke(
        self, decision: EntryDecision, reason: str, category: Category = Category.SAFETY
    ) -> None:
        """Withdraw an approval so the twin is not sent alone after this leg was refused."""
        key = SpreadKey(decision.pair_id, decision.signal_candle)
        self.host.state.decisions[key] = dataclasses.replace(
            decision, approved=False, reason=reason
        )
        log(logger, category, decision.pair_id, "entry withdrawn", reason=reason)

    def live_entry_z(self, entry: PairEntry) -> float:
        """z of the pair's spread at current prices against its window of closed candles."""
        candles = self.host.candles
        hist_a, hist_b = candles.candles_of(entry.leg_a), candles.candles_of(entry.leg_b)
        if hist_a is None or hist_b is None:
            return math.nan
        now = datetime.now(UTC)
        count = entry.mean_reversion_window + 1
        close_a, close_b = common_closes(hist_a, hist_b, now, count)
        prices = prices_of(self.host.dp, [entry.leg_a, entry.leg_b])
        if not all(math.isfinite(p) for p in prices.values()):
            return math.nan  # no live price: no forced entry
        z_now, _ = open_spread_z(
            close_a,
            close_b,
            hedge_ratio=entry.hedge_ratio,
            window=entry.mean_reversion_window,
            live_price_a=prices[entry.leg_a],
            live_price_b=prices[entry.leg_b],
            price_space=entry.price_space,
        )
        return z_now

    def reprices_own_entry(self, pair: str, side: str) -> bool:
        """A backtest re-prices a resting maker entry through confirm_trade_entry (live does
        not ask): the trade, already approved as a leg, is open on this very pair and side."""
        if self.host.dp.runmode in LIVE_MODES:
            return False
        return any(
            t.is_short == (side == "short") and t.nr_of_successful_entries == 0
            for t in Trade.get_trades_proxy(pair=pair, is_open=True)
        )

    def leg_plan(
        self, pair: str, current_time: datetime, entry_tag: str | None, side: str
    ) -> LegPlan | None:
        """Why this leg would be entered now: completing a twin, a forced spread, a signal."""
        host = self.host
        completing = host.state.completing.get(pair)
        if completing is not None:
            return LegPlan(completing[0], completing[1], None)
        if entry_tag in FORCED_TAGS and host.dp.runmode in LIVE_MODES:
            found = self.forced_decision(pair, side, current_time)
        else:
            found = self.decision_for(pair, current_time)
            if found is not None and entry_tag != found[0].entry.pair_id:
                return None
        if found is None:
            return None
        active, decision = found
        if not decision.approved:
            return None
        plan = LegPlan(
            tag_for(decision, active, host.thresholds_for(active.entry)),
            decision.leg_qty(active.role),
            decision,
        )
        live = host.live_desk.live
        spread, leg = str(plan.tag.key), str(plan.tag.leg)
        if (
            live is not None
            and live.sends(spread, leg, str(Purpose.ENTRY))
            and not live.went_with_partner(spread, leg)
        ):
            # This leg was sent once already (and refused, or cancelled unfilled): any further
            # send is the hedging plan's, so its retry budget counts every attempt. A leg that
            # left with its partner is recorded by its own turn (the guard hands it back).
            return None
        if host.tags.already_traded(plan.tag):
            self.revoke(decision, f"{plan.tag.key} was already traded: one spread per signal")
            return None
        return plan

    def forced_decision(
        self, pair: str, side: str, current_time: datetime
    ) -> tuple[ActivePair, EntryDecision] | None:
        """A person's forceenter on one leg: allowed only as a whole spread (the twin follows)."""
        state = self.host.state
        signal_candle = signal_candle_of(current_time, self.host.tf_minutes)
        active = self.host.book.active(pair, signal_candle)
        if active is None:
            log(
                logger,
                Category.SAFETY,
                None,
                "forced entry refused: no spread holds this coin, a forced leg must have a twin",
                pair=pair,
            )
            return None
        key = SpreadKey(active.entry.pair_id, signal_candle)
        decision = state.forced.get(key)
        if decision is not None and self.spread_was_sent(key.pair_id, decision.signal_candle):
            decision = None  # that request reached the exchange and failed: this one is new
        if decision is None:
            direction = spread_direction(active.role, side == "short")
            # Judged on live prices; the analysed candle only supplies sizing prices, so the
            # last one both legs have will do while the newest is still being fetched.
            candle = self.host.candles.last_common_candle(active) or signal_candle
            decision = self.decide(active, candle, forced_direction=direction)
            # A forced spread is named after the second it was decided, not its candle: two
            # forced spreads of one pair in one minute must not share a name (or order ids).
            decided_at = datetime.now(UTC).replace(microsecond=0)
            # A retry within the second of a failed request (e.g. after a 429) is a new
            # spread too: it must not take the name whose leg was already sent once.
            while self.spread_was_sent(key.pair_id, decided_at):
                decided_at += timedelta(seconds=1)
            decision = dataclasses.replace(decision, signal_candle=decided_at)
            if decision.approved:  # a refusal is re-examined on the next request
                state.forced[key] = decision
            log(
                logger,
                Category.SAFETY if not decision.approved else Category.STRATEGY,
                key.pair_id,
                "forced entry " + ("approved" if decision.approved else "refused"),
                reason=decision.reason,
                pair=pair,
                side=side,
            )
        return active, decision

    def spread_was_sent(self, pair_id: str, opened_at: datetime) -> bool:
        live = self.host.live_desk.live
        if live is None:
            return False
        spread = str(SpreadKey(pair_id, opened_at))
        return any(live.sends(spread, str(leg), str(Purpose.ENTRY)) for leg in Leg)

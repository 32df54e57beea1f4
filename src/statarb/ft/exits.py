"""Exit orchestration: one exit decision per spread instance and moment, so both legs leave
together (z reverted, z stop, twin lost); the rules themselves are `statarb.spread.signals`.

- backtest: each leg asks `custom_exit`; the answer is cached per spread and candle, so the
  second leg reads the first one's;
- live and dry-run: both legs are judged on the same live z each loop (`live_exit`), lone and
  stuck legs are the hedging plan's and the live gate's (`statarb.ft.live`).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from statarb.ft.blocks import stop_lock_reason
from statarb.ft.trades import LIVE_MODES
from statarb.safety.log import Category, log
from statarb.spread.features import tag_spread_z
from statarb.spread.history import common_closes
from statarb.spread.legs import LegTag
from statarb.spread.signals import ExitReason, Thresholds, exit_reason, follower_exit_reason

if TYPE_CHECKING:
    from statarb.ft.host import StrategyHost

logger = logging.getLogger(__name__)

EXIT_CACHE_LIMIT = 10_000


class ExitDesk:
    def __init__(self, host: StrategyHost) -> None:
        self.host = host

    def custom_exit(self, trade: Any, current_time: datetime) -> str | None:
        host = self.host
        tag = host.tags.tag_of(trade)
        if tag is None:
            return None
        if trade.select_order(trade.exit_side, is_open=True) is not None:
            return None  # already leaving: a resting maker exit crosses after its timeout
        if host.dp.runmode in LIVE_MODES:
            return self.live_exit(tag)
        cache = host.state.exit_cache
        cache_key = (tag.key, current_time)
        if cache_key not in cache:
            cache[cache_key] = self.spread_exit(tag, current_time)
            if len(cache) > EXIT_CACHE_LIMIT:
                cache.clear()
                cache[cache_key] = self.spread_exit(tag, current_time)
        return cache[cache_key]

    def spread_exit(self, tag: LegTag, current_time: datetime) -> str | None:
        twin_open = self.host.tags.twin_open(tag)
        if not twin_open:
            following = self.follow_closed_twin(tag)
            if following is not None:
                return following
        # Both legs enter in the same pass over the pairs; until that pass is over (the
        # fill candle) the twin has not had its turn yet and is not "missing".
        entry_pass_over = current_time >= tag.opened_at + timedelta(
            minutes=2 * self.host.tf_minutes
        )
        if not twin_open and entry_pass_over:
            log(
                logger,
                Category.SAFETY,
                tag.pair_id,
                "twin leg missing: closing this leg",
                spread=str(tag.key),
                leg=str(tag.leg),
            )
            return str(ExitReason.TWIN_MISSING)
        z_now, z_prev = self.open_z(tag, current_time)
        return self.judge(tag, z_now, z_prev, current_time)

    def _book_thresholds(self, tag: LegTag) -> Thresholds:
        """The book's thresholds for a tag written before tags recorded their own."""
        entry = self.host.book.find(tag.pair_id, tag.opened_at)
        return self.host.thresholds_for(entry) if entry else self.host.default_thresholds()

    def judge(self, tag: LegTag, z_now: float, z_prev: float, current_time: datetime) -> str | None:
        """The z rules for an open spread (its own entry hedge ratio and thresholds)."""
        host = self.host
        thresholds = tag.entered_thresholds()
        if thresholds is None:  # a tag written before thresholds were recorded
            thresholds = self._book_thresholds(tag)
        reason = exit_reason(
            direction=tag.direction,
            z_now=z_now,
            z_prev=z_prev,
            thresholds=thresholds,
            require_turn=host.settings.require_turn,
        )
        if reason is ExitReason.STOP:
            log(
                logger,
                Category.SAFETY,
                tag.pair_id,
                "z stop: closing both legs",
                spread=str(tag.key),
                z=z_now,
                stop_z=thresholds.stop_z,
            )
            until = current_time + timedelta(
                minutes=host.tf_minutes * host.settings.stop_cooldown_candles
            )
            for symbol in (tag.leg_a, tag.leg_b):
                host.lock_pair(symbol, until, reason=stop_lock_reason(tag.pair_id))
            if (
                host.live_desk.live is not None
            ):  # docs/design.md §2.5: a stop is flagged for manual review
                host.live_desk.live.safety(
                    tag.pair_id,
                    f"z stop at {z_now:.2f}: review the pair",
                    review=True,
                    spread=str(tag.key),
                )
        elif reason is ExitReason.REVERTED:
            log(
                logger,
                Category.STRATEGY,
                tag.pair_id,
                "spread reverted: closing both legs",
                spread=str(tag.key),
                z=z_now,
            )
        return str(reason) if reason else None

    def live_exit(self, tag: LegTag) -> str | None:
        """Live: both legs judged on the same live z each loop; lone and stuck legs handled."""
        host = self.host
        twin_open = host.tags.twin_open(tag)
        gate = host.live_desk.exit_gate(tag, twin_open)
        if gate is not None:
            return gate or None
        if not twin_open:
            following = self.follow_closed_twin(tag)
            if following is not None:
                return following
            if host.live_desk.live is not None:
                return None  # the hedging plan opens the missing twin or flattens this leg
            now = datetime.now(UTC)
            if now >= tag.opened_at + timedelta(minutes=3 * host.tf_minutes):
                return str(ExitReason.TWIN_MISSING)
            return None
        z_now, z_prev = host.state.live_z.get(tag.key) or self.open_z(tag, datetime.now(UTC))
        reason = self.judge(tag, z_now, z_prev, datetime.now(UTC))
        if reason is not None:
            host.state.exiting.setdefault(tag.key, reason)
        return reason

    def follow_closed_twin(self, tag: LegTag) -> str | None:
        """This leg's exit reason when its twin has already closed (None while it has not):
        the spread's reason, so both legs leave under one (statarb.spread.signals).

        Closed by this process a moment ago (an exit that fills at once leaves before its twin
        is asked; both legs exit in one backtest pass): the same exit, no alarm. Closed
        otherwise (by hand, a liquidation, before a restart): [SAFETY]. Live, the leg crosses
        at once whatever the reason (statarb.ft.costs, custom_exit_price): it is naked until
        it is out.
        """
        twin = self.host.tags.closed_leg(tag, tag.partner)
        if twin is None:
            return None
        decided = self.host.state.exiting.get(tag.key)
        reason = follower_exit_reason(decided, twin.exit_reason)
        log(
            logger,
            Category.EXECUTION if decided is not None else Category.SAFETY,
            tag.pair_id,
            "twin closed first: following it out"
            if decided is not None
            else "twin closed: closing this leg too",
            spread=str(tag.key),
            leg=str(tag.leg),
            twin=twin.pair,
            reason=reason,
        )
        return reason

    def open_z(self, tag: LegTag, current_time: datetime) -> tuple[float, float]:
        """(z_now, z_prev) of an open spread on the candles closed by `current_time`, with its
        own entry β, window and price space."""
        hist_a = self.host.candles.candles_of(tag.leg_a)
        hist_b = self.host.candles.candles_of(tag.leg_b)
        if hist_a is None or hist_b is None:
            return math.nan, math.nan
        count = tag.window + 1
        close_a, close_b = common_closes(hist_a, hist_b, current_time, count)
        return tag_spread_z(tag, close_a, close_b)

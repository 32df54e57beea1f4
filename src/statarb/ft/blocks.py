"""Entry-block reporting: which loaded pairs cannot open a spread now, and why.

Each change of a pair's blocks is one [STRATEGY] line (`statarb.spread.blocks` keeps what was
said). The reasons themselves are plain functions (`retest_failure`, `review_block`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from freqtrade.persistence import PairLocks

from statarb.safety.log import Category, log
from statarb.spread.blocks import Block
from statarb.spread.legs import signal_candle_of

if TYPE_CHECKING:
    from statarb.ft.host import StrategyHost

logger = logging.getLogger(__name__)


def stop_lock_reason(pair_id: str) -> str:
    """The reason of the pair locks a z stop sets (one definition: set, and looked for)."""
    return f"z stop on {pair_id}"


def review_block(raised: bool) -> str | None:
    """The review block's reason while the manual-review flag is up."""
    if not raised:
        return None
    return "manual review flag up: no new spreads until a person acknowledges it"


def retest_failure(row: Mapping[str, Any], window: int, max_pvalue: float) -> str:
    """Why the trailing re-test blocks entries, from the signal candle's analysed row."""
    pvalue = float(row.get("coint_pvalue", math.nan))
    if not math.isfinite(pvalue):
        return f"trailing re-test has no verdict yet (it needs {window} candles of the spread)"
    return (
        f"trailing re-test failed: ADF p={pvalue:.3f} > {max_pvalue:.2f} "
        f"over the last {window} candles"
    )


class EntryBlockReporter:
    def __init__(self, host: StrategyHost) -> None:
        self.host = host

    def track(self, current_time: datetime) -> None:
        """Which loaded pairs cannot open a spread now, and why; each change of a pair's blocks
        is one [STRATEGY] line (statarb.spread.blocks). The cost gate's verdict comes from the
        entry decisions only (`EntryDesk.decision_for`): it stands from a signal its costs
        refused until one pays them."""
        host = self.host
        signal_candle = signal_candle_of(current_time, host.tf_minutes)
        config = host.book.config_at(signal_candle)
        loaded = config.pairs if config is not None else []
        host.state.blocks.keep_only(entry.pair_id for entry in loaded)
        review = review_block(host.review_flag.is_raised())
        for entry in loaded:
            blocks: dict[Block, str | None] = {
                Block.REVIEW: review,
                Block.COOLDOWN: self._stop_cooldown(
                    entry.pair_id, (entry.leg_a, entry.leg_b), current_time
                ),
            }
            cache = host.state.candles.get(entry.leg_a)
            row = cache.row_at(signal_candle) if cache is not None else None
            if row is not None:  # analysed: the re-test's verdict
                blocks[Block.RETEST] = (
                    None
                    if bool(row["coint_ok"])
                    else retest_failure(
                        row, host.settings.retest_window, host.settings.retest_max_pvalue
                    )
                )
            self.report(entry.pair_id, blocks)

    def report(self, pair_id: str, blocks: dict[Block, str | None]) -> None:
        change = self.host.state.blocks.update(pair_id, blocks)
        if change is None:
            return
        if change.blocked:
            lifted = {"lifted": ",".join(change.lifted)} if change.lifted else {}
            log(
                logger,
                Category.STRATEGY,
                pair_id,
                "entries blocked",
                by=change.blocks,
                reason=change.reason,
                **lifted,
            )
        else:
            log(
                logger, Category.STRATEGY, pair_id, "entries unblocked", was=",".join(change.lifted)
            )

    def _stop_cooldown(self, pair_id: str, legs: tuple[str, str], now: datetime) -> str | None:
        """Why a z stop still locks this pair's legs, or None."""
        for symbol in legs:
            for lock in PairLocks.get_pair_locks(symbol, now):
                if lock.reason == stop_lock_reason(pair_id):
                    return f"z stop cool-down until {lock.lock_end_time_utc:%Y-%m-%d %H:%M} UTC"
        return None

"""What the strategy's parts need from the FreqTrade strategy that holds them: one typed contract.

The parts reach each other through the host too, each named here by the small protocol of
what the others use (so this contract imports none of them: imports point one way).
`CointPairsStrategy` creates its parts (`statarb.ft.entries`, `.exits`, `.blocks`, `.candles`,
`.costs`, `.live`) in `__init__`, each given the strategy as its host;
they read the host's attributes when they act (FreqTrade sets `dp` and `wallets` after
`__init__`, and a pairs reload replaces `book`), so nothing is copied that could go stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from statarb.costs.entry_cost import CostView
    from statarb.ft.state import StrategyState
    from statarb.ft.trades import TagStore
    from statarb.live.execution import LiveExecution
    from statarb.pairs_config import PairEntry
    from statarb.safety.review_flag import ManualReviewFlag
    from statarb.settings import StrategySettings
    from statarb.spread.book import ActivePair, SpreadBook
    from statarb.spread.features import RetestParams
    from statarb.spread.history import CandleCache
    from statarb.spread.legs import LegTag
    from statarb.spread.signals import Thresholds


class CandleReads(Protocol):
    """What the parts read through `host.candles` (statarb.ft.candles.CandleReader)."""

    def candles_of(self, symbol: str) -> CandleCache | None: ...

    def close_at(self, symbol: str, candle: datetime) -> float: ...

    def last_common_candle(self, active: ActivePair) -> datetime | None: ...


class CostReads(Protocol):
    """What the parts ask through `host.costs` (statarb.ft.costs.CostDesk)."""

    def cost_view(self, active: ActivePair, signal_candle: datetime) -> CostView | None: ...

    def backtest_entry_never_fills(self, pair: str, current_time: datetime, side: str) -> bool: ...

    def backtest_top_up(self, trade: Any, current_rate: float) -> float | None: ...

    def top_up_price(self, pair: str, current_entry_rate: float, *, buy: bool) -> float: ...

    def check_entry_timeout(
        self, pair: str, trade: Any, order: Any, current_time: datetime
    ) -> bool: ...


class LiveReads(Protocol):
    """What the parts use through `host.live_desk` (statarb.ft.live.LiveDesk)."""

    live: LiveExecution | None

    def exit_gate(self, tag: LegTag, twin_open: bool) -> str | None: ...


class StrategyHost(Protocol):
    """The strategy as its parts see it (FreqTrade's IStrategy plus the adapter's set-up)."""

    config: dict[str, Any]
    dp: Any  # FreqTrade's DataProvider (set by FreqTrade after __init__)
    wallets: Any  # FreqTrade's Wallets, or None (set by FreqTrade after __init__)
    timeframe: str
    settings: StrategySettings
    book: SpreadBook  # replaced by a pairs reload
    tags: TagStore
    state: StrategyState
    review_flag: ManualReviewFlag
    order_types: dict[str, Any]
    cost_margin: Any  # the hyperoptable DecimalParameter (its `.value`)
    candles: CandleReads
    costs: CostReads
    live_desk: LiveReads
    analysis_run: bool  # lookahead-/recursive-analysis (FreqTrade's util run modes)
    tf_minutes: int
    retest: RetestParams  # the trailing stationarity re-test (statarb.settings)

    def thresholds_for(self, entry: PairEntry) -> Thresholds: ...

    def default_thresholds(self) -> Thresholds: ...

    def lock_pair(
        self, pair: str, until: datetime, reason: str | None = None, side: str = "*"
    ) -> None: ...

    def unlock_reason(self, reason: str) -> None: ...

    def is_pair_locked(
        self, pair: str, *, candle_date: datetime | None = None, side: str = "*"
    ) -> bool: ...

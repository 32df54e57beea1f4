"""What the strategy's parts need from the FreqTrade strategy that holds them: one typed contract.

`CointPairsStrategy` creates its parts (`statarb.ft.entries`, `.exits`, `.blocks`, `.candles`,
`.costs`, `.live`) in `__init__`, each given the strategy as its host;
they read the host's attributes when they act (FreqTrade sets `dp` and `wallets` after
`__init__`, and a pairs reload replaces `book`), so nothing is copied that could go stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from statarb.ft.candles import CandleReader
    from statarb.ft.costs import CostDesk
    from statarb.ft.live import LiveDesk
    from statarb.ft.state import StrategyState
    from statarb.ft.trades import TagStore
    from statarb.pairs_config import PairEntry
    from statarb.safety.review_flag import ManualReviewFlag
    from statarb.settings import StrategySettings
    from statarb.spread.book import SpreadBook
    from statarb.spread.features import RetestParams
    from statarb.spread.signals import Thresholds


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
    candles: CandleReader
    costs: CostDesk
    live_desk: LiveDesk
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

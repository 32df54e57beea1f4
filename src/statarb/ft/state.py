"""What the strategy remembers between FreqTrade's callbacks: one object, made in `__init__`.

Nothing here survives a restart, and nothing must: the durable state is FreqTrade's trade
database (with each leg's tag), the order-intent journal and the manual-review flag. This is
memory within one process — caches, decisions per signal candle, the exits under way — kept
in one typed place instead of attributes created on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from statarb.execution.hedging import HedgeAction
from statarb.spread.blocks import EntryBlocks
from statarb.spread.history import CandleCache
from statarb.spread.legs import LegTag, SpreadKey
from statarb.spread.planner import EntryDecision


@dataclass
class StrategyState:
    # candles: the analysed columns per symbol, and the raw candles they were cut from
    candles: dict[str, CandleCache] = field(default_factory=dict)
    raw_candles: dict[str, tuple[Any, CandleCache]] = field(default_factory=dict)
    # entries: one decision per spread instance (both legs read it), forced ones apart
    decisions: dict[SpreadKey, EntryDecision] = field(default_factory=dict)
    forced: dict[SpreadKey, EntryDecision] = field(default_factory=dict)
    waiting: set[SpreadKey] = field(default_factory=set)  # transient refusals already logged
    entry_tags: dict[str, LegTag] = field(default_factory=dict)  # pair -> tag of its entry
    top_up_prices: dict[str, float] = field(default_factory=dict)  # hedging top-up limits
    blocks: EntryBlocks = field(default_factory=EntryBlocks)  # said once per change
    fee_rates: dict[str, float] = field(default_factory=dict)  # per symbol, fixed in a run
    # exits: one decision per spread and moment; spreads leaving, with their first reason
    exit_cache: dict[tuple[SpreadKey, datetime], str | None] = field(default_factory=dict)
    exiting: dict[SpreadKey, str] = field(default_factory=dict)
    # live and dry-run: twins being opened, each spread's live z and hedging step this loop
    completing: dict[str, tuple[LegTag, float]] = field(default_factory=dict)
    live_z: dict[SpreadKey, tuple[float, float]] = field(default_factory=dict)
    hedge_plans: dict[SpreadKey, HedgeAction] = field(default_factory=dict)
    hedged_logged: set[SpreadKey] = field(default_factory=set)
    said_once: set[str] = field(default_factory=set)  # [SAFETY] lines said once per run
    pairs_signature: tuple[int, int, int] | None = None  # the pairs file last loaded

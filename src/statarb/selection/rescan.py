"""Production's daily re-scan: the same scanner as the backtest's walk-forward, on the bot's
own candles, writing the pairs file the running bot hot-reloads.

Each run scans the `lookback` of candles that CLOSED before now (exactly what a walk-forward
backtest does at each scan time), and atomically replaces the pairs file only with a valid
config. A failed scan (missing candles, too little history) keeps the old file: the bot keeps
trading the pairs it has rather than none, and the failure is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from statarb.market.candles import load_closes
from statarb.pairs_config import PairEntry, PairsConfig, write_pairs_config
from statarb.selection.keep import merge_recent
from statarb.selection.scanner import ScanParams, scan_pairs

TIMEFRAME_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240}


@dataclass(frozen=True)
class RescanOutcome:
    config: PairsConfig
    scanned_at: datetime
    candles: int
    path: Path


def rescan_once(
    *,
    datadir: Path,
    timeframe: str,
    universe: list[str],
    lookback: int | timedelta,
    output: Path,
    now: datetime,
    params: ScanParams | None = None,
    keep: Sequence[PairEntry] = (),
    keep_for: timedelta = timedelta(0),
) -> RescanOutcome:
    """Scan the universe on the lookback before `now` and replace `output` atomically.

    Raises the scanner's / loader's error (with its reason) and leaves `output` untouched when
    the scan cannot be done.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a UTC datetime")
    step = pd.Timedelta(minutes=TIMEFRAME_MINUTES[timeframe])
    # The candle opened at floor(now) - step is the last one closed by now.
    as_of = pd.Timestamp(now).floor(step).to_pydatetime()
    span = lookback if isinstance(lookback, timedelta) else lookback * step
    closes = load_closes(datadir, universe, timeframe, start=as_of - span - 2 * step, end=as_of)
    result = scan_pairs(closes, as_of=as_of, lookback=lookback, params=params)
    config = result.to_pairs_config(generated_at=now, timeframe=timeframe)
    config = merge_recent(config, keep, now=now, keep_for=keep_for)  # statarb.selection.keep
    write_pairs_config(config, output)
    return RescanOutcome(config, as_of, len(closes), output)

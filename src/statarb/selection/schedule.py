"""Walk-forward pair selection: re-scan on the production schedule, each scan on past candles only.

A backtest that trades pairs chosen on its own period reports the selection bias, not the
strategy. Production re-scans every 24 h on the candles it has; the backtest does exactly that:
at each scan time T it scans the `lookback` candles that opened before T, and the pairs it picks
trade on candles opened in [T, T + every).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from statarb.pairs_config import PairsSchedule, SchedulePeriod
from statarb.selection.keep import keep_window, merge_recent
from statarb.selection.scanner import ScanParams, scan_pairs
from statarb.selection.window import ScanInputError


class ScheduleError(ValueError):
    """The schedule cannot be built from these candles (the message says what is missing)."""


@dataclass(frozen=True)
class ScheduleRun:
    schedule: PairsSchedule
    scan_seconds: float  # wall time spent in the scans (the cost walk-forward adds)
    scans: int


def scan_times(start: datetime, end: datetime, every: timedelta) -> list[datetime]:
    """T0 = start, T0 + every, ... while < end (UTC)."""
    if every <= timedelta(0):
        raise ScheduleError("the re-scan interval must be positive")
    if start.tzinfo is None or end.tzinfo is None:
        raise ScheduleError("schedule times must be UTC")
    times, current = [], start.astimezone(UTC)
    while current < end:
        times.append(current)
        current += every
    return times


def build_schedule(
    closes: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    every: timedelta,
    lookback: int | timedelta,
    params: ScanParams | None = None,
    timeframe: str | None = None,
    on_scan: Callable[[datetime, int], None] | None = None,
    keep_scans: int = 1,
) -> ScheduleRun:
    """One scan per `every` over [start, end), each on `lookback` (candles, or a span) before it.

    Raises ScheduleError when the first scan lacks history (candles before `start`).
    """
    first = closes.index.min()
    if isinstance(lookback, timedelta):
        short = first is pd.NaT or first > pd.Timestamp(start) - lookback
        need = (
            f"candles from {(pd.Timestamp(start) - lookback).isoformat()} ({lookback} of history)"
        )
    else:
        short = int((closes.index < pd.Timestamp(start)).sum()) < lookback
        need = f"{lookback} candles before it"
    if short:
        have = "none" if first is pd.NaT else first.isoformat()
        raise ScheduleError(
            f"the first scan at {start.isoformat()} needs {need}; the data "
            f"starts at {have}: download earlier candles or start the backtest later"
        )
    periods: list[SchedulePeriod] = []
    spent = 0.0
    times = scan_times(start, end, every)
    for index, scan_at in enumerate(times):
        tick = time.perf_counter()
        try:
            result = scan_pairs(closes, as_of=scan_at, lookback=lookback, params=params)
        except ScanInputError as exc:
            raise ScheduleError(f"scan at {scan_at.isoformat()}: {exc}") from None
        spent += time.perf_counter() - tick
        config = result.to_pairs_config(timeframe=timeframe)
        if keep_scans > 1 and periods:
            config = merge_recent(
                config,
                periods[-1].config.pairs,
                now=scan_at,
                keep_for=keep_window(keep_scans, every),
            )
        valid_until = times[index + 1] if index + 1 < len(times) else end
        periods.append(SchedulePeriod(valid_from=scan_at, valid_until=valid_until, config=config))
        if on_scan is not None:
            on_scan(scan_at, len(config.pairs))
    schedule = PairsSchedule(timeframe=timeframe, periods=periods)
    return ScheduleRun(schedule=schedule, scan_seconds=spent, scans=len(times))

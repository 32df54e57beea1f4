"""Walk-forward selection: each re-scan sees only earlier candles, like production's daily scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from statarb.market import MarketSpec, PlantedPair, generate_market
from statarb.selection.schedule import ScheduleError, build_schedule, scan_times

START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def closes_of(seed: int = 3, breaks_at: float | None = None) -> pd.DataFrame:
    spec = MarketSpec(
        coins=("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA"),
        pairs=(
            PlantedPair(
                "SOL",
                "ADA",
                hedge_ratio=180.0,
                half_life_candles=4,
                residual_sd_frac=0.004,
                breaks_at=breaks_at,
            ),
        ),
        start=START,
        days=8,
        timeframe="5m",
        seed=seed,
    )
    market = generate_market(spec)
    frame = pd.DataFrame(
        {pair: df.set_index("date")["close"] for pair, df in market.candles.items()}
    )
    frame.index = pd.DatetimeIndex(frame.index)
    return frame


def test_scan_times_step_through_the_range() -> None:
    assert scan_times(START, START + 3 * DAY, DAY) == [START, START + DAY, START + 2 * DAY]
    with pytest.raises(ScheduleError):
        scan_times(START, START + DAY, timedelta(0))


def test_each_period_trades_only_after_the_candles_it_was_chosen_on() -> None:
    closes = closes_of()
    run = build_schedule(
        closes, start=START + 2 * DAY, end=START + 6 * DAY, every=DAY, lookback=2 * DAY
    )
    assert run.scans == 4
    for period in run.schedule.periods:
        assert period.config.scan_window is not None
        assert period.config.scan_window.end <= period.valid_from
        assert period.valid_until == period.valid_from + DAY
    chosen = {(p.leg_a, p.leg_b) for period in run.schedule.periods for p in period.config.pairs}
    assert ("SOL/USDT:USDT", "ADA/USDT:USDT") in chosen


@pytest.mark.parametrize("cut_day", [3, 4])
def test_the_schedule_before_t_ignores_every_candle_after_t(cut_day: int) -> None:
    closes = closes_of()
    changed = closes.copy()
    cut = pd.Timestamp(START + cut_day * DAY)
    rng = np.random.default_rng(cut_day)
    after = changed.index >= cut
    changed.loc[after] = changed.loc[after] * rng.uniform(0.8, 1.2, size=changed.loc[after].shape)
    kwargs = {"start": START + 2 * DAY, "end": START + 6 * DAY, "every": DAY, "lookback": 2 * DAY}
    original = build_schedule(closes, **kwargs).schedule.periods
    altered = build_schedule(changed, **kwargs).schedule.periods
    for before, other in zip(original, altered, strict=True):
        if before.valid_from <= cut:
            assert before == other


def test_a_pair_that_stops_reverting_is_dropped_by_the_next_scans() -> None:
    closes = closes_of(seed=5, breaks_at=0.5)  # breaks on day 4
    run = build_schedule(
        closes, start=START + 2 * DAY, end=START + 8 * DAY, every=DAY, lookback=2 * DAY
    )
    by_day = {
        p.valid_from: {(e.leg_a, e.leg_b) for e in p.config.pairs} for p in run.schedule.periods
    }
    planted = ("SOL/USDT:USDT", "ADA/USDT:USDT")
    assert planted in by_day[START + 2 * DAY]
    assert planted not in by_day[START + 7 * DAY]


def test_missing_history_before_the_first_scan_is_named() -> None:
    closes = closes_of()
    with pytest.raises(ScheduleError, match="needs candles from"):
        build_schedule(closes, start=START + DAY, end=START + 3 * DAY, every=DAY, lookback=2 * DAY)

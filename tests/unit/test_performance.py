"""The one Sharpe and drawdown definition every report uses (statarb.accounting.performance).

Protects against: a Sharpe computed on trading days only (a bot that trades twice a month then
looks as steady as one that earns every day), returns taken on the wrong base, a close outside
the range lost from the equity, and a drawdown measured from the start instead of the peak.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from statarb.accounting.performance import (
    PerformanceError,
    daily_equity,
    daily_returns,
    max_drawdown,
    performance,
    sharpe_ratio,
)

DAY0 = datetime(2026, 1, 5, tzinfo=UTC)


def at(day: int, hour: int = 12) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour)


def test_a_known_series_gives_a_known_sharpe() -> None:
    # 1000 -> +1 % on day 0, flat day 1, +1 % on day 2, flat day 3: returns [.01, 0, .01, 0],
    # mean .005, sample sd .005 * 2 / sqrt(3): Sharpe sqrt(3) / 2 per day, x sqrt(365) a year.
    closes = [(at(0), 10.0), (at(2), 10.1)]
    figures = performance(closes, start=DAY0, end=at(4, 0), starting_balance_usdt=1000.0)
    assert figures.days == 4
    assert figures.sharpe == pytest.approx(math.sqrt(3) / 2 * math.sqrt(365))
    assert figures.net_profit_usdt == pytest.approx(20.1)
    assert figures.net_profit_pct == pytest.approx(2.01)


def test_flat_days_count_as_zero_returns_not_as_missing_days() -> None:
    closes = [(at(0), 10.0), (at(2), 10.1)]
    equity = daily_equity(closes, start=DAY0, end=at(4, 0), starting_balance_usdt=1000.0)
    assert [e for _, e in equity] == pytest.approx([1010.0, 1010.0, 1020.1, 1020.1])
    returns = daily_returns(equity, 1000.0)
    assert returns == pytest.approx([0.01, 0.0, 0.01, 0.0])
    # Trading days only would be [.01, .01]: no variation, an "infinitely" good bot.
    assert math.isnan(sharpe_ratio(returns[returns != 0]))
    # The same two winning days spread over a longer range are a lower Sharpe, not the same.
    longer = performance(closes, start=DAY0, end=at(30, 0), starting_balance_usdt=1000.0)
    assert longer.days == 30
    assert longer.sharpe < math.sqrt(3) / 2 * math.sqrt(365)
    assert longer.net_profit_usdt == pytest.approx(20.1)


def test_several_closes_on_one_day_make_one_daily_return() -> None:
    closes = [(at(1, 1), 5.0), (at(1, 23), -15.0), (at(0, 3), 20.0)]
    equity = daily_equity(closes, start=DAY0, end=at(2, 0), starting_balance_usdt=1000.0)
    assert [e for _, e in equity] == pytest.approx([1020.0, 1010.0])
    assert daily_returns(equity, 1000.0) == pytest.approx([0.02, 1010 / 1020 - 1])


def test_a_range_starting_mid_day_counts_that_day_and_closes_at_the_end_are_kept() -> None:
    start = DAY0 + timedelta(hours=6)
    end = at(2, 0)
    closes = [(end, 7.0)]  # the backtest's final force-exit stamped at the range's end
    equity = daily_equity(closes, start=start, end=end, starting_balance_usdt=100.0)
    assert [d.day for d, _ in equity] == [5, 6]
    assert equity[-1][1] == pytest.approx(107.0)


def test_no_trades_or_one_day_is_an_undefined_sharpe_not_zero() -> None:
    quiet = performance([], start=DAY0, end=at(10, 0), starting_balance_usdt=1000.0)
    assert math.isnan(quiet.sharpe) and quiet.net_profit_usdt == 0.0
    assert quiet.to_json()["sharpe"] is None
    one_day = performance([(at(0), 5.0)], start=DAY0, end=at(1, 0), starting_balance_usdt=1000.0)
    assert one_day.days == 1 and math.isnan(one_day.sharpe)


def test_returns_compound_on_the_previous_days_equity() -> None:
    returns = np.array([0.02, -0.01, 0.03, 0.0, -0.02])
    balance, closes = 1000.0, []
    for day, r in enumerate(returns):
        closes.append((at(day), balance * r))
        balance *= 1 + r
    figures = performance(closes, start=DAY0, end=at(5, 0), starting_balance_usdt=1000.0)
    expected = returns.mean() / returns.std(ddof=1) * math.sqrt(365)
    assert figures.sharpe == pytest.approx(expected)


def test_max_drawdown_is_from_the_running_peak_in_close_order() -> None:
    closes = [(at(0), 50.0), (at(2), -30.0), (at(1), -40.0), (at(3), 100.0)]
    usdt, pct = max_drawdown(closes, 1000.0)  # peak 1050, trough 980
    assert usdt == pytest.approx(70.0)
    assert pct == pytest.approx(100 * 70 / 1050)
    figures = performance(closes, start=DAY0, end=at(4, 0), starting_balance_usdt=1000.0)
    assert figures.max_drawdown_pct == pytest.approx(pct)


def test_nonsense_inputs_are_refused() -> None:
    with pytest.raises(PerformanceError, match="starting balance"):
        performance([], start=DAY0, end=at(1, 0), starting_balance_usdt=0.0)
    with pytest.raises(PerformanceError, match="empty range"):
        performance([], start=DAY0, end=DAY0, starting_balance_usdt=1000.0)
    with pytest.raises(PerformanceError, match="not a number"):
        performance([(at(0), math.nan)], start=DAY0, end=at(1, 0), starting_balance_usdt=1.0)

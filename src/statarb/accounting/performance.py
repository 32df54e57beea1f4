"""The account's headline figures, one definition for every report (summary.json, the printed
report, the demo, the cost tables).

- **Equity**: the starting balance plus each spread's net profit (gross − fees + funding, fills
  priced by their role) realised when the spread closes. Open spreads are not marked to market.
- **Sharpe**: the daily returns of that equity over EVERY UTC day of the range — a day without a
  close is a 0 % day, not a missing one — mean over sample standard deviation (ddof 1), × √365
  (crypto trades every day of the year), risk-free rate 0. Undefined (NaN) with fewer than two
  days or equity that never moves. Dropping the flat days would turn a bot that trades twice a
  month into a high-Sharpe one; FreqTrade's own "sharpe" is a different definition and appears
  only in FreqTrade's own result files.
- **Max drawdown**: the largest fall of the equity from its running peak after any close, in
  USDT and in % of that peak.

Pure: (close time, net) pairs in, a frozen record out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

DAYS_PER_YEAR = 365


class PerformanceError(ValueError):
    """The figures cannot be computed as asked; the message says why."""


@dataclass(frozen=True)
class Performance:
    start: datetime
    end: datetime
    days: int
    starting_balance_usdt: float
    ending_balance_usdt: float
    net_profit_usdt: float
    net_profit_pct: float  # of the starting balance
    sharpe: float  # daily, flat days included, x sqrt(365); NaN when undefined
    max_drawdown_usdt: float
    max_drawdown_pct: float  # of the peak equity

    def to_json(self) -> dict[str, Any]:
        return {name: _jsonable(value) for name, value in self.__dict__.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _check_balance(starting_balance_usdt: float) -> None:
    if not (math.isfinite(starting_balance_usdt) and starting_balance_usdt > 0):
        raise PerformanceError(f"starting balance {starting_balance_usdt!r} must be positive")


def daily_equity(
    closes: Iterable[tuple[datetime, float]],
    *,
    start: datetime,
    end: datetime,
    starting_balance_usdt: float,
) -> list[tuple[date, float]]:
    """Equity at the end of every UTC day touching [start, end), nets realised at their close.

    A close before `start` counts on the first day, one at or after `end` on the last (the
    backtest's final force-exits), so the curve always ends at the starting balance plus every
    net.
    """
    _check_balance(starting_balance_usdt)
    if end <= start:
        raise PerformanceError(f"empty range {start.isoformat()} .. {end.isoformat()}")
    first, last = _utc_day(start), _utc_day(end - timedelta(microseconds=1))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_day = dict.fromkeys(days, 0.0)
    for moment, net in closes:
        if not math.isfinite(net):
            raise PerformanceError(f"net profit {net!r} at {moment.isoformat()} is not a number")
        day = min(max(_utc_day(moment), first), last)
        per_day[day] += net
    equity, balance = [], starting_balance_usdt
    for day in days:
        balance += per_day[day]
        equity.append((day, balance))
    return equity


def daily_returns(equity: list[tuple[date, float]], starting_balance_usdt: float) -> np.ndarray:
    """Each day's equity over the day before's (the first day's over the starting balance)."""
    values = np.array([starting_balance_usdt] + [e for _, e in equity], dtype=float)
    if np.any(values <= 0):
        raise PerformanceError("the equity reached zero: returns are undefined after a wipe-out")
    return values[1:] / values[:-1] - 1.0


def sharpe_ratio(returns: np.ndarray, periods_per_year: int = DAYS_PER_YEAR) -> float:
    """mean / sample std x sqrt(periods per year); NaN below two periods or with no variation."""
    if returns.size < 2:
        return math.nan
    sd = float(np.std(returns, ddof=1))
    if not sd > 0:
        return math.nan
    return float(np.mean(returns)) / sd * math.sqrt(periods_per_year)


def max_drawdown(
    closes: Iterable[tuple[datetime, float]], starting_balance_usdt: float
) -> tuple[float, float]:
    """Largest fall of the equity from its peak after any close: (USDT, % of that peak).

    Closes at the same moment are applied in the order given.
    """
    _check_balance(starting_balance_usdt)
    balance = peak = starting_balance_usdt
    worst_usdt, worst_pct = 0.0, 0.0
    for _, net in sorted(closes, key=lambda close: close[0]):
        balance += net
        peak = max(peak, balance)
        if peak - balance > worst_usdt:
            worst_usdt = peak - balance
            worst_pct = 100.0 * worst_usdt / peak
    return worst_usdt, worst_pct


def performance(
    closes: Iterable[tuple[datetime, float]],
    *,
    start: datetime,
    end: datetime,
    starting_balance_usdt: float,
) -> Performance:
    """The headline figures of the closes (close time, net USDT) over the range [start, end)."""
    events = list(closes)
    equity = daily_equity(events, start=start, end=end, starting_balance_usdt=starting_balance_usdt)
    returns = daily_returns(equity, starting_balance_usdt)
    dd_usdt, dd_pct = max_drawdown(events, starting_balance_usdt)
    ending = equity[-1][1]
    net = ending - starting_balance_usdt
    return Performance(
        start=start,
        end=end,
        days=len(equity),
        starting_balance_usdt=starting_balance_usdt,
        ending_balance_usdt=ending,
        net_profit_usdt=net,
        net_profit_pct=100.0 * net / starting_balance_usdt,
        sharpe=sharpe_ratio(returns),
        max_drawdown_usdt=dd_usdt,
        max_drawdown_pct=dd_pct,
    )

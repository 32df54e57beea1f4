"""FreqTrade's backtest result files read back (its legs), `trades.json`, and the run's summary.

FreqTrade reports single legs with its own profit, fee and Sharpe conventions; the summary is
built from the spreads' money instead (`statarb.backtest.spreads`, `statarb.accounting`), so
every figure a person reads has one definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

from statarb.accounting.performance import performance
from statarb.accounting.pnl import SpreadRecord, realised_closes

TRADE_FIELDS = (
    "pair",
    "is_short",
    "open_date",
    "close_date",
    "amount",
    "open_rate",
    "close_rate",
    "profit_abs",
    "enter_tag",
    "exit_reason",
    "stake_amount",
    "leverage",
    "fee_open",
    "fee_close",
    "funding_fees",
)


@dataclass(frozen=True)
class BacktestSummary:
    """The run's figures, all from the spreads' money (`statarb.accounting`): net after fees and
    funding with fills priced by their role, Sharpe and drawdown by the one definition of
    `statarb.accounting.performance`. FreqTrade's own figures stay in its result files."""

    strategy: str
    trades: int
    spreads: int
    win_rate_pct: float  # of spreads, by their net
    starting_balance_usdt: float
    ending_balance_usdt: float
    net_profit_usdt: float
    net_profit_pct: float
    sharpe: float  # daily equity returns over every day of the range, x sqrt(365)
    max_drawdown_usdt: float
    max_drawdown_pct: float  # of the peak equity
    days: int
    first_trade: str | None
    last_trade: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in self.__dict__.items()
        }


def load_trades(results_dir: Path) -> pd.DataFrame:
    """The legs FreqTrade closed (and left open at the end), one row per trade."""
    trades = load_backtest_data(results_dir)
    if trades.empty:
        return pd.DataFrame(columns=list(TRADE_FIELDS))
    return trades


def trade_records(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """`trades.json`: FreqTrade's legs with the fields a reader needs, dates in ISO UTC."""
    records = []
    for row in trades.itertuples(index=False):
        record: dict[str, Any] = {}
        for field in TRADE_FIELDS:
            value = getattr(row, field, None)
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif hasattr(value, "item"):
                value = value.item()
            record[field] = value
        records.append(record)
    return records


def freqtrade_run(results_dir: Path) -> tuple[str, float | None]:
    """The strategy's name and the starting balance FreqTrade's run used."""
    stats = load_backtest_stats(results_dir)
    strategy_name, result = next(iter(stats["strategy"].items()))
    balance = result.get("starting_balance")
    return str(strategy_name), float(balance) if balance else None


def summarise(
    strategy: str,
    trades: pd.DataFrame,
    spreads: Sequence[SpreadRecord],
    *,
    start: datetime,
    end: datetime,
    starting_balance_usdt: float,
) -> BacktestSummary:
    figures = performance(
        realised_closes(spreads), start=start, end=end, starting_balance_usdt=starting_balance_usdt
    )
    wins = sum(1 for r in spreads if r.net_profit > 0)
    return BacktestSummary(
        strategy=strategy,
        trades=len(trades),
        spreads=len(spreads),
        win_rate_pct=100.0 * wins / len(spreads) if spreads else 0.0,
        starting_balance_usdt=figures.starting_balance_usdt,
        ending_balance_usdt=figures.ending_balance_usdt,
        net_profit_usdt=figures.net_profit_usdt,
        net_profit_pct=figures.net_profit_pct,
        sharpe=figures.sharpe,
        max_drawdown_usdt=figures.max_drawdown_usdt,
        max_drawdown_pct=figures.max_drawdown_pct,
        days=figures.days,
        first_trade=str(trades["open_date"].min()) if len(trades) else None,
        last_trade=str(trades["close_date"].max()) if len(trades) else None,
    )

"""FreqTrade's backtest result files read back (its legs), `trades.json`, and the run's summary.

FreqTrade reports single legs with its own profit, fee and Sharpe conventions; the summary is
built from the spreads' money instead (`statarb.backtest.spreads`, `statarb.accounting`), so
every figure a person reads has one definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

from statarb.accounting.performance import performance
from statarb.accounting.pnl import AccountingError, LegFigures, SpreadRecord, realised_closes

# FreqTrade's leg fields that trades.json carries as they are (the leg, its sizes and prices).
TRADE_FIELDS = (
    "pair",
    "is_short",
    "open_date",
    "close_date",
    "amount",
    "open_rate",
    "close_rate",
    "enter_tag",
    "exit_reason",
    "stake_amount",
    "leverage",
)
# FreqTrade's own money figures, kept for reference under a "freqtrade_" label: its backtest
# charges one fee rate on every fill, so in maker-first runs they are not the legs' money.
FREQTRADE_FIGURES = ("profit_abs", "fee_open", "fee_close")


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


def trade_records(trades: pd.DataFrame, legs: Mapping[int, LegFigures]) -> list[dict[str, Any]]:
    """`trades.json`: FreqTrade's legs, each with its share of its spread's money.

    `gross_profit_usdt`, `fee_usdt`, `funding_usdt` and `net_profit_usdt` come from the same
    accounting as spreads.json (fills priced by role), so a spread's legs add up to it; FreqTrade's
    own `profit_abs` and fee rates follow as `freqtrade_*`. `legs`: by the leg's number in
    FreqTrade's result order, from 1 (`statarb.backtest.spreads.BacktestAccounts`).
    """
    records = []
    for number, row in enumerate(trades.to_dict("records"), start=1):
        figures = legs.get(int(row.get("trade_id", number)))
        if figures is None:
            raise AccountingError(f"{row.get('pair')} leg {number}: not in any spread's accounts")
        record = {field: _plain(row.get(field)) for field in TRADE_FIELDS}
        record.update(figures.to_json())
        for field in FREQTRADE_FIGURES:
            record[f"freqtrade_{field}"] = _plain(row.get(field))
        records.append(record)
    return records


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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

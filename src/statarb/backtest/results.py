"""FreqTrade's backtest result files, read back as trades, spreads and a summary.

FreqTrade reports single legs; a quant needs spreads. Two legs belong to one spread when they
carry the same enter tag (the pair id) and opened on the same candle (both legs of a spread are
signalled and filled on one candle in a backtest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats

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
    strategy: str
    trades: int
    spreads: int
    net_profit_usdt: float
    net_profit_pct: float
    max_drawdown_pct: float
    max_drawdown_usdt: float
    win_rate_pct: float  # of spreads (both legs' net profit summed)
    sharpe: float
    starting_balance_usdt: float
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


def spread_groups(trades: pd.DataFrame) -> pd.DataFrame:
    """One row per spread: its legs, open/close dates and net profit (sum of both legs)."""
    if trades.empty:
        return pd.DataFrame(
            columns=["enter_tag", "open_date", "legs", "close_date", "profit_abs", "exit_reason"]
        )
    grouped = trades.groupby(["enter_tag", "open_date"], dropna=False)
    return grouped.agg(
        legs=("pair", "count"),
        close_date=("close_date", "max"),
        profit_abs=("profit_abs", "sum"),
        exit_reason=("exit_reason", "first"),
    ).reset_index()


def summarise(results_dir: Path, trades: pd.DataFrame) -> BacktestSummary:
    stats = load_backtest_stats(results_dir)
    strategy_name, result = next(iter(stats["strategy"].items()))
    spreads = spread_groups(trades)
    wins = int((spreads["profit_abs"] > 0).sum()) if len(spreads) else 0
    return BacktestSummary(
        strategy=strategy_name,
        trades=int(result.get("total_trades", len(trades))),
        spreads=len(spreads),
        net_profit_usdt=float(result.get("profit_total_abs", 0.0)),
        net_profit_pct=float(result.get("profit_total", 0.0)) * 100,
        max_drawdown_pct=float(result.get("max_drawdown_account", 0.0)) * 100,
        max_drawdown_usdt=float(result.get("max_drawdown_abs", 0.0)),
        win_rate_pct=100.0 * wins / len(spreads) if len(spreads) else 0.0,
        sharpe=float(result.get("sharpe", math.nan) or math.nan),
        starting_balance_usdt=float(result.get("starting_balance", 0.0)),
        first_trade=str(trades["open_date"].min()) if len(trades) else None,
        last_trade=str(trades["close_date"].max()) if len(trades) else None,
    )

"""The backtest side of the backtest-vs-paper comparison: the backtest's spreads as `SpreadRun`s.

The backtest's `spreads.json` records (`statarb.backtest.spreads`) with each leg's fill prices
from its `trades.json`, in the shape paper's spreads have (`statarb.backtest.paper_db`), so the
two can be matched (`statarb.backtest.paper_match`). Its own module: it reads the backtest's
result records, not a database, and neither reader needs the other. Pure: no FreqTrade import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from statarb.accounting.pnl import SpreadRecord
from statarb.backtest.paper_compare import SpreadRun


def backtest_runs(
    records: Iterable[SpreadRecord], trades: Iterable[Mapping[str, Any]] = ()
) -> list[SpreadRun]:
    """The backtest's spreads (`spreads.json` records) with leg prices from `trades.json`."""
    prices: dict[str, dict[str, dict[str, float]]] = {}
    for row in trades:
        spread_id, leg = row.get("spread_id"), row.get("leg")
        if spread_id is None or leg is None:
            continue
        slot = prices.setdefault(str(spread_id), {"entry_price": {}, "exit_price": {}})
        if row.get("open_rate") is not None:
            slot["entry_price"][str(leg)] = float(row["open_rate"])
        if row.get("close_rate") is not None:
            slot["exit_price"][str(leg)] = float(row["close_rate"])
    runs = []
    for record in records:
        opened = _decided_of(record.spread_id)
        runs.append(
            SpreadRun(
                spread_id=record.spread_id,
                pair_id=record.pair_id,
                direction=record.direction,
                entry_at=record.open_date,
                decided_at=opened or record.open_date,
                exit_at=record.close_date,
                exit_reason=record.exit_reason,
                legs=record.legs,
                net_usdt=record.net_profit,
                gross_usdt=record.gross_profit,
                fees_usdt=record.fees,
                funding_usdt=record.funding,
                fills=record.fills,
                maker_fills=record.maker_fills,
                entry_z=record.entry_z,
                exit_z=record.exit_z,
                **prices.get(record.spread_id, {}),
            )
        )
    return sorted(runs, key=lambda r: (r.entry_at, r.pair_id))


def _decided_of(spread_id: str) -> datetime | None:
    try:
        return datetime.strptime(spread_id.split("@", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
    except (IndexError, ValueError):
        return None

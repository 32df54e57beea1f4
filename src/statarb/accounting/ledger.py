"""FreqTrade's trade rows (backtest results or REST API JSON) as `LegLedger`s, candles as marks.

Both sources carry the same fields (`to_json` of FreqTrade's Trade): `pair`, `is_short`,
`open_timestamp`/`close_timestamp` (epoch ms), `fee_open`/`fee_close` (rates), `funding_fees`,
`profit_abs`, `exit_reason` and `orders`. Backtest orders are "minified" (no `filled`: a backtest
order fills whole or not at all and only filled ones are kept); API orders carry `filled` and a
status, and a cancelled order may have filled in part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from statarb.accounting.pnl import AccountingError, Fill, LegLedger, SpreadIdentity, SpreadMarks
from statarb.spread.features import open_spread_z


def _ms_to_utc(value: Any) -> datetime | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _float(row: Mapping[str, Any], key: str, default: float = math.nan) -> float:
    value = row.get(key)
    if value is None:
        return default
    number = float(value)
    return number if math.isfinite(number) else default


def leg_from_trade_row(row: Mapping[str, Any], trade_id: int | None = None) -> LegLedger:
    """One leg from a FreqTrade trade row; `trade_id` for backtest rows, which have none."""
    pair = str(row.get("pair"))
    ident = row.get("trade_id", trade_id)
    if ident is None:
        raise AccountingError(f"{pair}: trade row without a trade_id")
    fee_open = _float(row, "fee_open")
    fee_close = _float(row, "fee_close")
    fills = []
    for order in row.get("orders") or []:
        qty = order.get("filled", order.get("amount"))
        qty = float(qty) if qty is not None else 0.0
        if qty <= 0:
            continue
        is_entry = bool(order.get("ft_is_entry"))
        rate = fee_open if is_entry else fee_close
        if not math.isfinite(rate):
            raise AccountingError(
                f"{pair} trade {ident}: no fee rate for its {'entry' if is_entry else 'exit'} fills"
            )
        price = float(order.get("safe_price") or order.get("average") or order.get("price") or 0)
        if not price > 0:
            raise AccountingError(f"{pair} trade {ident}: a filled order without a price")
        fills.append(
            Fill(
                is_entry=is_entry,
                qty_base=qty,
                price=price,
                fee_rate=rate,
                filled_at=_ms_to_utc(order.get("order_filled_timestamp")),
            )
        )
    open_date = _ms_to_utc(row.get("open_timestamp"))
    if open_date is None:
        raise AccountingError(f"{pair} trade {ident}: no open_timestamp")
    profit = row.get("profit_abs")
    return LegLedger(
        trade_id=int(ident),
        pair=pair,
        is_short=bool(row.get("is_short")),
        open_date=open_date,
        close_date=_ms_to_utc(row.get("close_timestamp")),
        exit_reason=row.get("exit_reason"),
        fills=tuple(fills),
        funding_usdt=_float(row, "funding_fees", 0.0),
        reported_profit_usdt=None if profit is None else float(profit),
    )


def first_exit_fill(legs: list[LegLedger]) -> datetime | None:
    stamps = [f.filled_at for leg in legs for f in leg.fills if not f.is_entry and f.filled_at]
    if stamps:
        return min(stamps)
    closes = [leg.close_date for leg in legs if leg.close_date is not None]
    return min(closes) if closes else None


def marks_from_closes(
    close_a: np.ndarray,
    close_b: np.ndarray,
    *,
    identity: SpreadIdentity,
    entry_index: int | None,
    exit_index: int | None,
) -> SpreadMarks:
    """Closes and z at the entry and exit decision candles (indexes into aligned closes).

    z is the open spread's own: its entry hedge ratio over its window ending at the candle,
    which is what the strategy's entry and exit rules read.
    """

    def at(index: int | None) -> tuple[float, float, float]:
        if index is None or index < 0 or index >= close_a.size:
            return math.nan, math.nan, math.nan
        start = max(0, index - identity.window)
        z, _ = open_spread_z(
            close_a[start : index + 1],
            close_b[start : index + 1],
            hedge_ratio=identity.hedge_ratio,
            window=identity.window,
        )
        return float(close_a[index]), float(close_b[index]), z

    entry_a, entry_b, entry_z = at(entry_index)
    exit_a, exit_b, exit_z = at(exit_index)
    return SpreadMarks(entry_a, entry_b, exit_a, exit_b, entry_z, exit_z)

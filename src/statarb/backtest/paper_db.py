"""The paper side of the backtest-vs-paper comparison: a dry-run's FreqTrade database as spreads.

`read_paper_legs` reads the database read-only (plain SQL, as `statarb.recovery.db_reader`):
every trade the strategy tagged, with its fills; `paper_spreads` joins those legs into spreads
by their `LegTag` (custom data "spread"), with each spread's money from `statarb.accounting`
and its z at the decision candles from the candles the backtest read too.

Its own module so the SQL and the reading of paper legs sit in one place, apart from the
comparison's data classes (`statarb.backtest.paper_compare`, imported from here, never the
other way round) and the matching. Pure: no FreqTrade import.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from statarb.accounting.ledger import first_exit_fill, marks_from_closes
from statarb.accounting.pnl import (
    AccountingError,
    Fill,
    LegLedger,
    SpreadIdentity,
    SpreadMarks,
    SpreadRecord,
    account_spread,
)
from statarb.backtest.paper_compare import PaperDbError, SpreadRun
from statarb.costs.orders import BINANCE_USDM_FEES, FeeRates
from statarb.spread.client_ids import Leg
from statarb.spread.legs import TAG_KEY, LegTag, SpreadKey, signal_candle_of
from statarb.timeutil import epoch_ns

FORCED_ENTER_TAGS = frozenset({"force_entry", ""})  # FreqTrade's forceenter tags


def read_paper_legs(db_path: Path) -> list[tuple[LegTag, LegLedger, str | None]]:
    """Every tagged trade of a FreqTrade database as (tag, leg, enter tag); read-only.

    A trade without a readable tag (not the strategy's, or written before its fill) is
    skipped: it names no spread.
    """
    if not db_path.is_file():
        raise PaperDbError(f"{db_path}: no such database file")
    uri = f"file:{quote(str(db_path.resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise PaperDbError(f"{db_path}: cannot open ({exc})") from None
    try:
        con.row_factory = sqlite3.Row
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"trades", "orders"} <= tables:
            raise PaperDbError(f"{db_path}: not a FreqTrade database (no trades/orders tables)")
        trades = con.execute(
            "SELECT id, pair, is_short, open_date, close_date, enter_tag, exit_reason, fee_open, "
            "fee_close, funding_fees FROM trades ORDER BY id"
        ).fetchall()
        orders: dict[int, list[sqlite3.Row]] = {}
        for row in con.execute(
            "SELECT ft_trade_id, ft_order_side, order_type, status, filled, average, price, "
            "order_filled_date FROM orders ORDER BY id"
        ):
            orders.setdefault(int(row["ft_trade_id"]), []).append(row)
        tags: dict[int, str] = {}
        if "trade_custom_data" in tables:
            for row in con.execute(
                "SELECT ft_trade_id, cd_value FROM trade_custom_data WHERE cd_key = ?", (TAG_KEY,)
            ):
                tags[int(row["ft_trade_id"])] = str(row["cd_value"])
    except sqlite3.Error as exc:
        raise PaperDbError(f"{db_path}: {exc}") from None
    finally:
        con.close()
    out = []
    for row in trades:
        raw = tags.get(int(row["id"]))
        if raw is None:
            continue
        try:
            tag = LegTag.from_json(json.loads(raw))
        except (ValueError, TypeError, KeyError):
            continue
        out.append((tag, _ledger(row, orders.get(int(row["id"]), [])), row["enter_tag"]))
    return out


def _ledger(row: sqlite3.Row, orders: Sequence[sqlite3.Row]) -> LegLedger:
    is_short = bool(row["is_short"])
    entry_side = "sell" if is_short else "buy"
    fills = []
    for order in orders:
        qty = float(order["filled"] or 0.0)
        price = float(order["average"] or order["price"] or 0.0)
        if qty <= 0 or price <= 0:
            continue
        is_entry = order["ft_order_side"] == entry_side
        rate = row["fee_open"] if is_entry else row["fee_close"]
        rate = float(rate) if rate is not None else 0.0
        fills.append(
            Fill(
                is_entry=is_entry,
                qty_base=qty,
                price=price,
                fee_rate=rate,
                filled_at=_utc(order["order_filled_date"]),
                maker=_is_maker(rate),
            )
        )
    open_date = _utc(row["open_date"])
    assert open_date is not None
    return LegLedger(
        trade_id=int(row["id"]),
        pair=str(row["pair"]),
        is_short=is_short,
        open_date=open_date,
        close_date=_utc(row["close_date"]),
        exit_reason=row["exit_reason"],
        fills=tuple(fills),
        funding_usdt=float(row["funding_fees"] or 0.0),
    )


def _is_maker(rate: float, rates: FeeRates = BINANCE_USDM_FEES) -> bool:
    """A fill charged the maker rate rested (FreqTrade's dry-run charges the exchange's maker
    rate to a limit it fills later, the taker rate to a market or crossing order)."""
    return rate > 0 and abs(rate - rates.maker) < abs(rate - rates.taker)


def paper_spreads(
    legs: Iterable[tuple[LegTag, LegLedger, str | None]],
    *,
    timeframe_minutes: int,
    closes: pd.DataFrame | None = None,
) -> list[SpreadRun]:
    """The paper legs joined into spreads; a spread with an open or missing leg is open."""
    groups: dict[SpreadKey, dict[Leg, tuple[LegTag, LegLedger, str | None]]] = {}
    for tag, ledger, enter_tag in legs:
        groups.setdefault(tag.key, {})[tag.leg] = (tag, ledger, enter_tag)
    runs = []
    for key, members in groups.items():
        tag = next(iter(members.values()))[0]
        ledgers = {leg: member[1] for leg, member in members.items()}
        forced = any(
            member[2] is None or member[2] in FORCED_ENTER_TAGS for member in members.values()
        ) or not _on_candle(key.opened_at, timeframe_minutes)
        identity = SpreadIdentity(
            pair_id=tag.pair_id,
            opened_at=tag.opened_at,
            leg_a=tag.leg_a,
            leg_b=tag.leg_b,
            direction=tag.direction,
            hedge_ratio=tag.hedge_ratio,
            window=tag.window,
        )
        run = _run(identity, ledgers, timeframe_minutes, closes, forced=forced)
        runs.append(replace(run, entry_threshold=tag.entry_z))
    return sorted(runs, key=lambda r: (r.entry_at, r.pair_id))


def _on_candle(moment: datetime, timeframe_minutes: int) -> bool:
    return int(moment.timestamp()) % (timeframe_minutes * 60) == 0


def _run(
    identity: SpreadIdentity,
    legs: Mapping[Leg, LegLedger],
    timeframe_minutes: int,
    closes: pd.DataFrame | None,
    *,
    forced: bool,
) -> SpreadRun:
    entry_at = min(
        [f.filled_at for leg in legs.values() for f in leg.fills if f.is_entry and f.filled_at]
        or [leg.open_date for leg in legs.values()]
    )
    prices = {
        "entry_price": {str(k): p for k, v in legs.items() if (p := _avg(v, True)) is not None},
        "exit_price": {str(k): p for k, v in legs.items() if (p := _avg(v, False)) is not None},
    }
    # Closed when every leg it has is closed (a spread whose twin never filled has one).
    complete = all(leg.is_closed for leg in legs.values())
    base = SpreadRun(
        spread_id=identity.spread_id, pair_id=identity.pair_id,
        direction="long" if identity.direction == 1 else "short", entry_at=entry_at,
        decided_at=identity.opened_at, exit_at=None, exit_reason=None, legs=len(legs),
        forced=forced, fills=sum(len(v.fills) for v in legs.values()),
        maker_fills=sum(1 for v in legs.values() for f in v.fills if f.maker), **prices,
    )  # fmt: skip
    if not complete:
        marks = _marks(identity, list(legs.values()), timeframe_minutes, closes, exits=False)
        return replace(base, entry_z=marks.entry_z)
    marks = _marks(identity, list(legs.values()), timeframe_minutes, closes, exits=True)
    try:
        record = account_spread(identity, legs, marks)
    except AccountingError:
        return replace(base, entry_z=marks.entry_z)
    return replace(base, **_money(record))


def _money(record: SpreadRecord) -> dict[str, Any]:
    return {
        "exit_at": record.close_date,
        "exit_reason": record.exit_reason,
        "net_usdt": record.net_profit,
        "gross_usdt": record.gross_profit,
        "fees_usdt": record.fees,
        "funding_usdt": record.funding,
        "entry_z": record.entry_z,
        "exit_z": record.exit_z,
    }


def _avg(leg: LegLedger, is_entry: bool) -> float | None:
    fills = [f for f in leg.fills if f.is_entry == is_entry]
    qty = sum(f.qty_base for f in fills)
    return sum(f.notional_usdt for f in fills) / qty if qty > 0 else None


def _marks(
    identity: SpreadIdentity,
    legs: list[LegLedger],
    timeframe_minutes: int,
    closes: pd.DataFrame | None,
    *,
    exits: bool,
) -> SpreadMarks:
    """z and closes at the decision candles, from the candles the backtest read too."""
    if closes is None or identity.leg_a not in closes or identity.leg_b not in closes:
        return SpreadMarks()
    stamps = epoch_ns(closes.index)
    exit_fill = first_exit_fill(legs) if exits else None
    exit_signal = signal_candle_of(exit_fill, timeframe_minutes) if exit_fill else None
    decided = identity.opened_at
    if not _on_candle(decided, timeframe_minutes):  # a forced entry: the last closed candle
        decided = signal_candle_of(decided, timeframe_minutes)
    return marks_from_closes(
        closes[identity.leg_a].to_numpy(dtype=float),
        closes[identity.leg_b].to_numpy(dtype=float),
        identity=identity,
        entry_index=_index_of(stamps, decided),
        exit_index=_index_of(stamps, exit_signal),
    )


def _index_of(stamps: np.ndarray, moment: datetime | None) -> int | None:
    if moment is None:
        return None
    target = int(pd.Timestamp(moment).value)
    index = int(np.searchsorted(stamps, target))
    return index if index < stamps.size and stamps[index] == target else None


# ------------------------------------------------------------------------------ helpers
def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

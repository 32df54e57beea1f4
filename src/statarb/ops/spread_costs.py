"""Live spreads' money, split like a backtest's: gross, fees, funding, slippage, net.

Read through FreqTrade's REST API (the same one the daily check uses): closed trades with their
orders (`/trades`), each leg's LegTag (custom data "spread": pair, legs, direction, hedge ratio,
signal candle) and the decision candles' closes (`/pair_candles`, for slippage and z; a candle
the bot no longer holds leaves those two unknown, never guessed). Fees are the fee RATES
FreqTrade recorded from the exchange's fills × each fill's notional, so the spreads add up to
FreqTrade's own profit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from statarb.accounting.ledger import first_exit_fill, leg_from_trade_row, marks_from_closes
from statarb.accounting.pnl import (
    AccountingError,
    LegLedger,
    SpreadIdentity,
    SpreadRecord,
    account_spread,
)
from statarb.ops.api import ApiError, FreqtradeApi
from statarb.spread.client_ids import Leg
from statarb.spread.legs import TAG_KEY, LegTag, SpreadKey, signal_candle_of

PAGE = 500
TIMEFRAME_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240}


@dataclass(frozen=True)
class LiveCosts:
    records: tuple[SpreadRecord, ...]  # spreads closed in the window, both legs accounted
    skipped: tuple[str, ...]  # what could not be accounted, and why


def closed_trades_since(api: FreqtradeApi, since: datetime) -> list[dict[str, Any]]:
    """Closed trades (newest first) whose close is at or after `since`."""
    rows: list[dict[str, Any]] = []
    offset = 0
    cutoff_ms = since.timestamp() * 1000
    while True:
        page = api.get(f"trades?limit={PAGE}&offset={offset}")["trades"]
        fresh = [t for t in page if (t.get("close_timestamp") or 0) >= cutoff_ms]
        rows.extend(fresh)
        if len(page) < PAGE or len(fresh) < len(page):
            return rows
        offset += PAGE


def leg_tag(api: FreqtradeApi, trade_id: int) -> LegTag | None:
    try:
        rows = api.get(f"trades/{trade_id}/custom-data?key={TAG_KEY}")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    for row in rows:
        for entry in row.get("custom_data", []):
            if entry.get("key") == TAG_KEY and isinstance(entry.get("value"), dict):
                return LegTag.from_json(entry["value"])
    return None


class _Candles:
    """Closes per pair from the bot's analysed frames, by candle open time (ms)."""

    def __init__(self, api: FreqtradeApi, timeframe: str) -> None:
        self.api, self.timeframe = api, timeframe
        self._closes: dict[str, dict[int, float]] = {}

    def closes(self, pair: str) -> dict[int, float]:
        if pair not in self._closes:
            try:
                body = self.api.get(f"pair_candles?pair={pair}&timeframe={self.timeframe}")
                columns = body["columns"]
                at, close = columns.index("__date_ts"), columns.index("close")
                self._closes[pair] = {int(r[at]): float(r[close]) for r in body["data"]}
            except (ApiError, KeyError, ValueError, TypeError):
                self._closes[pair] = {}
        return self._closes[pair]


def live_spreads(api: FreqtradeApi, *, since: datetime) -> LiveCosts:
    """Every spread whose legs all closed at or after `since`, accounted."""
    timeframe = str(api.get("show_config").get("timeframe", "1m"))
    tf_minutes = TIMEFRAME_MINUTES.get(timeframe)
    if tf_minutes is None:
        raise ValueError(f"timeframe {timeframe!r} is not supported")
    candles = _Candles(api, timeframe)
    groups: dict[SpreadKey, tuple[LegTag, dict[Leg, LegLedger]]] = {}
    skipped: list[str] = []
    for row in closed_trades_since(api, since):
        tag = leg_tag(api, int(row["trade_id"]))
        if tag is None:
            skipped.append(f"trade {row['trade_id']} ({row.get('pair')}): no spread tag")
            continue
        legs = groups.setdefault(tag.key, (tag, {}))[1]
        legs[tag.leg] = leg_from_trade_row(row)
    records = []
    for key, (tag, legs) in sorted(groups.items(), key=lambda kv: kv[0].opened_at):
        identity = SpreadIdentity(
            pair_id=tag.pair_id, opened_at=tag.opened_at, leg_a=tag.leg_a, leg_b=tag.leg_b,
            direction=tag.direction, hedge_ratio=tag.hedge_ratio, window=tag.window,
        )  # fmt: skip
        try:
            marks = _marks(identity, list(legs.values()), candles, tf_minutes)
            records.append(account_spread(identity, legs, marks))
        except AccountingError as exc:
            skipped.append(f"{key}: {exc}")
    return LiveCosts(tuple(records), tuple(skipped))


def _marks(
    identity: SpreadIdentity, legs: list[LegLedger], candles: _Candles, tf_minutes: int
) -> Any:
    a, b = candles.closes(identity.leg_a), candles.closes(identity.leg_b)
    stamps = sorted(set(a) & set(b))
    close_a = np.array([a[s] for s in stamps], dtype=float)
    close_b = np.array([b[s] for s in stamps], dtype=float)
    index = {s: i for i, s in enumerate(stamps)}
    exit_fill = first_exit_fill(legs)
    exit_signal = signal_candle_of(exit_fill, tf_minutes) if exit_fill else None
    return marks_from_closes(
        close_a,
        close_b,
        identity=identity,
        entry_index=index.get(_ms(identity.opened_at)),
        exit_index=index.get(_ms(exit_signal)) if exit_signal else None,
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def since_hours(now: datetime, hours: float) -> datetime:
    if not (math.isfinite(hours) and hours > 0):
        raise ValueError(f"--costs-hours must be a positive number, got {hours}")
    return now - timedelta(hours=hours)


def records_json(records: Iterable[SpreadRecord]) -> list[dict[str, Any]]:
    return [r.to_json() for r in records]

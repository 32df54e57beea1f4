"""Backtest vs paper, side by side: the same pairs over the same period, spread by spread.

Paper trading is the first place the bot meets prices it did not see in a backtest. Its net
alone says little: what says whether the backtest can be trusted is whether the SAME spreads
were traded, and where one run traded a spread the other did not, why. This module:

1. reads a dry-run's FreqTrade database read-only (plain SQL, as `statarb.recovery.db_reader`)
   and joins its legs into spreads by their `LegTag` (custom data "spread");
2. finds the paper run's period (first entry .. last exit, or the moment the comparison runs
   when a spread is still open) and a FreqTrade timerange that covers it;
3. matches paper and backtest spreads one to one (pair id, direction, first entry within a
   tolerance of a few candles; a forced paper entry is never matched: a backtest has none);
4. names, from the data only, why a spread differs: fills (maker/taker, prices, fees), candle
   timing (intra-candle decisions on live prices vs closed candles), exit reasons, forced
   entries, spreads open at the end, the backtest's range.

Pure: no FreqTrade import here; `compare_paper_run` imports the offline backtest when it runs.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
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
from statarb.atomic import atomic_write_json
from statarb.costs.orders import BINANCE_USDM_FEES, FeeRates
from statarb.pairs_config import PairsConfig, PairsSchedule, SchedulePeriod
from statarb.safety.log import parse_fields
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag, SpreadKey, signal_candle_of
from statarb.timeutil import epoch_ns

TAG_KEY = "spread"  # the strategy's custom-data key of a leg's LegTag
FORCED_ENTER_TAGS = frozenset({"force_entry", ""})  # FreqTrade's forceenter tags
DEFAULT_TOLERANCE_CANDLES = 3
BOTH, PAPER_ONLY, BACKTEST_ONLY = "in both", "paper only", "backtest only"
PRICE_NOTE_BPS = 1.0  # a fill price difference below this is not named


class PaperDbError(RuntimeError):
    """The paper database cannot be read as a FreqTrade database; the message says why."""


@dataclass(frozen=True)
class SpreadRun:
    """One spread as one run (paper or backtest) traded it; money in USDT, None while open."""

    spread_id: str
    pair_id: str
    direction: str  # "long" / "short" spread
    entry_at: datetime  # first entry fill (paper) or the entry candle's open (backtest)
    decided_at: datetime  # the signal candle's open, or the second of a forced entry
    exit_at: datetime | None  # None: still open at the end of the paper period
    exit_reason: str | None
    legs: int
    forced: bool = False
    net_usdt: float | None = None
    gross_usdt: float | None = None
    fees_usdt: float | None = None
    funding_usdt: float | None = None
    fills: int = 0
    maker_fills: int = 0
    entry_z: float = math.nan  # z at the decision candle's close, from the candles
    exit_z: float = math.nan
    entry_threshold: float | None = None  # |z| the spread was entered beyond (its LegTag's)
    # Quantity-weighted fill prices per leg ("A" / "B"): what the fill model charged.
    entry_price: Mapping[str, float] = field(default_factory=dict)
    exit_price: Mapping[str, float] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.exit_at is None

    def to_json(self) -> dict[str, Any]:
        return {name: _plain(value) for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class Period:
    """[start, end] of what is compared; `open_end` when a paper spread was still open."""

    start: datetime
    end: datetime
    open_end: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "open_end": self.open_end}  # fmt: skip


@dataclass(frozen=True)
class Match:
    status: str  # BOTH / PAPER_ONLY / BACKTEST_ONLY
    paper: SpreadRun | None
    backtest: SpreadRun | None
    reasons: tuple[str, ...] = ()

    @property
    def pair_id(self) -> str:
        run = self.paper or self.backtest
        assert run is not None
        return run.pair_id

    @property
    def entry_at(self) -> datetime:
        run = self.paper or self.backtest
        assert run is not None
        return run.entry_at

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "pair_id": self.pair_id,
            "paper": None if self.paper is None else self.paper.to_json(),
            "backtest": None if self.backtest is None else self.backtest.to_json(),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class PaperComparison:
    period: Period  # the paper run's
    backtest_range: tuple[datetime, datetime] | None  # [start, end) FreqTrade backtested
    tolerance_candles: int
    timeframe: str
    matches: tuple[Match, ...]
    excluded_backtest: tuple[SpreadRun, ...] = ()  # outside the paper period: not counted
    notes: tuple[str, ...] = ()

    @property
    def covered(self) -> tuple[datetime, datetime] | None:
        """The part of the paper period the backtest's candles cover too."""
        if self.backtest_range is None:
            return None
        start = max(self.period.start, self.backtest_range[0])
        end = min(self.period.end, self.backtest_range[1])
        return (start, end) if end > start else None

    def count(self, status: str) -> int:
        return sum(1 for m in self.matches if m.status == status)

    def totals(self) -> dict[str, Any]:
        """Spread counts and closed spreads' net per side (open spreads have no net)."""
        paper = [m.paper for m in self.matches if m.paper is not None]
        backtest = [m.backtest for m in self.matches if m.backtest is not None]
        both = [m for m in self.matches if m.status == BOTH]
        # Nets compared only where both runs closed the spread (an open paper spread has none).
        closed = [
            m for m in both
            if m.paper and m.backtest and m.paper.net_usdt is not None
            and m.backtest.net_usdt is not None
        ]  # fmt: skip
        return {
            "paper_spreads": len(paper),
            "paper_open_at_end": sum(1 for s in paper if s.is_open),
            "paper_forced": sum(1 for s in paper if s.forced),
            "paper_net_usdt": _net(paper),
            "backtest_spreads": len(backtest),
            "backtest_net_usdt": _net(backtest),
            "in_both": len(both),
            "paper_only": self.count(PAPER_ONLY),
            "backtest_only": self.count(BACKTEST_ONLY),
            "in_both_closed": len(closed),
            "in_both_paper_net_usdt": _net(m.paper for m in closed),
            "in_both_backtest_net_usdt": _net(m.backtest for m in closed),
            "backtest_excluded_outside_period": len(self.excluded_backtest),
        }

    def to_json(self) -> dict[str, Any]:
        covered = self.covered
        return {
            "timeframe": self.timeframe,
            "paper_period": self.period.to_json(),
            "backtest_range": None if self.backtest_range is None else {
                "start": self.backtest_range[0].isoformat(),
                "end": self.backtest_range[1].isoformat(),
            },
            "both_cover": None if covered is None else {
                "start": covered[0].isoformat(), "end": covered[1].isoformat(),
            },
            "tolerance_candles": self.tolerance_candles,
            "totals": self.totals(),
            "matches": [m.to_json() for m in self.matches],
            "excluded_backtest": [s.to_json() for s in self.excluded_backtest],
            "notes": list(self.notes),
        }  # fmt: skip

    def table(self) -> str:
        """The side-by-side table, totals and each difference's reasons, as text."""
        return render_table(self)

    def write_json(self, path: Path) -> None:
        atomic_write_json(path, self.to_json())


# ------------------------------------------------------------------------------ paper DB
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


# ------------------------------------------------------------------------------ backtest side
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


# ------------------------------------------------------------------------------ period
def paper_period(
    spreads: Sequence[SpreadRun],
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Period:
    """First entry .. last exit, or `now` while a spread is open; `since`/`until` override
    (e.g. when the bot started and stopped: the log knows, the database does not)."""
    if not spreads and (since is None or until is None):
        raise PaperDbError("the paper database holds no spread: give --since and --until")
    open_end = any(s.is_open for s in spreads)
    start = since or min(s.entry_at for s in spreads)
    exits = [s.exit_at for s in spreads if s.exit_at is not None]
    end = until or (now if open_end or not exits else max(exits))
    if end <= start:
        raise PaperDbError(f"the period {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} is empty")
    return Period(start, end, open_end and until is None)


def backtest_timerange(
    period: Period, *, timeframe_minutes: int, tolerance_candles: int, warmup_candles: int = 0
) -> str:
    """FreqTrade's unix-second timerange covering the period (YYYYMMDD would add whole days):
    from `tolerance` candles before the first entry's candle (a backtest entry that early may
    still match it), or `warmup_candles` when more (the running paper bot's trailing re-test
    had a verdict before its first entry; a backtest starting there would not), to the candle
    after the end (the backtest enters at candle opens; FreqTrade stops before `end`)."""
    step = timeframe_minutes * 60
    start = (
        int(period.start.timestamp()) // step * step - max(tolerance_candles, warmup_candles) * step
    )
    end = -(-int(period.end.timestamp()) // step) * step + step
    return f"{start}-{end}"


def trading_schedule(
    pairs: PairsConfig, period: Period, *, timeframe_minutes: int, tolerance_candles: int
) -> PairsSchedule | None:
    """The pairs file as a one-period schedule that trades from the period's first candle
    (less the matching tolerance) on: the warm-up before it computes indicators and the
    re-test but opens nothing, as the paper bot, not yet running, opened nothing then (a
    backtest spread entered in the warm-up would hold the pair when paper's first entry
    came). Never before the scan window's end; None when the pairs were chosen after the
    period's first candle (no causal schedule exists)."""
    step_s = timeframe_minutes * 60
    first = datetime.fromtimestamp(int(period.start.timestamp()) // step_s * step_s, tz=UTC)
    window = pairs.scan_window
    if window is None:
        return None
    # Never before the first candle the scan did not see (as a live re-scan takes over).
    # The scan's end can fall mid-second (a paper market ends "now"): round up its whole
    # timestamp, not its truncated seconds, or the first candle is one the scan saw part of.
    chosen = datetime.fromtimestamp(math.ceil(window.end.timestamp() / step_s) * step_s, tz=UTC)
    valid_from = max(first - timedelta(seconds=tolerance_candles * step_s), chosen)
    if valid_from > first:
        return None
    return PairsSchedule(
        generated_at=pairs.generated_at,
        timeframe=pairs.timeframe,
        periods=[SchedulePeriod(valid_from=valid_from, config=pairs)],
    )


# ------------------------------------------------------------------------------ matching
def match_spreads(
    paper: Sequence[SpreadRun],
    backtest: Sequence[SpreadRun],
    *,
    period: Period,
    timeframe_minutes: int,
    tolerance_candles: int = DEFAULT_TOLERANCE_CANDLES,
    backtest_range: tuple[datetime, datetime] | None = None,
    max_open_spreads: int | None = None,
    paper_blocks: Sequence[BlockEvent] = (),
    backtest_blocks: Sequence[BlockEvent] = (),
) -> tuple[tuple[Match, ...], tuple[SpreadRun, ...]]:
    """(matches, backtest spreads outside the period) — one to one, closest entries first.

    Same pair id and direction, first entries at most `tolerance_candles` apart; a forced
    paper spread is never matched (a person chose it: the backtest cannot). A backtest spread
    entered before the period counts only when it matches (the tolerance reaches back); one
    entered after the period's end never counts.
    """
    tolerance = timedelta(minutes=timeframe_minutes * tolerance_candles)
    early = period.start - tolerance
    candidates = []
    for i, p in enumerate(paper):
        if p.forced:
            continue
        for j, b in enumerate(backtest):
            gap = abs(p.entry_at - b.entry_at)
            if (p.pair_id, p.direction) == (b.pair_id, b.direction) and gap <= tolerance:
                candidates.append((gap, p.entry_at, i, j))
    candidates.sort()
    paired: dict[int, int] = {}
    used: set[int] = set()
    for _, _, i, j in candidates:
        if i in paired or j in used or not (early <= backtest[j].entry_at <= period.end):
            continue
        paired[i] = j
        used.add(j)
    context = _Context(
        paper, backtest, period, timeframe_minutes, tolerance_candles, backtest_range,
        max_open_spreads, tuple(paper_blocks), tuple(backtest_blocks),
    )  # fmt: skip
    matches = [
        Match(BOTH, p, backtest[paired[i]], context.both(p, backtest[paired[i]]))
        if i in paired
        else Match(PAPER_ONLY, p, None, context.paper_only(p))
        for i, p in enumerate(paper)
    ]
    excluded = []
    for j, b in enumerate(backtest):
        if j in used:
            continue
        if period.start <= b.entry_at <= period.end:
            matches.append(Match(BACKTEST_ONLY, None, b, context.backtest_only(b)))
        else:
            excluded.append(b)
    matches.sort(key=lambda m: (m.entry_at, m.pair_id))
    return tuple(matches), tuple(excluded)


@dataclass(frozen=True)
class _Context:
    """What the reasons are read from: both runs' spreads, the period, the settings."""

    paper: Sequence[SpreadRun]
    backtest: Sequence[SpreadRun]
    period: Period
    timeframe_minutes: int
    tolerance_candles: int
    backtest_range: tuple[datetime, datetime] | None
    max_open_spreads: int | None
    paper_blocks: tuple[BlockEvent, ...] = ()
    backtest_blocks: tuple[BlockEvent, ...] = ()

    def _candles(self, delta: timedelta) -> str:
        candles = delta.total_seconds() / (self.timeframe_minutes * 60)
        return f"{candles:+.1f} candles" if abs(candles) >= 0.05 else "the same candle"

    def both(self, p: SpreadRun, b: SpreadRun) -> tuple[str, ...]:
        reasons = _one_leg(p, "paper") + _one_leg(b, "backtest")
        if p.decided_at != b.decided_at:
            reasons.append(
                f"candle timing: paper decided on the candle of {p.decided_at:%H:%M}, the "
                f"backtest on {b.decided_at:%H:%M} ({self._candles(p.decided_at - b.decided_at)})"
            )
        lag = (p.entry_at - b.entry_at).total_seconds()
        if abs(lag) >= 1:
            reasons.append(
                f"candle timing: paper's first entry fill {lag:+.0f} s from the backtest's "
                "(live fills within the candle vs the backtest's fill at a candle open)"
            )
        reasons += self._fills(p, b)
        if p.is_open:
            reasons.append(self._open_at_end(b))
            return tuple(reasons)
        if p.exit_reason != b.exit_reason:
            reasons.append(
                f"exit: paper {p.exit_reason} vs backtest {b.exit_reason}"
                + _z_text(" (z at exit candle: paper {0}, backtest {1})", p.exit_z, b.exit_z)
            )
        if p.exit_at is not None and b.exit_at is not None and p.exit_at != b.exit_at:
            reasons.append(
                f"exit timing: paper left {self._candles(p.exit_at - b.exit_at)} from the "
                "backtest (paper judges exits and stops on live z every loop, the backtest on "
                "closed candles)"
            )
        if b.exit_reason == "force_exit":
            reasons.append(self._backtest_end())
        reasons += _money_split(p, b)
        return tuple(reasons)

    def _fills(self, p: SpreadRun, b: SpreadRun) -> list[str]:
        reasons = []
        # Counts of a spread still open in paper would set its entries against both phases.
        if not p.is_open and (p.maker_fills, p.fills) != (b.maker_fills, b.fills):
            reasons.append(
                f"fill model: paper {p.maker_fills} of {p.fills} fills at the maker rate, "
                f"backtest {b.maker_fills} of {b.fills} (dry-run fills a resting limit once the "
                "touch reaches it; the backtest once the candle trades through it)"
            )
        for when, mine, theirs in (
            ("entry", p.entry_price, b.entry_price),
            ("exit", p.exit_price, b.exit_price),
        ):
            for leg in ("A", "B"):
                if leg in mine and leg in theirs and theirs[leg] > 0:
                    bps = (mine[leg] / theirs[leg] - 1) * 1e4
                    if abs(bps) >= PRICE_NOTE_BPS:
                        reasons.append(
                            f"fill price: leg {leg} {when} paper {mine[leg]:.6g} vs backtest "
                            f"{theirs[leg]:.6g} ({bps:+.1f} bps)"
                        )
        return reasons

    def _open_at_end(self, b: SpreadRun | None) -> str:
        text = f"open at the end: still open in paper at {self.period.end:%Y-%m-%d %H:%M}, no net"
        if b is not None and b.exit_reason == "force_exit":
            text += "; the backtest closed its spread at its range's end (force_exit)"
        return text

    def _backtest_end(self) -> str:
        return (
            "backtest end: FreqTrade closed it at the end of the backtest's range (force_exit), "
            "not by the strategy's rules"
        )

    def _outside_backtest(self, moment: datetime) -> str | None:
        if self.backtest_range is None:
            return "no backtest ran"
        start, end = self.backtest_range
        if moment < start or moment >= end:
            return (
                f"outside the backtest's candles ({start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M})"
            )
        return None

    def paper_only(self, p: SpreadRun) -> tuple[str, ...]:
        reasons = []
        if p.forced:  # first: it explains the row on its own
            reasons.append(
                "forced entry: a person opened it (forceenter); a backtest never has one"
            )
        reasons += _one_leg(p, "paper")
        outside = self._outside_backtest(p.entry_at)
        if outside:
            reasons.append(outside)
        elif not p.forced and self.backtest_range is not None:
            left = self.backtest_range[1] - p.entry_at
            if left < timedelta(minutes=self.timeframe_minutes * self.tolerance_candles):
                reasons.append(
                    f"the backtest's candles end {self._candles(left).lstrip('+')} after this "
                    "entry: a backtest entry a candle or two later had no candle to happen on"
                )
        if p.is_open:
            reasons.append(self._open_at_end(None))
        if not p.forced:
            held = [
                b for b in self.backtest
                if b.pair_id == p.pair_id and _overlaps(b, p.entry_at, self.period.end)
            ]  # fmt: skip
            if held:
                b = held[0]
                note = "" if self.period.start <= b.entry_at else ", before the period: not counted"
                reasons.append(
                    f"the backtest held its own {b.pair_id} {b.direction} spread (entered "
                    f"{b.entry_at:%Y-%m-%d %H:%M}{note}) then"
                )
            else:
                near = self._nearest(self.backtest, p)
                if near is not None:
                    reasons.append(near)
            reasons += _blocks_text("backtest log", self.backtest_blocks, p.pair_id, None)
            z_reason = _z_at_signal(p)
            if z_reason:
                reasons.append(z_reason)
        return tuple(reasons) or ("no backtest spread of this pair and direction near it",)

    def backtest_only(self, b: SpreadRun) -> tuple[str, ...]:
        reasons = _one_leg(b, "backtest")
        held = [p for p in self.paper if _overlaps(p, b.entry_at, self.period.end)]
        same = [p for p in held if p.pair_id == b.pair_id]
        if same:
            p = same[0]
            reasons.append(
                f"paper held its own {p.pair_id} {p.direction} spread (entered "
                f"{p.entry_at:%H:%M}{', forced' if p.forced else ''}) then"
            )
        elif self.max_open_spreads is not None and len(held) >= self.max_open_spreads:
            reasons.append(
                f"paper's spread slots were full then ({len(held)} open, max_open_spreads "
                f"{self.max_open_spreads})"
            )
        near = self._nearest(self.paper, b)
        if near is not None and not same:
            reasons.append(near)
        reasons += _blocks_text("paper log", self.paper_blocks, b.pair_id, b.entry_at)
        if math.isfinite(b.entry_z):
            reasons.append(
                f"candle timing: z at the signal candle's close was {b.entry_z:+.2f}; paper "
                "judged live z within the candles and did not enter within "
                f"{self.tolerance_candles} candles"
            )
        if b.exit_reason == "force_exit":
            reasons.append(self._backtest_end())
        return tuple(reasons) or ("no paper spread of this pair and direction near it",)

    def _nearest(self, others: Sequence[SpreadRun], run: SpreadRun) -> str | None:
        """The other run's closest spread of the same pair, when there is one."""
        same = [o for o in others if o.pair_id == run.pair_id and o is not run and not o.forced]
        if not same:
            return None
        other = min(same, key=lambda o: abs(o.entry_at - run.entry_at))
        side = "backtest" if others is self.backtest else "paper"
        counted = self.period.start <= other.entry_at <= self.period.end
        return (
            f"nearest {side} {other.pair_id} spread: {other.direction}, entered "
            f"{other.entry_at:%Y-%m-%d %H:%M} ({self._candles(other.entry_at - run.entry_at)}"
            + ("" if counted else ", outside the period: not counted")
            + ")"
        )


def _one_leg(run: SpreadRun, side: str) -> list[str]:
    if run.legs >= 2:
        return []
    held = ", ".join(sorted(run.entry_price)) or "?"
    return [f"one leg only: {side} traded leg {held} of this spread (its twin never filled)"]


def _z_at_signal(p: SpreadRun) -> str | None:
    """What the closed candles said at paper's decision: beyond its entry threshold or not."""
    if not math.isfinite(p.entry_z):
        return None
    threshold = p.entry_threshold
    if threshold is None:
        return f"z at the signal candle's close was {p.entry_z:+.2f} on the candles"
    if abs(p.entry_z) >= threshold:
        return (
            f"z at the signal candle's close was {p.entry_z:+.2f}, beyond the entry threshold "
            f"{threshold:g}: the candles called for this entry too"
        )
    return (
        f"candle timing: z at the signal candle's close was {p.entry_z:+.2f}, inside the entry "
        f"threshold {threshold:g}: paper entered on its live z within the candle"
    )


@dataclass(frozen=True)
class BlockEvent:
    """A `[STRATEGY] <pair> entries blocked|unblocked` line (said once per change)."""

    at: datetime | None  # the log line's time: wall clock (a backtest's is not candle time)
    pair_id: str
    blocked_by: tuple[str, ...]  # empty: unblocked
    reason: str


_BLOCK_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\S*.*\[STRATEGY\] (?P<pair>\S+) "
    r"entries (?P<state>blocked|unblocked)\b(?P<rest>.*)$"
)


def read_entry_blocks(text: str) -> list[BlockEvent]:
    """Every entry block change of a FreqTrade log, in order."""
    events = []
    for line in text.splitlines():
        found = _BLOCK_LINE.match(line)
        if found is None:
            continue
        fields = parse_fields(found["rest"])
        by = tuple(x for x in fields.get("by", "").split(",") if x)
        events.append(
            BlockEvent(
                at=datetime.strptime(found["at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC),
                pair_id=found["pair"],
                blocked_by=by if found["state"] == "blocked" else (),
                reason=fields.get("reason", ""),
            )
        )
    return events


def _blocks_text(
    source: str, events: Sequence[BlockEvent], pair_id: str, at: datetime | None
) -> list[str]:
    """The pair's entry blocks: at a moment (paper's log, wall clock), or over the whole run
    (a backtest's log, whose times are not candle times)."""
    mine = [e for e in events if e.pair_id == pair_id]
    if at is not None:
        before = [e for e in mine if e.at is not None and e.at <= at]
        if before and before[-1].blocked_by:
            last = before[-1]
            return [
                f"{source}: {pair_id} entries blocked by={','.join(last.blocked_by)} since "
                f"{last.at:%H:%M:%S} ({last.reason})"
            ]
        return []
    if not mine:
        return []
    last = mine[-1]
    if last.blocked_by:
        return [
            f"{source}: {pair_id} entries blocked by={','.join(last.blocked_by)} and not lifted "
            f"before the run ended ({last.reason})"
        ]
    kinds = sorted({k for e in mine for k in e.blocked_by})
    return [f"{source}: {pair_id} entries blocked at times by={','.join(kinds)}"] if kinds else []


def _overlaps(run: SpreadRun, moment: datetime, period_end: datetime) -> bool:
    return run.entry_at <= moment < (run.exit_at or period_end)


def _z_text(template: str, a: float, b: float) -> str:
    if math.isfinite(a) and math.isfinite(b):
        return template.format(f"{a:+.2f}", f"{b:+.2f}")
    return ""


def _money_split(p: SpreadRun, b: SpreadRun) -> list[str]:
    if p.net_usdt is None or b.net_usdt is None:
        return []
    parts = [
        (name, mine, theirs)
        for name, mine, theirs in (
            ("gross", p.gross_usdt, b.gross_usdt),
            ("fees", p.fees_usdt, b.fees_usdt),
            ("funding", p.funding_usdt, b.funding_usdt),
        )
        if mine is not None and theirs is not None and abs(mine - theirs) >= 0.005
    ]
    if not parts:
        return []
    split = ", ".join(f"{name} {mine - theirs:+.2f}" for name, mine, theirs in parts)
    return [f"money: paper − backtest net {p.net_usdt - b.net_usdt:+.2f} USDT ({split})"]


def _net(runs: Iterable[SpreadRun | None]) -> float:
    return float(sum(r.net_usdt for r in runs if r is not None and r.net_usdt is not None))


# ------------------------------------------------------------------------------ text
def _when(moment: datetime | None) -> str:
    return "open" if moment is None else moment.strftime("%m-%d %H:%M:%S")


def _usdt(value: float | None) -> str:
    return "–" if value is None else f"{value:+.2f}"


def render_table(comparison: PaperComparison) -> str:
    period = comparison.period
    lines = [
        f"paper period: {period.start:%Y-%m-%d %H:%M:%S} .. {period.end:%Y-%m-%d %H:%M:%S} UTC"
        + (" (a spread still open: up to now)" if period.open_end else ""),
    ]
    if comparison.backtest_range is not None:
        start, end = comparison.backtest_range
        lines.append(f"backtest range: {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC "
                     f"({comparison.timeframe} candles)")  # fmt: skip
    covered = comparison.covered
    lines.append(
        "both cover: "
        + (
            f"{covered[0]:%Y-%m-%d %H:%M:%S} .. {covered[1]:%Y-%m-%d %H:%M:%S} UTC"
            if covered
            else "nothing"
        )
        + f"; matched on pair, direction and first entry within ±{comparison.tolerance_candles} "
        "candles"
    )
    header = ("pair", "dir", "paper entry", "paper exit", "bt entry", "bt exit", "paper net",
              "bt net", "status")  # fmt: skip
    rows = [header]
    for m in comparison.matches:
        p, b = m.paper, m.backtest
        run = p or b
        assert run is not None
        rows.append(
            (
                m.pair_id + (" (forced)" if p is not None and p.forced else ""),
                run.direction,
                _when(p.entry_at) if p else "",
                (_when(p.exit_at) + (f" {p.exit_reason}" if p.exit_reason else "")) if p else "",
                _when(b.entry_at) if b else "",
                (_when(b.exit_at) + (f" {b.exit_reason}" if b.exit_reason else "")) if b else "",
                _usdt(p.net_usdt) if p else "",
                _usdt(b.net_usdt) if b else "",
                m.status,
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    totals = comparison.totals()
    lines += [
        "",
        f"paper: {totals['paper_spreads']} spreads ({totals['paper_open_at_end']} open at the end, "
        f"{totals['paper_forced']} forced), net {totals['paper_net_usdt']:+.2f} USDT (closed "
        "spreads)",
        f"backtest: {totals['backtest_spreads']} spreads in the period, net "
        f"{totals['backtest_net_usdt']:+.2f} USDT; {totals['backtest_excluded_outside_period']} "
        "outside the paper period not counted",
        f"in both: {totals['in_both']} ({totals['in_both_closed']} closed in both: net paper "
        f"{totals['in_both_paper_net_usdt']:+.2f} vs backtest "
        f"{totals['in_both_backtest_net_usdt']:+.2f} USDT); paper only: "
        f"{totals['paper_only']}; backtest only: {totals['backtest_only']}",
    ]
    differing = [m for m in comparison.matches if m.reasons]
    if differing:
        lines += ["", "differences:"]
        for m in differing:
            run = m.paper or m.backtest
            assert run is not None
            lines.append(f"- {m.pair_id} {run.direction} {_when(m.entry_at)} ({m.status}):")
            lines += [f"    {reason}" for reason in m.reasons]
    if comparison.notes:
        lines += ["", *[f"note: {note}" for note in comparison.notes]]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ helpers
def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return dict(value)
    return value

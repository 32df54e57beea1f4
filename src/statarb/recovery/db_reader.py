"""Read FreqTrade's `trading.db` without ever writing to it.

The file is opened with SQLite's `mode=ro`. FreqTrade runs its database in WAL mode: after a
kill -9, committed transactions may still sit in `trading.db-wal` (not yet checkpointed) next to
an uncommitted tail; a read-only connection reads exactly the committed state and writes
neither the file nor the -wal (SQLite's -shm index, which every WAL reader shares for its
locks, is the only file it may create or touch). A database in rollback-journal mode killed
mid-commit leaves a "hot" journal that a read-only connection cannot roll back ("attempt to
write a readonly database"); then the file and its journal (and any -wal) are copied to a
private temp folder and the COPY is opened normally, so SQLite rolls the unfinished
transaction back there: we read what FreqTrade will see after its own rollback at start.

Plain SQL on FreqTrade 2026.9's tables (`trades`, `orders`, `trade_custom_data`): importing
FreqTrade's models would cost seconds and their `init_db` creates and migrates tables.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from statarb.recovery.snapshots import DbOrder, DbSnapshot, DbTrade
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag, spread_direction

TAG_KEY = "spread"  # the strategy's custom-data key for a leg's LegTag
REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "trades": (
        "id", "pair", "is_open", "is_short", "amount", "open_rate", "leverage", "open_date",
        "close_date", "enter_tag", "stake_amount",
    ),
    "orders": (
        "ft_trade_id", "order_id", "ft_order_side", "status", "ft_is_open", "amount", "filled",
        "average", "order_date",
    ),
}  # fmt: skip
_SIDECARS = ("-journal", "-wal", "-shm")


class DbReadError(RuntimeError):
    """The database exists but cannot be read; the message says why."""


def sqlite_path(db_url: str, cwd: Path) -> Path | None:
    """The file behind a `sqlite:///…` URL (None for in-memory); other databases refused."""
    if not db_url.startswith("sqlite:"):
        scheme = db_url.split(":", 1)[0]
        raise DbReadError(f"db_url uses {scheme!r}: recovery reads SQLite databases only")
    rest = db_url.removeprefix("sqlite:")
    if rest in ("", "//", "///") or rest.startswith("///:memory:"):
        return None
    if not rest.startswith("///"):
        raise DbReadError(f"db_url {db_url!r} is not sqlite:///<path>")
    path = Path(unquote(rest[3:].split("?", 1)[0]))
    return path if path.is_absolute() else cwd / path


def read_db(
    path: Path | None,
    *,
    fills_since: datetime,
    timeframe_minutes: int | None = None,
    pair_entries: Mapping[str, Mapping[str, Any]] | None = None,
) -> DbSnapshot:
    """Open trades with their orders and spread tags, and the order ids of recent trades.

    `pair_entries` (pairs config entries by pair id) rebuild the tag of a leg whose custom data
    was never written (a crash between the fill and the tag), as the strategy itself does.
    """
    if path is None:
        return DbSnapshot.empty(":memory:", exists=False)
    if not path.exists():
        return DbSnapshot.empty(str(path), exists=False)
    if path.is_dir():
        raise DbReadError(f"{path} is a directory, not a database file")
    try:
        return _read(path, str(path), fills_since, timeframe_minutes, pair_entries, ())
    except sqlite3.OperationalError as exc:
        if not _needs_private_copy(path, exc):
            raise DbReadError(f"{path}: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="statarb-recovery-db-") as tmp:
        copy = Path(tmp) / path.name
        try:
            shutil.copy2(path, copy)
            for suffix in _SIDECARS:
                sidecar = path.with_name(path.name + suffix)
                if sidecar.exists():
                    shutil.copy2(sidecar, copy.with_name(copy.name + suffix))
        except OSError as exc:
            raise DbReadError(f"{path}: cannot copy it to roll its journal back ({exc})") from None
        note = (
            "the DB had an unfinished transaction (bot killed mid-commit): read from a private "
            "copy with it rolled back, as FreqTrade will roll it back at start"
        )
        try:
            return _read(
                copy, str(path), fills_since, timeframe_minutes, pair_entries, (note,), rw=True
            )
        except sqlite3.Error as exc:
            raise DbReadError(f"{path}: {exc}") from None


def _needs_private_copy(path: Path, exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    sidecar = any(path.with_name(path.name + s).exists() for s in _SIDECARS)
    return sidecar and ("readonly" in text or "read-only" in text or "unable to open" in text)


def _connect(path: Path, rw: bool) -> sqlite3.Connection:
    if rw:
        return sqlite3.connect(str(path), timeout=1.0)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=1.0)


def _read(
    path: Path,
    source: str,
    fills_since: datetime,
    timeframe_minutes: int | None,
    pair_entries: Mapping[str, Mapping[str, Any]] | None,
    notes: tuple[str, ...],
    *,
    rw: bool = False,
) -> DbSnapshot:
    try:
        con = _connect(path, rw)
    except sqlite3.Error as exc:
        raise DbReadError(f"{source}: cannot open ({exc})") from None
    try:
        con.row_factory = sqlite3.Row
        _check_schema(con, source)
        return _snapshot(con, source, fills_since, timeframe_minutes, pair_entries, notes)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not rw:
            raise
        raise DbReadError(f"{source}: {exc}") from None
    finally:
        con.close()


def _check_schema(con: sqlite3.Connection, source: str) -> None:
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return  # an empty file: FreqTrade creates the tables at start
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in tables:
            raise DbReadError(f"{source}: not a FreqTrade database (no table {table!r})")
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in columns if c not in have]
        if missing:
            raise DbReadError(f"{source}: table {table!r} lacks columns {missing}")


def _snapshot(
    con: sqlite3.Connection,
    source: str,
    fills_since: datetime,
    timeframe_minutes: int | None,
    pair_entries: Mapping[str, Mapping[str, Any]] | None,
    notes: tuple[str, ...],
) -> DbSnapshot:
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "trades" not in tables:
        return DbSnapshot(source, True, (), frozenset(), notes=(*notes, "DB has no tables yet"))
    since = _sql_time(fills_since)
    trade_rows = con.execute(
        "SELECT id, pair, is_short, amount, open_rate, leverage, open_date, enter_tag, "
        "stake_amount, close_date FROM trades WHERE is_open = 1 ORDER BY id"
    ).fetchall()
    open_ids = [int(r["id"]) for r in trade_rows]
    orders = _orders_of(con, open_ids)
    tags = _tags_of(con, open_ids, tables)
    trades = tuple(
        _trade(row, orders.get(int(row["id"]), ()), tags.get(int(row["id"])), timeframe_minutes,
               pair_entries)
        for row in trade_rows
    )  # fmt: skip
    recent = "t.is_open = 1 OR t.close_date IS NULL OR t.close_date >= ?"
    known = frozenset(
        str(r[0])
        for r in con.execute(
            f"SELECT o.order_id FROM orders o JOIN trades t ON t.id = o.ft_trade_id WHERE {recent}",
            (since,),
        )
    )
    pairs = tuple(
        r[0] for r in con.execute(f"SELECT DISTINCT t.pair FROM trades t WHERE {recent}", (since,))
    )
    total = int(con.execute("SELECT COUNT(*) FROM trades").fetchone()[0])
    partners = sorted({t.tag.partner for t in trades if t.tag is not None})
    closed = _closed_legs(con, partners, since, tables, timeframe_minutes, pair_entries)
    return DbSnapshot(
        source=source,
        exists=True,
        open_trades=trades,
        known_order_ids=known,
        recent_pairs=tuple(sorted(pairs)),
        total_trades=total,
        notes=notes,
        closed_legs=closed,
    )


def _closed_legs(
    con: sqlite3.Connection,
    pairs: list[str],
    since: str,
    tables: set[str],
    timeframe_minutes: int | None,
    pair_entries: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[DbTrade, ...]:
    """Trades on `pairs` closed since `since`, tagged (the open legs' possible closed twins)."""
    if not pairs:
        return ()
    marks = ",".join("?" * len(pairs))
    rows = con.execute(
        "SELECT id, pair, is_short, amount, open_rate, leverage, open_date, enter_tag, "
        "stake_amount, close_date FROM trades WHERE is_open = 0 AND close_date >= ? "
        f"AND pair IN ({marks}) ORDER BY id",
        [since, *pairs],
    ).fetchall()
    tags = _tags_of(con, [int(r["id"]) for r in rows], tables)
    return tuple(
        _trade(row, (), tags.get(int(row["id"])), timeframe_minutes, pair_entries) for row in rows
    )


def _in_chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _orders_of(con: sqlite3.Connection, trade_ids: list[int]) -> dict[int, tuple[DbOrder, ...]]:
    out: dict[int, list[DbOrder]] = {}
    for chunk in _in_chunks(trade_ids):
        marks = ",".join("?" * len(chunk))
        for row in con.execute(
            "SELECT ft_trade_id, order_id, ft_order_side, status, ft_is_open, amount, filled, "
            f"average, order_date FROM orders WHERE ft_trade_id IN ({marks}) ORDER BY id",
            chunk,
        ):
            out.setdefault(int(row["ft_trade_id"]), []).append(
                DbOrder(
                    order_id=str(row["order_id"]),
                    ft_order_side=str(row["ft_order_side"]),
                    status=row["status"],
                    is_open=bool(row["ft_is_open"]),
                    qty_base=_float(row["amount"]),
                    filled_base=_float(row["filled"]),
                    average_price=_float(row["average"]),
                    order_date=_utc(row["order_date"]),
                )
            )
    return {k: tuple(v) for k, v in out.items()}


def _tags_of(con: sqlite3.Connection, trade_ids: list[int], tables: set[str]) -> dict[int, str]:
    if "trade_custom_data" not in tables:
        return {}
    out: dict[int, str] = {}
    for chunk in _in_chunks(trade_ids):
        marks = ",".join("?" * len(chunk))
        for row in con.execute(
            "SELECT ft_trade_id, cd_value FROM trade_custom_data "
            f"WHERE cd_key = ? AND ft_trade_id IN ({marks})",
            [TAG_KEY, *chunk],
        ):
            out[int(row["ft_trade_id"])] = str(row["cd_value"])
    return out


def _trade(
    row: sqlite3.Row,
    orders: tuple[DbOrder, ...],
    raw_tag: str | None,
    timeframe_minutes: int | None,
    pair_entries: Mapping[str, Mapping[str, Any]] | None,
) -> DbTrade:
    open_date = _utc(row["open_date"])
    if open_date is None:
        raise DbReadError(f"trade {row['id']} has no open_date")
    trade = DbTrade(
        trade_id=int(row["id"]),
        pair=str(row["pair"]),
        is_short=bool(row["is_short"]),
        qty_base=_float(row["amount"]) or 0.0,
        open_rate=_float(row["open_rate"]) or 0.0,
        leverage=_float(row["leverage"]) or 1.0,
        open_date=open_date,
        enter_tag=row["enter_tag"],
        stake_usdt=_float(row["stake_amount"]) or 0.0,
        orders=orders,
        close_date=_utc(row["close_date"]),
    )
    if raw_tag is not None:
        try:
            return _with_tag(trade, LegTag.from_json(json.loads(raw_tag)), None)
        except (ValueError, TypeError, KeyError) as exc:
            problem = f"stored spread tag unreadable ({type(exc).__name__}: {exc})"
            return _with_tag(trade, None, problem)
    return _with_tag(trade, _rebuilt_tag(trade, timeframe_minutes, pair_entries), None)


def _with_tag(trade: DbTrade, tag: LegTag | None, problem: str | None) -> DbTrade:
    return DbTrade(**{**trade.__dict__, "tag": tag, "tag_problem": problem})


def _rebuilt_tag(
    trade: DbTrade,
    timeframe_minutes: int | None,
    pair_entries: Mapping[str, Mapping[str, Any]] | None,
) -> LegTag | None:
    """The strategy's `_tag_from_trade`: enter tag (pair id) + signal candle + pairs config."""
    if not trade.enter_tag or not timeframe_minutes or not pair_entries:
        return None
    entry = pair_entries.get(trade.enter_tag)
    if entry is None or trade.pair not in (entry.get("leg_a"), entry.get("leg_b")):
        return None
    stamp = int(trade.open_date.timestamp() // 60)
    floor = stamp - stamp % timeframe_minutes
    opened_at = datetime.fromtimestamp(floor * 60, tz=UTC) - timedelta(minutes=timeframe_minutes)
    leg = Leg.A if trade.pair == entry["leg_a"] else Leg.B
    try:
        beta = float(entry["hedge_ratio"])
        price_space = str(entry.get("price_space", "raw"))
        # The quantity ratio the strategy sized with (PairEntry.quantity_ratio).
        ratio = (
            float(entry["entry_size_leg_b"]) / float(entry["entry_size_leg_a"])
            if price_space == "log"
            else beta
        )
        return LegTag(
            pair_id=trade.enter_tag,
            opened_at=opened_at,
            leg=leg,
            direction=spread_direction(leg, trade.is_short),
            hedge_ratio=ratio,
            leg_a=str(entry["leg_a"]),
            leg_b=str(entry["leg_b"]),
            window=int(entry.get("mean_reversion_window", 50)),
            planned_qty=trade.qty_base,
            spread_beta=beta,
            price_space=price_space,
        )
    except (KeyError, TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _utc(value: Any) -> datetime | None:
    """SQLAlchemy stores FreqTrade's naive-UTC datetimes as ISO text."""
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")

"""Durable exchange state, saved after every request that changed it, before the answer leaves.

What a real exchange never forgets is kept: balances, positions, settings, orders, trades, the
income ledger, the id counters, the replay clock (offset, manual advance, last processed instant),
the price shocks and the log of order requests. Faults are test-time configuration and are not
kept.

Layout for ``--state FILE`` (every file written with ``statarb.atomic``, so a SIGKILL at any
instant leaves complete files):
- ``FILE``: the snapshot — everything mutable plus the newest immutable records, and the list of
  sealed segments it builds on;
- ``FILE.d/history-<unique>.json``: sealed segments, written once, holding older immutable records
  (closed orders, trades, income entries, order-log entries).
Sealing keeps the snapshot small, so a save costs the same after ten orders or ten thousand. A
segment written just before a crash, but not yet listed by a snapshot, is ignored on load.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from statarb.atomic import atomic_write_bytes
from statarb.exchange.accounts import IncomeEntry, Position, SymbolSettings
from statarb.exchange.venue import Order, Trade, Venue

STATE_VERSION = 1
SEAL_AFTER_RECORDS = 256  # immutable records kept in the snapshot before they are sealed
KEEP_RECENT_LOG = (
    32  # newest order-log entries stay in the snapshot (the HTTP layer annotates them)
)


class StateError(ValueError):
    """The state file cannot be used (corrupt, another version, another market)."""


def _plain(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = str(value) if isinstance(value, Decimal) else value
    return out


def _build(cls: Any, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        kwargs[f.name] = Decimal(value) if f.type in ("Decimal", Decimal) else value
    return cls(**kwargs)


@dataclass
class Sealed:
    """How much of the venue's history already sits in sealed segments."""

    segments: list[str] = field(default_factory=list)
    trades: int = 0
    income: int = 0
    order_log: int = 0
    order_ids: set[int] = field(default_factory=set)
    generation: int = 0


def dump(venue: Venue, sealed: Sealed | None = None) -> dict[str, Any]:
    """The snapshot: everything not yet in ``sealed`` segments (everything when None)."""
    sealed = sealed or Sealed(generation=venue.generation)
    account = venue.account
    return {
        "version": STATE_VERSION,
        "symbols": venue.market.symbols,
        "segments": list(sealed.segments),
        "offset_ms": venue.market.offset_ms,
        "clock_advance_ms": venue.clock_advance_ms,
        "processed_ms": venue.processed_ms,
        "initial_balance": str(venue.initial_balance),
        "next_order_id": venue.next_order_id,
        "next_trade_id": venue.next_trade_id,
        "account": {
            "wallet_balance": str(account.wallet_balance),
            "maker_fee": str(account.maker_fee),
            "taker_fee": str(account.taker_fee),
            "next_tran_id": account.next_tran_id,
            "dual_side_position": account.dual_side_position,
            "multi_assets_margin": account.multi_assets_margin,
            "update_time_ms": account.update_time_ms,
            "positions": [_plain(p) for p in account.positions.values()],
            "settings": {s: _plain(v) for s, v in account.settings.items()},
            "income": [_plain(e) for e in account.income[sealed.income :]],
        },
        "orders": [_plain(o) for o in venue.orders.values() if o.order_id not in sealed.order_ids],
        "trades": [_plain(t) for t in venue.trades[sealed.trades :]],
        "shocks": {s: venue.market.tapes[s].shocks for s in venue.market.symbols},
        "order_log": venue.order_log[sealed.order_log :],
    }


def restore(venue: Venue, data: dict[str, Any]) -> None:
    """Load a complete state (snapshot merged with its segments) into a fresh ``venue``."""
    if data.get("version") != STATE_VERSION:
        raise StateError(f"state version {data.get('version')!r}, expected {STATE_VERSION}")
    missing = set(data.get("symbols", [])) - set(venue.market.symbols)
    if missing:
        raise StateError(
            f"the state trades symbols the datadir does not have: {sorted(missing)} "
            "(start with the datadir this state was made with, or a new --state file)"
        )
    try:
        venue.clock_advance_ms = int(data["clock_advance_ms"])
        venue.processed_ms = int(data["processed_ms"])
        venue.initial_balance = Decimal(data["initial_balance"])
        venue.next_order_id = int(data["next_order_id"])
        venue.next_trade_id = int(data["next_trade_id"])
        acc = data["account"]
        account = venue.account
        account.wallet_balance = Decimal(acc["wallet_balance"])
        account.maker_fee = Decimal(acc["maker_fee"])
        account.taker_fee = Decimal(acc["taker_fee"])
        account.next_tran_id = int(acc["next_tran_id"])
        account.dual_side_position = bool(acc["dual_side_position"])
        account.multi_assets_margin = bool(acc["multi_assets_margin"])
        account.update_time_ms = int(acc["update_time_ms"])
        account.positions = {p["symbol"]: _build(Position, p) for p in acc["positions"]}
        account.settings = {s: _build(SymbolSettings, v) for s, v in acc["settings"].items()}
        account.income = [_build(IncomeEntry, e) for e in acc["income"]]
        venue.orders = {o["order_id"]: _build(Order, o) for o in data["orders"]}
        venue.client_index = {
            (o.symbol, o.client_order_id): o.order_id for o in venue.orders.values()
        }
        venue.trades = [_build(Trade, t) for t in data["trades"]]
        for symbol, shocks in data.get("shocks", {}).items():
            tape = venue.market.tapes[symbol]
            tape.clear_shocks()
            for t_ms, factor in shocks:
                tape.add_shock(int(t_ms), float(factor))
        venue.order_log = list(data.get("order_log", []))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise StateError(f"state file is damaged: {exc!r}") from exc
    venue.dirty = False


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StateError(f"cannot read state file {path}: {exc}") from exc


def _segment_dir(path: Path) -> Path:
    return path.parent / f"{path.name}.d"


def load_state(path: Path) -> tuple[dict[str, Any], Sealed] | None:
    """The saved state with its segments merged in, or None when there is none yet."""
    if not path.exists():
        return None
    data = _read_json(path)
    if not isinstance(data, dict):
        raise StateError(f"state file {path} does not hold a JSON object")
    sealed = Sealed(segments=list(data.get("segments", [])))
    orders: list[dict[str, Any]] = []
    trades: list[dict[str, Any]] = []
    income: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    for name in sealed.segments:
        segment = _read_json(_segment_dir(path) / name)
        orders += segment["orders"]
        trades += segment["trades"]
        income += segment["income"]
        log += segment["order_log"]
    sealed.trades, sealed.income, sealed.order_log = len(trades), len(income), len(log)
    sealed.order_ids = {int(o["order_id"]) for o in orders}
    try:
        data["orders"] = orders + data.get("orders", [])
        data["trades"] = trades + data.get("trades", [])
        data["order_log"] = log + data.get("order_log", [])
        if isinstance(data.get("account"), dict):
            data["account"]["income"] = income + data["account"].get("income", [])
    except TypeError as exc:
        raise StateError(f"state file is damaged: {exc!r}") from exc
    return data, sealed


def read_state(path: Path) -> dict[str, Any] | None:
    """The complete saved state (segments merged), or None when the file does not exist yet."""
    loaded = load_state(path)
    return None if loaded is None else loaded[0]


class StateStore:
    """Saves the venue to ``path`` when it changed (called once per request, under its lock)."""

    def __init__(self, path: Path | None, sealed: Sealed | None = None) -> None:
        self.path = path
        self.sealed = sealed or Sealed()
        self.writes = 0

    def save(self, venue: Venue, *, force: bool = False) -> None:
        if self.path is None or not (venue.dirty or force):
            return
        wiped = self.sealed.generation != venue.generation  # an admin reset wiped the history
        if wiped:
            self.sealed = Sealed(generation=venue.generation)
        self._seal_if_large(venue)
        payload = json.dumps(dump(venue, self.sealed), separators=(",", ":")).encode()
        atomic_write_bytes(self.path, payload)
        self.writes += 1
        venue.dirty = False
        if wiped:
            self._remove_unlisted_segments()

    def _remove_unlisted_segments(self) -> None:
        assert self.path is not None
        folder = _segment_dir(self.path)
        if not folder.is_dir():
            return
        for stale in folder.glob("history-*.json"):
            if stale.name not in self.sealed.segments:
                with contextlib.suppress(OSError):
                    stale.unlink()

    def _seal_if_large(self, venue: Venue) -> None:
        assert self.path is not None
        sealed = self.sealed
        log_end = max(sealed.order_log, len(venue.order_log) - KEEP_RECENT_LOG)
        closed = [
            o for o in venue.orders.values() if not o.is_open and o.order_id not in sealed.order_ids
        ]
        pending = (
            len(venue.trades) - sealed.trades
            + len(venue.account.income) - sealed.income
            + log_end - sealed.order_log
            + len(closed)
        )  # fmt: skip
        if pending < SEAL_AFTER_RECORDS:
            return
        name = f"history-{len(sealed.segments):06d}-{uuid.uuid4().hex[:12]}.json"
        segment = {
            "orders": [_plain(o) for o in closed],
            "trades": [_plain(t) for t in venue.trades[sealed.trades :]],
            "income": [_plain(e) for e in venue.account.income[sealed.income :]],
            "order_log": venue.order_log[sealed.order_log : log_end],
        }
        atomic_write_bytes(
            _segment_dir(self.path) / name, json.dumps(segment, separators=(",", ":")).encode()
        )
        sealed.segments.append(name)
        sealed.trades = len(venue.trades)
        sealed.income = len(venue.account.income)
        sealed.order_log = log_end
        sealed.order_ids.update(o.order_id for o in closed)

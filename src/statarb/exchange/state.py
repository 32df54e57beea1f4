"""Durable exchange state: one JSON file, rewritten atomically after every request that changed it.

What a real exchange never forgets is kept: balances, positions, settings, orders, trades, the
income ledger, the id counters, the replay clock (offset, manual advance, last processed instant),
the price shocks and the log of order requests. Faults are test-time configuration and are not
kept. A SIGKILL at any instant leaves the previous complete file (``statarb.atomic``).
"""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from statarb.atomic import atomic_write_bytes
from statarb.exchange.accounts import IncomeEntry, Position, SymbolSettings
from statarb.exchange.venue import Order, Trade, Venue

STATE_VERSION = 1


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


def dump(venue: Venue) -> dict[str, Any]:
    account = venue.account
    return {
        "version": STATE_VERSION,
        "symbols": venue.market.symbols,
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
            "income": [_plain(e) for e in account.income],
        },
        "orders": [_plain(o) for o in venue.orders.values()],
        "trades": [_plain(t) for t in venue.trades],
        "shocks": {s: venue.market.tapes[s].shocks for s in venue.market.symbols},
        "order_log": venue.order_log,
    }


def restore(venue: Venue, data: dict[str, Any]) -> None:
    """Load ``data`` into a freshly built ``venue`` over the same datadir."""
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


def read_state(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when the file does not exist yet."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StateError(f"cannot read state file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise StateError(f"state file {path} does not hold a JSON object")
    return data


class StateStore:
    """Saves the venue to ``path`` when it changed (called once per request, under its lock)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.writes = 0

    def save(self, venue: Venue, *, force: bool = False) -> None:
        if self.path is None or not (venue.dirty or force):
            return
        payload = json.dumps(dump(venue), separators=(",", ":")).encode()
        atomic_write_bytes(self.path, payload)
        self.writes += 1
        venue.dirty = False

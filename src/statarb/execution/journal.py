"""The intent journal: every order the bot means to send, written down BEFORE it is sent.

A lock in memory dies with the process; this file does not. After a crash the bot (and the
recovery script) can read what it was doing: which client order ids it may have sent, for which
spread, leg and purpose, and what it last knew of each. The guard consults it before any send,
so the same intent is never sent twice, and the ghost check walks it to verify every order
against the exchange.

One small JSON file, rewritten atomically on every change (a handful of orders a day per
spread; measured in the exchange bench at ~2 ms per atomic write on this disk).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from statarb.atomic import atomic_write_json

# Entries older than this are dropped from the file once resolved (the exchange keeps them).
RETENTION_MS = 7 * 24 * 3600 * 1000


class IntentStatus(StrEnum):
    PENDING = "pending"  # written, the request may or may not have reached the exchange
    ACKNOWLEDGED = "acknowledged"  # the exchange answered with an order id
    NOT_PLACED = "not_placed"  # proven absent after the request could no longer arrive
    REJECTED = "rejected"  # the exchange refused it (an error answer: nothing was placed)
    VERIFIED = "verified"  # found on the exchange by client id at the ghost check
    GHOST = "ghost"  # acknowledged, but the exchange does not know it at the ghost check
    # Cancelled on purpose before anything filled (a maker order's timeout): the order is dead
    # on the exchange, so the next send of this leg needs a new id, not this one returned.
    CANCELLED = "cancelled"


RESOLVED = {IntentStatus.NOT_PLACED, IntentStatus.REJECTED, IntentStatus.VERIFIED,
            IntentStatus.GHOST, IntentStatus.CANCELLED}  # fmt: skip


@dataclass(frozen=True)
class IntentRecord:
    client_order_id: str
    symbol: str
    side: str  # "buy" / "sell"
    qty_base: float
    reduce_only: bool
    purpose: str  # statarb.spread.client_ids.Purpose value
    spread: str  # SpreadKey as text, e.g. "SOL_ADA@2026-01-04T01:00Z"; "" if unknown
    leg: str  # "A" / "B" / ""
    attempt: int
    created_ms: int
    status: IntentStatus = IntentStatus.PENDING
    exchange_order_id: str | None = None
    filled_qty: float | None = None
    updated_ms: int = 0
    note: str = ""
    history: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["history"] = list(self.history)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IntentRecord:
        values = dict(data)
        values["status"] = IntentStatus(values.get("status", IntentStatus.PENDING))
        values["history"] = tuple(values.get("history", ()))
        return cls(**values)


class JournalError(RuntimeError):
    """The journal file cannot be read: the bot must not guess what it already sent."""


class IntentJournal:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._records: dict[str, IntentRecord] = self._load()

    def _load(self) -> dict[str, IntentRecord]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {r["client_order_id"]: IntentRecord.from_json(r) for r in raw["intents"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalError(
                f"{self.path}: the order-intent journal is unreadable ({exc}); the bot cannot "
                "know which orders it already sent. Move the file aside only after checking "
                "the exchange's open orders and positions by hand."
            ) from None

    def _save(self) -> None:
        atomic_write_json(
            self.path, {"version": 1, "intents": [r.to_json() for r in self._records.values()]}
        )

    def get(self, client_order_id: str) -> IntentRecord | None:
        return self._records.get(client_order_id)

    def records(self) -> list[IntentRecord]:
        return list(self._records.values())

    def for_spread(self, spread: str) -> list[IntentRecord]:
        return [r for r in self._records.values() if r.spread == spread]

    def attempts(self, spread: str, leg: str, purpose: str) -> list[IntentRecord]:
        """Intents for one (spread, leg, purpose), oldest attempt first."""
        found = [
            r
            for r in self._records.values()
            if r.spread == spread and r.leg == leg and r.purpose == purpose
        ]
        return sorted(found, key=lambda r: (r.attempt, r.created_ms))

    def record(self, intent: IntentRecord) -> IntentRecord:
        """Write a new intent (before sending it). An existing id is left as it is."""
        existing = self._records.get(intent.client_order_id)
        if existing is not None:
            return existing
        self._records[intent.client_order_id] = intent
        self._save()
        return intent

    def update(
        self,
        client_order_id: str,
        *,
        status: IntentStatus,
        now_ms: int,
        exchange_order_id: str | None = None,
        filled_qty: float | None = None,
        note: str = "",
    ) -> IntentRecord:
        old = self._records[client_order_id]
        new = replace(
            old,
            status=status,
            exchange_order_id=exchange_order_id or old.exchange_order_id,
            filled_qty=filled_qty if filled_qty is not None else old.filled_qty,
            updated_ms=now_ms,
            note=note or old.note,
            history=(*old.history, f"{now_ms}:{status}{':' + note if note else ''}"),
        )
        self._records[client_order_id] = new
        self._save()
        return new

    def prune(self, now_ms: int) -> int:
        """Drop resolved intents older than the retention; returns how many were dropped."""
        stale = [
            cid
            for cid, r in self._records.items()
            if r.status in RESOLVED and now_ms - r.created_ms > RETENTION_MS
        ]
        for cid in stale:
            del self._records[cid]
        if stale:
            self._save()
        return len(stale)

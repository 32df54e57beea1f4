"""Deterministic client order ids: the same intent always gets the same id, even after a crash.

A lock in memory does not survive a restart, and ccxt invents a random `newClientOrderId` per
request, so a retried request becomes a second order. We name every order after what it is for:
the spread instance (pair id + the moment it was decided: the signal candle's open time, or the
second of a forced entry), the leg, the purpose and the attempt number. Before any (re-)send
the bot asks the exchange for that id; if the exchange knows it, the order exists and is not
sent again.

Binance accepts `^[\\.A-Z\\:/a-z0-9_-]{1,36}$` for `newClientOrderId`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

PREFIX = "sa"
MAX_LEN = 36
_BINANCE_ALLOWED = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_ID = re.compile(
    r"^sa-(?P<pair>[A-Za-z0-9_]{1,16})-(?P<ts>[0-9a-z]{1,10})-(?P<leg>[AB])"
    r"(?P<purpose>[A-Z])(?P<attempt>[0-9]{1,2})$"
)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class Purpose(StrEnum):
    """Why an order is sent. One letter each in the id."""

    ENTRY = "E"
    TOP_UP = "T"  # re-order the unfilled rest of a leg
    REDUCE = "R"  # trim the leg that is ahead back to the hedge ratio
    EXIT = "X"
    FLATTEN = "F"  # emergency close of a leg left without its twin


class Leg(StrEnum):
    A = "A"
    B = "B"


@dataclass(frozen=True)
class OrderIntent:
    """What one order is for; its `client_order_id` is a pure function of these fields."""

    pair_id: str
    spread_opened_at: datetime  # when the spread was decided (UTC, whole seconds): its name
    leg: Leg
    purpose: Purpose
    attempt: int = 0

    def __post_init__(self) -> None:
        if self.spread_opened_at.tzinfo is None:
            raise ValueError("spread_opened_at must be a UTC datetime")
        if not 0 <= self.attempt <= 99:
            raise ValueError(f"attempt must be 0..99, got {self.attempt}")

    @property
    def client_order_id(self) -> str:
        pair = re.sub(r"[^A-Za-z0-9_]", "", self.pair_id)[:16] or "X"
        seconds = int(self.spread_opened_at.astimezone(UTC).timestamp())
        cid = f"{PREFIX}-{pair}-{_base36(seconds)}-{self.leg}{self.purpose}{self.attempt}"
        if len(cid) > MAX_LEN or not _BINANCE_ALLOWED.match(cid):
            raise ValueError(f"client order id {cid!r} is not acceptable to Binance")
        return cid

    def next_attempt(self) -> OrderIntent:
        return OrderIntent(
            self.pair_id, self.spread_opened_at, self.leg, self.purpose, self.attempt + 1
        )


def parse_client_order_id(cid: str) -> dict[str, object] | None:
    """Fields of an id this bot made (second precision), or None for any other order's id."""
    match = _ID.match(cid or "")
    if not match:
        return None
    seconds = int(match["ts"], 36)
    return {
        "pair_id": match["pair"],
        "spread_opened_at": datetime.fromtimestamp(seconds, tz=UTC),
        "leg": Leg(match["leg"]),
        "purpose": Purpose(match["purpose"]),
        "attempt": int(match["attempt"]),
    }


def _base36(value: int) -> str:
    if value < 0:
        raise ValueError("time before 1970")
    digits = []
    while True:
        value, rem = divmod(value, 36)
        digits.append(_DIGITS[rem])
        if value == 0:
            return "".join(reversed(digits))

"""The result of a reconciliation: typed findings a person can act on.

A finding is REVIEW when money is at risk until a person looks (the bot then opens nothing new)
and INFO when FreqTrade resolves it by itself at start (e.g. an order it already tracks filled
while it was down): reported, never hidden, but not blocking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class FindingKind(StrEnum):
    ORPHANED_POSITION = "orphaned_position"  # on the exchange, not in the DB
    GHOST_TRADE = "ghost_trade"  # open in the DB, nothing on the exchange
    SIZE_MISMATCH = "size_mismatch"  # both hold the symbol, in different amounts (or sides)
    UNKNOWN_OPEN_ORDER = "unknown_open_order"  # open on the exchange, no DB order has its id
    FILL_MISSING_FROM_DB = "fill_missing_from_db"  # a user trade whose order the DB lacks
    BROKEN_SPREAD = "broken_spread"  # a leg without its twin, or legs out of the hedge ratio
    MARGIN_NOT_ISOLATED = "margin_not_isolated"
    LEVERAGE_DIFFERS = "leverage_differs"  # exchange leverage is not the configured one


KIND_ORDER = {kind: index for index, kind in enumerate(FindingKind)}


class Severity(StrEnum):
    REVIEW = "review"  # a person must look; no new spreads until acknowledged
    INFO = "info"  # FreqTrade resolves it at start; reported only


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    severity: Severity
    symbol: str | None
    amount: float | None  # base quantity concerned, >= 0
    side: str | None  # LONG / SHORT for positions and legs, BUY / SELL for orders and fills
    entry_price: float | None
    current_price: float | None
    current_pnl: float | None  # USDT, see details["pnl_basis"] for what it measures
    recommendation: str
    spread_id: str | None = None
    subject: str = ""  # what exactly (trade ids, order id, leg): with kind+symbol, the identity
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str | None, str | None, str]:
        return (str(self.kind), self.symbol, self.spread_id, self.subject)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "symbol": self.symbol,
            "amount": _num(self.amount),
            "side": self.side,
            "entry_price": _num(self.entry_price),
            "current_price": _num(self.current_price),
            "current_pnl": _num(self.current_pnl),
            "recommendation": self.recommendation,
            "spread_id": self.spread_id,
            "subject": self.subject,
            "details": dict(self.details),
        }


def _num(value: float | None) -> float | None:
    """Numbers for a person: 10 significant digits, no float noise like 0.30000000000000004."""
    if value is None:
        return None
    return float(f"{value:.10g}")


@dataclass(frozen=True)
class Reconciliation:
    checked_at: datetime
    findings: tuple[Finding, ...]
    matched_symbols: tuple[str, ...]  # exchange and DB agree on these
    warnings: tuple[str, ...] = ()

    @property
    def manual_review_required(self) -> bool:
        return any(f.severity is Severity.REVIEW for f in self.findings)

    def of_kind(self, kind: FindingKind) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind is kind)

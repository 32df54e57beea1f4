"""The recovery report: docs/design.md §3.2's fields exactly, plus every finding in detail and
the timings.

`recovery_report.json` is what a person (and the daily check) reads after a restart, so it
must never be half-written nor lost: it is written atomically and a dated copy is kept in
`recovery_reports/` (the newest `keep`). A number that could not be read is `null`, never 0:
the original build reported "0 open orders" after a swallowed exception (docs/design.md §6.6).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from statarb.atomic import atomic_write_json
from statarb.recovery.findings import FindingKind, Reconciliation, Severity
from statarb.recovery.snapshots import DbSnapshot, ExchangeSnapshot

SUCCESS = "SUCCESS"
ALERT = "ALERT"
ERROR = "ERROR"
# The fields of docs/design.md §3.2, in its order; tests hold the report to exactly these plus
# EXTRA.
SPEC_FIELDS = (
    "timestamp",
    "recovery_status",
    "orphaned_positions",
    "open_orders",
    "recent_trades",
    "reconciliation_status",
    "next_action",
    "warnings",
    "manual_review_required",
)
EXTRA_FIELDS = ("findings", "actions", "error", "exchange", "database", "timings_ms")
ORPHAN_FIELDS = (
    "symbol",
    "amount",
    "side",
    "entry_price",
    "current_price",
    "current_pnl",
    "recommendation",
)
RESUME = "Resume normal operation"
ACK_HINT = "scripts/review.py ack --by NAME --note TEXT"
DEFAULT_KEEP = 500
HISTORY_NAME = re.compile(r"^recovery_report-\d{8}T\d{6}\.\d{6}Z(-\d+)?\.json$")


def iso_z(moment: datetime) -> str:
    """`2026-02-02T22:26:00Z`: UTC, seconds, a Z (docs/design.md §3.2's format)."""
    if moment.tzinfo is None:
        raise ValueError("report times must be UTC datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ReportContext:
    """What every report carries besides the reconciliation."""

    generated_at: datetime
    warnings: Sequence[str] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    actions: Sequence[Mapping[str, Any]] = ()  # orders sent by --flatten-orphans


def _exchange_summary(exchange: ExchangeSnapshot | None) -> dict[str, Any] | None:
    if exchange is None:
        return None
    balance = exchange.balance
    return {
        "server_time": iso_z(datetime.fromtimestamp(exchange.server_time_ms / 1000, tz=UTC)),
        "positions": [
            {
                "symbol": p.symbol,
                "side": p.side,
                "amount": p.amount,
                "entry_price": p.entry_price,
                "mark_price": p.mark_price,
                "unrealized_pnl": p.unrealized_pnl_usdt,
            }
            for p in exchange.positions
            if p.qty_base != 0
        ],
        "symbols_checked": list(exchange.symbols_checked),
        "fills_since": iso_z(datetime.fromtimestamp(exchange.fills_since_ms / 1000, tz=UTC)),
        "wallet_usdt": balance.wallet_usdt if balance else None,
        "available_usdt": balance.available_usdt if balance else None,
        "unrealized_pnl_usdt": balance.unrealized_pnl_usdt if balance else None,
    }


def _db_summary(db: DbSnapshot | None) -> dict[str, Any] | None:
    if db is None:
        return None
    return {
        "source": db.source,
        "exists": db.exists,
        "open_trades": len(db.open_trades),
        "total_trades": db.total_trades,
        "notes": list(db.notes),
    }


def _rounded(timings: Mapping[str, float]) -> dict[str, float]:
    return {name: round(value, 1) for name, value in timings.items()}


def reconciled_report(
    reconciliation: Reconciliation,
    exchange: ExchangeSnapshot,
    db: DbSnapshot,
    context: ReportContext,
) -> dict[str, Any]:
    """SUCCESS when nothing needs a person, else ALERT (the bot opens nothing new)."""
    review = [f for f in reconciliation.findings if f.severity is Severity.REVIEW]
    info = [f for f in reconciliation.findings if f.severity is Severity.INFO]
    warnings = [*context.warnings, *reconciliation.warnings]
    warnings += [f"{f.kind} {f.symbol or ''}: {f.recommendation}" for f in info]
    if review:
        counts: dict[str, int] = {}
        for finding in review:
            counts[str(finding.kind)] = counts.get(str(finding.kind), 0) + 1
        listed = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        next_action = (
            f"Manual review required ({listed}): follow each finding's recommendation. The bot "
            "still manages and closes its open spreads but opens no new one until a person "
            f"runs `{ACK_HINT}`."
        )
    else:
        next_action = RESUME
    orphans = [
        {name: f.to_dict()[name] for name in ORPHAN_FIELDS}
        for f in reconciliation.of_kind(FindingKind.ORPHANED_POSITION)
    ]
    return {
        "timestamp": iso_z(context.generated_at),
        "recovery_status": ALERT if review else SUCCESS,
        "orphaned_positions": orphans,
        "open_orders": len(exchange.open_orders),
        "recent_trades": len(exchange.fills),
        "reconciliation_status": "COMPLETE",
        "next_action": next_action,
        "warnings": warnings,
        "manual_review_required": bool(review),
        "findings": [f.to_dict() for f in reconciliation.findings],
        "actions": [dict(a) for a in context.actions],
        "error": None,
        "exchange": _exchange_summary(exchange),
        "database": _db_summary(db),
        "timings_ms": _rounded(context.timings_ms),
    }


def error_report(
    reason: str,
    context: ReportContext,
    *,
    exchange: ExchangeSnapshot | None = None,
    db: DbSnapshot | None = None,
) -> dict[str, Any]:
    """Recovery could not see the whole truth: say what failed; every unknown is null."""
    return {
        "timestamp": iso_z(context.generated_at),
        "recovery_status": ERROR,
        "orphaned_positions": None,
        "open_orders": len(exchange.open_orders) if exchange else None,
        "recent_trades": len(exchange.fills) if exchange else None,
        "reconciliation_status": "FAILED",
        "next_action": (
            f"Recovery could not finish ({reason}). The bot starts in manage-only mode: it "
            "manages and closes the spreads its DB knows but opens nothing new. Fix the cause, "
            f"re-run scripts/state_recovery.py, then `{ACK_HINT}`."
        ),
        "warnings": list(context.warnings),
        "manual_review_required": True,
        "findings": [],
        "actions": [dict(a) for a in context.actions],
        "error": reason,
        "exchange": _exchange_summary(exchange),
        "database": _db_summary(db),
        "timings_ms": _rounded(context.timings_ms),
    }


def skipped_report(reason: str, context: ReportContext, db: DbSnapshot | None) -> dict[str, Any]:
    """Nothing to reconcile (dry run: the exchange holds none of this bot's positions)."""
    return {
        "timestamp": iso_z(context.generated_at),
        "recovery_status": SUCCESS,
        "orphaned_positions": [],
        "open_orders": None,
        "recent_trades": None,
        "reconciliation_status": "SKIPPED",
        "next_action": RESUME,
        "warnings": [reason, *context.warnings],
        "manual_review_required": False,
        "findings": [],
        "actions": [],
        "error": None,
        "exchange": None,
        "database": _db_summary(db),
        "timings_ms": _rounded(context.timings_ms),
    }


def write_report(
    report: Mapping[str, Any],
    path: str | os.PathLike[str],
    history_dir: str | os.PathLike[str] | None = None,
    *,
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
) -> Path | None:
    """Write `path` atomically, then a dated copy in `history_dir`; prune to the newest `keep`.

    Returns the history copy's path (None without a history folder).
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    atomic_write_json(path, dict(report))
    if history_dir is None:
        return None
    folder = Path(history_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    copy = folder / f"recovery_report-{stamp}.json"
    counter = 1
    while copy.exists():
        copy = folder / f"recovery_report-{stamp}-{counter}.json"
        counter += 1
    atomic_write_json(copy, dict(report))
    prune_history(folder, keep)
    return copy


def prune_history(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` dated reports (names sort by time)."""
    reports = sorted(
        (p for p in folder.iterdir() if HISTORY_NAME.match(p.name)), key=_history_order
    )
    doomed = reports[:-keep] if len(reports) > keep else []
    for old in doomed:
        old.unlink(missing_ok=True)
    return doomed


def _history_order(path: Path) -> tuple[str, int]:
    stem = path.name.removesuffix(".json").removeprefix("recovery_report-")
    stamp, _, counter = stem.partition("Z-")
    return (stamp.rstrip("Z"), int(counter) if counter else 0)

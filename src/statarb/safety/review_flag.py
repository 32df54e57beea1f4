"""The manual-review flag: one durable file that stops new entries until a person says so.

Raised by the strategy (unhedgeable partial fills, ghost orders, stops) and by the recovery
script (orphaned positions). While it is up the bot opens no new spread but keeps managing and
closing the open ones. It survives restarts because it is a file under `user_data/`, written
atomically; an unreadable file counts as RAISED (fail safe), never as clear.
Cleared only by `scripts/review.py ack --by NAME --note TEXT`, which keeps the history.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from statarb.atomic import atomic_write_json

DEFAULT_FLAG_PATH = Path("user_data/state/manual_review.json")


@dataclass(frozen=True)
class ReviewReason:
    raised_at: str  # ISO-8601 UTC
    source: str  # "strategy", "recovery", ...
    message: str
    spread_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewStatus:
    raised: bool
    reasons: tuple[ReviewReason, ...]
    unreadable: str | None = None  # why the file could not be read, if it could not

    @property
    def summary(self) -> str:
        if self.unreadable:
            return f"review flag file unreadable ({self.unreadable})"
        if not self.raised:
            return "clear"
        return "; ".join(r.message for r in self.reasons[-3:])


class ManualReviewFlag:
    def __init__(self, path: str | os.PathLike[str] = DEFAULT_FLAG_PATH) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # the bot's loop and its hedging-budget thread

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"raised": False, "reasons": [], "history": []}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("reasons"), list):
            raise ValueError("not a review-flag document")
        data.setdefault("history", [])
        return data

    def status(self) -> ReviewStatus:
        try:
            data = self._read()
        except (OSError, ValueError) as exc:
            return ReviewStatus(raised=True, reasons=(), unreadable=str(exc))
        reasons = tuple(
            ReviewReason(**{k: r.get(k) for k in ReviewReason.__dataclass_fields__ if k in r})
            for r in data["reasons"]
        )
        return ReviewStatus(raised=bool(data.get("raised")) or bool(reasons), reasons=reasons)

    def is_raised(self) -> bool:
        return self.status().raised

    def last_acknowledged_ms(self) -> int | None:
        """When a person last cleared the flag (epoch ms), or None if never / unreadable."""
        try:
            history = self._read().get("history", [])
        except (OSError, ValueError):
            return None
        stamps = [h.get("acknowledged_at") for h in history if h.get("acknowledged_at")]
        if not stamps:
            return None
        latest = max(datetime.fromisoformat(str(t).replace("Z", "+00:00")) for t in stamps)
        return int(latest.timestamp() * 1000)

    def raise_flag(
        self,
        *,
        source: str,
        message: str,
        spread_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> bool:
        """Add a reason and raise the flag. Returns False when the same reason is already up."""
        with self._lock:
            return self._raise(source, message, spread_id, details)

    def _raise(
        self, source: str, message: str, spread_id: str | None, details: dict[str, Any] | None
    ) -> bool:
        try:
            data = self._read()
        except (OSError, ValueError) as exc:
            # Keep the unreadable file for a person to inspect; start a fresh one beside it.
            data = {"raised": True, "reasons": [], "history": []}
            corrupt = self.path.with_suffix(f".corrupt-{_stamp()}.json")
            with contextlib.suppress(OSError):
                self.path.replace(corrupt)
            data["reasons"].append(
                _reason("review-flag", f"previous flag file unreadable ({exc}); kept as {corrupt}")
            )
        for existing in data["reasons"]:
            if existing.get("message") == message and existing.get("spread_id") == spread_id:
                return False
        data["reasons"].append(_reason(source, message, spread_id, details or {}))
        data["raised"] = True
        atomic_write_json(self.path, data)
        return True

    def acknowledge(self, *, by: str, note: str) -> ReviewStatus:
        """Clear the flag after a person reviewed it; the reasons move to the history."""
        if not by.strip() or not note.strip():
            raise ValueError("acknowledging a review needs who (--by) and what was done (--note)")
        before = self.status()
        try:
            data = self._read()
        except (OSError, ValueError):
            data = {"history": []}
        history = list(data.get("history", []))
        history.append(
            {
                "acknowledged_at": _now_iso(),
                "by": by,
                "note": note,
                "reasons": [r.__dict__ for r in before.reasons],
                "unreadable": before.unreadable,
            }
        )
        atomic_write_json(self.path, {"raised": False, "reasons": [], "history": history})
        return before


def _reason(
    source: str, message: str, spread_id: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "raised_at": _now_iso(),
        "source": source,
        "message": message,
        "spread_id": spread_id,
        "details": details or {},
    }


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

"""Entry blocks read back from a FreqTrade log, for the backtest-vs-paper comparison.

The strategy writes `[STRATEGY] <pair> entries blocked|unblocked` once per change of a pair's
blocks. The comparison names a block in force when one run entered and the other did not
(`statarb.backtest.paper_match`); either run's log is read here. A log reader of its own,
beside the database reader (`statarb.backtest.paper_db`), so the matching only sees the parsed
events. Pure: no FreqTrade import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from statarb.safety.log import parse_fields


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

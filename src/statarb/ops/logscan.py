"""Count the log categories of the last 24 h in `freqtrade.log` and its rotated files.

FreqTrade's `--logfile` handler (a RotatingFileHandler, 10 MB x 10) writes
`2026-02-02 22:26:00,123 - name - LEVEL - message`, in the container's local time, which
is UTC (the compose file sets TZ=UTC). A record may span several lines (tracebacks); only its
first line carries the timestamp, so a record is counted once. Categories are matched anywhere
in the message, like the README's `grep "\\[SAFETY\\]"`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from statarb.ops.checks import LogActivity
from statarb.safety.log import Category

_RECORD = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),\d{3} - (?P<name>\S+) - (?P<level>[A-Z]+) - "
    r"(?P<message>.*)$"
)
_STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_STAMP_LEN = 19  # "2026-02-02 22:26:00": sorts like the time it names


def count_activity(
    lines: Iterable[str], since: datetime, files: tuple[str, ...] = ()
) -> LogActivity:
    """Counts over the records stamped at or after `since` (lines in chronological order).

    Old lines are skipped by comparing the stamp's text (fixed width, so text order is time
    order) before any parsing: a full rotation is ~1.3 M lines, nearly all outside the window.
    """
    since_text = since.astimezone(UTC).strftime(_STAMP_FORMAT)
    total = execution = safety = strategy = errors = 0
    last_safety: str | None = None
    for line in lines:
        if line[:_STAMP_LEN] < since_text:
            continue
        match = _RECORD.match(line)
        if match is None:
            continue  # continuation of the previous record (traceback, wrapped text)
        total += 1
        message = match["message"]
        if "[" in message:
            if Category.EXECUTION in message:
                execution += 1
            if Category.SAFETY in message:
                safety += 1
                last_safety = f"{match['ts']} {message.strip()}"
            if Category.STRATEGY in message:
                strategy += 1
        if match["level"] in ("ERROR", "CRITICAL"):
            errors += 1
    return LogActivity(
        since=since,
        lines=total,
        execution=execution,
        safety=safety,
        strategy=strategy,
        errors=errors,
        last_safety=last_safety,
        files=files,
    )


def rotated_files(logfile: Path, since: datetime) -> list[Path]:
    """`freqtrade.log.N … .1, freqtrade.log`, oldest first, skipping files last written
    before `since` (they cannot hold a record of the window)."""
    candidates = [logfile.with_name(f"{logfile.name}.{n}") for n in range(99, 0, -1)]
    candidates.append(logfile)
    found = []
    for path in candidates:
        try:
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        except FileNotFoundError:
            continue
        if mtime >= since:
            found.append(path)
    return found


def _lines(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as handle:
            yield from handle


def scan_logs(logfile: Path, since: datetime) -> LogActivity:
    """Read the log and its rotations. Raises FileNotFoundError when there is no log at all."""
    if not logfile.exists():
        raise FileNotFoundError(f"no log file at {logfile}")
    paths = rotated_files(logfile, since)
    return count_activity(_lines(paths), since, tuple(str(p) for p in paths))

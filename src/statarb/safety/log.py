"""The three log categories, one grep-able line per event.

`docker logs -f freqtrade_bot | grep "\\[SAFETY\\]"` must find every stop, rollback and block,
so every line starts with its category and names the spread it concerns:

    [STRATEGY] SOL_ADA entry refused reason="z=1.20 not in an entry zone" signal_candle=2026-…

The fields after the message are logfmt: `key=value`, sorted by key; a value with whitespace, a
double quote or `=` in it (or an empty one) is double-quoted, `"` and `\\` escaped with `\\`
(a line break as `\\n`, so an event stays one line); every other value is written bare. The text
stays readable as written and `parse_fields` (or any logfmt reader) gets the values back.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    STRATEGY = "[STRATEGY]"  # signals, cointegration re-tests, pairing decisions
    EXECUTION = "[EXECUTION]"  # orders, fills, hedging
    SAFETY = "[SAFETY]"  # stops, rollbacks, protections, manual-review flags


def format_line(category: Category, spread_id: str | None, message: str, **fields: Any) -> str:
    """`[SAFETY] PAIR_001 stop: z=-4.21 qty_a=0.5` — fields sorted for stable output."""
    parts = [str(category), spread_id or "-", message]
    if fields:
        parts.append(" ".join(f"{k}={_fmt(v)}" for k, v in sorted(fields.items())))
    return " ".join(parts)


_NEEDS_QUOTES = re.compile(r'[\s"=]')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {v[1]: k for k, v in _ESCAPES.items()}


def _fmt(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + "".join(_ESCAPES.get(char, char) for char in text) + '"'


_FIELD = re.compile(r'(?:^|\s)([A-Za-z_]\w*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_ESCAPED = re.compile(r"\\(.)")


def parse_fields(line: str) -> dict[str, str]:
    """The `key=value` fields of a line `format_line` wrote, values unquoted (as text)."""
    fields = {}
    for key, raw in _FIELD.findall(line):
        quoted = raw.startswith('"')
        fields[key] = (
            _ESCAPED.sub(lambda m: _UNESCAPES.get(m[1], m[1]), raw[1:-1]) if quoted else raw
        )
    return fields


def log(
    logger: logging.Logger,
    category: Category,
    spread_id: str | None,
    message: str,
    **fields: Any,
) -> str:
    """Log one categorised line (SAFETY at WARNING, the rest at INFO) and return it."""
    line = format_line(category, spread_id, message, **fields)
    logger.log(logging.WARNING if category is Category.SAFETY else logging.INFO, line)
    return line

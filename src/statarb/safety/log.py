"""The three log categories, one grep-able line per event.

`docker logs -f freqtrade_bot | grep "\\[SAFETY\\]"` must find every stop, rollback and block,
so every line starts with its category and names the spread it concerns.
"""

from __future__ import annotations

import logging
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


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace(" ", "_")


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

"""The maker-first live bot the execution modules share: SOL_ADA, limit orders at the touch,
and the cost gate off (what they test is how orders behave, not whether a signal pays)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support.live_bot import LiveBot, running_live_bot


@contextmanager
def running_maker_first_bot(
    folder: Path,
    *,
    maker_timeout_s: float,
    order_timeout_s: int,
    pair_overrides: dict[str, Any] | None = None,
    signal_entries_locked: bool = False,
) -> Iterator[LiveBot]:
    """A maker order is cancelled after `maker_timeout_s` by the strategy; FreqTrade's own
    unfilled timeout is `order_timeout_s` for entries and exits (one exit timeout, then its
    emergency exit)."""
    timeouts = {
        "entry": order_timeout_s,
        "exit": order_timeout_s,
        "exit_timeout_count": 1,
        "unit": "seconds",
    }
    with running_live_bot(
        folder,
        pair_ids=("SOL_ADA",),
        pair_overrides=pair_overrides,
        order_mode="maker_first",
        statarb={"maker_timeout_s": maker_timeout_s, "cost_gate": False},
        freqtrade={"unfilledtimeout": timeouts},
        signal_entries_locked=signal_entries_locked,
    ) as running:
        yield running

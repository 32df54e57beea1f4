"""Keep a chosen pair tradable for a few re-scans: the scan decides entries, not one day.

A pair is chosen by a scan on its trailing window; the next day's scan may miss it by a hair
(FDR control across all pairs is strict, and a window one day longer moves the p-value). With
`keep_scans` = K, a pair chosen within the last K scans stays in the pairs file with the hedge
ratio of the scan that chose it, unless a fresher selection holds one of its coins. The
strategy's trailing stationarity re-test still blocks entries on a spread that stopped
reverting. Causal: only scans already made are merged. The same function serves the
walk-forward schedule and the production re-scan, so both trade the same book.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from statarb.pairs_config import PairEntry, PairsConfig, ScanWindow


def keep_window(keep_scans: int, every: timedelta) -> timedelta:
    """How old a kept pair may be: K scans `every` apart, with 1/24 of an interval of slack for
    a production re-scan that runs a little late (a 24 h re-scan: one hour)."""
    if keep_scans <= 1:
        return timedelta(0)
    return (keep_scans - 1) * every + every / 24


def merge_recent(
    current: PairsConfig,
    earlier: Sequence[PairEntry],
    *,
    now: datetime,
    keep_for: timedelta,
) -> PairsConfig:
    """`current`'s pairs, then `earlier` pairs chosen less than `keep_for` before `now`.

    Earlier pairs are taken newest first; one whose coin is already in the file is skipped (a
    coin is in one spread only), as is one already present under its id.
    """
    if keep_for <= timedelta(0):
        return current
    pairs = list(current.pairs)
    taken = {s for p in pairs for s in (p.leg_a, p.leg_b)}
    ids = {p.pair_id for p in pairs}
    window = current.scan_window
    # A kept pair was chosen on the same lookback, ending when it was chosen.
    span = window.end - window.start if window is not None else None
    for entry in sorted(earlier, key=lambda e: e.last_updated, reverse=True):
        if entry.pair_id in ids or now - entry.last_updated >= keep_for:
            continue
        if entry.leg_a in taken or entry.leg_b in taken:
            continue
        pairs.append(entry)
        taken.update((entry.leg_a, entry.leg_b))
        ids.add(entry.pair_id)
        if window is not None and span is not None and entry.last_updated - span < window.start:
            # The file's window covers every kept pair's data (in-sample checks stay honest).
            window = ScanWindow(start=entry.last_updated - span, end=window.end)
    return current.model_copy(update={"pairs": pairs, "scan_window": window})

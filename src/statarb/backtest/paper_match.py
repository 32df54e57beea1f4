"""Paper and backtest spreads matched one to one, with the reasons for each difference.

`match_spreads` pairs spreads on pair id, direction and first entry within a tolerance of a
few candles (a forced paper entry is never matched: a backtest has none) and names, from the
data only, why a spread differs: fills (maker/taker, prices, fees), candle timing
(intra-candle decisions on live prices vs closed candles), exit reasons, forced entries,
spreads open at the end, the backtest's range, and either run's entry blocks
(`statarb.backtest.entry_blocks`).

Its own module because it is the comparison's judgement (what counts as the same spread, what
explains a difference), apart from how each run's spreads are read; it imports the data
classes (`statarb.backtest.paper_compare`), never the other way round. Pure: no FreqTrade
import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from statarb.backtest.entry_blocks import BlockEvent
from statarb.backtest.paper_compare import (
    BACKTEST_ONLY,
    BOTH,
    DEFAULT_TOLERANCE_CANDLES,
    PAPER_ONLY,
    Match,
    Period,
    SpreadRun,
)

PRICE_NOTE_BPS = 1.0  # a fill price difference below this is not named


def match_spreads(
    paper: Sequence[SpreadRun],
    backtest: Sequence[SpreadRun],
    *,
    period: Period,
    timeframe_minutes: int,
    tolerance_candles: int = DEFAULT_TOLERANCE_CANDLES,
    backtest_range: tuple[datetime, datetime] | None = None,
    max_open_spreads: int | None = None,
    paper_blocks: Sequence[BlockEvent] = (),
    backtest_blocks: Sequence[BlockEvent] = (),
) -> tuple[tuple[Match, ...], tuple[SpreadRun, ...]]:
    """(matches, backtest spreads outside the period) — one to one, closest entries first.

    Same pair id and direction, first entries at most `tolerance_candles` apart; a forced
    paper spread is never matched (a person chose it: the backtest cannot). A backtest spread
    entered before the period counts only when it matches (the tolerance reaches back); one
    entered after the period's end never counts.
    """
    tolerance = timedelta(minutes=timeframe_minutes * tolerance_candles)
    early = period.start - tolerance
    candidates = []
    for i, p in enumerate(paper):
        if p.forced:
            continue
        for j, b in enumerate(backtest):
            gap = abs(p.entry_at - b.entry_at)
            if (p.pair_id, p.direction) == (b.pair_id, b.direction) and gap <= tolerance:
                candidates.append((gap, p.entry_at, i, j))
    candidates.sort()
    paired: dict[int, int] = {}
    used: set[int] = set()
    for _, _, i, j in candidates:
        if i in paired or j in used or not (early <= backtest[j].entry_at <= period.end):
            continue
        paired[i] = j
        used.add(j)
    context = _Context(
        paper, backtest, period, timeframe_minutes, tolerance_candles, backtest_range,
        max_open_spreads, tuple(paper_blocks), tuple(backtest_blocks),
    )  # fmt: skip
    matches = [
        Match(BOTH, p, backtest[paired[i]], context.both(p, backtest[paired[i]]))
        if i in paired
        else Match(PAPER_ONLY, p, None, context.paper_only(p))
        for i, p in enumerate(paper)
    ]
    excluded = []
    for j, b in enumerate(backtest):
        if j in used:
            continue
        if period.start <= b.entry_at <= period.end:
            matches.append(Match(BACKTEST_ONLY, None, b, context.backtest_only(b)))
        else:
            excluded.append(b)
    matches.sort(key=lambda m: (m.entry_at, m.pair_id))
    return tuple(matches), tuple(excluded)


@dataclass(frozen=True)
class _Context:
    """What the reasons are read from: both runs' spreads, the period, the settings."""

    paper: Sequence[SpreadRun]
    backtest: Sequence[SpreadRun]
    period: Period
    timeframe_minutes: int
    tolerance_candles: int
    backtest_range: tuple[datetime, datetime] | None
    max_open_spreads: int | None
    paper_blocks: tuple[BlockEvent, ...] = ()
    backtest_blocks: tuple[BlockEvent, ...] = ()

    def _candles(self, delta: timedelta) -> str:
        candles = delta.total_seconds() / (self.timeframe_minutes * 60)
        return f"{candles:+.1f} candles" if abs(candles) >= 0.05 else "the same candle"

    def both(self, p: SpreadRun, b: SpreadRun) -> tuple[str, ...]:
        reasons = _one_leg(p, "paper") + _one_leg(b, "backtest")
        if p.decided_at != b.decided_at:
            reasons.append(
                f"candle timing: paper decided on the candle of {p.decided_at:%H:%M}, the "
                f"backtest on {b.decided_at:%H:%M} ({self._candles(p.decided_at - b.decided_at)})"
            )
        lag = (p.entry_at - b.entry_at).total_seconds()
        if abs(lag) >= 1:
            reasons.append(
                f"candle timing: paper's first entry fill {lag:+.0f} s from the backtest's "
                "(live fills within the candle vs the backtest's fill at a candle open)"
            )
        reasons += self._fills(p, b)
        if p.is_open:
            reasons.append(self._open_at_end(b))
            return tuple(reasons)
        if p.exit_reason != b.exit_reason:
            reasons.append(
                f"exit: paper {p.exit_reason} vs backtest {b.exit_reason}"
                + _z_text(" (z at exit candle: paper {0}, backtest {1})", p.exit_z, b.exit_z)
            )
        if p.exit_at is not None and b.exit_at is not None and p.exit_at != b.exit_at:
            reasons.append(
                f"exit timing: paper left {self._candles(p.exit_at - b.exit_at)} from the "
                "backtest (paper judges exits and stops on live z every loop, the backtest on "
                "closed candles)"
            )
        if b.exit_reason == "force_exit":
            reasons.append(self._backtest_end())
        reasons += _money_split(p, b)
        return tuple(reasons)

    def _fills(self, p: SpreadRun, b: SpreadRun) -> list[str]:
        reasons = []
        # Counts of a spread still open in paper would set its entries against both phases.
        if not p.is_open and (p.maker_fills, p.fills) != (b.maker_fills, b.fills):
            reasons.append(
                f"fill model: paper {p.maker_fills} of {p.fills} fills at the maker rate, "
                f"backtest {b.maker_fills} of {b.fills} (dry-run fills a resting limit once the "
                "touch reaches it; the backtest once the candle trades through it)"
            )
        for when, mine, theirs in (
            ("entry", p.entry_price, b.entry_price),
            ("exit", p.exit_price, b.exit_price),
        ):
            for leg in ("A", "B"):
                if leg in mine and leg in theirs and theirs[leg] > 0:
                    bps = (mine[leg] / theirs[leg] - 1) * 1e4
                    if abs(bps) >= PRICE_NOTE_BPS:
                        reasons.append(
                            f"fill price: leg {leg} {when} paper {mine[leg]:.6g} vs backtest "
                            f"{theirs[leg]:.6g} ({bps:+.1f} bps)"
                        )
        return reasons

    def _open_at_end(self, b: SpreadRun | None) -> str:
        text = f"open at the end: still open in paper at {self.period.end:%Y-%m-%d %H:%M}, no net"
        if b is not None and b.exit_reason == "force_exit":
            text += "; the backtest closed its spread at its range's end (force_exit)"
        return text

    def _backtest_end(self) -> str:
        return (
            "backtest end: FreqTrade closed it at the end of the backtest's range (force_exit), "
            "not by the strategy's rules"
        )

    def _outside_backtest(self, moment: datetime) -> str | None:
        if self.backtest_range is None:
            return "no backtest ran"
        start, end = self.backtest_range
        if moment < start or moment >= end:
            return (
                f"outside the backtest's candles ({start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M})"
            )
        return None

    def paper_only(self, p: SpreadRun) -> tuple[str, ...]:
        reasons = []
        if p.forced:  # first: it explains the row on its own
            reasons.append(
                "forced entry: a person opened it (forceenter); a backtest never has one"
            )
        reasons += _one_leg(p, "paper")
        outside = self._outside_backtest(p.entry_at)
        if outside:
            reasons.append(outside)
        elif not p.forced and self.backtest_range is not None:
            left = self.backtest_range[1] - p.entry_at
            if left < timedelta(minutes=self.timeframe_minutes * self.tolerance_candles):
                reasons.append(
                    f"the backtest's candles end {self._candles(left).lstrip('+')} after this "
                    "entry: a backtest entry a candle or two later had no candle to happen on"
                )
        if p.is_open:
            reasons.append(self._open_at_end(None))
        if not p.forced:
            held = [
                b for b in self.backtest
                if b.pair_id == p.pair_id and _overlaps(b, p.entry_at, self.period.end)
            ]  # fmt: skip
            if held:
                b = held[0]
                note = "" if self.period.start <= b.entry_at else ", before the period: not counted"
                reasons.append(
                    f"the backtest held its own {b.pair_id} {b.direction} spread (entered "
                    f"{b.entry_at:%Y-%m-%d %H:%M}{note}) then"
                )
            else:
                near = self._nearest(self.backtest, p)
                if near is not None:
                    reasons.append(near)
            reasons += _blocks_text("backtest log", self.backtest_blocks, p.pair_id, None)
            z_reason = _z_at_signal(p)
            if z_reason:
                reasons.append(z_reason)
        return tuple(reasons) or ("no backtest spread of this pair and direction near it",)

    def backtest_only(self, b: SpreadRun) -> tuple[str, ...]:
        reasons = _one_leg(b, "backtest")
        held = [p for p in self.paper if _overlaps(p, b.entry_at, self.period.end)]
        same = [p for p in held if p.pair_id == b.pair_id]
        if same:
            p = same[0]
            reasons.append(
                f"paper held its own {p.pair_id} {p.direction} spread (entered "
                f"{p.entry_at:%H:%M}{', forced' if p.forced else ''}) then"
            )
        elif self.max_open_spreads is not None and len(held) >= self.max_open_spreads:
            reasons.append(
                f"paper's spread slots were full then ({len(held)} open, max_open_spreads "
                f"{self.max_open_spreads})"
            )
        near = self._nearest(self.paper, b)
        if near is not None and not same:
            reasons.append(near)
        reasons += _blocks_text("paper log", self.paper_blocks, b.pair_id, b.entry_at)
        if math.isfinite(b.entry_z):
            reasons.append(
                f"candle timing: z at the signal candle's close was {b.entry_z:+.2f}; paper "
                "judged live z within the candles and did not enter within "
                f"{self.tolerance_candles} candles"
            )
        if b.exit_reason == "force_exit":
            reasons.append(self._backtest_end())
        return tuple(reasons) or ("no paper spread of this pair and direction near it",)

    def _nearest(self, others: Sequence[SpreadRun], run: SpreadRun) -> str | None:
        """The other run's closest spread of the same pair, when there is one."""
        same = [o for o in others if o.pair_id == run.pair_id and o is not run and not o.forced]
        if not same:
            return None
        other = min(same, key=lambda o: abs(o.entry_at - run.entry_at))
        side = "backtest" if others is self.backtest else "paper"
        counted = self.period.start <= other.entry_at <= self.period.end
        return (
            f"nearest {side} {other.pair_id} spread: {other.direction}, entered "
            f"{other.entry_at:%Y-%m-%d %H:%M} ({self._candles(other.entry_at - run.entry_at)}"
            + ("" if counted else ", outside the period: not counted")
            + ")"
        )


def _one_leg(run: SpreadRun, side: str) -> list[str]:
    if run.legs >= 2:
        return []
    held = ", ".join(sorted(run.entry_price)) or "?"
    return [f"one leg only: {side} traded leg {held} of this spread (its twin never filled)"]


def _z_at_signal(p: SpreadRun) -> str | None:
    """What the closed candles said at paper's decision: beyond its entry threshold or not."""
    if not math.isfinite(p.entry_z):
        return None
    threshold = p.entry_threshold
    if threshold is None:
        return f"z at the signal candle's close was {p.entry_z:+.2f} on the candles"
    if abs(p.entry_z) >= threshold:
        return (
            f"z at the signal candle's close was {p.entry_z:+.2f}, beyond the entry threshold "
            f"{threshold:g}: the candles called for this entry too"
        )
    return (
        f"candle timing: z at the signal candle's close was {p.entry_z:+.2f}, inside the entry "
        f"threshold {threshold:g}: paper entered on its live z within the candle"
    )


def _blocks_text(
    source: str, events: Sequence[BlockEvent], pair_id: str, at: datetime | None
) -> list[str]:
    """The pair's entry blocks: at a moment (paper's log, wall clock), or over the whole run
    (a backtest's log, whose times are not candle times)."""
    mine = [e for e in events if e.pair_id == pair_id]
    if at is not None:
        before = [e for e in mine if e.at is not None and e.at <= at]
        if before and before[-1].blocked_by:
            last = before[-1]
            return [
                f"{source}: {pair_id} entries blocked by={','.join(last.blocked_by)} since "
                f"{last.at:%H:%M:%S} ({last.reason})"
            ]
        return []
    if not mine:
        return []
    last = mine[-1]
    if last.blocked_by:
        return [
            f"{source}: {pair_id} entries blocked by={','.join(last.blocked_by)} and not lifted "
            f"before the run ended ({last.reason})"
        ]
    kinds = sorted({k for e in mine for k in e.blocked_by})
    return [f"{source}: {pair_id} entries blocked at times by={','.join(kinds)}"] if kinds else []


def _overlaps(run: SpreadRun, moment: datetime, period_end: datetime) -> bool:
    return run.entry_at <= moment < (run.exit_at or period_end)


def _z_text(template: str, a: float, b: float) -> str:
    if math.isfinite(a) and math.isfinite(b):
        return template.format(f"{a:+.2f}", f"{b:+.2f}")
    return ""


def _money_split(p: SpreadRun, b: SpreadRun) -> list[str]:
    if p.net_usdt is None or b.net_usdt is None:
        return []
    parts = [
        (name, mine, theirs)
        for name, mine, theirs in (
            ("gross", p.gross_usdt, b.gross_usdt),
            ("fees", p.fees_usdt, b.fees_usdt),
            ("funding", p.funding_usdt, b.funding_usdt),
        )
        if mine is not None and theirs is not None and abs(mine - theirs) >= 0.005
    ]
    if not parts:
        return []
    split = ", ".join(f"{name} {mine - theirs:+.2f}" for name, mine, theirs in parts)
    return [f"money: paper − backtest net {p.net_usdt - b.net_usdt:+.2f} USDT ({split})"]

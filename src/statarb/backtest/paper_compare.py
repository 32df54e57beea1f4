"""Backtest vs paper, side by side: the same pairs over the same period, spread by spread.

Paper trading is the first place the bot meets prices it did not see in a backtest. Its net
alone says little: what says whether the backtest can be trusted is whether the SAME spreads
were traded, and where one run traded a spread the other did not, why. The comparison:

1. reads a dry-run's FreqTrade database read-only (plain SQL, as `statarb.recovery.db_reader`)
   and joins its legs into spreads by their `LegTag` (custom data "spread")
   (`statarb.backtest.paper_db`; the backtest's spreads: `statarb.backtest.paper_backtest`);
2. finds the paper run's period (first entry .. last exit, or the moment the comparison runs
   when a spread is still open) and a FreqTrade timerange that covers it (here);
3. matches paper and backtest spreads one to one (pair id, direction, first entry within a
   tolerance of a few candles; a forced paper entry is never matched: a backtest has none)
   (`statarb.backtest.paper_match`);
4. names, from the data only, why a spread differs: fills (maker/taker, prices, fees), candle
   timing (intra-candle decisions on live prices vs closed candles), exit reasons, forced
   entries, spreads open at the end, the backtest's range (`statarb.backtest.paper_match`,
   entry blocks from the logs: `statarb.backtest.entry_blocks`).

This module holds what those share: the spreads (`SpreadRun`), the period, the matches and the
comparison with its text table, and the period's timerange and one-period schedule. They
import it; it imports none of them.

Pure: no FreqTrade import here; `compare_paper_run` imports the offline backtest when it runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from statarb.atomic import atomic_write_json
from statarb.pairs_config import PairsConfig, PairsSchedule, SchedulePeriod

DEFAULT_TOLERANCE_CANDLES = 3
BOTH, PAPER_ONLY, BACKTEST_ONLY = "in both", "paper only", "backtest only"


class PaperDbError(RuntimeError):
    """The paper database cannot be read as a FreqTrade database; the message says why."""


@dataclass(frozen=True)
class SpreadRun:
    """One spread as one run (paper or backtest) traded it; money in USDT, None while open."""

    spread_id: str
    pair_id: str
    direction: str  # "long" / "short" spread
    entry_at: datetime  # first entry fill (paper) or the entry candle's open (backtest)
    decided_at: datetime  # the signal candle's open, or the second of a forced entry
    exit_at: datetime | None  # None: still open at the end of the paper period
    exit_reason: str | None
    legs: int
    forced: bool = False
    net_usdt: float | None = None
    gross_usdt: float | None = None
    fees_usdt: float | None = None
    funding_usdt: float | None = None
    fills: int = 0
    maker_fills: int = 0
    entry_z: float = math.nan  # z at the decision candle's close, from the candles
    exit_z: float = math.nan
    entry_threshold: float | None = None  # |z| the spread was entered beyond (its LegTag's)
    # Quantity-weighted fill prices per leg ("A" / "B"): what the fill model charged.
    entry_price: Mapping[str, float] = field(default_factory=dict)
    exit_price: Mapping[str, float] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.exit_at is None

    def to_json(self) -> dict[str, Any]:
        return {name: _plain(value) for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class Period:
    """[start, end] of what is compared; `open_end` when a paper spread was still open."""

    start: datetime
    end: datetime
    open_end: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "open_end": self.open_end}  # fmt: skip


@dataclass(frozen=True)
class Match:
    status: str  # BOTH / PAPER_ONLY / BACKTEST_ONLY
    paper: SpreadRun | None
    backtest: SpreadRun | None
    reasons: tuple[str, ...] = ()

    @property
    def pair_id(self) -> str:
        run = self.paper or self.backtest
        assert run is not None
        return run.pair_id

    @property
    def entry_at(self) -> datetime:
        run = self.paper or self.backtest
        assert run is not None
        return run.entry_at

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "pair_id": self.pair_id,
            "paper": None if self.paper is None else self.paper.to_json(),
            "backtest": None if self.backtest is None else self.backtest.to_json(),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class PaperComparison:
    period: Period  # the paper run's
    backtest_range: tuple[datetime, datetime] | None  # [start, end) FreqTrade backtested
    tolerance_candles: int
    timeframe: str
    matches: tuple[Match, ...]
    excluded_backtest: tuple[SpreadRun, ...] = ()  # outside the paper period: not counted
    notes: tuple[str, ...] = ()

    @property
    def covered(self) -> tuple[datetime, datetime] | None:
        """The part of the paper period the backtest's candles cover too."""
        if self.backtest_range is None:
            return None
        start = max(self.period.start, self.backtest_range[0])
        end = min(self.period.end, self.backtest_range[1])
        return (start, end) if end > start else None

    def count(self, status: str) -> int:
        return sum(1 for m in self.matches if m.status == status)

    def totals(self) -> dict[str, Any]:
        """Spread counts and closed spreads' net per side (open spreads have no net)."""
        paper = [m.paper for m in self.matches if m.paper is not None]
        backtest = [m.backtest for m in self.matches if m.backtest is not None]
        both = [m for m in self.matches if m.status == BOTH]
        # Nets compared only where both runs closed the spread (an open paper spread has none).
        closed = [
            m for m in both
            if m.paper and m.backtest and m.paper.net_usdt is not None
            and m.backtest.net_usdt is not None
        ]  # fmt: skip
        return {
            "paper_spreads": len(paper),
            "paper_open_at_end": sum(1 for s in paper if s.is_open),
            "paper_forced": sum(1 for s in paper if s.forced),
            "paper_net_usdt": _net(paper),
            "backtest_spreads": len(backtest),
            "backtest_net_usdt": _net(backtest),
            "in_both": len(both),
            "paper_only": self.count(PAPER_ONLY),
            "backtest_only": self.count(BACKTEST_ONLY),
            "in_both_closed": len(closed),
            "in_both_paper_net_usdt": _net(m.paper for m in closed),
            "in_both_backtest_net_usdt": _net(m.backtest for m in closed),
            "backtest_excluded_outside_period": len(self.excluded_backtest),
        }

    def to_json(self) -> dict[str, Any]:
        covered = self.covered
        return {
            "timeframe": self.timeframe,
            "paper_period": self.period.to_json(),
            "backtest_range": None if self.backtest_range is None else {
                "start": self.backtest_range[0].isoformat(),
                "end": self.backtest_range[1].isoformat(),
            },
            "both_cover": None if covered is None else {
                "start": covered[0].isoformat(), "end": covered[1].isoformat(),
            },
            "tolerance_candles": self.tolerance_candles,
            "totals": self.totals(),
            "matches": [m.to_json() for m in self.matches],
            "excluded_backtest": [s.to_json() for s in self.excluded_backtest],
            "notes": list(self.notes),
        }  # fmt: skip

    def table(self) -> str:
        """The side-by-side table, totals and each difference's reasons, as text."""
        return render_table(self)

    def write_json(self, path: Path) -> None:
        atomic_write_json(path, self.to_json())


# ------------------------------------------------------------------------------ period
def paper_period(
    spreads: Sequence[SpreadRun],
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Period:
    """First entry .. last exit, or `now` while a spread is open; `since`/`until` override
    (e.g. when the bot started and stopped: the log knows, the database does not)."""
    if not spreads and (since is None or until is None):
        raise PaperDbError("the paper database holds no spread: give --since and --until")
    open_end = any(s.is_open for s in spreads)
    start = since or min(s.entry_at for s in spreads)
    exits = [s.exit_at for s in spreads if s.exit_at is not None]
    end = until or (now if open_end or not exits else max(exits))
    if end <= start:
        raise PaperDbError(f"the period {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} is empty")
    return Period(start, end, open_end and until is None)


def backtest_timerange(
    period: Period, *, timeframe_minutes: int, tolerance_candles: int, warmup_candles: int = 0
) -> str:
    """FreqTrade's unix-second timerange covering the period (YYYYMMDD would add whole days):
    from `tolerance` candles before the first entry's candle (a backtest entry that early may
    still match it), or `warmup_candles` when more (the running paper bot's trailing re-test
    had a verdict before its first entry; a backtest starting there would not), to the candle
    after the end (the backtest enters at candle opens; FreqTrade stops before `end`)."""
    step = timeframe_minutes * 60
    start = (
        int(period.start.timestamp()) // step * step - max(tolerance_candles, warmup_candles) * step
    )
    end = -(-int(period.end.timestamp()) // step) * step + step
    return f"{start}-{end}"


def trading_schedule(
    pairs: PairsConfig, period: Period, *, timeframe_minutes: int, tolerance_candles: int
) -> PairsSchedule | None:
    """The pairs file as a one-period schedule that trades from the period's first candle
    (less the matching tolerance) on: the warm-up before it computes indicators and the
    re-test but opens nothing, as the paper bot, not yet running, opened nothing then (a
    backtest spread entered in the warm-up would hold the pair when paper's first entry
    came). Never before the scan window's end; None when the pairs were chosen after the
    period's first candle (no causal schedule exists)."""
    step_s = timeframe_minutes * 60
    first = datetime.fromtimestamp(int(period.start.timestamp()) // step_s * step_s, tz=UTC)
    window = pairs.scan_window
    if window is None:
        return None
    # Never before the first candle the scan did not see (as a live re-scan takes over).
    # The scan's end can fall mid-second (a paper market ends "now"): round up its whole
    # timestamp, not its truncated seconds, or the first candle is one the scan saw part of.
    chosen = datetime.fromtimestamp(math.ceil(window.end.timestamp() / step_s) * step_s, tz=UTC)
    valid_from = max(first - timedelta(seconds=tolerance_candles * step_s), chosen)
    if valid_from > first:
        return None
    return PairsSchedule(
        generated_at=pairs.generated_at,
        timeframe=pairs.timeframe,
        periods=[SchedulePeriod(valid_from=valid_from, config=pairs)],
    )


def _net(runs: Iterable[SpreadRun | None]) -> float:
    return float(sum(r.net_usdt for r in runs if r is not None and r.net_usdt is not None))


# ------------------------------------------------------------------------------ text
def _when(moment: datetime | None) -> str:
    return "open" if moment is None else moment.strftime("%m-%d %H:%M:%S")


def _usdt(value: float | None) -> str:
    return "–" if value is None else f"{value:+.2f}"


def render_table(comparison: PaperComparison) -> str:
    period = comparison.period
    lines = [
        f"paper period: {period.start:%Y-%m-%d %H:%M:%S} .. {period.end:%Y-%m-%d %H:%M:%S} UTC"
        + (" (a spread still open: up to now)" if period.open_end else ""),
    ]
    if comparison.backtest_range is not None:
        start, end = comparison.backtest_range
        lines.append(f"backtest range: {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC "
                     f"({comparison.timeframe} candles)")  # fmt: skip
    covered = comparison.covered
    lines.append(
        "both cover: "
        + (
            f"{covered[0]:%Y-%m-%d %H:%M:%S} .. {covered[1]:%Y-%m-%d %H:%M:%S} UTC"
            if covered
            else "nothing"
        )
        + f"; matched on pair, direction and first entry within ±{comparison.tolerance_candles} "
        "candles"
    )
    header = ("pair", "dir", "paper entry", "paper exit", "bt entry", "bt exit", "paper net",
              "bt net", "status")  # fmt: skip
    rows = [header]
    for m in comparison.matches:
        p, b = m.paper, m.backtest
        run = p or b
        assert run is not None
        rows.append(
            (
                m.pair_id + (" (forced)" if p is not None and p.forced else ""),
                run.direction,
                _when(p.entry_at) if p else "",
                (_when(p.exit_at) + (f" {p.exit_reason}" if p.exit_reason else "")) if p else "",
                _when(b.entry_at) if b else "",
                (_when(b.exit_at) + (f" {b.exit_reason}" if b.exit_reason else "")) if b else "",
                _usdt(p.net_usdt) if p else "",
                _usdt(b.net_usdt) if b else "",
                m.status,
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    totals = comparison.totals()
    lines += [
        "",
        f"paper: {totals['paper_spreads']} spreads ({totals['paper_open_at_end']} open at the end, "
        f"{totals['paper_forced']} forced), net {totals['paper_net_usdt']:+.2f} USDT (closed "
        "spreads)",
        f"backtest: {totals['backtest_spreads']} spreads in the period, net "
        f"{totals['backtest_net_usdt']:+.2f} USDT; {totals['backtest_excluded_outside_period']} "
        "outside the paper period not counted",
        f"in both: {totals['in_both']} ({totals['in_both_closed']} closed in both: net paper "
        f"{totals['in_both_paper_net_usdt']:+.2f} vs backtest "
        f"{totals['in_both_backtest_net_usdt']:+.2f} USDT); paper only: "
        f"{totals['paper_only']}; backtest only: {totals['backtest_only']}",
    ]
    differing = [m for m in comparison.matches if m.reasons]
    if differing:
        lines += ["", "differences:"]
        for m in differing:
            run = m.paper or m.backtest
            assert run is not None
            lines.append(f"- {m.pair_id} {run.direction} {_when(m.entry_at)} ({m.status}):")
            lines += [f"    {reason}" for reason in m.reasons]
    if comparison.notes:
        lines += ["", *[f"note: {note}" for note in comparison.notes]]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ helpers
def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return dict(value)
    return value

"""Backtest vs paper: the matching of spreads, the period and the reasons, on hand-made spreads.

A comparison that pairs the wrong spreads (another direction, a spread far away in time, one
paper spread with two backtest spreads, a person's forced entry with a signal) makes the
backtest look confirmed by paper when it is not — the misleading result that sizes money.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from statarb.backtest.entry_blocks import read_entry_blocks
from statarb.backtest.paper_compare import (
    BACKTEST_ONLY,
    BOTH,
    PAPER_ONLY,
    PaperComparison,
    PaperDbError,
    Period,
    SpreadRun,
    backtest_timerange,
    paper_period,
    trading_schedule,
)
from statarb.backtest.paper_db import paper_spreads, read_paper_legs
from statarb.backtest.paper_match import match_spreads
from statarb.pairs_config import PairEntry, PairsConfig, ScanWindow
from statarb.recovery.tradedb import OrderSpec, TradeSpec, write_trades
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def spread(
    pair_id: str = "SOL_ADA",
    *,
    at: datetime = T0,
    direction: str = "long",
    minutes: float = 30,
    net: float | None = 1.0,
    forced: bool = False,
    open_at_end: bool = False,
    exit_reason: str = "exit_signal",
) -> SpreadRun:
    decided = at.replace(second=0) - MINUTE
    return SpreadRun(
        spread_id=f"{pair_id}@{decided:%Y-%m-%dT%H:%M:%SZ}",
        pair_id=pair_id,
        direction=direction,
        entry_at=at,
        decided_at=at if forced else decided,
        exit_at=None if open_at_end else at + timedelta(minutes=minutes),
        exit_reason=None if open_at_end else exit_reason,
        legs=2,
        forced=forced,
        net_usdt=None if open_at_end else net,
        gross_usdt=None if open_at_end else net,
        fees_usdt=None if open_at_end else 0.0,
        funding_usdt=None if open_at_end else 0.0,
        fills=4,
    )


def match(
    paper: list[SpreadRun], backtest: list[SpreadRun], *, tolerance: int = 3
) -> PaperComparison:
    period = paper_period(paper, now=T0 + timedelta(hours=6))
    matches, excluded = match_spreads(
        paper,
        backtest,
        period=period,
        timeframe_minutes=1,
        tolerance_candles=tolerance,
        backtest_range=(T0 - timedelta(days=1), T0 + timedelta(days=1)),
        max_open_spreads=2,
    )
    return PaperComparison(period, (T0 - timedelta(days=1), T0 + timedelta(days=1)), tolerance,
                           "1m", matches, excluded)  # fmt: skip


def statuses(comparison: PaperComparison) -> list[tuple[str, str | None, str | None]]:
    return [
        (m.status, m.paper and m.paper.spread_id, m.backtest and m.backtest.spread_id)
        for m in comparison.matches
    ]


def test_a_backtest_spread_within_the_tolerance_is_the_same_spread() -> None:
    paper = spread(at=T0 + 2 * MINUTE + timedelta(seconds=7))
    backtest = spread(at=T0)
    result = match([paper], [backtest])
    assert statuses(result) == [(BOTH, paper.spread_id, backtest.spread_id)]
    assert any("candle timing" in r for r in result.matches[0].reasons)


def test_a_backtest_spread_beyond_the_tolerance_is_another_spread() -> None:
    """Guards against: crediting the backtest with a paper spread it entered much later."""
    paper = spread(at=T0 + 4 * MINUTE)
    backtest = spread(at=T0 + 10 * MINUTE)
    result = match([paper], [backtest])
    assert [m.status for m in result.matches] == [PAPER_ONLY, BACKTEST_ONLY]
    assert result.totals()["in_both"] == 0


def test_the_direction_must_match() -> None:
    """Guards against: a long spread in paper 'confirmed' by a short one in the backtest."""
    result = match([spread(direction="long")], [spread(direction="short")])
    assert sorted(m.status for m in result.matches) == [BACKTEST_ONLY, PAPER_ONLY]


def test_the_pair_must_match() -> None:
    result = match([spread("SOL_ADA")], [spread("ETH_XRP")])
    assert sorted(m.status for m in result.matches) == [BACKTEST_ONLY, PAPER_ONLY]


def test_one_paper_spread_is_never_matched_twice_and_the_closest_wins() -> None:
    """Guards against: two backtest spreads both counted as agreeing with one paper spread."""
    earlier = spread("ETH_XRP", at=T0 - 30 * MINUTE)  # the period starts with it
    paper = spread(at=T0 + 2 * MINUTE)
    far, near = spread(at=T0), spread(at=T0 + 3 * MINUTE)
    result = match([earlier, paper], [far, near])
    assert statuses(result)[1:] == [
        (BACKTEST_ONLY, None, far.spread_id),
        (BOTH, paper.spread_id, near.spread_id),
    ]


def test_one_backtest_spread_is_never_matched_twice() -> None:
    first, second = spread(at=T0), spread(at=T0 + 2 * MINUTE, minutes=5)
    backtest = spread(at=T0 + 1 * MINUTE + timedelta(seconds=30))
    result = match([first, second], [backtest])
    assert [m.status for m in result.matches].count(BOTH) == 1
    assert [m.status for m in result.matches].count(PAPER_ONLY) == 1


def test_a_forced_entry_is_never_matched_and_is_named_as_forced() -> None:
    """Guards against: a person's forceenter counted as the strategy agreeing with itself."""
    # one leg: a forced leg whose twin did not follow is still a forced entry, first
    forced = dataclasses.replace(spread(at=T0 + timedelta(seconds=17), forced=True), legs=1)
    result = match([forced], [spread(at=T0 + MINUTE)])
    paper_row = next(m for m in result.matches if m.paper is not None)
    assert paper_row.status == PAPER_ONLY
    assert paper_row.reasons[0].startswith("forced entry")
    assert any(r.startswith("one leg only") for r in paper_row.reasons)
    backtest_row = next(m for m in result.matches if m.backtest is not None)
    assert backtest_row.status == BACKTEST_ONLY
    assert any("paper held its own SOL_ADA" in r and "forced" in r for r in backtest_row.reasons)
    assert result.totals()["paper_forced"] == 1


def test_a_spread_open_at_the_end_has_no_net_and_ends_the_period_now() -> None:
    """Guards against: an open paper spread's unknown result summed as zero or as a win."""
    closed = spread(at=T0, net=2.5)
    still_open = spread("ETH_XRP", at=T0 + 40 * MINUTE, open_at_end=True)
    backtest = spread("ETH_XRP", at=T0 + 40 * MINUTE, net=-1.0, exit_reason="force_exit")
    result = match([closed, still_open], [backtest])
    assert result.period == Period(T0, T0 + timedelta(hours=6), open_end=True)
    row = next(m for m in result.matches if m.pair_id == "ETH_XRP")
    assert row.status == BOTH
    assert any(r.startswith("open at the end") and "force_exit" in r for r in row.reasons)
    totals = result.totals()
    assert totals["paper_open_at_end"] == 1
    assert totals["paper_net_usdt"] == pytest.approx(2.5)  # the open spread adds nothing
    # nor is the backtest's forced close of its twin set against paper's unknown result
    assert (totals["in_both"], totals["in_both_closed"]) == (1, 0)
    assert totals["in_both_backtest_net_usdt"] == 0.0
    assert "open" in result.table()


def test_backtest_spreads_outside_the_paper_period_are_not_counted() -> None:
    """Guards against: a backtest's profits from hours paper never traded set against paper."""
    paper = [spread(at=T0), spread("ETH_XRP", at=T0 + 60 * MINUTE)]
    before = spread("SOL_ADA", at=T0 - 90 * MINUTE, net=50.0)
    after = spread("SOL_ADA", at=T0 + 200 * MINUTE, net=50.0)
    early_twin = spread("ETH_XRP", at=T0 + 59 * MINUTE)
    result = match(paper, [before, early_twin, after])
    assert {s.spread_id for s in result.excluded_backtest} == {before.spread_id, after.spread_id}
    assert result.totals()["backtest_net_usdt"] == pytest.approx(1.0)
    assert result.totals()["backtest_excluded_outside_period"] == 2


def test_a_backtest_spread_just_before_the_period_counts_only_when_matched() -> None:
    paper = spread(at=T0 + timedelta(seconds=40))
    twin = spread(at=T0 - 2 * MINUTE)
    assert statuses(match([paper], [twin])) == [(BOTH, paper.spread_id, twin.spread_id)]
    other = spread("ETH_XRP", at=T0 - 2 * MINUTE)
    result = match([paper], [other])
    assert [m.status for m in result.matches] == [PAPER_ONLY]
    assert result.excluded_backtest == (other,)


def test_the_timerange_is_unix_seconds_covering_the_period_and_the_tolerance() -> None:
    """FreqTrade's YYYYMMDD granularity would backtest whole days paper never traded."""
    period = Period(T0 + timedelta(seconds=31), T0 + timedelta(minutes=95, seconds=5))
    timerange = backtest_timerange(period, timeframe_minutes=5, tolerance_candles=3)
    start, end = (datetime.fromtimestamp(int(x), tz=UTC) for x in timerange.split("-"))
    assert start == T0 - timedelta(minutes=15)
    assert end == T0 + timedelta(minutes=105)


def test_an_empty_database_needs_an_explicit_period() -> None:
    with pytest.raises(PaperDbError, match="--since"):
        paper_period([], now=T0)
    assert paper_period([], now=T0, since=T0 - MINUTE, until=T0).start == T0 - MINUTE


def test_the_json_is_plain_and_carries_the_reasons(tmp_path: Path) -> None:
    result = match([spread(at=T0 + 2 * MINUTE, net=3.0)], [spread(at=T0, net=1.0)])
    out = tmp_path / "match.json"
    result.write_json(out)
    data = json.loads(out.read_text())
    assert data["totals"]["in_both"] == 1
    assert data["matches"][0]["status"] == BOTH
    assert any(r.startswith("money: paper") for r in data["matches"][0]["reasons"])
    assert data["both_cover"]["start"] == data["paper_period"]["start"]


# ------------------------------------------------------------------ a FreqTrade-built DB
def leg(pair: str, role: Leg, *, is_short: bool, opened_at: datetime, direction: int) -> LegTag:
    return LegTag(
        pair_id="SOL_ADA", opened_at=opened_at, leg=role, direction=direction, hedge_ratio=180.0,
        leg_a="SOL/USDT:USDT", leg_b="ADA/USDT:USDT", window=50,
        planned_qty=10.0 if role is Leg.A else 1800.0,
    )  # fmt: skip


def trade(
    pair: str, tag: LegTag, *, qty: float, open_rate: float, close_rate: float | None,
    is_short: bool, enter_tag: str, open_date: datetime, number: int,
) -> TradeSpec:  # fmt: skip
    entry_side, exit_side = ("sell", "buy") if is_short else ("buy", "sell")
    orders = [OrderSpec(f"e{number}", entry_side, qty, qty, open_rate)]
    close_date = None
    if close_rate is not None:
        close_date = open_date + timedelta(minutes=20)
        orders.append(OrderSpec(f"x{number}", exit_side, qty, qty, close_rate, is_entry=False))
    return TradeSpec(
        pair=pair, is_short=is_short, qty_base=qty, open_rate=open_rate, open_date=open_date,
        enter_tag=enter_tag, is_open=close_rate is None, close_date=close_date,
        close_rate=close_rate, orders=orders, tag=tag,
    )  # fmt: skip


def test_a_freqtrade_database_is_read_into_spreads_with_forced_entries_named(
    tmp_path: Path,
) -> None:
    """The real schema (FreqTrade's own models): legs joined by their tag, the net from the
    fills, a forceenter spread flagged, a spread with an open leg open."""
    db = tmp_path / "paper_trading.db"
    signal = T0 - MINUTE
    forced_at = T0 + timedelta(hours=1, seconds=13)
    a = leg("SOL/USDT:USDT", Leg.A, is_short=False, opened_at=signal, direction=1)
    b = leg("ADA/USDT:USDT", Leg.B, is_short=True, opened_at=signal, direction=1)
    fa = leg("SOL/USDT:USDT", Leg.A, is_short=True, opened_at=forced_at, direction=-1)
    fb = leg("ADA/USDT:USDT", Leg.B, is_short=False, opened_at=forced_at, direction=-1)
    entered = T0 + timedelta(seconds=3)
    write_trades(
        db,
        [
            trade(
                "SOL/USDT:USDT",
                a,
                qty=10,
                open_rate=100.0,
                close_rate=101.0,
                is_short=False,
                enter_tag="SOL_ADA",
                open_date=entered,
                number=1,
            ),
            trade(
                "ADA/USDT:USDT",
                b,
                qty=1800,
                open_rate=0.5,
                close_rate=0.5,
                is_short=True,
                enter_tag="SOL_ADA",
                open_date=entered,
                number=2,
            ),
            trade(
                "SOL/USDT:USDT",
                fa,
                qty=10,
                open_rate=100.0,
                close_rate=None,
                is_short=True,
                enter_tag="force_entry",
                open_date=forced_at,
                number=3,
            ),
            trade(
                "ADA/USDT:USDT",
                fb,
                qty=1800,
                open_rate=0.5,
                close_rate=None,
                is_short=False,
                enter_tag="SOL_ADA",
                open_date=forced_at,
                number=4,
            ),
        ],
    )
    runs = paper_spreads(read_paper_legs(db), timeframe_minutes=1)
    assert [(r.direction, r.forced, r.is_open) for r in runs] == [
        ("long", False, False),
        ("short", True, True),
    ]
    closed = runs[0]
    fees = (10 * 100.0 + 1800 * 0.5 + 10 * 101.0 + 1800 * 0.5) * 0.0005  # tradedb's rates
    assert closed.net_usdt == pytest.approx(10.0 - fees)
    assert closed.entry_price == {"A": 100.0, "B": 0.5}
    assert closed.exit_price == {"A": 101.0, "B": 0.5}
    assert runs[1].net_usdt is None


def test_a_file_that_is_not_a_freqtrade_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PaperDbError, match="no such"):
        read_paper_legs(tmp_path / "missing.db")
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    with pytest.raises(PaperDbError, match="not a FreqTrade database"):
        read_paper_legs(other)


def test_the_backtest_warms_up_before_the_period_and_counts_nothing_there() -> None:
    """The paper bot ran before its first entry (its re-test had a verdict); a backtest
    starting at that entry would refuse it with "no verdict yet" — the comparison would blame
    the backtest's rules for its cold start."""
    period = Period(T0 + timedelta(seconds=31), T0 + timedelta(minutes=20))
    timerange = backtest_timerange(
        period, timeframe_minutes=1, tolerance_candles=3, warmup_candles=500
    )
    start = datetime.fromtimestamp(int(timerange.split("-")[0]), tz=UTC)
    assert start == T0 - timedelta(minutes=500)
    paper = spread(at=T0 + timedelta(seconds=31))
    warmup_spread = spread(at=T0 - timedelta(minutes=200), net=40.0)
    result = match([paper], [warmup_spread])
    assert result.excluded_backtest == (warmup_spread,)
    assert result.totals()["backtest_net_usdt"] == 0.0


BACKTEST_LOG = """\
2026-12-04 22:35:41,043 - CointPairsStrategy - INFO - [STRATEGY] SOL_ADA entries blocked \
by=retest reason="trailing re-test has no verdict yet (it needs 500 candles of the spread)"
2026-12-04 22:35:41,043 - CointPairsStrategy - INFO - [STRATEGY] ETH_XRP entries blocked \
by=cost reason="too small to pay its costs"
2026-12-04 22:35:42,100 - CointPairsStrategy - INFO - [STRATEGY] ETH_XRP entries unblocked \
was=cost
"""
PAPER_LOG = """\
2026-03-02 10:20:00,000 - CointPairsStrategy - INFO - [STRATEGY] SOL_ADA entries blocked \
by=cooldown reason="z stop cool-down until 11:00"
2026-03-02 10:50:00,000 - CointPairsStrategy - INFO - [STRATEGY] SOL_ADA entries unblocked \
was=cooldown
"""


def test_entry_blocks_from_the_logs_are_named_as_reasons() -> None:
    """A spread one run refused because of a block (a cold re-test, the cost gate, a stop's
    cool-down) must say so, not be put down to candle timing."""
    events = read_entry_blocks(BACKTEST_LOG)
    assert [(e.pair_id, e.blocked_by) for e in events] == [
        ("SOL_ADA", ("retest",)),
        ("ETH_XRP", ("cost",)),
        ("ETH_XRP", ()),
    ]
    paper = [spread(at=T0), spread("ETH_XRP", at=T0 + 5 * MINUTE)]
    period = paper_period(paper, now=T0 + timedelta(hours=1))
    backtest = [spread(at=T0 + 30 * MINUTE)]  # paper was cooling down SOL_ADA then
    matches, _ = match_spreads(
        paper, backtest, period=period, timeframe_minutes=1,
        paper_blocks=read_entry_blocks(PAPER_LOG), backtest_blocks=events,
    )  # fmt: skip
    by_status = {(m.status, m.pair_id): m.reasons for m in matches}
    assert any(
        "backtest log: SOL_ADA entries blocked by=retest and not lifted" in r
        for r in by_status[(PAPER_ONLY, "SOL_ADA")]
    )
    assert any(
        "backtest log: ETH_XRP entries blocked at times by=cost" in r
        for r in by_status[(PAPER_ONLY, "ETH_XRP")]
    )
    assert any(
        r.startswith("paper log: SOL_ADA entries blocked by=cooldown since 10:20:00")
        for r in by_status[(BACKTEST_ONLY, "SOL_ADA")]
    )


def test_a_paper_only_entry_says_whether_the_candles_called_for_it() -> None:
    beyond = dataclasses.replace(spread(), entry_z=-2.9, entry_threshold=2.0)
    inside = dataclasses.replace(spread("ETH_XRP"), entry_z=1.6, entry_threshold=2.0)
    result = match([beyond, inside], [])
    reasons = {m.pair_id: " ".join(m.reasons) for m in result.matches}
    assert (
        "beyond the entry threshold 2: the candles called for this entry too" in reasons["SOL_ADA"]
    )
    assert "inside the entry threshold 2: paper entered on its live z" in reasons["ETH_XRP"]


def test_a_spread_whose_twin_never_filled_is_closed_and_says_it_had_one_leg(
    tmp_path: Path,
) -> None:
    """Guards against: a lone leg's loss shown as a spread still open (no net) or as a spread."""
    db = tmp_path / "paper_trading.db"
    a = leg("SOL/USDT:USDT", Leg.A, is_short=False, opened_at=T0 - MINUTE, direction=1)
    write_trades(
        db,
        [
            trade(
                "SOL/USDT:USDT",
                a,
                qty=10,
                open_rate=100.0,
                close_rate=99.0,
                is_short=False,
                enter_tag="SOL_ADA",
                open_date=T0,
                number=1,
            ),
        ],
    )
    (lone,) = paper_spreads(read_paper_legs(db), timeframe_minutes=1)
    assert lone.legs == 1 and not lone.is_open and lone.net_usdt is not None
    result = match([lone], [])
    assert any(r.startswith("one leg only: paper traded leg A") for r in result.matches[0].reasons)


def test_a_paper_entry_at_the_end_of_the_candles_says_the_backtest_had_none_left() -> None:
    """Candles downloaded right after paper's last entry end before the backtest's entry (it
    decides on closed candles, often a candle later): that is the data's end, not the rules."""
    paper = spread(at=T0 + timedelta(seconds=26))
    period = paper_period([paper], now=T0 + timedelta(hours=1))
    matches, _ = match_spreads(
        [paper], [], period=period, timeframe_minutes=1,
        backtest_range=(T0 - timedelta(hours=8), T0 + MINUTE),
    )  # fmt: skip
    assert any(
        r.startswith("the backtest's candles end 0.6 candles after this entry")
        for r in matches[0].reasons
    ), matches[0].reasons


def test_the_backtest_opens_nothing_before_paper_could() -> None:
    """A spread the backtest entered in its warm-up (before the paper bot ran) would hold the
    pair when paper's first entry came, and the one spread both traded would show as two
    unmatched ones: the backtest trades from the period's first candle (less the tolerance)."""
    pair = PairEntry(
        pair_id="SOL_ADA",
        leg_a="SOL/USDT:USDT",
        leg_b="ADA/USDT:USDT",
        hedge_ratio=180.0,
        cointegration_stat=-6.0,
        pvalue=1e-6,
        entry_size_leg_a=1.0,
        entry_size_leg_b=180.0,
        last_updated=T0,
    )
    chosen = PairsConfig(
        generated_at=T0,
        timeframe="1m",
        scan_window=ScanWindow(start=T0 - timedelta(days=2), end=T0),
        pairs=[pair],
    )
    period = Period(T0 + timedelta(minutes=10, seconds=40), T0 + timedelta(minutes=30))
    schedule = trading_schedule(chosen, period, timeframe_minutes=1, tolerance_candles=3)
    assert schedule is not None
    assert schedule.periods[0].valid_from == T0 + timedelta(minutes=7)
    assert schedule.periods[0].config == chosen
    # Paper's first entry a minute after the pairs were chosen: from the scan's end on.
    soon = Period(T0 + timedelta(minutes=1, seconds=5), T0 + timedelta(minutes=30))
    schedule = trading_schedule(chosen, soon, timeframe_minutes=1, tolerance_candles=3)
    assert schedule is not None and schedule.periods[0].valid_from == T0
    # Pairs chosen on candles after paper's first entry: no causal schedule, the caller says so.
    early = Period(T0 - timedelta(minutes=5), T0 + timedelta(minutes=30))
    assert trading_schedule(chosen, early, timeframe_minutes=1, tolerance_candles=3) is None


def test_pairs_scanned_up_to_a_mid_second_moment_trade_from_the_next_whole_candle() -> None:
    """A paper market ends "now", so the scan's window ends mid-second (01:10:00.76): the
    schedule must start at 01:11, not at 01:10 — a candle the scan saw part of is look-ahead,
    and the comparison refused to run at all (seen in CI)."""
    pair = PairEntry(
        pair_id="SOL_ADA",
        leg_a="SOL/USDT:USDT",
        leg_b="ADA/USDT:USDT",
        hedge_ratio=180.0,
        cointegration_stat=-6.0,
        pvalue=1e-6,
        entry_size_leg_a=1.0,
        entry_size_leg_b=180.0,
        last_updated=T0,
    )
    scan_end = T0 + timedelta(milliseconds=761)
    chosen = PairsConfig(
        generated_at=scan_end,
        timeframe="1m",
        scan_window=ScanWindow(start=T0 - timedelta(days=2), end=scan_end),
        pairs=[pair],
    )
    period = Period(T0 + timedelta(minutes=3, seconds=6), T0 + timedelta(minutes=7))
    schedule = trading_schedule(chosen, period, timeframe_minutes=1, tolerance_candles=3)
    assert schedule is not None
    assert schedule.periods[0].valid_from == T0 + timedelta(minutes=1)

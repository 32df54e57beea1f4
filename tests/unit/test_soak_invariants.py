"""The chaos soak's invariants: a snapshot that breaks one is reported, one that keeps it is not."""

from __future__ import annotations

from statarb.soak.invariants import (
    ENTRY_UNDER_REVIEW,
    LONE_LEG,
    ORDERS,
    POSITIONS,
    PROCESS,
    REPORT,
    LoneLegClock,
    WorldSnapshot,
    check_exits_managed,
    check_lone_legs,
    check_no_entry_under_review,
    check_orders,
    check_positions_agree,
    check_process,
    check_report,
    flag_intervals,
    lone_legs,
    spread_starts,
)
from statarb.soak.schedule import PairLegs

SOL, ADA = "SOL/USDT:USDT", "ADA/USDT:USDT"
PAIR = PairLegs("SOL_ADA", SOL, ADA, 180.0)
HEDGED = {SOL: -1.0, ADA: 180.0}


def world(at: float, exchange: dict, db: dict, **inflight: object) -> WorldSnapshot:
    return WorldSnapshot(at, exchange, db, **inflight)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- 1
def test_1_a_difference_held_in_two_quiet_snapshots_is_reported() -> None:
    first, later = world(0, HEDGED, {SOL: -1.0}), world(6, HEDGED, {SOL: -1.0})
    (violation,) = check_positions_agree(first, later)
    assert violation.invariant == POSITIONS
    assert violation.evidence["differences"] == {ADA: {"exchange": 180.0, "db": 0.0}}


def test_1_agreeing_sides_a_passing_difference_or_an_order_in_flight_are_not() -> None:
    assert check_positions_agree(world(0, HEDGED, HEDGED), world(6, HEDGED, HEDGED)) == []
    # a fill the DB had not yet written at the first read
    assert check_positions_agree(world(0, HEDGED, {SOL: -1.0}), world(6, HEDGED, HEDGED)) == []
    busy = world(6, HEDGED, {SOL: -1.0}, db_open_orders=1)
    assert check_positions_agree(world(0, HEDGED, {SOL: -1.0}), busy) == []
    # too close together to call it settled
    assert check_positions_agree(world(0, HEDGED, {}), world(2, HEDGED, {})) == []


# ----------------------------------------------------------------------------- 2
def order(cid: str, outcome: str = "accepted") -> dict:
    return {"newClientOrderId": cid, "outcome": outcome, "symbol": "SOLUSDT"}


def test_2_an_id_accepted_twice_and_an_order_the_journal_never_announced_are_reported() -> None:
    found = check_orders([order("a"), order("a"), order("x", "rejected")], {"a"})
    assert [(v.invariant, v.key) for v in found] == [
        (ORDERS, "twice:a"),
        (ORDERS, "unannounced:x"),
    ]


def test_2_announced_orders_each_accepted_once_are_not_even_when_resent_after_a_refusal() -> None:
    assert check_orders([order("a", "rejected"), order("a"), order("b")], {"a", "b"}) == []


# ----------------------------------------------------------------------------- 3
def test_3_a_leg_without_its_twin_or_off_the_ratio_or_on_the_same_side_is_alone() -> None:
    assert lone_legs({SOL: -1.0}, [PAIR], tolerance=0.011)["SOL_ADA"]["off"] == 1.0
    assert "SOL_ADA" in lone_legs({SOL: -1.0, ADA: 150.0}, [PAIR], tolerance=0.011)
    assert "SOL_ADA" in lone_legs({SOL: 1.0, ADA: 180.0}, [PAIR], tolerance=0.011)
    assert lone_legs(HEDGED, [PAIR], tolerance=0.011) == {}
    assert lone_legs({SOL: -1.0, ADA: 181.0}, [PAIR], tolerance=0.011) == {}
    assert lone_legs({}, [PAIR], tolerance=0.011) == {}


def test_3_a_lone_leg_past_the_budget_is_reported_unless_the_flag_names_it() -> None:
    clock = LoneLegClock()
    lone = lone_legs({SOL: -1.0}, [PAIR], tolerance=0.011)
    clock.observe(lone, 100.0)
    durations = clock.observe(lone, 125.0)
    (violation,) = check_lone_legs(
        durations, lone, [PAIR], budget_s=15.0, flag_raised=False, reasons=[]
    )
    assert violation.invariant == LONE_LEG and violation.evidence["alone_s"] == 25.0
    named = [{"spread_id": "SOL_ADA@2026-01-04T01:00Z", "message": "leg A without twin"}]
    assert (
        check_lone_legs(durations, lone, [PAIR], budget_s=15.0, flag_raised=True, reasons=named)
        == []
    )
    other = [{"spread_id": "ETH_XRP@2026-01-04T01:00Z", "message": "stop"}]
    assert check_lone_legs(durations, lone, [PAIR], budget_s=15.0, flag_raised=True, reasons=other)
    assert clock.longest_s == 25.0


def test_3_a_leg_hedged_within_the_budget_and_the_time_the_bot_is_down_do_not_count() -> None:
    clock = LoneLegClock()
    clock.observe({"SOL_ADA"}, 0.0)
    assert clock.observe({"SOL_ADA"}, 10.0) == {"SOL_ADA": 10.0}
    assert (
        check_lone_legs({"SOL_ADA": 10.0}, {}, [PAIR], budget_s=15.0, flag_raised=False, reasons=[])
        == []
    )
    clock.restart()
    assert clock.observe({"SOL_ADA"}, 50.0) == {"SOL_ADA": 0.0}
    assert clock.observe(set(), 51.0) == {} and clock.since == {}


# ----------------------------------------------------------------------------- 4
def finding(kind: str, symbol: str, amount: float, side: str, **extra: object) -> dict:
    return {
        "kind": kind,
        "symbol": symbol,
        "amount": amount,
        "side": side,
        "severity": "review",
        **extra,
    }


def report(*findings: dict, review: bool = True) -> dict:
    return {
        "timestamp": "t",
        "recovery_status": "ALERT" if findings else "SUCCESS",
        "findings": list(findings),
        "manual_review_required": review,
    }


def test_4_a_report_naming_an_orphan_the_exchange_does_not_hold_is_untrue() -> None:
    agreed = world(0, HEDGED, HEDGED)
    (violation,) = check_report(
        report(finding("orphaned_position", ADA, 180.0, "LONG")),
        agreed,
        agreed,
        [PAIR],
        tolerance=0.011,
    )
    assert violation.invariant == REPORT
    assert "holds" in violation.evidence["problem"]


def test_4_a_report_that_misses_a_difference_or_a_lone_leg_is_untrue() -> None:
    lone = world(0, {SOL: -1.0, ADA: 180.0}, {SOL: -1.0})
    found = check_report(report(review=False), lone, lone, [PAIR], tolerance=0.011)
    assert {v.key for v in found} == {"report:t:missing:" + ADA, "report:t:broken:SOL_ADA"}


def test_4_a_true_report_is_not_reported_nor_one_about_an_order_that_filled_meanwhile() -> None:
    before = world(0, {SOL: -1.0, ADA: 180.0}, {SOL: -1.0})
    true = report(
        finding("orphaned_position", ADA, 180.0, "LONG"),
        finding("broken_spread", SOL, 1.0, "SHORT"),
    )
    assert check_report(true, before, before, [PAIR], tolerance=0.011) == []
    assert check_report(report(), world(0, {}, {}), world(0, {}, {}), [PAIR], tolerance=0.01) == []
    # A resting order filled while recovery ran: the orphan was true in the later snapshot.
    after = world(1, {SOL: -1.0, ADA: 180.0}, {SOL: -1.0})
    flat_before = world(0, {SOL: -1.0}, {SOL: -1.0})
    found = check_report(true, flat_before, after, [PAIR], tolerance=0.011)
    assert found == []


def test_4_a_size_mismatch_on_a_trade_whose_fill_the_db_never_saw_is_true() -> None:
    """Killed after leg A's entry filled on the exchange, before FreqTrade recorded the fill:
    the trade is open in the DB with amount 0. Recovery's "size mismatch" (exchange 10, DB
    0) is the truth; the first one-hour soak called it untrue (it saw no DB position)."""
    killed = world(0, {SOL: 10.0}, {}, db_open_symbols=frozenset({SOL}))
    true = report(
        finding("size_mismatch", SOL, 10.0, "LONG"),
        finding("broken_spread", SOL, 10.0, "LONG"),
    )
    assert check_report(true, killed, killed, [PAIR], tolerance=0.011) == []
    no_trade = world(0, {SOL: 10.0}, {})
    (violation,) = [
        v for v in check_report(true, no_trade, no_trade, [PAIR], tolerance=0.011)
        if "size mismatch" in str(v.evidence.get("problem"))
    ]  # fmt: skip
    assert violation.invariant == REPORT


# ----------------------------------------------------------------------------- 5
FLAG = {
    "reasons": [{"raised_at": "2026-01-04T01:10:00Z", "source": "recovery", "message": "m"}],
    "history": [
        {
            "acknowledged_at": "2026-01-04T01:05:00Z",
            "reasons": [
                {"raised_at": "2026-01-04T01:00:00Z", "source": "strategy", "message": "s"}
            ],
        }
    ],
}
T0 = 1767488400000  # 2026-01-04T01:00:00Z


def intent(spread: str, created_ms: int, purpose: str = "E") -> dict:
    return {"spread": spread, "purpose": purpose, "created_ms": created_ms, "reduce_only": False}


def test_5_a_spread_whose_first_entry_is_written_while_the_flag_is_up_is_reported() -> None:
    intervals = flag_intervals(FLAG)
    assert [(i.raised_ms, i.cleared_ms) for i in intervals] == [
        (T0, T0 + 300_000),
        (T0 + 600_000, None),
    ]
    starts = spread_starts([intent("X@1", T0 + 60_000), intent("Y@1", T0 + 700_000)])
    found = check_no_entry_under_review(starts, intervals)
    assert [(v.invariant, v.evidence["spread"]) for v in found] == [
        (ENTRY_UNDER_REVIEW, "X@1"),
        (ENTRY_UNDER_REVIEW, "Y@1"),
    ]


def test_5_a_spread_begun_before_the_flag_may_complete_and_exit_under_it() -> None:
    starts = spread_starts(
        [
            intent("X@1", T0 - 5_000),
            intent("X@1", T0 + 60_000),
            intent("X@1", T0 + 90_000, "X"),
            intent("Z@1", T0 + 400_000),
            intent("W@1", T0 + 1_500),
        ]
    )
    assert starts == {"X@1": T0 - 5_000, "Z@1": T0 + 400_000, "W@1": T0 + 1_500}
    assert check_no_entry_under_review(starts, flag_intervals(FLAG)) == []


def test_5_an_open_spread_pushed_to_exit_under_the_flag_must_still_be_closed() -> None:
    asked = [(100.0, "SOL_ADA")]
    (violation,) = check_exits_managed(asked, [], now_s=200.0, within_s=90.0)
    assert violation.evidence["unmanaged"] == "SOL_ADA"
    assert check_exits_managed(asked, [(120.0, "SOL_ADA")], now_s=200.0, within_s=90.0) == []
    assert check_exits_managed(asked, [], now_s=150.0, within_s=90.0) == []


# ----------------------------------------------------------------------------- 6
def test_6_the_bot_dying_by_itself_is_reported_and_by_the_soaks_kill_it_is_not() -> None:
    (violation,) = check_process(alive=False, killed_by_soak=False, exit_code=1)
    assert violation.invariant == PROCESS and violation.evidence == {"exit_code": 1}
    assert check_process(alive=False, killed_by_soak=True, exit_code=-9) == []
    assert check_process(alive=True, killed_by_soak=False, exit_code=None) == []

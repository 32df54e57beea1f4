"""The hedging budget: a leg alone (or off its ratio) is never left so without a person told.

Protects against what the hour-long chaos soak found: under fault storms during a twin (a
lost answer the guard polled ~12 s for, two 418 bans, a refusal, a partial fill whose crossing
remainder then rested until the 20 s maker timeout) a leg stayed alone 30.2 s, past the 30 s
budget, with nobody told: the plan was still within its retry count, so no review was raised.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import statarb.live.execution as live_execution
from statarb.costs.orders import order_is_urgent
from statarb.execution.hedging import hedging_budget_ms, legs_hedged, unhedged_for_ms
from statarb.live.execution import LegSnapshot, LiveExecution, exchange_execution
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag
from support.spread_legs import SOL_ADA_A, SOL_ADA_B, Clock, NoOrdersApi

TAG_A, TAG_B = SOL_ADA_A, SOL_ADA_B
BUDGET_MS = hedging_budget_ms(20)  # the shipped maker timeout
LOOP_MS = 2_000


def test_the_budget_is_the_maker_timeout_plus_five_waits_of_two_seconds() -> None:
    assert BUDGET_MS == 30_000


def test_legs_in_ratio_or_both_flat_are_hedged_a_lone_leg_is_not() -> None:
    assert legs_hedged(180.0, 10.0, 1_800.0, 1.0)
    assert legs_hedged(180.0, 0.0, 0.0, 1.0)
    assert not legs_hedged(180.0, 10.0, 0.0, 1.0)
    assert not legs_hedged(180.0, 0.0, 1_800.0, 1.0)
    assert not legs_hedged(180.0, 10.0, 1_200.0, 1.0)  # B a third short


def test_unhedged_time_counts_from_the_first_order_until_the_spread_was_seen_hedged() -> None:
    assert unhedged_for_ms(hedged=True, first_order_ms=0, last_hedged_ms=None, now_ms=9) is None
    # Never seen hedged: from its first leg's order (no leg is alone before it was sent).
    assert unhedged_for_ms(hedged=False, first_order_ms=1_000, last_hedged_ms=None,
                           now_ms=31_000) == 30_000  # fmt: skip
    # Hedged for hours, then a leg went: from the last check that saw it whole.
    assert unhedged_for_ms(hedged=False, first_order_ms=1_000, last_hedged_ms=500_000,
                           now_ms=503_000) == 3_000  # fmt: skip


@pytest.mark.parametrize(
    ("order_type", "tag", "exiting", "twin_closed", "urgent"),
    [
        ("limit", "SOL_ADA", False, False, False),  # a signal entry rests at the touch
        ("limit", "z_reverted", True, False, False),  # a patient exit rests too
        ("limit", "z_reverted", True, True, True),  # ... unless its twin is already out
        ("limit", "z_stop", True, False, True),  # a stop crosses
        ("limit", "hedge_top_up", False, False, True),  # hedging orders cross
        ("limit", "hedge_reduce", True, False, True),
        ("market", "SOL_ADA", False, False, True),  # the twin of a lone leg goes at market
    ],
)
def test_only_orders_meant_to_rest_wait_out_the_maker_timeout(
    order_type: str, tag: str, exiting: bool, twin_closed: bool, urgent: bool
) -> None:
    """An urgent order's resting remainder kept a lone leg naked 20 s in the soak."""
    got = order_is_urgent(order_type=order_type, order_tag=tag, exiting=exiting,
                          twin_closed=twin_closed)  # fmt: skip
    assert got is urgent


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(live_execution, "now_ms", clock)
    return clock


def execution(tmp_path: Path, reviews: list[tuple[str, str | None]]) -> LiveExecution:
    return exchange_execution(
        NoOrdersApi(),
        journal_path=tmp_path / "intents.json",
        notify=lambda line: None,
        raise_review=lambda message, spread: reviews.append((message, spread)),
        order_known=lambda order_id: True,
    )


def snapshot(tag: LegTag, qty: float, first_order_ms: int) -> LegSnapshot:
    return LegSnapshot(trade_id=1 if tag.leg is Leg.A else 2,
                       symbol=tag.leg_a if tag.leg is Leg.A else tag.leg_b, is_short=False,
                       qty_base=qty, open_rate=1.0, has_open_order=False, tag=tag,
                       first_order_ms=first_order_ms)  # fmt: skip


def watch(live: LiveExecution, legs: dict[Leg, LegSnapshot]) -> list[object]:
    return live.watch_hedging_budget(
        {TAG_A.key: legs}, {TAG_A.leg_b: 1.0}, budget_ms=BUDGET_MS, observe_lag_ms=LOOP_MS
    )


def test_a_leg_alone_near_the_budget_raises_the_review_naming_its_spread_once(
    tmp_path: Path, clock: Clock
) -> None:
    reviews: list[tuple[str, str | None]] = []
    live = execution(tmp_path, reviews)
    placed = clock.ms
    lone = {Leg.A: snapshot(TAG_A, 10.0, placed)}
    clock.ms = placed + 20_000  # the maker timeout: still the plan's business
    assert watch(live, lone) == [] and reviews == []
    # One loop before the budget: counted from the exchange's fill, the flag is up in time.
    clock.ms = placed + BUDGET_MS - LOOP_MS
    assert watch(live, lone) == [TAG_A.key]
    assert len(reviews) == 1 and reviews[0][1] == "SOL_ADA"
    assert "past the hedging budget" in reviews[0][0]
    clock.ms += 5_000
    assert watch(live, lone) == [] and len(reviews) == 1  # said once per episode


def test_a_spread_hedged_for_hours_is_timed_from_the_check_that_last_saw_it_whole(
    tmp_path: Path, clock: Clock
) -> None:
    """Not from its entry hours ago: a leg reduced by the exchange is first the plan's to mend."""
    reviews: list[tuple[str, str | None]] = []
    live = execution(tmp_path, reviews)
    entered = clock.ms - 3_600_000
    whole = {Leg.A: snapshot(TAG_A, 10.0, entered), Leg.B: snapshot(TAG_B, 1_800.0, entered)}
    assert watch(live, whole) == []
    clock.ms += 2_000
    broken = {Leg.A: snapshot(TAG_A, 10.0, entered), Leg.B: snapshot(TAG_B, 900.0, entered)}
    assert watch(live, broken) == [] and reviews == []
    clock.ms += BUDGET_MS
    assert watch(live, broken) == [TAG_A.key] and len(reviews) == 1
    for _ in range(30):  # mended, and whole for a minute: a later episode is flagged again
        clock.ms += 2_000
        assert watch(live, whole) == []
    clock.ms += 2_000
    assert watch(live, broken) == []
    clock.ms += BUDGET_MS
    assert watch(live, broken) == [TAG_A.key] and len(reviews) == 2


def test_a_loop_held_up_by_a_slow_request_does_not_hold_the_review_back(
    tmp_path: Path, clock: Clock
) -> None:
    """The soak's case: the loop waits ~12 s on a lost answer while the budget runs out."""
    reviews: list[tuple[str, str | None]] = []
    live = execution(tmp_path, reviews)
    placed = clock.ms
    clock.ms = placed + 10_000
    assert watch(live, {Leg.A: snapshot(TAG_A, 10.0, placed)}) == []  # the last loop's view
    clock.ms = placed + BUDGET_MS - LOOP_MS - 1
    assert live.fire_due_deadlines() == [] and reviews == []
    clock.ms += 1  # no loop since: the budget thread tells a person on time
    assert live.fire_due_deadlines() == [TAG_A.key]
    assert len(reviews) == 1 and reviews[0][1] == "SOL_ADA"
    assert live.fire_due_deadlines() == [] and len(reviews) == 1


def test_a_spread_seen_hedged_again_before_its_deadline_raises_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    reviews: list[tuple[str, str | None]] = []
    live = execution(tmp_path, reviews)
    placed = clock.ms
    assert watch(live, {Leg.A: snapshot(TAG_A, 10.0, placed)}) == []
    clock.ms += 8_000
    whole = {Leg.A: snapshot(TAG_A, 10.0, placed), Leg.B: snapshot(TAG_B, 1_800.0, placed)}
    assert watch(live, whole) == []
    clock.ms = placed + 10 * BUDGET_MS
    assert live.fire_due_deadlines() == [] and reviews == []

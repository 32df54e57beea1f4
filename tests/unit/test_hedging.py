"""Dynamic hedging: from any fill pattern the spread ends hedged, smaller-but-hedged, or flat."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statarb.execution.hedging import (
    HedgeInputs,
    HedgeKind,
    LegState,
    hedge_error_qty_b,
    plan_hedge,
)
from statarb.spread.client_ids import Leg

BETA = 16.67  # docs/design.md §2.4: 0.5 BTC against 8.335 ETH


def leg(qty: float, *, step: float = 0.001, price: float = 1_000.0, busy: bool = False) -> LegState:
    return LegState(qty_base=qty, has_open_order=busy, qty_step=step, price=price)


def inputs(qa: float, qb: float, **kw: object) -> HedgeInputs:
    base = HedgeInputs(
        hedge_ratio=BETA, planned_qty_a=0.5, planned_qty_b=8.335,
        leg_a=leg(qa, price=42_500), leg_b=leg(qb, price=2_550),
        twin_retries=0, twin_attempted=False, reduce_attempts=0, top_up_rounds=0,
        last_action_ms=0, now_ms=10_000,
    )  # fmt: skip
    return replace(base, **kw)


def test_spec_case_a_filled_70_percent_b_fully_brings_b_down_at_once() -> None:
    action = plan_hedge(inputs(0.35, 8.335, now_ms=1))  # no wait for the reduction
    assert action.kind is HedgeKind.REDUCE and action.leg is Leg.B
    assert action.qty_b == pytest.approx(8.335 - BETA * 0.35, abs=0.001)


def test_then_after_two_seconds_the_rest_of_both_legs_is_reordered() -> None:
    hedged_small = inputs(0.35, 5.834, last_action_ms=9_000, now_ms=10_000)
    assert plan_hedge(hedged_small).kind is HedgeKind.WAIT
    action = plan_hedge(replace(hedged_small, now_ms=11_000))
    assert action.kind is HedgeKind.TOP_UP
    assert action.qty_a == pytest.approx(0.15)
    assert 5.834 + action.qty_b == pytest.approx(BETA * 0.5, abs=0.001)


def test_a_working_order_is_never_doubled() -> None:
    busy = replace(inputs(0.35, 8.335), leg_a=leg(0.35, busy=True))
    assert plan_hedge(busy).kind is HedgeKind.WAIT


def test_a_lone_leg_gets_its_twin_at_once_then_retries_then_is_closed() -> None:
    just_filled = inputs(0.5, 0.0, last_action_ms=9_500, now_ms=10_000)
    assert plan_hedge(just_filled).kind is HedgeKind.OPEN_TWIN  # no wait for the first try
    retry_too_soon = replace(just_filled, twin_attempted=True)
    assert plan_hedge(retry_too_soon).kind is HedgeKind.WAIT
    lone = inputs(0.5, 0.0)
    action = plan_hedge(lone)
    assert action.kind is HedgeKind.OPEN_TWIN and action.leg is Leg.B
    assert action.qty_b == pytest.approx(BETA * 0.5, abs=0.001)
    assert plan_hedge(replace(lone, twin_retries=5)).kind is HedgeKind.FLATTEN
    lone_b = inputs(0.0, 8.335)
    action = plan_hedge(lone_b)
    assert action.kind is HedgeKind.OPEN_TWIN and action.leg is Leg.A
    assert action.qty_a == pytest.approx(0.5, abs=0.001)


def test_a_lone_leg_whose_twin_was_closed_is_never_given_a_new_twin() -> None:
    # A bot killed between the two exits of a spread: leg A closed, leg B still open. The
    # restarted bot must close B, not re-open A (a second entry of a spread being closed).
    for lone in (inputs(0.0, 8.335), inputs(0.5, 0.0)):
        for state in ({}, {"twin_attempted": True}, {"twin_retries": 5}, {"last_action_ms": None}):
            action = plan_hedge(replace(lone, twin_closed=True, **state))
            assert action.kind is HedgeKind.FOLLOW_EXIT, (lone, state, action)
            assert action.qty_a == action.qty_b == 0.0
    # An order still working on the lone leg (its exit) is waited for first.
    assert plan_hedge(inputs(0.0, 8.335, twin_closed=True, leg_b=leg(8.335, busy=True))).kind is (
        HedgeKind.WAIT
    )


def test_a_reduction_that_keeps_failing_ends_flat_not_unhedged() -> None:
    assert plan_hedge(inputs(0.35, 8.335, reduce_attempts=5)).kind is HedgeKind.FLATTEN


def test_top_ups_stop_after_five_rounds_leaving_a_smaller_hedged_spread() -> None:
    action = plan_hedge(inputs(0.35, 5.834, top_up_rounds=5))
    assert action.kind is HedgeKind.HEDGED_REDUCED


def test_a_top_up_below_the_exchange_minimum_is_not_attempted() -> None:
    tiny = replace(
        inputs(0.499, 8.318), leg_a=LegState(0.499, False, 0.001, 42_500, min_notional_usdt=100)
    )
    assert plan_hedge(tiny).kind is HedgeKind.HEDGED_REDUCED


def test_a_full_spread_in_ratio_is_hedged() -> None:
    assert plan_hedge(inputs(0.5, 8.335)).kind is HedgeKind.HEDGED


@settings(max_examples=300, deadline=None)
@given(
    fills=st.lists(st.one_of(st.just(-1.0), st.floats(0.0, 1.0)), min_size=40, max_size=40),
    first_a=st.floats(0.0, 1.0),
    first_b=st.floats(0.0, 1.0),
)
def test_any_fill_pattern_ends_hedged_or_flat_within_the_retry_budget(
    fills: list[float], first_a: float, first_b: float
) -> None:
    """Simulate the bot: each order fills a random fraction (-1 = refused); apply the plan."""
    step_a, step_b = 0.001, 0.001
    qa = math.floor(0.5 * first_a / step_a) * step_a
    qb = math.floor(8.335 * first_b / step_b) * step_b
    counts = {"twin": 0, "reduce": 0, "top_up": 0}
    now, last, draws = 10_000, 0, iter(fills)
    for _ in range(60):
        state = inputs(
            qa, qb, twin_retries=max(0, counts["twin"] - 1), twin_attempted=counts["twin"] > 0,
            reduce_attempts=counts["reduce"],
            top_up_rounds=counts["top_up"], last_action_ms=last, now_ms=now,
        )  # fmt: skip
        action = plan_hedge(state)
        now += 2_000
        if action.kind in (HedgeKind.HEDGED, HedgeKind.HEDGED_REDUCED):
            assert abs(hedge_error_qty_b(BETA, qa, qb)) <= max(step_b, 0.01 * BETA * qa) + 1e-9
            break
        if action.kind is HedgeKind.FLATTEN:
            qa = qb = 0.0  # reduce-only market closes of what is held
            break
        if action.kind is HedgeKind.WAIT:
            continue
        fraction = next(draws, 1.0)
        done = 0.0 if fraction < 0 else fraction
        last = now
        if action.kind is HedgeKind.OPEN_TWIN:
            counts["twin"] += 1
            if action.leg is Leg.B:
                qb = math.floor(action.qty_b * done / step_b) * step_b
            else:
                qa = math.floor(action.qty_a * done / step_a) * step_a
        elif action.kind is HedgeKind.REDUCE:
            counts["reduce"] += 1
            if action.leg is Leg.B:
                qb -= math.floor(action.qty_b * done / step_b) * step_b
            else:
                qa -= math.floor(action.qty_a * done / step_a) * step_a
        elif action.kind is HedgeKind.TOP_UP:
            counts["top_up"] += 1
            qa += math.floor(action.qty_a * done / step_a) * step_a
            qb += math.floor(action.qty_b * done / step_b) * step_b
        qa, qb = round(qa, 9), round(qb, 9)
    else:
        pytest.fail(f"no end state after 60 loops: {qa} / {qb} {counts}")
    assert counts["reduce"] <= 5 and counts["top_up"] <= 5 and counts["twin"] <= 6

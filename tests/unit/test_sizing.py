"""Leg sizing: quantities on the lot grid, in the hedge ratio, never above the budget."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from statarb.spread.sizing import (
    LegMarket,
    SizingError,
    size_spread,
    spread_budget_notional_usdt,
    stake_for_qty,
)

BTC = LegMarket("BTC/USDT:USDT", qty_step=0.001, min_qty=0.001, min_notional_usdt=100)
ETH = LegMarket("ETH/USDT:USDT", qty_step=0.001, min_qty=0.001, min_notional_usdt=20)


def on_grid(qty: float, step: float) -> bool:
    return math.isclose(qty / step, round(qty / step), abs_tol=1e-6)


def test_spec_example_btc_eth_legs_are_in_the_hedge_ratio() -> None:
    # docs/design.md §2.4: 0.5 BTC long against 16.67 x 0.5 = 8.3 ETH short.
    size = size_spread(
        gross_notional_usdt=0.5 * 42_500 + 8.335 * 2_550,
        price_a=42_500,
        price_b=2_550,
        hedge_ratio=16.67,
        market_a=BTC,
        market_b=ETH,
    )
    assert size.qty_a == pytest.approx(0.5, abs=0.002)
    assert size.qty_b == pytest.approx(16.67 * size.qty_a, rel=1e-3)
    assert size.hedge_error_ratio < 1e-3


STEPS = st.sampled_from([0.001, 0.01, 0.1, 1.0, 10.0])


@st.composite
def spreads(draw: st.DrawFn) -> dict[str, float]:
    """Any prices, ratio and lot grids, with a budget of 0.5 to 1,000 hedged lots of A.

    A budget drawn on its own would mostly not buy one hedged lot (a ratio of 5,000 at a
    price of 120,000), so most examples would only show the refusal; relative to the lot
    both the refusals and the sized spreads come up in every run.
    """
    price_a = draw(st.floats(0.05, 120_000))
    price_b = draw(st.floats(0.05, 120_000))
    hedge_ratio = draw(st.floats(0.001, 5_000))
    step_a, step_b = draw(STEPS), draw(STEPS)
    hedged_lot = step_a * (price_a + hedge_ratio * price_b)
    return {
        "budget": draw(st.floats(0.5, 1_000)) * hedged_lot,
        "price_a": price_a,
        "price_b": price_b,
        "hedge_ratio": hedge_ratio,
        "step_a": step_a,
        "step_b": step_b,
    }


@settings(max_examples=300, deadline=None)
@given(spread=spreads())
def test_a_sized_spread_is_on_the_grid_within_budget_and_hedged_or_refused(
    spread: dict[str, float],
) -> None:
    budget, price_b = spread["budget"], spread["price_b"]
    step_a, step_b = spread["step_a"], spread["step_b"]
    market_a = LegMarket("A/USDT:USDT", qty_step=step_a, min_notional_usdt=5)
    market_b = LegMarket("B/USDT:USDT", qty_step=step_b, min_notional_usdt=5)
    try:
        size = size_spread(
            gross_notional_usdt=budget,
            price_a=spread["price_a"],
            price_b=price_b,
            hedge_ratio=spread["hedge_ratio"],
            market_a=market_a,
            market_b=market_b,
            max_hedge_error=0.01,
        )
    except SizingError as refusal:
        assert str(refusal)
        reject()  # a refusal shows nothing of the sizing; only sized spreads count as examples
    assert on_grid(size.qty_a, step_a) and on_grid(size.qty_b, step_b)
    assert size.hedge_error_ratio <= 0.01
    # B may round up by half a step, so the budget holds up to that rounding.
    assert size.gross_notional_usdt <= budget * 1.0101 + step_b * price_b / 2
    assert size.notional_a_usdt >= 5 and size.notional_b_usdt >= 5


def test_a_budget_below_the_exchange_minimum_is_refused_not_rounded_to_zero() -> None:
    with pytest.raises(SizingError, match="minimum"):
        size_spread(
            gross_notional_usdt=120,
            price_a=60_000,
            price_b=3_000,
            hedge_ratio=20,
            market_a=BTC,
            market_b=ETH,
        )


def test_a_coarse_lot_grid_that_cannot_hold_the_ratio_is_refused() -> None:
    coarse = LegMarket("DOGE/USDT:USDT", qty_step=1000.0)
    with pytest.raises(SizingError, match="hedge ratio"):
        size_spread(
            gross_notional_usdt=400,
            price_a=100,
            price_b=0.1,
            hedge_ratio=1500,
            market_a=LegMarket("SOL/USDT:USDT", qty_step=1.0),
            market_b=coarse,
        )


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_nan_inputs_are_refused(bad: float) -> None:
    with pytest.raises(SizingError):
        size_spread(
            gross_notional_usdt=10_000,
            price_a=bad,
            price_b=3_000,
            hedge_ratio=16,
            market_a=BTC,
            market_b=ETH,
        )
    with pytest.raises(SizingError):
        size_spread(
            gross_notional_usdt=10_000,
            price_a=50_000,
            price_b=3_000,
            hedge_ratio=bad,
            market_a=BTC,
            market_b=ETH,
        )


def test_stake_makes_freqtrade_truncation_land_on_the_planned_quantity() -> None:
    for qty, price, leverage in [(0.123, 61_234.5, 3), (8.3, 2_550.12, 2), (1_234.0, 0.1234, 5)]:
        stake = stake_for_qty(qty, price, leverage)
        amount = stake * leverage / price
        step = 0.001
        assert math.floor(amount / step) * step == pytest.approx(qty, abs=1e-12)


def test_spread_budget_is_balance_times_risk_times_leverage() -> None:
    assert spread_budget_notional_usdt(
        balance_usdt=10_000, max_risk_percent=10, leverage=2
    ) == pytest.approx(2_000)
    with pytest.raises(SizingError):
        spread_budget_notional_usdt(balance_usdt=0, max_risk_percent=10, leverage=2)
    with pytest.raises(SizingError):
        spread_budget_notional_usdt(balance_usdt=100, max_risk_percent=150, leverage=2)


def test_a_coarse_leg_b_step_keeps_the_largest_size_within_tolerance() -> None:
    # SOL trades in whole coins on Binance: the size must not collapse to the first exact fit.
    size = size_spread(
        gross_notional_usdt=2_000,
        price_a=694.0,
        price_b=148.7,
        hedge_ratio=4.037,
        market_a=LegMarket("BNB/USDT:USDT", qty_step=0.01),
        market_b=LegMarket("SOL/USDT:USDT", qty_step=1.0),
        max_hedge_error=0.01,
    )
    assert size.hedge_error_ratio <= 0.01
    assert size.gross_notional_usdt > 1_800

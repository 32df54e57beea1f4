"""One decision per spread: both legs are approved together or refused together."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from statarb.costs.entry_cost import CostParams, CostView
from statarb.pairs_config import parse_pairs_config
from statarb.spread.blocks import Block
from statarb.spread.client_ids import Leg
from statarb.spread.planner import EntryContext, decide_entry
from statarb.spread.signals import ModelView, Thresholds
from statarb.spread.sizing import LegMarket

ENTRY = parse_pairs_config(
    [
        {
            "pair_id": "PAIR_001",
            "leg_a": "BTC/USDT:USDT",
            "leg_b": "ETH/USDT:USDT",
            "hedge_ratio": 16.67,
            "cointegration_stat": -4.2,
            "pvalue": 0.001,
            "entry_size_leg_a": 0.5,
            "entry_size_leg_b": 8.335,
            "last_updated": "2026-02-01T20:00:00Z",
        }
    ]
).pairs[0]

BASE = EntryContext(
    entry=ENTRY,
    signal_candle=datetime(2026, 2, 2, 10, 0, tzinfo=UTC),
    z=-2.5,
    thresholds=Thresholds(),
    cointegrated=True,
    model=ModelView(predicted_reversion=0.8, label_mean=0.0, label_std=0.5, do_predict=1),
    min_model_reversion=0.1,
    min_model_confidence=0.5,
    review_flag_raised=False,
    open_spreads=0,
    free_trade_slots=4,
    max_open_spreads=2,
    pair_already_open=False,
    busy_legs=(),
    balance_usdt=100_000,
    available_margin_usdt=50_000,
    max_risk_percent=10,
    leverage=2,
    price_a=42_500,
    price_b=2_550,
    market_a=LegMarket("BTC/USDT:USDT", 0.001, 0.001, None, 100),
    market_b=LegMarket("ETH/USDT:USDT", 0.001, 0.001, None, 20),
    max_hedge_error=0.01,
)


def test_long_spread_is_long_a_short_b_with_legs_in_the_hedge_ratio() -> None:
    decision = decide_entry(BASE)
    assert decision.approved, decision.reason
    assert decision.direction == 1
    assert (decision.leg_side(Leg.A), decision.leg_side(Leg.B)) == ("long", "short")
    size = decision.size
    assert size is not None
    assert size.qty_b == pytest.approx(16.67 * size.qty_a, rel=0.01)
    # balance x 10 % x leverage 2 = 20,000 USDT gross
    assert size.gross_notional_usdt == pytest.approx(20_000, rel=0.01)


def test_short_spread_is_short_a_long_b() -> None:
    decision = decide_entry(dataclasses.replace(BASE, z=2.7))
    assert decision.approved and decision.direction == -1
    assert (decision.leg_side(Leg.A), decision.leg_side(Leg.B)) == ("short", "long")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"review_flag_raised": True}, "manual review"),
        ({"z": float("nan")}, "unavailable"),
        ({"z": -1.0}, "not in an entry zone"),
        ({"z": -4.5}, "not in an entry zone"),
        ({"cointegrated": False}, "re-test failed"),
        ({"pair_already_open": True}, "already open"),
        ({"busy_legs": ("ETH/USDT:USDT",)}, "already holds a leg of another spread"),
        # A coin still cooling down after its previous spread's z stop, now in a new pair:
        # FreqTrade would refuse that leg and its twin would open alone.
        ({"locked_legs": ("ETH/USDT:USDT",)}, "its twin would open alone"),
        ({"open_spreads": 2}, "max 2"),
        ({"free_trade_slots": 1}, "no room for both legs"),
        ({"model": ModelView(-0.2, 0.0, 0.5, 1)}, "model disagrees"),
        ({"model": ModelView(0.8, 0.0, 0.5, 0)}, "model disagrees"),
        ({"balance_usdt": 500}, "cannot size"),
        ({"available_margin_usdt": 5_000}, "exceeds the available"),
    ],
)
def test_each_refusal_names_its_reason(change: dict[str, object], reason: str) -> None:
    decision = decide_entry(dataclasses.replace(BASE, **change))
    assert not decision.approved
    assert reason in decision.reason


def test_model_gate_off_means_signal_alone_decides() -> None:
    decision = decide_entry(dataclasses.replace(BASE, model=ModelView(-1.0, 0, 1, 0)))
    assert not decision.approved
    assert decide_entry(dataclasses.replace(BASE, model=None)).approved


def test_a_forced_entry_skips_the_signal_but_not_the_money_rules() -> None:
    quiet = dataclasses.replace(BASE, z=1.2, cointegrated=False, model=ModelView(-1, 0, 1, 0))
    forced = decide_entry(dataclasses.replace(quiet, forced_direction=-1))
    assert forced.approved and forced.direction == -1 and "forced" in forced.reason
    for change, reason in (
        ({"review_flag_raised": True}, "manual review"),
        ({"free_trade_slots": 1}, "no room for both legs"),
        ({"busy_legs": ("ETH/USDT:USDT",)}, "another spread"),
    ):
        refused = decide_entry(dataclasses.replace(quiet, forced_direction=-1, **change))
        assert not refused.approved and reason in refused.reason


def test_a_forced_spread_that_the_exit_rules_would_close_at_once_is_refused() -> None:
    for z, direction in ((1.2, 1), (-0.3, 1), (0.2, -1), (4.5, -1)):
        forced = decide_entry(dataclasses.replace(BASE, z=z, forced_direction=direction))
        assert not forced.approved, (z, direction)


# ----------------------------------------------------------------------------- cost gate
# BTC 42,500 against 16.67 ETH at 2,550: 85,000 USDT gross per unit of the spread.
TAKER_COSTS = CostView(
    params=CostParams(fee_rate=0.0005, slippage_bps=1.0, margin=1.5),
    spread_sd_usdt=150.0,
    half_life_candles=10,
    timeframe_minutes=5,
)


def test_a_spread_whose_reversion_cannot_pay_four_fees_is_refused_naming_the_cost() -> None:
    quiet = dataclasses.replace(
        BASE, model=None, cost=dataclasses.replace(TAKER_COSTS, spread_sd_usdt=30.0)
    )
    decision = decide_entry(quiet)
    assert not decision.approved and decision.direction == 1
    assert "too small to pay its costs" in decision.reason
    assert "round-trip cost" in decision.reason and "4 fills at 0.0500%" in decision.reason


def test_a_spread_that_pays_its_costs_opens_and_says_by_how_much() -> None:
    decision = decide_entry(dataclasses.replace(BASE, model=None, cost=TAKER_COSTS))
    assert decision.approved, decision.reason
    assert "expected reversion" in decision.reason


def test_with_the_model_gate_on_the_cost_check_uses_the_models_predicted_reversion() -> None:
    # Volatility alone (1.5 z to the band) would pay; the model expects only 0.2 z.
    doubtful = ModelView(predicted_reversion=0.2, label_mean=0.0, label_std=0.1, do_predict=1)
    decision = decide_entry(dataclasses.replace(BASE, model=doubtful, cost=TAKER_COSTS))
    assert not decision.approved and "model" in decision.reason


def test_a_forced_entry_is_not_cost_gated() -> None:
    quiet = dataclasses.replace(TAKER_COSTS, spread_sd_usdt=1.0)
    forced = decide_entry(dataclasses.replace(BASE, cost=quiet, forced_direction=1))
    assert forced.approved, forced.reason


def test_a_cost_input_that_could_not_be_gathered_refuses_the_entry_instead_of_skipping_it() -> None:
    broken = CostView(params=None, spread_sd_usdt=150.0, half_life_candles=10,
                      timeframe_minutes=5, problem="no fee rate known")  # fmt: skip
    decision = decide_entry(dataclasses.replace(BASE, model=None, cost=broken))
    assert not decision.approved and "cost check impossible: no fee rate known" in decision.reason


def test_refusals_that_stand_beyond_the_candle_name_their_block_the_others_none() -> None:
    # The strategy says a standing block once per change (statarb.spread.blocks); a refusal of
    # this candle only (slots full, a model that disagrees now) is said with its candle.
    quiet = dataclasses.replace(TAKER_COSTS, spread_sd_usdt=30.0)
    for change, block in (
        ({"review_flag_raised": True}, Block.REVIEW),
        ({"cointegrated": False}, Block.RETEST),
        ({"model": None, "cost": quiet}, Block.COST),
        (
            {"model": None, "cost": dataclasses.replace(quiet, params=None, problem="no fee")},
            Block.COST,
        ),
        ({"open_spreads": 2}, None),
        ({"model": ModelView(-0.2, 0.0, 0.5, 1)}, None),
    ):
        decision = decide_entry(dataclasses.replace(BASE, **change))
        assert not decision.approved and decision.block is block, (change, decision)
    assert decide_entry(BASE).block is None


def test_a_decision_lifts_the_blocks_it_got_past() -> None:
    # A spread that paid its costs lifts the pair's cost block; one refused before the cost
    # check (the slots are full) says nothing about its costs.
    costs = dataclasses.replace(BASE, model=None, cost=TAKER_COSTS)
    assert decide_entry(costs).lifts == (Block.REVIEW, Block.RETEST, Block.COST)
    assert decide_entry(dataclasses.replace(costs, open_spreads=2)).lifts == (
        Block.REVIEW,
        Block.RETEST,
    )
    no_margin = decide_entry(dataclasses.replace(costs, available_margin_usdt=5_000))
    assert not no_margin.approved and Block.COST in no_margin.lifts
    refused = decide_entry(
        dataclasses.replace(costs, cost=dataclasses.replace(TAKER_COSTS, spread_sd_usdt=30.0))
    )
    assert refused.block is Block.COST and Block.COST not in refused.lifts
    assert decide_entry(dataclasses.replace(BASE, review_flag_raised=True)).lifts == ()


def test_a_forced_entry_is_not_refused_by_a_pair_lock() -> None:
    # FreqTrade's forceenter and the hedging plan ignore pair locks: both legs can open, so the
    # person's spread is not refused (a lock only stops signal entries).
    forced = dataclasses.replace(BASE, forced_direction=1, z=-3.0, locked_legs=("ETH/USDT:USDT",))
    assert decide_entry(forced).approved

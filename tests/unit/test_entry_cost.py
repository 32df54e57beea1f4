"""Cost-aware entry: a spread opens only when its expected reversion pays its round trip.

Protects against: opening spreads too quiet to pay four fees (docs/design.md §5.4: the rules
won 62 % of spreads and lost 27 %), mis-scaled returns (per coin vs per gross notional), funding
signs applied to the wrong leg, and silent passes on missing inputs.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from statarb.costs.entry_cost import (
    CostInputError,
    CostParams,
    EntryCostInputs,
    expected_holding_candles,
    judge_entry_cost,
    spread_sd_usdt,
)

# A BTC/ETH-like spread: 1 BTC (40,000) against 16 ETH (2,500): gross 80,000 USDT per unit.
BASE = EntryCostInputs(
    z=-2.5,
    exit_z=0.5,
    direction=1,
    hedge_ratio=16.0,
    price_a=40_000.0,
    price_b=2_500.0,
    spread_sd_usdt=60.0,
    half_life_candles=10,
    timeframe_minutes=5,
    funding_rate_a=0.0001,
    funding_rate_b=0.0001,
)
TAKER = CostParams(fee_rate=0.0005, slippage_bps=1.0, margin=1.5)


def test_expected_reversion_is_sigma_times_distance_to_the_band_over_gross_notional() -> None:
    verdict = judge_entry_cost(BASE, TAKER)
    assert verdict.source == "volatility"
    assert verdict.expected_return == pytest.approx(60.0 * 2.0 / 80_000)
    assert verdict.fee_return == pytest.approx(2 * 0.0005)  # four fills over gross notional
    assert verdict.slippage_return == pytest.approx(2 * 1e-4)


def test_a_spread_too_quiet_to_pay_four_fees_is_refused_and_the_reason_names_the_cost() -> None:
    quiet = dataclasses.replace(BASE, spread_sd_usdt=20.0)  # 0.05 % expected vs 0.12 % cost
    verdict = judge_entry_cost(quiet, TAKER)
    assert not verdict.ok
    assert "round-trip cost" in verdict.reason
    assert "fees 0.100% = 4 fills at 0.0500%" in verdict.reason
    assert "expected reversion 0.050%" in verdict.reason


def test_a_wide_spread_pays_its_costs_with_the_margin() -> None:
    wide = dataclasses.replace(BASE, spread_sd_usdt=100.0)  # 0.25 % vs 1.5 x 0.12 %
    assert judge_entry_cost(wide, TAKER).ok


def test_the_margin_is_a_factor_on_the_cost() -> None:
    edge = dataclasses.replace(BASE, spread_sd_usdt=0.0012 * 80_000 / 2.0 * 1.2)
    assert judge_entry_cost(edge, dataclasses.replace(TAKER, margin=1.0)).ok
    assert not judge_entry_cost(edge, dataclasses.replace(TAKER, margin=1.5)).ok


def test_maker_fees_let_quieter_spreads_through() -> None:
    quiet = dataclasses.replace(BASE, spread_sd_usdt=40.0)
    assert not judge_entry_cost(quiet, TAKER).ok
    assert judge_entry_cost(quiet, dataclasses.replace(TAKER, fee_rate=0.0002, margin=1.0)).ok


def test_the_model_prediction_replaces_the_volatility_estimate_when_given() -> None:
    doubtful = dataclasses.replace(BASE, spread_sd_usdt=100.0, predicted_reversion_z=0.3)
    verdict = judge_entry_cost(doubtful, TAKER)
    assert verdict.source == "model" and not verdict.ok
    assert verdict.expected_return == pytest.approx(100.0 * 0.3 / 80_000)
    missing = dataclasses.replace(BASE, predicted_reversion_z=math.nan)
    assert not judge_entry_cost(missing, TAKER).ok


def test_funding_is_paid_by_the_long_leg_and_received_by_the_short_leg() -> None:
    # Long spread: long A pays A's positive rate; short B receives B's.
    pays = dataclasses.replace(BASE, funding_rate_a=0.001, funding_rate_b=0.0, half_life_candles=96)
    verdict = judge_entry_cost(pays, TAKER)
    hours = 96 * math.log2(2.5 / 0.5) * 5 / 60
    assert verdict.holding_hours == pytest.approx(hours)
    assert verdict.funding_return == pytest.approx(0.001 * 40_000 / 80_000 * hours / 8)
    receives = dataclasses.replace(pays, direction=-1, z=2.5)
    assert judge_entry_cost(receives, TAKER).funding_return == pytest.approx(
        -verdict.funding_return
    )


def test_unknown_funding_is_assumed_zero_and_says_so() -> None:
    verdict = judge_entry_cost(dataclasses.replace(BASE, funding_rate_a=math.nan), TAKER)
    assert verdict.funding_return == 0.0
    assert "rates unknown, 0 assumed" in verdict.reason


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"spread_sd_usdt": math.nan}, "spread volatility unavailable"),
        ({"spread_sd_usdt": 0.0}, "spread volatility unavailable"),
        ({"price_b": 0.0}, "price_b"),
        ({"half_life_candles": math.inf}, "half-life"),
    ],
)
def test_missing_inputs_refuse_the_entry_with_a_reason(change: dict, needle: str) -> None:
    verdict = judge_entry_cost(dataclasses.replace(BASE, **change), TAKER)
    assert not verdict.ok and needle in verdict.reason


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"fee_rate": -0.0001}, "fee_rate"),
        ({"fee_rate": 0.02}, "fee_rate"),
        ({"fee_rate": 0.0005, "slippage_bps": -1}, "slippage_bps"),
        ({"fee_rate": 0.0005, "margin": 0}, "margin"),
        ({"fee_rate": math.nan}, "fee_rate"),
    ],
)
def test_bad_cost_parameters_are_refused_by_name(params: dict, name: str) -> None:
    with pytest.raises(CostInputError, match=name):
        CostParams(**params)


def test_holding_time_follows_the_half_life_from_z_to_the_band() -> None:
    assert expected_holding_candles(-2.0, 0.5, 10) == pytest.approx(20.0)
    assert expected_holding_candles(2.0, 0.0, 10) == pytest.approx(30.0)  # band floored at 0.25
    assert expected_holding_candles(0.3, 0.5, 10) == 1.0


def test_spread_sigma_uses_the_hedge_ratio() -> None:
    b = np.array([1.0, 1.1, 1.2, 1.3])
    a = 2 * b + np.array([0.0, 0.1, -0.1, 0.0])
    assert spread_sd_usdt(a, b, 2.0) == pytest.approx(np.std([0.0, 0.1, -0.1, 0.0], ddof=1))
    assert math.isnan(spread_sd_usdt([1.0], [1.0], 1.0))

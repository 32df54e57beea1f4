"""OU half-life: the scanner's half-life bounds reject spreads too slow (or too fast) to trade."""

from __future__ import annotations

import math

import numpy as np
import pytest
from stats_sim import ar1, random_walk

from statarb.stats.halflife import half_life_from_slope, mean_reversion_slope, ou_half_life
from statarb.stats.inputs import StatsInputError


@pytest.mark.parametrize("half_life", [2.0, 10.0, 40.0])
def test_the_half_life_of_a_simulated_ou_spread_is_recovered(half_life: float) -> None:
    rng = np.random.default_rng(int(half_life))
    spread = 500.0 + ar1(200_000, 2.0 ** (-1.0 / half_life), 3.0, rng)
    assert ou_half_life(spread) == pytest.approx(half_life, rel=0.05)


def test_the_exact_discrete_formula_not_the_first_order_one_is_used() -> None:
    # Half-life 2 candles: phi = 2**-0.5, b = phi - 1 = -0.293. -ln2/b would say 2.37.
    b = 2.0**-0.5 - 1.0
    assert half_life_from_slope(b) == pytest.approx(2.0, rel=1e-12)
    assert -math.log(2) / b == pytest.approx(2.37, abs=0.01)


def test_a_random_walk_or_explosive_spread_has_no_half_life() -> None:
    assert half_life_from_slope(0.0) == math.inf
    assert half_life_from_slope(0.01) == math.inf
    assert half_life_from_slope(-2.5) == math.inf  # |phi| = 1.5: oscillates and grows
    rng = np.random.default_rng(1)
    walk = random_walk(50_000, 100.0, 1.0, rng)
    assert ou_half_life(walk) > 1_000 or ou_half_life(walk) == math.inf


def test_an_overshooting_spread_reports_the_half_life_of_its_magnitude() -> None:
    # phi = -0.5: the deviation flips sign and halves every candle.
    assert half_life_from_slope(-1.5) == pytest.approx(1.0)


def test_vectorised_slopes_match_scalar_ones() -> None:
    slopes = np.array([-0.5, -0.1, 0.0, 0.2, np.nan])
    out = half_life_from_slope(slopes)
    assert np.isnan(out[-1])
    assert [half_life_from_slope(float(s)) for s in slopes[:-1]] == list(out[:-1])


def test_the_slope_regression_includes_an_intercept() -> None:
    rng = np.random.default_rng(2)
    spread = ar1(5_000, 0.8, 1.0, rng)
    shifted = spread + 1e4  # a spread far from zero has the same half-life
    assert mean_reversion_slope(shifted) == pytest.approx(mean_reversion_slope(spread), rel=1e-9)


def test_bad_spreads_are_refused() -> None:
    with pytest.raises(StatsInputError, match="constant"):
        ou_half_life(np.full(100, 2.0))
    with pytest.raises(StatsInputError, match="non-finite"):
        ou_half_life([1.0, np.nan, 2.0, 3.0])
    with pytest.raises(StatsInputError, match="observations"):
        ou_half_life([1.0, 2.0])

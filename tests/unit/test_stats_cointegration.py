"""Engle-Granger and ADF equal statsmodels where statsmodels is meaningful, and refuse elsewhere.

A wrong p-value selects non-cointegrated pairs (silent losses); a number computed from NaNs,
a constant or collinear legs is worse than an error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from stats_sim import Reference, ar1, cointegrated_pair, random_walk, statsmodels_eg
from statsmodels.tsa.adfvalues import mackinnoncrit
from statsmodels.tsa.stattools import adfuller

from statarb.stats.cointegration import (
    COLLINEAR_R_SQUARED,
    MIN_ADF_DF,
    EngleGrangerResult,
    adf_test,
    default_maxlag,
    engle_granger,
    ols_hedge_ratio,
)
from statarb.stats.inputs import StatsInputError

T_TOL = 1e-8
P_TOL = 1e-6
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def leg_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Cointegrated or independent legs at price levels from 0.01 to 100,000."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(40, 500))
    level_b = 10 ** draw(st.floats(-2, 5))
    sd_b = level_b * draw(st.floats(0.001, 0.03))
    b = random_walk(n, level_b, sd_b, rng)
    hedge = 10 ** draw(st.floats(-2, 2)) * draw(st.sampled_from([1.0, -1.0]))
    phi = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]))  # 1.0: not cointegrated
    noise_sd = abs(hedge) * sd_b * draw(st.floats(0.05, 5.0))
    resid = ar1(n, phi, noise_sd, rng)
    return 3.0 + hedge * b + resid, b


@SETTINGS
@given(legs=leg_pairs(), maxlag=st.one_of(st.none(), st.integers(0, 6)))
def test_engle_granger_equals_statsmodels_coint_with_aic_lag_choice(legs, maxlag) -> None:
    a, b = legs
    ours = engle_granger(a, b, maxlag=maxlag, autolag="aic")
    assert_matches_statsmodels(ours, statsmodels_eg(a, b, maxlag, "aic"))


@SETTINGS
@given(legs=leg_pairs(), maxlag=st.one_of(st.none(), st.integers(0, 6)))
def test_engle_granger_equals_statsmodels_coint_at_a_fixed_lag(legs, maxlag) -> None:
    a, b = legs
    ours = engle_granger(a, b, maxlag=maxlag, autolag=None)
    assert ours.lag == (maxlag if maxlag is not None else default_maxlag(len(a), 0))
    assert_matches_statsmodels(ours, statsmodels_eg(a, b, maxlag, None))


def assert_matches_statsmodels(ours: EngleGrangerResult, ref: Reference) -> None:
    # statsmodels' ADF on the exactly computed residual: always, to what float64 can hold.
    # Where the residual is tiny next to the legs' levels, float64 loses digits in it; coint's
    # own residual error measures how many (ours is de-meaned first, so it loses no more).
    # Hypothesis found a pair 3.0001 vs 0.01 whose t differed by 1.8e-8 (coint's by 5.4e-8).
    t_tol = max(T_TOL, 10 * ref.resid_rel_error * abs(ref.exact_stat))
    assert ours.lag == ref.exact_lag
    assert abs(ours.stat - ref.exact_stat) <= t_tol
    assert abs(ours.pvalue - ref.exact_pvalue) <= P_TOL
    # coint itself: wherever its own first-stage residual is accurate.
    if ref.coint_is_accurate:
        assert ours.lag == ref.lag
        assert abs(ours.stat - ref.stat) <= T_TOL
        assert abs(ours.pvalue - ref.pvalue) <= P_TOL


def test_near_collinear_legs_are_more_accurate_than_coint_not_less() -> None:
    # A pair so tight that coint's raw-level regression loses digits in the residual.
    rng = np.random.default_rng(11)
    b = random_walk(40, 1.0, 0.001, rng)
    a = 3.0 + b + ar1(40, 0.9, 0.00005, rng)
    ref = statsmodels_eg(a, b, None, None)
    assert not ref.coint_is_accurate
    ours = engle_granger(a, b, autolag=None)
    assert abs(ours.stat - ref.exact_stat) <= 1e-10
    assert abs(ours.stat - ref.exact_stat) < abs(ref.stat - ref.exact_stat)


def test_critical_values_are_mackinnons_for_two_variables_not_plain_adf() -> None:
    rng = np.random.default_rng(1)
    a, b = cointegrated_pair(300, hedge_ratio=2.0, half_life=5.0, rng=rng)
    result = engle_granger(a, b)
    expected = mackinnoncrit(N=2, regression="c", nobs=299)
    got = (result.crit_values.pct1, result.crit_values.pct5, result.crit_values.pct10)
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    # Plain ADF values (N=1) are less negative: using them overstates cointegration.
    assert result.crit_values.pct5 < mackinnoncrit(N=1, regression="c", nobs=299)[1]


def test_the_hedge_ratio_is_a_on_b_with_intercept() -> None:
    rng = np.random.default_rng(2)
    a, b = cointegrated_pair(3000, hedge_ratio=16.67, half_life=4.0, rng=rng, intercept=250.0)
    fit = ols_hedge_ratio(a, b)
    assert fit.hedge_ratio == pytest.approx(16.67, rel=1e-3)
    assert np.allclose(fit.residuals, a - fit.intercept - fit.hedge_ratio * b, atol=1e-9)
    assert abs(fit.residuals.mean()) < 1e-9
    result = engle_granger(a, b)
    assert result.hedge_ratio == fit.hedge_ratio
    assert result.intercept == fit.intercept
    assert result.pvalue < 1e-6


def test_hedge_ratio_keeps_its_digits_at_btc_price_levels() -> None:
    rng = np.random.default_rng(3)
    b = random_walk(2000, 60_000.0, 40.0, rng)
    a = 1_000.0 + 0.0625 * b + ar1(2000, 0.8, 2.0, rng)
    fit = ols_hedge_ratio(a, b)
    # Exact reference in extended precision on de-meaned data.
    a_l, b_l = a.astype(np.longdouble), b.astype(np.longdouble)
    a_c, b_c = a_l - a_l.mean(), b_l - b_l.mean()
    exact = float((a_c * b_c).sum() / (b_c * b_c).sum())
    assert fit.hedge_ratio == pytest.approx(exact, rel=1e-12)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(30, 400),
    regression=st.sampled_from(["c", "n"]),
    maxlag=st.one_of(st.none(), st.integers(0, 5)),
    autolag=st.sampled_from(["aic", None]),
)
def test_adf_equals_statsmodels_adfuller(seed, n, regression, maxlag, autolag) -> None:
    rng = np.random.default_rng(seed)
    x = ar1(n, rng.choice([0.3, 0.9, 1.0]), 1.0, rng) + 50.0
    try:
        ours = adf_test(x, maxlag=maxlag, autolag=autolag, regression=regression)
    except StatsInputError as exc:
        # Only our extra degrees-of-freedom floor may refuse these well-behaved series.
        assert "degrees of freedom" in str(exc)
        reject()  # a refusal has nothing to compare with statsmodels; it is not an example
    ref = adfuller(x, maxlag=maxlag, autolag=autolag, regression=regression, result_object=True)
    assert ours.lag == ref.lags
    assert ours.n_obs == ref.nobs
    assert abs(ours.stat - ref.statistic) <= T_TOL
    assert abs(ours.pvalue - ref.pvalue) <= P_TOL
    assert ours.crit_values.pct5 == pytest.approx(ref.critical_values["5%"], abs=1e-12)


def test_a_random_walk_is_not_called_stationary_and_an_ar1_is() -> None:
    rng = np.random.default_rng(4)
    assert adf_test(random_walk(2000, 100.0, 1.0, rng)).pvalue > 0.05
    assert adf_test(ar1(2000, 0.5, 1.0, rng)).pvalue < 0.001


# --- adversarial inputs: a clear refusal, never a number -----------------------------------


def _legs(n: int = 200, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    return cointegrated_pair(n, hedge_ratio=1.5, half_life=5.0, rng=np.random.default_rng(seed))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_missing_or_infinite_price_is_refused_with_its_position(bad: float) -> None:
    a, b = _legs()
    b = b.copy()
    b[17] = bad
    with pytest.raises(StatsInputError, match=r"leg_b has 1 non-finite value.*position 17"):
        engle_granger(a, b)


def test_a_constant_leg_is_refused() -> None:
    a, _ = _legs()
    with pytest.raises(StatsInputError, match="leg_b is constant"):
        engle_granger(a, np.full_like(a, 42.0))
    with pytest.raises(StatsInputError, match="series is constant"):
        adf_test(np.full(100, 3.0))


def test_perfectly_collinear_legs_are_refused_where_statsmodels_returns_minus_infinity() -> None:
    _, b = _legs()
    a = 3.0 + 2.0 * b  # exactly collinear
    with pytest.raises(StatsInputError, match="collinear"):
        engle_granger(a, b)
    a = 3.0 + 2.0 * b + np.random.default_rng(6).normal(0, 1e-9, b.size)  # rounding-level noise
    assert ols_hedge_ratio(a, b).r_squared >= COLLINEAR_R_SQUARED
    with pytest.raises(StatsInputError, match="collinear"):
        engle_granger(a, b)


@pytest.mark.parametrize("n", [0, 1, 5, 19])
def test_too_few_prices_are_refused(n: int) -> None:
    a, b = _legs()
    with pytest.raises(StatsInputError, match="observations"):
        engle_granger(a[:n], b[:n])


def test_a_sample_too_short_for_its_lag_search_is_refused_not_answered() -> None:
    a, b = _legs(n=25)
    # statsmodels would fit 9 lags on 15 rows (5 residual dof) and print a t-statistic.
    with pytest.raises(StatsInputError, match="degrees of freedom"):
        engle_granger(a, b)
    result = engle_granger(a, b, maxlag=1)  # a small lag fits the short sample
    assert math.isfinite(result.stat)
    assert MIN_ADF_DF == 10


def test_maxlag_beyond_the_sample_is_refused() -> None:
    a, b = _legs(n=100)
    with pytest.raises(StatsInputError, match="maxlag 60 is too large"):
        engle_granger(a, b, maxlag=60)
    with pytest.raises(StatsInputError, match="maxlag must be >= 0"):
        engle_granger(a, b, maxlag=-1)


def test_legs_of_different_lengths_are_refused() -> None:
    a, b = _legs()
    with pytest.raises(StatsInputError, match="align them"):
        engle_granger(a, b[:-1])


def test_periodic_data_is_refused_as_singular() -> None:
    # A price cycling 0, 1, 3: any three consecutive differences sum to zero, so the lagged
    # differences are linearly dependent and "the" coefficients do not exist.
    x = 100.0 + np.tile([0.0, 1.0, 3.0], 50)
    with pytest.raises(StatsInputError, match="singular"):
        adf_test(x, maxlag=3, autolag=None)


def test_a_deterministic_series_is_refused_as_a_perfect_fit() -> None:
    x = 7.0 + 100.0 * 0.97 ** np.arange(80)  # Δx = -0.03 x + 0.21 exactly
    with pytest.raises(StatsInputError, match="perfectly"):
        adf_test(x, maxlag=0, autolag=None, regression="c")


def test_unknown_options_are_refused() -> None:
    a, b = _legs()
    with pytest.raises(StatsInputError, match="autolag"):
        engle_granger(a, b, autolag="bic")
    with pytest.raises(StatsInputError, match="regression"):
        adf_test(a, regression="ct")


# Two columns of prices: adversarial ones (any length, NaN, inf, repeated values, huge or
# tiny numbers) and plain ones (enough rows of positive prices, each drawn on its own), so
# that every run sees both refusals and answers.
ADVERSARIAL_LEGS = arrays(
    np.float64,
    st.tuples(st.integers(0, 80), st.just(2)),
    elements=st.one_of(
        st.floats(-1e9, 1e9, allow_nan=False),
        st.sampled_from([0.0, 1.0, 100.0, np.nan, np.inf]),
    ),
)
PLAIN_LEGS = arrays(
    np.float64,
    st.tuples(st.integers(20, 80), st.just(2)),
    elements=st.floats(0.01, 1e6),
    fill=st.nothing(),
)


@settings(max_examples=150, deadline=None)
@given(
    values=st.one_of(ADVERSARIAL_LEGS, PLAIN_LEGS),
    maxlag=st.one_of(st.none(), st.integers(0, 4)),
)
def test_any_input_gives_a_valid_result_or_a_stats_input_error(values, maxlag) -> None:
    try:
        result = engle_granger(values[:, 0], values[:, 1], maxlag=maxlag)
    except StatsInputError as exc:
        assert str(exc)
        reject()  # the refusal is the answer; only results count as examples
    assert math.isfinite(result.stat)
    assert 0.0 <= result.pvalue <= 1.0
    assert 0 <= result.lag <= result.maxlag
    assert math.isfinite(result.hedge_ratio) and math.isfinite(result.intercept)

"""The batched scan gives, for every pair, exactly the single-pair Engle-Granger answer.

The scanner trusts the batch for all pairs of the universe; one pair computed differently
(a wrong lag block, a chunk boundary, a near-singular design) would be a wrong p-value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from stats_sim import ar1, log_random_walks, random_walk, statsmodels_eg

from statarb.stats import batch
from statarb.stats.batch import all_unordered_pairs, engle_granger_batch
from statarb.stats.cointegration import engle_granger
from statarb.stats.halflife import ou_half_life
from statarb.stats.inputs import StatsInputError

T_TOL = 1e-8
ANY_INPUT_TOL = 1e-6  # adversarial inputs, see the any-input test
P_TOL = 1e-6


def universe(n: int, n_coins: int, seed: int, planted: int = 2) -> np.ndarray:
    """Random walks at realistic levels; coin 2k is cointegrated with coin 2k+1 for k < planted."""
    rng = np.random.default_rng(seed)
    levels = list(10 ** rng.uniform(-1, 4.8, n_coins))
    x = log_random_walks(n, levels, rng)
    for k in range(planted):
        a, b = 2 * k, 2 * k + 1
        hedge = rng.uniform(0.5, 2.0) * levels[a] / levels[b]
        resid = ar1(n, rng.uniform(0.5, 0.95), 0.003 * levels[a], rng)
        x[:, a] = 0.1 * levels[a] + hedge * x[:, b] + resid
    return x


def assert_batch_equals_single(x: np.ndarray, maxlag: int | None, autolag: str | None) -> None:
    result = engle_granger_batch(x, maxlag=maxlag, autolag=autolag)
    assert len(result) == x.shape[1] * (x.shape[1] - 1) // 2
    for i in range(len(result)):
        a, b = x[:, result.leg_a[i]], x[:, result.leg_b[i]]
        single = engle_granger(a, b, maxlag=maxlag, autolag=autolag)
        assert result.error[i] is None
        assert result.lag[i] == single.lag
        assert abs(result.stat[i] - single.stat) <= T_TOL
        assert abs(result.pvalue[i] - single.pvalue) <= P_TOL
        assert result.hedge_ratio[i] == pytest.approx(single.hedge_ratio, rel=1e-12)
        assert result.intercept[i] == pytest.approx(single.intercept, rel=1e-10, abs=1e-9)
        assert result.half_life[i] == pytest.approx(
            ou_half_life(a - single.intercept - single.hedge_ratio * b), rel=1e-9
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(60, 700),
    n_coins=st.integers(2, 7),
    maxlag=st.one_of(st.none(), st.integers(0, 8)),
    autolag=st.sampled_from(["aic", None]),
)
def test_batch_equals_the_single_pair_test_for_every_pair(
    seed, n, n_coins, maxlag, autolag
) -> None:
    assert_batch_equals_single(universe(n, n_coins, seed, planted=n_coins // 3), maxlag, autolag)


def test_batch_equals_statsmodels_coint_on_a_realistic_universe() -> None:
    x = universe(1_000, 8, seed=3, planted=3)
    result = engle_granger_batch(x)
    for i in range(len(result)):
        ref = statsmodels_eg(x[:, result.leg_a[i]], x[:, result.leg_b[i]], None, "aic")
        assert ref.coint_is_accurate
        assert result.lag[i] == ref.lag
        assert abs(result.stat[i] - ref.stat) <= T_TOL
        assert abs(result.pvalue[i] - ref.pvalue) <= P_TOL
    planted = (result.leg_a == 0) & (result.leg_b == 1)
    assert result.pvalue[planted][0] < 1e-4


@st.composite
def small_pairs(draw: st.DrawFn) -> np.ndarray:
    """Closes [A, B, C]: A on B cointegrated (φ < 1) or not (φ = 1), C an unrelated coin.

    Levels from 0.01 to 100,000, either sign of hedge ratio, and residuals from 0.3 % of B's
    step (sums that cancel: the kernel must notice) to 5x.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(40, 400))
    level_b = 10 ** draw(st.floats(-2, 5))
    sd_b = level_b * draw(st.floats(0.001, 0.03))
    b = random_walk(n, level_b, sd_b, rng)
    hedge = 10 ** draw(st.floats(-2, 2)) * draw(st.sampled_from([1.0, -1.0]))
    phi = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]))
    noise_sd = abs(hedge) * sd_b * 10 ** draw(st.floats(-2.5, 0.7))
    a = 3.0 * abs(hedge) * level_b + hedge * b + ar1(n, phi, noise_sd, rng)
    c = random_walk(n, 10 ** draw(st.floats(-2, 5)), 1.0, rng)
    return np.column_stack([a, b, np.abs(c) + 1.0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=small_pairs(),
    maxlag=st.one_of(st.none(), st.integers(0, 6)),
    autolag=st.sampled_from(["aic", None]),
)
def test_the_kernel_equals_statsmodels_coint_on_cointegrated_and_unrelated_pairs(
    x, maxlag, autolag
) -> None:
    # A pair scored differently from statsmodels is a p-value the FDR control cannot trust:
    # every pair, both directions, the same lag, t, p and hedge ratio.
    pairs = [[0, 1], [1, 0], [0, 2], [2, 1]]
    refs = [statsmodels_eg(x[:, i], x[:, j], maxlag, autolag) for i, j in pairs]
    # Where statsmodels' raw-level first stage loses digits (or calls the legs collinear and
    # answers t = -inf) there is no statsmodels number to equal; see the cointegration tests.
    assume(all(ref.coint_is_accurate and np.isfinite(ref.stat) for ref in refs))
    result = engle_granger_batch(x, pairs, maxlag=maxlag, autolag=autolag)
    for i, ref in enumerate(refs):
        assert result.error[i] is None
        assert result.lag[i] == ref.lag
        assert abs(result.stat[i] - ref.stat) <= T_TOL
        assert abs(result.pvalue[i] - ref.pvalue) <= P_TOL
        assert result.hedge_ratio[i] == pytest.approx(ref.hedge_ratio, rel=1e-9)


def test_a_residual_tiny_beside_its_legs_is_summed_from_itself_not_from_cancelling_sums() -> None:
    # R² = 1 - 1e-5: the bilinear sums (A·A - 2β A·B + β² B·B) cancel five digits, enough
    # to move t by ~1e-8 and an AIC tie to another lag. That pair's sums come from its residual.
    rng = np.random.default_rng(12)
    n = 2_000
    b = random_walk(n, 30_000.0, 60.0, rng)
    a = 100.0 + 0.5 * b + ar1(n, 0.95, 0.2, rng)
    c = random_walk(n, 2.0, 0.01, rng)
    x = np.column_stack([a, b, c])
    result = engle_granger_batch(x, [[0, 1], [0, 2]])
    assert result.direct_path_pairs == 1
    assert 1.0 - result.r_squared[0] < 1e-4
    for i, (p, q) in enumerate([(0, 1), (0, 2)]):
        ref = statsmodels_eg(x[:, p], x[:, q], None, "aic")
        assert result.lag[i] == ref.exact_lag
        assert abs(result.stat[i] - ref.exact_stat) <= T_TOL
        assert abs(result.pvalue[i] - ref.exact_pvalue) <= P_TOL


def test_the_cancellation_bound_is_what_sends_a_pair_to_its_own_residual(monkeypatch) -> None:
    # The same pairs with the bound lifted (every pair bilinear) and at zero (every pair
    # from its residual) agree to far below the tolerance on ordinary pairs.
    x = universe(600, 6, seed=13, planted=2)
    monkeypatch.setattr(batch, "MAX_AMPLIFICATION", np.inf)
    bilinear = engle_granger_batch(x)
    monkeypatch.setattr(batch, "MAX_AMPLIFICATION", 0.0)
    residual = engle_granger_batch(x)
    assert bilinear.direct_path_pairs == 0 and residual.direct_path_pairs == len(x.T) * 5 // 2
    np.testing.assert_array_equal(bilinear.lag, residual.lag)
    np.testing.assert_allclose(bilinear.stat, residual.stat, rtol=0, atol=1e-10)
    np.testing.assert_allclose(bilinear.half_life, residual.half_life, rtol=1e-9)


def spikes(n: int, at: dict[int, float]) -> np.ndarray:
    x = np.zeros(n)
    for row, value in at.items():
        x[row] = value
    return x


def test_spiky_legs_get_the_exact_t_statistic_not_one_from_two_roundings_of_the_residual() -> None:
    # One spike per leg: an ill-conditioned ADF regression (Cholesky pivots ~0.01). Core sums
    # and edge rows built from two roundings of the same differences were 1.3e-8 off in t.
    a = spikes(37, {35: 1.0})
    b = spikes(37, {0: 5_189_169.0, 10: 1.0, 27: 100.0})
    result = engle_granger_batch(np.column_stack([a, b]))
    exact_t = -0.054940568114626824  # rational arithmetic on the exact residual, lag 9
    assert result.lag[0] == 9
    assert abs(result.stat[0] - exact_t) <= 1e-11
    assert abs(result.stat[0] - engle_granger(a, b).stat) <= T_TOL


def test_a_coin_too_small_to_square_is_summed_from_its_residual() -> None:
    # (7e-160)² is subnormal: sums of squares of that coin keep a few bits, not 53.
    a = spikes(30, {0: 1.0})
    b = spikes(30, {9: 7.063854023571819e-160})
    result = engle_granger_batch(np.column_stack([a, b]))
    assert result.direct_path_pairs == 1
    assert abs(result.stat[0] - engle_granger(a, b).stat) <= T_TOL


def test_a_regressor_of_rounding_noise_is_refused_as_the_single_pair_test_refuses_it() -> None:
    # B's 1e-8 moves the residual by its last bit or not at all, depending on the rounding:
    # a lagged difference that is zero (single test) or 1 ulp (sums) is no regressor.
    a = spikes(42, {0: 1.0})
    b = spikes(42, {2: 7.6395558e7, 22: 1e-8})
    result = engle_granger_batch(np.column_stack([a, b]))
    with pytest.raises(StatsInputError, match="singular") as single:
        engle_granger(a, b)
    assert result.error[0] == str(single.value)
    assert np.isnan(result.stat[0]) and result.lag[0] == -1


def test_small_blocks_give_the_same_numbers_as_one_block() -> None:
    # Blocks bound the memory; the block boundaries must not change any pair.
    x = universe(500, 9, seed=4)
    whole = engle_granger_batch(x, max_block_bytes=1 << 30)
    calls = []
    tiny = engle_granger_batch(x, max_block_bytes=1, progress=lambda d, t: calls.append((d, t)))
    np.testing.assert_array_equal(whole.lag, tiny.lag)
    np.testing.assert_allclose(tiny.stat, whole.stat, rtol=0, atol=1e-12)
    assert calls[-1] == (36, 36) and len(calls) == 36  # one pair per block, progress each


def test_ordered_pairs_test_the_direction_asked_for() -> None:
    x = universe(400, 3, seed=5, planted=1)
    both = engle_granger_batch(x, [[0, 1], [1, 0]])
    forward = engle_granger(x[:, 0], x[:, 1])
    backward = engle_granger(x[:, 1], x[:, 0])
    assert abs(both.stat[0] - forward.stat) <= T_TOL
    assert abs(both.stat[1] - backward.stat) <= T_TOL
    assert both.stat[0] != both.stat[1]


def test_a_near_singular_pair_takes_the_exact_path_and_still_matches() -> None:
    # A residual dominated by a period-3 cycle makes the lagged differences nearly dependent:
    # the normal equations would lose digits, so the QR path recomputes that pair.
    rng = np.random.default_rng(6)
    n = 600
    b = 100 + np.cumsum(rng.normal(0, 1, n))
    cycle = np.tile([0.0, 1.0, 3.0], n // 3) * 50
    a = 2 * b + cycle + rng.normal(0, 1e-3, n)
    c = 50 + np.cumsum(rng.normal(0, 1, n))
    x = np.column_stack([a, b, c])
    result = engle_granger_batch(x, maxlag=4, autolag="aic")
    assert result.exact_path_pairs >= 1
    for i in range(len(result)):
        single = engle_granger(x[:, result.leg_a[i]], x[:, result.leg_b[i]], maxlag=4)
        assert result.lag[i] == single.lag
        assert abs(result.stat[i] - single.stat) <= T_TOL


def test_a_collinear_pair_is_refused_alone_and_the_others_still_tested() -> None:
    x = universe(300, 4, seed=7, planted=0)
    x[:, 3] = 5.0 + 2.0 * x[:, 2]
    result = engle_granger_batch(x)
    bad = (result.leg_a == 2) & (result.leg_b == 3)
    assert "collinear" in result.error[int(np.flatnonzero(bad)[0])]
    assert np.isnan(result.stat[bad]).all() and np.isnan(result.pvalue[bad]).all()
    assert result.ok.sum() == len(result) - 1
    assert np.isfinite(result.stat[result.ok]).all()


def test_correlations_are_of_log_returns_and_of_levels() -> None:
    x = universe(500, 3, seed=8, planted=1)
    result = engle_granger_batch(x, [[0, 1]])
    returns = np.diff(np.log(x[:, :2]), axis=0)
    assert result.corr_returns[0] == pytest.approx(np.corrcoef(returns.T)[0, 1], rel=1e-10)
    assert result.corr_levels[0] == pytest.approx(np.corrcoef(x[:, :2].T)[0, 1], rel=1e-10)


def test_bad_universes_are_refused_naming_the_coin() -> None:
    x = universe(200, 3, seed=9, planted=1)
    names = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    holes = x.copy()
    holes[50, 1] = np.nan
    with pytest.raises(StatsInputError, match="ETH/USDT:USDT have 1 missing"):
        engle_granger_batch(holes, names=names)
    flat = x.copy()
    flat[:, 2] = 7.0
    with pytest.raises(StatsInputError, match="SOL/USDT:USDT are constant"):
        engle_granger_batch(flat, names=names)
    with pytest.raises(StatsInputError, match="at least 20"):
        engle_granger_batch(x[:10])
    with pytest.raises(StatsInputError, match="2-D"):
        engle_granger_batch(x[:, 0])
    with pytest.raises(StatsInputError, match="two different coins"):
        engle_granger_batch(x, [[1, 1]])
    with pytest.raises(StatsInputError, match="out of range"):
        engle_granger_batch(x, [[0, 3]])
    with pytest.raises(StatsInputError, match="degrees of freedom"):
        engle_granger_batch(x[:25])


def test_all_unordered_pairs_lists_each_pair_once() -> None:
    pairs = all_unordered_pairs(50)
    assert pairs.shape == (1225, 2)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len({tuple(p) for p in pairs}) == 1225


# Columns of prices: adversarial ones (any length, repeated values, huge or tiny numbers)
# and plain ones (enough rows of positive prices, each drawn on its own), so that every run
# sees both whole-batch refusals and batches to compare pair by pair.
ADVERSARIAL_COINS = arrays(
    np.float64,
    st.tuples(st.integers(0, 80), st.integers(2, 4)),
    elements=st.one_of(st.floats(-1e9, 1e9), st.sampled_from([0.0, 1.0, 100.0, 1e-300])),
)
PLAIN_COINS = arrays(
    np.float64,
    st.tuples(st.integers(20, 80), st.integers(2, 4)),
    elements=st.floats(0.01, 1e6),
    fill=st.nothing(),
)


def _lone_spikes_among_zeros() -> np.ndarray:
    values = np.zeros((32, 3))
    values[2, 0], values[14, 0] = 1.260923e6, 1.0
    values[3, 1] = 1.0
    values[14, 2] = 1.0
    return values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.one_of(ADVERSARIAL_COINS, PLAIN_COINS),
    maxlag=st.one_of(st.none(), st.integers(0, 4)),
)
# Found once this test counted only answered batches: the fast path's pivot guard (1e-3) lets
# this pair through (pivot ~0.02) and its statistic is 2e-7 off the single pair's: within
# the any-input tolerance, outside the 1e-8 asserted on market-like data. Raising the guard
# to 3e-2 fixes it but moves the spiky-legs case above to the QR path (1.5e-11 off the exact
# t instead of under 1e-11): left as is, kept here so a worse drift is seen.
@example(values=_lone_spikes_among_zeros(), maxlag=None)
def test_batch_and_single_agree_on_any_input_refusals_included(values, maxlag) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no silent overflow or 0/0 on the way
        try:
            result = engle_granger_batch(values, maxlag=maxlag)
        except StatsInputError as exc:
            assert str(exc)
            reject()  # nothing to compare pair by pair; only answered batches count
        for i in range(len(result)):
            a, b = values[:, result.leg_a[i]], values[:, result.leg_b[i]]
            try:
                single = engle_granger(a, b, maxlag=maxlag)
            except StatsInputError:
                assert result.error[i] is not None
                assert np.isnan(result.stat[i]) and np.isnan(result.pvalue[i])
                continue
            assert result.error[i] is None
            assert result.lag[i] == single.lag
            # Any input includes ill-conditioned ones (1e9 beside 1e-300): two correct
            # least-squares routes then differ by rounding times the conditioning. Equality
            # to 1e-8 is asserted on market-like data above; here, agreement to 1e-6.
            assert abs(result.stat[i] - single.stat) <= ANY_INPUT_TOL * max(1.0, abs(single.stat))

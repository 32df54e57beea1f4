"""OLS hedge ratio, ADF and Engle-Granger tests: the reference (one pair at a time) implementation.

Numerically this reproduces `statsmodels.tsa.stattools.adfuller` and `coint(a, b, trend="c")`:
the cointegrating regression has a constant, the residual ADF has none, the lag is chosen by AIC
over a common sample and then re-fitted on the chosen lag's own sample, and the p-value comes
from MacKinnon's tables for two variables. It differs on purpose in one way: where statsmodels
warns and returns a meaningless number (collinear legs, constant or deterministic series, a
regression with almost no degrees of freedom), this raises `StatsInputError` naming the problem.

The regressions use a QR factorisation of column-scaled designs (as accurate as statsmodels'
pseudo-inverse); `statarb.stats.batch` is the fast path for many pairs and is checked against
this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.linalg import solve_triangular

from statarb.stats import mackinnon
from statarb.stats.inputs import (
    StatsInputError,
    as_series_array,
    require_length,
    require_not_constant,
)
from statarb.stats.threads import single_threaded_blas

AutoLag = Literal["aic"] | None

# statsmodels' own cut-off (coint): above it the legs are "(almost) perfectly collinear", the
# residual is rounding noise and statsmodels returns t = -inf, p = 0. We refuse instead.
COLLINEAR_R_SQUARED = 1.0 - 100.0 * float(np.sqrt(np.finfo(np.float64).eps))

# Fewest residual degrees of freedom we accept in any ADF regression we fit (the largest lag
# searched included). Below this the t-statistic is noise; statsmodels would still print one.
MIN_ADF_DF = 10

# Fewest aligned prices for an Engle-Granger test (the pairs_config schema asks n_obs >= 20).
MIN_EG_OBS = 20

# A column of the (unit-norm scaled) ADF design whose QR pivot falls below this is a linear
# combination of the others: piecewise-constant or periodic data. Refused as singular.
SINGULAR_PIVOT = 1e-8

# A regression that explains all but this fraction of the variance is fitting a deterministic
# series; its t-statistic is astronomically large and means nothing.
PERFECT_FIT_SSR = 1e-12


@dataclass(frozen=True)
class CriticalValues:
    """Test statistic thresholds at the 1 %, 5 % and 10 % levels (reject below them)."""

    pct1: float
    pct5: float
    pct10: float


@dataclass(frozen=True, eq=False)
class HedgeFit:
    """`leg_a = intercept + hedge_ratio * leg_b + residuals` by ordinary least squares."""

    hedge_ratio: float
    intercept: float
    r_squared: float
    residuals: np.ndarray


@dataclass(frozen=True)
class AdfResult:
    """Augmented Dickey-Fuller test of a unit root (H0: non-stationary)."""

    stat: float
    pvalue: float
    lag: int  # lagged differences in the final regression
    n_obs: int  # observations in the final regression
    maxlag: int  # largest lag searched (autolag) or used (fixed)
    regression: Literal["c", "n"]
    crit_values: CriticalValues
    aic: float | None  # AIC of the chosen lag on the common sample; None without autolag


@dataclass(frozen=True)
class EngleGrangerResult:
    """Engle-Granger two-step test of A on B (H0: no cointegration).

    `residual = leg_a - intercept - hedge_ratio * leg_b`; `stat` is the residual ADF
    t-statistic, `pvalue` MacKinnon's for two variables with a constant.
    """

    hedge_ratio: float
    intercept: float
    r_squared: float
    stat: float
    pvalue: float
    lag: int
    maxlag: int
    n_obs: int  # aligned prices used
    adf_n_obs: int  # observations in the final residual ADF regression
    crit_values: CriticalValues


def default_maxlag(nobs: int, ntrend: int) -> int:
    """statsmodels' (Schwert 1989) rule, capped so the lag matrix leaves half the sample."""
    maxlag = int(np.ceil(12.0 * np.power(nobs / 100.0, 1 / 4.0)))
    return min(nobs // 2 - ntrend - 1, maxlag)


def ols_hedge_ratio(leg_a: Any, leg_b: Any) -> HedgeFit:
    """Regress A on B with an intercept (prices, same length, aligned).

    Computed on de-meaned data: at BTC price levels the raw normal equations lose digits.
    """
    a, b = _aligned_legs(leg_a, leg_b, minimum=3, purpose="a regression with an intercept")
    with np.errstate(all="ignore"):  # overflow/underflow is caught just below, by name
        mean_a, mean_b = a.mean(), b.mean()
        a_c, b_c = a - mean_a, b - mean_b
        hedge_ratio = float(a_c @ b_c / (b_c @ b_c))
        residuals = a_c - hedge_ratio * b_c
        r_squared = float(1.0 - (residuals @ residuals) / (a_c @ a_c))
    if not (np.isfinite(hedge_ratio) and np.isfinite(r_squared)):
        raise StatsInputError(
            "the legs' values are too large or too small to regress in float64 (their sums "
            "of squares overflow or underflow): rescale the prices"
        )
    return HedgeFit(
        hedge_ratio=hedge_ratio,
        intercept=float(mean_a - hedge_ratio * mean_b),
        r_squared=r_squared,
        residuals=residuals,
    )


def adf_test(
    series: Any,
    maxlag: int | None = None,
    autolag: AutoLag = "aic",
    regression: Literal["c", "n"] = "c",
) -> AdfResult:
    """ADF test as `adfuller(series, maxlag, regression, autolag)`, with MacKinnon's N=1 values."""
    x = as_series_array(series, "series")
    require_not_constant(x, "series")
    with single_threaded_blas():
        return _adf(x, maxlag, _autolag(autolag), regression, "series")


def engle_granger(
    leg_a: Any, leg_b: Any, maxlag: int | None = None, autolag: AutoLag = "aic"
) -> EngleGrangerResult:
    """Engle-Granger test of A on B: equals `coint(leg_a, leg_b, trend="c", ...)` where defined."""
    method = _autolag(autolag)
    a, b = _aligned_legs(leg_a, leg_b, minimum=MIN_EG_OBS, purpose="an Engle-Granger test")
    fit = ols_hedge_ratio(a, b)
    if fit.r_squared >= COLLINEAR_R_SQUARED:
        raise StatsInputError(
            f"leg_a and leg_b are (almost) perfectly collinear (R² = {fit.r_squared:.12f}): "
            "the residual is rounding noise and no cointegration test on it means anything"
        )
    with single_threaded_blas():
        adf = _adf(fit.residuals, maxlag, method, "n", "the Engle-Granger residual")
    n_obs = a.shape[0]
    return EngleGrangerResult(
        hedge_ratio=fit.hedge_ratio,
        intercept=fit.intercept,
        r_squared=fit.r_squared,
        stat=adf.stat,
        pvalue=mackinnon.pvalue(adf.stat, "c", mackinnon.EG_N_VARS),
        lag=adf.lag,
        maxlag=adf.maxlag,
        n_obs=n_obs,
        adf_n_obs=adf.n_obs,
        # statsmodels (after Stata's egranger) evaluates the 2010 surface at nobs - 1.
        crit_values=CriticalValues(*mackinnon.critical_values("c", mackinnon.EG_N_VARS, n_obs - 1)),
    )


def resolve_maxlag(nobs: int, maxlag: int | None, ntrend: int, name: str) -> int:
    """The lag bound `adfuller` would use, with its own refusals turned into clear errors."""
    cap = nobs // 2 - ntrend - 1
    if maxlag is None:
        resolved = default_maxlag(nobs, ntrend)
        if resolved < 0:
            raise StatsInputError(f"{name} has {nobs} observations: too short for any ADF lag")
        return resolved
    if isinstance(maxlag, bool) or not isinstance(maxlag, int | np.integer):
        raise StatsInputError(f"maxlag must be a whole number of lags, got {maxlag!r}")
    if maxlag < 0:
        raise StatsInputError(f"maxlag must be >= 0, got {maxlag}")
    if maxlag > cap:
        raise StatsInputError(
            f"maxlag {maxlag} is too large for {name} of {nobs} observations "
            f"(at most nobs // 2 - {ntrend + 1} = {cap})"
        )
    return int(maxlag)


def require_adf_dof(nobs: int, maxlag: int, ntrend: int, name: str) -> None:
    """Refuse when the biggest ADF regression would leave fewer than MIN_ADF_DF residual dof."""
    rows = nobs - 1 - maxlag
    dof = rows - (maxlag + 1 + ntrend)
    if dof < MIN_ADF_DF:
        raise StatsInputError(
            f"{name} has {nobs} observations: its ADF regression with {maxlag} lag(s) leaves "
            f"{dof} residual degrees of freedom, fewer than the {MIN_ADF_DF} needed for a "
            "meaningful t-statistic; use more data or a smaller maxlag"
        )


def _autolag(autolag: Any) -> AutoLag:
    if autolag is None:
        return None
    if isinstance(autolag, str) and autolag.lower() == "aic":
        return "aic"
    raise StatsInputError(f"autolag must be 'aic' or None, got {autolag!r}")


def _aligned_legs(leg_a: Any, leg_b: Any, *, minimum: int, purpose: str) -> tuple[np.ndarray, ...]:
    a = as_series_array(leg_a, "leg_a")
    b = as_series_array(leg_b, "leg_b")
    if a.shape != b.shape:
        raise StatsInputError(
            f"leg_a has {a.shape[0]} observations and leg_b {b.shape[0]}: align them on the "
            "candle date first"
        )
    require_length(a, "leg_a", minimum, purpose)
    require_not_constant(a, "leg_a")
    require_not_constant(b, "leg_b")
    return a, b


def _design(x: np.ndarray, lag: int, first_row: int, ntrend: int) -> tuple[np.ndarray, np.ndarray]:
    """ADF regression rows t = first_row .. n-2: columns [const?, x_t, Δx_{t-1} .. Δx_{t-lag}].

    The dependent variable is Δx_t = x_{t+1} - x_t, exactly `adfuller`'s `lagmat` layout.
    """
    n = x.shape[0]
    d = np.diff(x)
    rows = n - 1 - first_row
    columns = [np.ones(rows)] if ntrend else []
    columns.append(x[first_row : n - 1])
    columns.extend(d[first_row - j : n - 1 - j] for j in range(1, lag + 1))
    return np.column_stack(columns), d[first_row:]


def _scaled_qr(
    design: np.ndarray, y: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """QR of the unit-norm columns: (R, Q'y, residual sum of squares of the full design)."""
    norms = np.sqrt(np.einsum("ij,ij->j", design, design))
    if (norms == 0.0).any():
        raise StatsInputError(
            f"the ADF regression of {name} is singular: a regressor is zero throughout "
            "(long runs of unchanged values?)"
        )
    q, r = np.linalg.qr(design / norms)
    if np.abs(np.diag(r)).min() < SINGULAR_PIVOT:
        raise StatsInputError(
            f"the ADF regression of {name} is numerically singular: its lagged differences "
            "are (almost) linear combinations of each other (piecewise-constant or periodic data?)"
        )
    qty = q.T @ y
    resid = y - q @ qty
    ssr = float(resid @ resid)
    if ssr <= PERFECT_FIT_SSR * float(y @ y):
        raise StatsInputError(
            f"the ADF regression of {name} fits (almost) perfectly: the series is "
            "deterministic, not a price with noise"
        )
    return r, qty, ssr


def _aic(ssr: np.ndarray | float, nobs: int, k_params: np.ndarray | int) -> Any:
    """statsmodels' OLS AIC: -2 llf + 2 k, with llf of the Gaussian likelihood at ssr/nobs."""
    half = nobs / 2.0
    llf = -half * np.log(2 * np.pi) - half * np.log(np.asarray(ssr) / nobs) - half
    return -2.0 * llf + 2.0 * np.asarray(k_params)


def _adf(
    x: np.ndarray, maxlag: int | None, autolag: AutoLag, regression: Literal["c", "n"], name: str
) -> AdfResult:
    if regression not in ("c", "n"):
        raise StatsInputError(f"regression must be 'c' or 'n', got {regression!r}")
    ntrend = 1 if regression == "c" else 0
    n = x.shape[0]
    require_length(x, name, 6, "an ADF test")
    p = resolve_maxlag(n, maxlag, ntrend, name)
    require_adf_dof(n, p, ntrend, name)

    aic_best: float | None = None
    if autolag == "aic":
        # Every candidate lag is compared on the same rows (those the largest lag allows);
        # the nested models are the leading columns of one QR, so one factorisation serves all.
        design, y = _design(x, p, p, ntrend)
        _, qty, ssr_full = _scaled_qr(design, y, name)
        tail = np.concatenate([np.cumsum((qty**2)[::-1])[::-1], [0.0]])
        first = ntrend + 1  # constant and level are always in
        ssr = ssr_full + tail[first : first + p + 1]
        aics = _aic(ssr, y.shape[0], np.arange(first, first + p + 1))
        lag = int(np.argmin(aics))  # first minimum, as statsmodels' min over (aic, lag)
        aic_best = float(aics[lag])
    else:
        lag = p

    design, y = _design(x, lag, lag, ntrend)
    r, qty, ssr = _scaled_qr(design, y, name)
    nobs, k = design.shape
    coef = solve_triangular(r, qty)
    r_inv = solve_triangular(r, np.eye(k))
    level = ntrend  # column of x_t
    variance = ssr / (nobs - k) * float(r_inv[level] @ r_inv[level])
    stat = float(coef[level] / np.sqrt(variance))
    return AdfResult(
        stat=stat,
        pvalue=mackinnon.pvalue(stat, regression, 1),
        lag=lag,
        n_obs=nobs,
        maxlag=p,
        regression=regression,
        crit_values=CriticalValues(*mackinnon.critical_values(regression, 1, nobs)),
        aic=aic_best,
    )

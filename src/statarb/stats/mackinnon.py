"""MacKinnon (1994, 2010) p-values and critical values, from statsmodels' own tables.

`mackinnonp` is scalar and costs ~40 µs a call; a scan of 1,225 pairs would spend a tenth of
its time there. `pvalues` evaluates the same response surface, from the same coefficient tables,
on a whole array at once; tests check it against `mackinnonp` value for value.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.special import ndtr
from statsmodels.tsa import adfvalues
from statsmodels.tsa.adfvalues import mackinnoncrit, mackinnonp

Regression = Literal["c", "n"]

# The Engle-Granger residual test on two series (A, B) uses MacKinnon's tables for N = 2
# variables with the constant of the cointegrating regression ("c"), not plain ADF values.
EG_N_VARS = 2


def pvalue(stat: float, regression: Regression, n_vars: int) -> float:
    """MacKinnon's approximate p-value of one unit-root / cointegration t-statistic."""
    return float(mackinnonp(stat, regression=regression, N=n_vars))


def critical_values(regression: Regression, n_vars: int, nobs: float) -> tuple[float, float, float]:
    """The 1 %, 5 % and 10 % critical values for a sample of ``nobs``."""
    one, five, ten = mackinnoncrit(N=n_vars, regression=regression, nobs=nobs)
    return float(one), float(five), float(ten)


def pvalues(stats: np.ndarray, regression: Regression, n_vars: int) -> np.ndarray:
    """`mackinnonp` applied elementwise, vectorised; NaN stays NaN."""
    stats = np.asarray(stats, dtype=np.float64)
    k = n_vars - 1
    max_stat = adfvalues._tau_maxs[regression][k]
    min_stat = adfvalues._tau_mins[regression][k]
    star_stat = adfvalues._tau_stars[regression][k]
    small = np.asarray(adfvalues._tau_smallps[regression][k], dtype=np.float64)
    large = np.asarray(adfvalues._tau_largeps[regression][k], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        # np.polyval wants the highest power first: the tables store it last.
        p_small = ndtr(np.polyval(small[::-1], stats))
        p_large = ndtr(np.polyval(large[::-1], stats))
    out = np.where(stats <= star_stat, p_small, p_large)
    out = np.where(stats < min_stat, 0.0, out)
    out = np.where(stats > max_stat, 1.0, out)
    return np.where(np.isnan(stats), np.nan, out)

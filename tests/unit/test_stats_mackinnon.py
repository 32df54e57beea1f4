"""The vectorised MacKinnon p-values are statsmodels' `mackinnonp`, value for value.

The batch scan computes thousands of p-values at once; a slip in the response surface (the
wrong table, N=1 instead of N=2) would mislabel every pair.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa import adfvalues
from statsmodels.tsa.adfvalues import mackinnonp

from statarb.stats import mackinnon


@pytest.mark.parametrize(("regression", "n_vars"), [("c", 1), ("c", 2), ("n", 1), ("n", 2)])
def test_vectorised_pvalues_equal_mackinnonp_everywhere(regression: str, n_vars: int) -> None:
    k = n_vars - 1
    edges = [
        adfvalues._tau_maxs[regression][k],
        adfvalues._tau_mins[regression][k],
        adfvalues._tau_stars[regression][k],
    ]
    stats = np.concatenate(
        [
            np.linspace(-30.0, 5.0, 3001),
            np.array(edges),
            np.nextafter(edges, np.inf),
            np.nextafter(edges, -np.inf),
            [-np.inf, np.inf],
        ]
    )
    got = mackinnon.pvalues(stats, regression, n_vars)
    with np.errstate(all="ignore"):  # statsmodels' scalar polyval warns at +-inf
        expected = np.array([mackinnonp(s, regression=regression, N=n_vars) for s in stats])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


def test_nan_statistics_stay_nan() -> None:
    assert np.isnan(mackinnon.pvalues(np.array([np.nan]), "c", 2)).all()


def test_two_variable_pvalues_are_larger_than_plain_adf_for_the_same_statistic() -> None:
    # The classic bug: plain ADF tables overstate cointegration of a regression residual.
    stat = np.array([-3.0])
    assert mackinnon.pvalues(stat, "c", 2)[0] > 2 * mackinnon.pvalues(stat, "c", 1)[0]

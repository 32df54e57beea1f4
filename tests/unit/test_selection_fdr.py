"""Benjamini-Hochberg q-values equal statsmodels' `multipletests(method="fdr_bh")`.

Without FDR control a scan of 1,225 pairs at p < 0.05 accepts ~60 pairs from pure noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from statarb.selection.fdr import bh_qvalues


@settings(max_examples=200, deadline=None)
@given(
    pvalues=st.lists(
        st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 0.05, 0.01])),
        min_size=1,
        max_size=300,
    ),
    alpha=st.floats(0.001, 0.5),
)
def test_qvalues_and_decisions_equal_statsmodels_fdr_bh(pvalues, alpha) -> None:
    p = np.array(pvalues)
    reject, corrected, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
    q = bh_qvalues(p)
    np.testing.assert_allclose(q, corrected, rtol=1e-12, atol=1e-15)
    # Decisions agree except where q equals alpha to the last bit (p * m / i rounds).
    clear = ~np.isclose(q, alpha, rtol=1e-12, atol=0.0)
    np.testing.assert_array_equal((q <= alpha)[clear], reject[clear])


def test_untested_pairs_do_not_count_in_the_number_of_tests() -> None:
    p = np.array([0.01, np.nan, 0.02, np.nan, 0.04])
    q = bh_qvalues(p)
    assert np.isnan(q[[1, 3]]).all()
    np.testing.assert_allclose(q[[0, 2, 4]], multipletests([0.01, 0.02, 0.04], method="fdr_bh")[1])


def test_pure_noise_rarely_passes() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=1225)
    assert (p < 0.05).sum() > 40  # what a naive p < 0.05 scan would accept
    assert (bh_qvalues(p) <= 0.05).sum() == 0


def test_bad_pvalues_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bh_qvalues([0.1, 1.2])
    with pytest.raises(ValueError, match="1-D"):
        bh_qvalues([[0.1]])
    assert bh_qvalues([]).size == 0

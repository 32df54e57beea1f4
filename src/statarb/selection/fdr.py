"""Benjamini-Hochberg false-discovery-rate control over the many pair tests of one scan.

Testing 1,225 pairs at p < 0.05 "finds" about 60 cointegrated pairs in pure noise. BH keeps the
expected share of false pairs among those accepted at or below `alpha` (for independent or
positively dependent tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def bh_qvalues(pvalues: Any) -> np.ndarray:
    """BH-adjusted p-values (q-values), as statsmodels' `multipletests(method="fdr_bh")`.

    q_(i) = min over j >= i of p_(j) * m / j (sorted ascending), capped at 1. A pair is
    accepted at FDR level alpha when its q-value is <= alpha. NaN p-values are not tests:
    they get a NaN q-value and do not count in m.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p-values must be 1-D, got shape {p.shape}")
    tested = ~np.isnan(p)
    if ((p[tested] < 0.0) | (p[tested] > 1.0)).any():
        raise ValueError("p-values must lie in [0, 1]")
    q = np.full(p.shape, np.nan)
    values = p[tested]
    m = values.size
    if m == 0:
        return q
    order = np.argsort(values, kind="mergesort")
    scaled = values[order] * m / np.arange(1, m + 1)
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(monotone, 1.0)
    q[tested] = adjusted
    return q

"""Input checks shared by the statistics: bad data gets a named refusal, never a wrong number."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class StatsInputError(ValueError):
    """The data cannot give a meaningful statistic; the message says what is wrong with it."""


def as_series_array(values: Any, name: str) -> np.ndarray:
    """A finite, 1-D float64 copy of ``values`` (list, ndarray or pandas Series)."""
    if isinstance(values, pd.DataFrame):
        raise StatsInputError(f"{name} must be one series, got a DataFrame")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{name} is not numeric: {exc}") from None
    if array.ndim != 1:
        raise StatsInputError(f"{name} must be 1-dimensional, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        kind = "NaN" if np.isnan(array[first]) else "infinite"
        raise StatsInputError(
            f"{name} has {int(bad.sum())} non-finite value(s) (first: {kind} at position "
            f"{first}); drop or fill missing candles before testing"
        )
    return array


def require_not_constant(array: np.ndarray, name: str) -> None:
    # A constant series has no unit root to test and makes every regression singular.
    if array.size and array.max() == array.min():
        raise StatsInputError(f"{name} is constant ({array[0]!r} throughout): nothing to test")


def require_length(array: np.ndarray, name: str, minimum: int, purpose: str) -> None:
    if array.shape[0] < minimum:
        raise StatsInputError(
            f"{name} has {array.shape[0]} observations; {purpose} needs at least {minimum}"
        )

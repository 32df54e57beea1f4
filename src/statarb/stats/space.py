"""The spread's definition in its price space: one function, used by every place that needs it.

"raw": spread = A − intercept − β·B on prices; "log": the same on log prices. z-scores, the
stationarity re-test and the model's features all read the spread through `spread_values`, so
the z the bot trades is the z the scanner tested (docs/price_space.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

PriceSpace = Literal["raw", "log"]
PRICE_SPACES: tuple[PriceSpace, ...] = ("raw", "log")


def to_space(prices: npt.ArrayLike, price_space: str) -> np.ndarray:
    """Prices as the spread sees them (NaN stays NaN; a non-positive price is NaN in log)."""
    values = np.asarray(prices, dtype=float)
    if price_space == "raw":
        return values
    if price_space == "log":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
    raise ValueError(f"price_space must be 'raw' or 'log', got {price_space!r}")


def spread_values(
    close_a: npt.ArrayLike,
    close_b: npt.ArrayLike,
    *,
    beta: float,
    intercept: float = 0.0,
    price_space: str = "raw",
) -> np.ndarray:
    """A − intercept − β·B in the pair's price space (the intercept does not move a z-score)."""
    return to_space(close_a, price_space) - intercept - beta * to_space(close_b, price_space)


def spread_at(
    price_a: float, price_b: float, *, beta: float, intercept: float = 0.0, price_space: str
) -> float:
    """The spread of one pair of prices (e.g. live tickers)."""
    return float(
        spread_values(
            [price_a], [price_b], beta=beta, intercept=intercept, price_space=price_space
        )[0]
    )

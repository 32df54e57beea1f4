"""Statistics of pairs: Engle-Granger and ADF tests, OU half-life, causal rolling hedge/z-score.

Pure numpy/scipy (statsmodels only for MacKinnon's tables); no FreqTrade, no I/O.
"""

from statarb.stats.batch import BatchResult, all_unordered_pairs, engle_granger_batch
from statarb.stats.cointegration import (
    AdfResult,
    CriticalValues,
    EngleGrangerResult,
    HedgeFit,
    adf_test,
    engle_granger,
    ols_hedge_ratio,
)
from statarb.stats.halflife import half_life_from_slope, ou_half_life
from statarb.stats.inputs import StatsInputError
from statarb.stats.rolling import (
    RollingHedge,
    rolling_hedge_ratio,
    rolling_ols,
    rolling_zscore,
    spread,
)

__all__ = [
    "AdfResult",
    "BatchResult",
    "CriticalValues",
    "EngleGrangerResult",
    "HedgeFit",
    "RollingHedge",
    "StatsInputError",
    "adf_test",
    "all_unordered_pairs",
    "engle_granger",
    "engle_granger_batch",
    "half_life_from_slope",
    "ols_hedge_ratio",
    "ou_half_life",
    "rolling_hedge_ratio",
    "rolling_ols",
    "rolling_zscore",
    "spread",
]

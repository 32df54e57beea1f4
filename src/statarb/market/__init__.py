"""Synthetic Binance USDT-M futures market: realistic candles with planted cointegrated pairs."""

from statarb.market.generator import (
    GeneratedMarket,
    PlantedPairTruth,
    generate_market,
    resample_ohlcv,
)
from statarb.market.spec import (
    CoinParams,
    FundingParams,
    GarchParams,
    MarketSpec,
    MarketSpecError,
    PlantedPair,
    futures_pair,
)
from statarb.market.universe import DEFAULT_UNIVERSE, default_spec

__all__ = [
    "DEFAULT_UNIVERSE",
    "CoinParams",
    "FundingParams",
    "GarchParams",
    "GeneratedMarket",
    "MarketSpec",
    "MarketSpecError",
    "PlantedPair",
    "PlantedPairTruth",
    "default_spec",
    "futures_pair",
    "generate_market",
    "resample_ohlcv",
]

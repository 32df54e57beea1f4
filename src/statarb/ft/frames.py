"""The analysed candle frames: FreqTrade's dataframes in, spread columns and signals out.

Plain pandas over the pairs book (no FreqTrade), called by the strategy's `populate_*` and
FreqAI callbacks; the spread's maths is `statarb.spread.features`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas import DataFrame

from statarb.safety.log import Category, log
from statarb.spread.book import SpreadBook
from statarb.spread.client_ids import Leg
from statarb.spread.features import (
    RetestParams,
    model_features,
    reversion_label,
    spread_columns,
)
from statarb.spread.history import CandleCache
from statarb.spread.signals import Thresholds, entry_direction

logger = logging.getLogger(__name__)

OHLCV = ("date", "open", "high", "low", "close", "volume")
LABEL = "&-spread_reversion"  # FreqAI's target: the model's predicted reversion
# Analysed columns a spread decision reads for BOTH legs at the same candle; a maker-first
# backtest also reads the fill candle's range (FreqTrade's fill rule) to fill both legs on it.
CACHED_COLUMNS = (
    "close",
    "high",
    "low",
    "spread_z",
    "coint_ok",
    "coint_pvalue",
    LABEL,
    f"{LABEL}_mean",
    f"{LABEL}_std",
    "do_predict",
)


PLOT_CONFIG = {
    "main_plot": {},
    "subplots": {
        "spread": {"spread": {"color": "#1f77b4"}},
        "z-score": {
            "spread_z": {"color": "#ff7f0e"},
            "z_entry_upper": {"color": "#2ca02c"},
            "z_entry_lower": {"color": "#2ca02c"},
            "z_exit_upper": {"color": "#7f7f7f"},
            "z_exit_lower": {"color": "#7f7f7f"},
            "z_stop_upper": {"color": "#d62728"},
            "z_stop_lower": {"color": "#d62728"},
        },
        "model": {LABEL: {"color": "#9467bd"}, "do_predict": {"color": "#8c564b"}},
    },
}


def analyse(
    dataframe: DataFrame,
    pair: str,
    book: SpreadBook,
    frame_of: Callable[[str], DataFrame | None],
    *,
    timeframe_minutes: int,
    retest: RetestParams,
    thresholds: Thresholds,
) -> CandleCache:
    """`populate_indicators` after FreqAI: the spread columns of this coin against each of its
    partners' candles (`frame_of`); returns the cache of the columns decisions read."""
    closes = partner_closes(dataframe, pair, book, frame_of)
    return add_spread_columns(
        dataframe,
        closes,
        book,
        pair,
        timeframe_minutes=timeframe_minutes,
        retest=retest,
        thresholds=thresholds,
    )


def partner_closes(
    dataframe: DataFrame,
    pair: str,
    book: SpreadBook,
    frame_of: Callable[[str], DataFrame | None],
) -> dict[str, pd.Series]:
    """Close of this coin and of every partner it has, aligned on this coin's dates."""
    closes = {pair: dataframe["close"]}
    partners = {active.partner for _, active in book.segments(pair, dataframe["date"])}
    for partner in partners:
        other = frame_of(partner)
        if other is None or other.empty:
            log(
                logger,
                Category.STRATEGY,
                None,
                "partner candles missing",
                pair=pair,
                partner=partner,
            )
            continue
        merged = dataframe[["date"]].merge(other[["date", "close"]], on="date", how="left")
        closes[partner] = pd.Series(merged["close"].to_numpy(), index=dataframe.index)
    return closes


def add_spread_columns(
    dataframe: DataFrame,
    closes: dict[str, pd.Series],
    book: SpreadBook,
    pair: str,
    *,
    timeframe_minutes: int,
    retest: RetestParams,
    thresholds: Thresholds,
) -> CandleCache:
    """The spread of this coin's pair, its causal z and re-test, and the threshold lines for
    the plot, added to `dataframe`; returns the cache of the columns decisions read."""
    spread = spread_columns(
        dataframe["date"],
        closes,
        book,
        pair,
        timeframe_minutes=timeframe_minutes,
        retest=retest,
    )
    for column in spread.columns:
        dataframe[column] = spread[column]
    dataframe["z_entry_upper"] = thresholds.entry_z
    dataframe["z_entry_lower"] = -thresholds.entry_z
    dataframe["z_exit_upper"] = thresholds.exit_z
    dataframe["z_exit_lower"] = -thresholds.exit_z
    dataframe["z_stop_upper"] = thresholds.stop_z
    dataframe["z_stop_lower"] = -thresholds.stop_z
    cached = {c: dataframe[c] for c in CACHED_COLUMNS if c in dataframe.columns}
    return CandleCache(dataframe["date"], cached, timeframe_minutes)


def entry_signals(
    dataframe: DataFrame,
    pair: str,
    book: SpreadBook,
    thresholds_for: Callable[[Any], Thresholds],
) -> DataFrame:
    """Both legs signal on the same candle, mirrored, tagged with the pair id."""
    dataframe["enter_long"] = 0
    dataframe["enter_short"] = 0
    dataframe["enter_tag"] = None
    for mask, active in book.segments(pair, dataframe["date"]):
        thresholds = thresholds_for(active.entry)
        z = dataframe["spread_z"].where(mask)
        direction = entry_direction(z.to_numpy(), thresholds)
        ok = mask & dataframe["coint_ok"].to_numpy(dtype=bool) & (direction != 0)
        # Leg A goes long in a long spread; leg B takes the opposite side.
        a_long = direction == 1 if active.role is Leg.A else direction == -1
        dataframe.loc[ok & a_long, "enter_long"] = 1
        dataframe.loc[ok & ~a_long, "enter_short"] = 1
        dataframe.loc[ok, "enter_tag"] = active.entry.pair_id
    return dataframe


def freqai_targets(
    dataframe: DataFrame,
    pair: str,
    book: SpreadBook,
    *,
    timeframe: str,
    timeframe_minutes: int,
    feature_parameters: Mapping[str, Any],
) -> DataFrame:
    """The model's inputs per ROLE (leg A / leg B of the spread) and its reversion label,
    rebuilt from the partners' raw closes FreqAI carries (statarb.spread.features)."""
    closes: dict[str, pd.Series] = {}
    for symbol in book.symbols:
        column = f"rawclose_gen_{symbol}_{timeframe}"
        if column in dataframe.columns:
            closes[symbol] = dataframe[column]
    if pair not in closes:
        closes[pair] = dataframe["close"]
    spread = spread_columns(
        dataframe["date"],
        closes,
        book,
        pair,
        timeframe_minutes=timeframe_minutes,
        retest=RetestParams(window=30, every=10**9),  # the re-test is not a model input
    )
    in_pair = (spread["spread_pair"] != "") & spread["spread_z"].notna()
    z = spread["spread_z"]
    periods = tuple(feature_parameters.get("indicator_periods_candles", []))
    features = model_features(
        z, in_pair, spread["leg_a_close"], spread["leg_b_close"], periods or (15, 60)
    )
    for column in features.columns:
        dataframe[column] = features[column]
    horizon = int(feature_parameters.get("label_period_candles", 30))
    dataframe[LABEL] = reversion_label(z, in_pair, horizon)
    return dataframe


def candle_columns(dataframe: DataFrame) -> DataFrame:
    """FreqAI's per-symbol expansion: the candle columns only.

    Per-symbol features would make leg A's and leg B's models differ; all inputs are built per
    ROLE in `freqai_targets` instead. FreqAI merges every returned column under a suffix.
    """
    return dataframe[list(OHLCV)]


def with_raw_close(dataframe: DataFrame) -> DataFrame:
    """FreqAI's basic expansion: the candles and the raw close, not a feature (no "%"), so
    `freqai_targets` can rebuild the spread from the partner's columns in live training,
    where only FreqAI's history exists."""
    out = dataframe[list(OHLCV)].copy()
    out["rawclose"] = dataframe["close"]
    return out


def hour_features(dataframe: DataFrame) -> DataFrame:
    """The hour of day as a circle (sin, cos): FreqAI features every pair shares."""
    # FreqAI's training frame can carry `date` as objects (its own downloaded candles
    # merged with the live ones); `.dt` then raised and the pair trained no model.
    hour = pd.to_datetime(dataframe["date"], utc=True).dt.hour
    dataframe["%-hour_sin"] = np.sin(2 * np.pi * hour / 24)
    dataframe["%-hour_cos"] = np.cos(2 * np.pi * hour / 24)
    return dataframe

"""Cointegration pairs trading on Binance USDT-M futures: the FreqTrade adapter.

FreqTrade holds one trade per symbol and acts on each symbol's signals in turn; a spread is two
trades in opposite directions. This file translates between the two views and nothing more:
every decision about money is a function in the `statarb` package.

- populate_indicators: per coin, the spread of its pair (config or walk-forward schedule), the
  causal z-score and the trailing stationarity re-test; FreqAI predictions.
- populate_entry_trend: both legs signal on the same candle, mirrored, tagged with the pair id.
- custom_stake_amount / confirm_trade_entry: ONE decision per spread instance (model gate,
  slots, review flag, sizing in the hedge ratio); both legs read it, so a check cannot pass for
  leg A and fail for leg B.
- custom_exit: one exit decision per spread instance and moment (z reverted, z stop, twin lost),
  so both legs leave together.
- costs (statarb.ft.cost_mixin): the cost-aware entry check's inputs, maker-first order prices.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.enums import RunMode
from freqtrade.enums.runmode import NON_UTIL_MODES
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.persistence import Order, PairLocks, Trade
from freqtrade.strategy import DecimalParameter, IStrategy
from pandas import DataFrame

from statarb.costs.entry_cost import DEFAULT_COST_MARGIN
from statarb.ft.companion import companion_for
from statarb.ft.cost_mixin import CostMixin
from statarb.ft.live_mixin import LiveMixin
from statarb.ft.startup import (
    StartupRefusedError,
    load_book,
    order_settings_refusal,
    timeframe_refusal,
    unknown_symbols_refusal,
    whitelist_refusal,
    with_partners,
)
from statarb.ft.state import StrategyState
from statarb.ft.trades import LIVE_MODES, TagStore, market_of
from statarb.live.seam import CompanionOrder
from statarb.pairs_config import (
    DEFAULT_MEAN_REVERSION_WINDOW,
    PairsConfigError,
)
from statarb.safety.log import Category, log
from statarb.safety.review_flag import ManualReviewFlag
from statarb.settings import SettingsError, StrategySettings, parse_settings, startup_candles
from statarb.spread.blocks import Block
from statarb.spread.book import ActivePair
from statarb.spread.client_ids import Leg, Purpose
from statarb.spread.features import (
    RetestParams,
    model_features,
    open_spread_z,
    reversion_label,
    spread_columns,
)
from statarb.spread.history import CandleCache, common_closes
from statarb.spread.legs import (
    LegTag,
    SpreadKey,
    group_by_spread,
    leg_is_short,
    signal_candle_of,
    spread_direction,
)
from statarb.spread.planner import EntryContext, EntryDecision, LegPlan, decide_entry
from statarb.spread.signals import (
    ExitReason,
    ModelView,
    Thresholds,
    entry_direction,
    exit_reason,
    follower_exit_reason,
)
from statarb.spread.sizing import stake_for_qty

logger = logging.getLogger(__name__)

OHLCV = ("date", "open", "high", "low", "close", "volume")
LABEL = "&-spread_reversion"
FORCED_TAGS = (None, "", "force_entry")  # what FreqTrade's forceenter tags a trade with
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


class CointPairsStrategy(LiveMixin, CostMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = True
    process_only_new_candles = True  # required by FreqAI
    use_exit_signal = True  # custom_exit is only consulted with exit signals enabled
    exit_profit_only = False
    # Exits are decided on the spread's z-score, never on one leg's profit: ROI is disabled and
    # the per-leg stoploss is a wide backstop against a broken feed, not a trading rule.
    minimal_roi = {"0": 100.0}
    stoploss = -0.95
    trailing_stop = False
    # Hedging of partial fills uses FreqTrade's position adjustment (reduce / re-order).
    position_adjustment_enable = True
    max_entry_position_adjustment = 10
    startup_candle_count = 600  # recomputed from the settings in __init__

    entry_z = DecimalParameter(1.5, 3.0, default=2.0, decimals=2, space="buy", optimize=True)
    exit_z = DecimalParameter(0.0, 1.0, default=0.5, decimals=2, space="sell", optimize=True)
    stop_z = DecimalParameter(3.0, 6.0, default=4.0, decimals=2, space="sell", optimize=True)
    # Expected reversion must pay this many times the round-trip cost (statarb.costs).
    cost_margin = DecimalParameter(
        1.0, 4.0, default=DEFAULT_COST_MARGIN, decimals=2, space="buy", optimize=True
    )

    order_types = {
        "entry": "market",
        "exit": "market",
        "emergency_exit": "market",
        "force_entry": "market",
        "force_exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    plot_config = {
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

    # ------------------------------------------------------------------ set-up
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.state = StrategyState()  # all the strategy remembers between callbacks
        try:
            self.settings: StrategySettings = parse_settings(config)
        except SettingsError as exc:
            raise OperationalException(str(exc)) from None
        runmode = config.get("runmode")
        timeframe = config.get("timeframe", self.timeframe)
        candle_s = None if runmode in LIVE_MODES else 60.0 * timeframe_to_minutes(timeframe)
        orders = config.get("order_types", self.order_types)
        refusal = order_settings_refusal(config, orders, self.settings, backtest_candle_s=candle_s)
        if refusal and runmode in NON_UTIL_MODES:
            raise OperationalException(refusal)
        try:
            self.book = load_book(self.settings)
        except StartupRefusedError as exc:
            raise OperationalException(str(exc)) from None
        # lookahead-/recursive-analysis replay one pair at a time (util run mode), but a spread
        # only exists with both legs: add each given leg's partners so the replay trades what
        # a real backtest trades. FreqTrade builds its pairlist from this config after loading
        # the strategy, so the addition takes effect; real runs must list every leg themselves.
        self._analysis_run = runmode not in NON_UTIL_MODES
        whitelist = config.get("exchange", {}).get("pair_whitelist")
        if self._analysis_run and whitelist:
            whitelist[:] = with_partners(self.book, whitelist)
        elif not self._analysis_run and (refusal := whitelist_refusal(self.book, config)):
            raise OperationalException(refusal)
        windows = [
            e.mean_reversion_window for s in self.book.symbols for e in self.book.entries_of(s)
        ]
        # Pairs chosen by a later re-scan may use the default window; keep room for it.
        longest = max([*windows, DEFAULT_MEAN_REVERSION_WINDOW])
        self.startup_candle_count = startup_candles(self.settings, longest)
        self._tf_minutes = timeframe_to_minutes(timeframe)
        if refusal := timeframe_refusal(self.book, timeframe):
            raise OperationalException(refusal)
        self._retest = RetestParams(
            window=self.settings.retest_window,
            every=self.settings.retest_every,
            max_pvalue=self.settings.retest_max_pvalue,
        )
        user_data = Path(config.get("user_data_dir", "user_data"))
        self.review_flag = ManualReviewFlag(
            self.settings.review_flag_path(user_data, dry_run=bool(config.get("dry_run")))
        )
        self.tags = TagStore(self.book, self._tf_minutes)

    def bot_start(self, **kwargs: Any) -> None:
        if refusal := unknown_symbols_refusal(self.book, self.dp.market):
            # A ValueError: FreqTrade's wrapper logs it in one line (other exceptions get a
            # traceback) and stops the bot with it.
            raise PairsConfigError(refusal)
        for config in self.book.configs[-1:]:
            for pair in config.pairs:
                log(
                    logger,
                    Category.STRATEGY,
                    pair.pair_id,
                    "pair loaded",
                    leg_a=pair.leg_a,
                    leg_b=pair.leg_b,
                    hedge_ratio=pair.hedge_ratio,
                    price_space=pair.price_space,
                    pvalue=pair.pvalue,
                )
        if self.book.is_schedule:
            log(
                logger,
                Category.STRATEGY,
                None,
                "walk-forward schedule loaded",
                periods=len(self.book.configs),
                coins=len(self.book.symbols),
            )
        self.start_live_execution()
        if self.review_flag.is_raised():
            log(
                logger,
                Category.SAFETY,
                None,
                "manual review flag is up: no new spreads",
                reasons=self.review_flag.status().summary,
            )

    # ------------------------------------------------------------------ indicators
    def thresholds_for(self, entry: Any) -> Thresholds:
        exit_z, entry_z, stop_z = entry.thresholds_or(
            float(self.exit_z.value), float(self.entry_z.value), float(self.stop_z.value)
        )
        return Thresholds(entry_z=entry_z, exit_z=exit_z, stop_z=stop_z)

    def _partner_closes(self, dataframe: DataFrame, pair: str) -> dict[str, pd.Series]:
        """Close of this coin and of every partner it has, aligned on this coin's dates."""
        closes = {pair: dataframe["close"]}
        partners = {active.partner for _, active in self.book.segments(pair, dataframe["date"])}
        for partner in partners:
            other = self.dp.get_pair_dataframe(partner, self.timeframe)
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

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        pair = metadata["pair"]
        if self.config.get("freqai", {}).get("enabled", False):
            # FreqAI first, on the bare candles: it copies every column it is given into its
            # feature frames. Live/dry-run caches the corr-pair features of the first pair of
            # each candle and attaches them to later pairs AFTER set_freqai_targets ran, where
            # our spread features are built from them; forcing a rebuild keeps them present.
            self.freqai.get_corr_dataframes = True
            dataframe = self.freqai.start(dataframe, metadata, self)
        closes = self._partner_closes(dataframe, pair)
        spread = spread_columns(
            dataframe["date"],
            closes,
            self.book,
            pair,
            timeframe_minutes=self._tf_minutes,
            retest=self._retest,
        )
        for column in spread.columns:
            dataframe[column] = spread[column]
        thresholds = Thresholds(
            float(self.entry_z.value), float(self.exit_z.value), float(self.stop_z.value)
        )
        dataframe["z_entry_upper"] = thresholds.entry_z
        dataframe["z_entry_lower"] = -thresholds.entry_z
        dataframe["z_exit_upper"] = thresholds.exit_z
        dataframe["z_exit_lower"] = -thresholds.exit_z
        dataframe["z_stop_upper"] = thresholds.stop_z
        dataframe["z_stop_lower"] = -thresholds.stop_z
        cached = {c: dataframe[c] for c in CACHED_COLUMNS if c in dataframe.columns}
        self.state.candles[pair] = CandleCache(dataframe["date"], cached, self._tf_minutes)
        return dataframe

    # ------------------------------------------------------------------ FreqAI
    def feature_engineering_expand_all(
        self, dataframe: DataFrame, period: int, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        # Per-symbol features would make leg A's and leg B's models differ; all inputs are
        # built per ROLE in set_freqai_targets instead (see statarb.spread.features). FreqAI
        # merges every returned column under a suffix, so return only the candle columns.
        return dataframe[list(OHLCV)]

    def feature_engineering_expand_basic(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        # Not a feature (no "%"): the raw close, so set_freqai_targets can rebuild the spread
        # from the partner's columns in live training, where only FreqAI's history exists.
        out = dataframe[list(OHLCV)].copy()
        out["rawclose"] = dataframe["close"]
        return out

    def feature_engineering_standard(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        # FreqAI's training frame can carry `date` as objects (its own downloaded candles
        # merged with the live ones); `.dt` then raised and the pair trained no model.
        hour = pd.to_datetime(dataframe["date"], utc=True).dt.hour
        dataframe["%-hour_sin"] = np.sin(2 * np.pi * hour / 24)
        dataframe["%-hour_cos"] = np.cos(2 * np.pi * hour / 24)
        return dataframe

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs: Any) -> DataFrame:
        pair = metadata["pair"]
        tf = self.config["timeframe"]
        closes: dict[str, pd.Series] = {}
        for symbol in self.book.symbols:
            column = f"rawclose_gen_{symbol}_{tf}"
            if column in dataframe.columns:
                closes[symbol] = dataframe[column]
        if pair not in closes:
            closes[pair] = dataframe["close"]
        spread = spread_columns(
            dataframe["date"],
            closes,
            self.book,
            pair,
            timeframe_minutes=self._tf_minutes,
            retest=RetestParams(window=30, every=10**9),  # the re-test is not a model input
        )
        in_pair = (spread["spread_pair"] != "") & spread["spread_z"].notna()
        z = spread["spread_z"]
        periods = tuple(self.freqai_info["feature_parameters"].get("indicator_periods_candles", []))
        features = model_features(
            z, in_pair, spread["leg_a_close"], spread["leg_b_close"], periods or (15, 60)
        )
        for column in features.columns:
            dataframe[column] = features[column]
        horizon = int(self.freqai_info["feature_parameters"].get("label_period_candles", 30))
        dataframe[LABEL] = reversion_label(z, in_pair, horizon)
        return dataframe

    # ------------------------------------------------------------------ signals
    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 0
        dataframe["enter_short"] = 0
        dataframe["enter_tag"] = None
        pair = metadata["pair"]
        for mask, active in self.book.segments(pair, dataframe["date"]):
            thresholds = self.thresholds_for(active.entry)
            z = dataframe["spread_z"].where(mask)
            direction = entry_direction(z.to_numpy(), thresholds)
            ok = mask & dataframe["coint_ok"].to_numpy(dtype=bool) & (direction != 0)
            # Leg A goes long in a long spread; leg B takes the opposite side.
            a_long = direction == 1 if active.role is Leg.A else direction == -1
            dataframe.loc[ok & a_long, "enter_long"] = 1
            dataframe.loc[ok & ~a_long, "enter_short"] = 1
            dataframe.loc[ok, "enter_tag"] = active.entry.pair_id
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # Exits are per spread instance (entry hedge ratio, both legs together): custom_exit.
        dataframe["exit_long"] = 0
        dataframe["exit_short"] = 0
        return dataframe

    # ------------------------------------------------------------------ entry decision
    def _decision_for(
        self, pair: str, current_time: datetime
    ) -> tuple[ActivePair, EntryDecision] | None:
        """The one decision about the spread `pair` would open at `current_time`.

        The signal candle is the last one closed by `current_time`: in a backtest FreqTrade
        fills at the next candle's open, live a few seconds after the close.
        """
        signal_candle = signal_candle_of(current_time, self._tf_minutes)
        active = self.book.active(pair, signal_candle)
        if active is None:
            return None
        key = SpreadKey(active.entry.pair_id, signal_candle)
        decision = self.state.decisions.get(key)
        if decision is None:
            decision = self._decide(active, signal_candle)
            if decision.final:
                self.state.decisions[key] = decision
            elif key in self.state.waiting:
                return active, decision  # said once; asked again next loop
            else:
                self.state.waiting.add(key)
            if decision.final:
                blocks: dict[Block, str | None] = dict.fromkeys(decision.lifts)
                if decision.block is not None:
                    blocks[decision.block] = decision.reason
                self._report_blocks(key.pair_id, blocks)
                if decision.block is not None:
                    return active, decision  # it stands beyond this candle: said once
            log(
                logger,
                Category.STRATEGY,
                key.pair_id,
                "entry approved" if decision.approved else "entry refused",
                reason=decision.reason,
                signal_candle=signal_candle.isoformat(),
            )
        return active, decision

    def _decide(
        self, active: ActivePair, signal_candle: datetime, forced_direction: int | None = None
    ) -> EntryDecision:
        """Decide from what both legs share: the spread's z, re-test and (identical) models.

        Those columns are the same in either leg's frame, so the leg asked first decides and
        the answer does not depend on FreqTrade's pair order; the partner only adds its price.
        """
        entry = active.entry
        cache = self.state.candles.get(active.symbol)
        row = cache.row_at(signal_candle) if cache else None
        partner_close = self._close_at(active.partner, signal_candle)
        if row is None or not math.isfinite(partner_close):
            return EntryDecision(
                entry.pair_id,
                signal_candle,
                False,
                "both legs not analysed on the signal candle (yet)",
                final=False,
            )
        closes = {active.symbol: float(row["close"]), active.partner: partner_close}
        legs = self.tags.open_legs()
        spreads = group_by_spread(legs)
        max_trades = float(self.config.get("max_open_trades", 2 * self.settings.max_open_spreads))
        if max_trades < 0:  # -1 = unlimited (FreqTrade's convention; lookahead-analysis uses it)
            max_trades = math.inf
        max_spreads = self.settings.max_open_spreads
        if self._analysis_run:
            # lookahead-/recursive-analysis replay one pair at a time with unlimited trades;
            # a spread limit that depends on the other pairs would make every run differ.
            max_spreads = 10**6
        model = None
        if self.settings.model_gate and self.config.get("freqai", {}).get("enabled", False):
            model = ModelView(
                predicted_reversion=float(row.get(LABEL, math.nan)),
                label_mean=float(row.get(f"{LABEL}_mean", math.nan)),
                label_std=float(row.get(f"{LABEL}_std", math.nan)),
                do_predict=_int_or_zero(row.get("do_predict")),
            )
        balance = float(self.wallets.get_total_stake_amount()) if self.wallets else 0.0
        available = float(self.wallets.get_available_stake_amount()) if self.wallets else 0.0
        return decide_entry(
            EntryContext(
                entry=entry,
                signal_candle=signal_candle,
                # A person forcing an entry trades at today's prices: judge it on the live z.
                z=self._live_entry_z(entry) if forced_direction else float(row["spread_z"]),
                thresholds=self.thresholds_for(entry),
                cointegrated=bool(row["coint_ok"]),
                model=model,
                min_model_reversion=self.settings.min_model_reversion,
                min_model_confidence=self.settings.min_model_confidence,
                review_flag_raised=self.review_flag.is_raised(),
                open_spreads=len(spreads),
                free_trade_slots=max_trades - len(Trade.get_trades_proxy(is_open=True)),
                max_open_spreads=max_spreads,
                pair_already_open=any(k.pair_id == entry.pair_id for k in spreads),
                busy_legs=tuple(
                    t.pair
                    for t in Trade.get_trades_proxy(is_open=True)
                    if t.pair in (entry.leg_a, entry.leg_b)
                ),
                balance_usdt=balance,
                available_margin_usdt=available,
                max_risk_percent=self.settings.max_risk_percent,
                leverage=self.settings.leverage,
                price_a=closes[entry.leg_a],
                price_b=closes[entry.leg_b],
                market_a=market_of(self.dp, entry.leg_a),
                market_b=market_of(self.dp, entry.leg_b),
                max_hedge_error=self.settings.max_hedge_error,
                forced_direction=forced_direction,
                cost=None if forced_direction else self.cost_view(active, signal_candle),
                locked_legs=()
                if forced_direction
                else tuple(
                    symbol
                    for symbol in (entry.leg_a, entry.leg_b)
                    if self.is_pair_locked(symbol, candle_date=signal_candle)
                ),
            )
        )

    def _revoke(
        self, decision: EntryDecision, reason: str, category: Category = Category.SAFETY
    ) -> None:
        """Withdraw an approval so the twin is not sent alone after this leg was refused."""
        key = SpreadKey(decision.pair_id, decision.signal_candle)
        self.state.decisions[key] = dataclasses.replace(decision, approved=False, reason=reason)
        log(logger, category, decision.pair_id, "entry withdrawn", reason=reason)

    def _live_entry_z(self, entry: Any) -> float:
        """z of the pair's spread at current prices against its window of closed candles."""
        hist_a, hist_b = self._candles_of(entry.leg_a), self._candles_of(entry.leg_b)
        if hist_a is None or hist_b is None:
            return math.nan
        now = datetime.now(UTC)
        count = entry.mean_reversion_window + 1
        close_a, close_b = common_closes(hist_a, hist_b, now, count)
        try:
            price_a = float(self.dp.ticker(entry.leg_a).get("last") or math.nan)
            price_b = float(self.dp.ticker(entry.leg_b).get("last") or math.nan)
        except Exception:  # no live price: no forced entry
            return math.nan
        z_now, _ = open_spread_z(
            close_a,
            close_b,
            hedge_ratio=entry.hedge_ratio,
            window=entry.mean_reversion_window,
            live_price_a=price_a,
            live_price_b=price_b,
            price_space=entry.price_space,
        )
        return z_now

    def _close_at(self, symbol: str, candle: datetime) -> float:
        """Close of `symbol`'s candle opened at `candle`: analysed cache, else raw candles."""
        cache = self.state.candles.get(symbol)
        row = cache.row_at(candle) if cache else None
        if row is not None:
            return float(row["close"])
        raw = self.dp.get_pair_dataframe(symbol, self.timeframe)
        if raw is None or raw.empty:
            return math.nan
        match = raw.loc[raw["date"] == pd.Timestamp(candle), "close"]
        return float(match.iloc[0]) if len(match) else math.nan

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        return min(self.settings.leverage, max_leverage)

    def custom_stake_amount(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        plan = self._leg_plan(pair, current_time, entry_tag, side)
        if plan is None:
            return 0.0
        stake = stake_for_qty(plan.qty, current_rate, leverage)
        if stake > max_stake:
            # A hair above the cap is the truncation headroom; more is a plan the account
            # cannot carry, and then neither leg may go.
            if stake > max_stake * (1 + 1e-6):
                if plan.decision is not None:
                    self._revoke(
                        plan.decision, f"{pair} stake {stake:.2f} above the maximum {max_stake:.2f}"
                    )
                return 0.0
            stake = max_stake
        return stake

    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> bool:
        if self._reprices_own_entry(pair, side):
            return True
        plan = self._leg_plan(pair, current_time, entry_tag, side)
        if plan is None:
            return False
        expected_side = "short" if leg_is_short(plan.tag.leg, plan.tag.direction) else "long"
        step = market_of(self.dp, pair).qty_step
        problem = None
        if side != expected_side:
            problem = f"{pair} side {side} disagrees with the spread ({expected_side})"
        elif abs(amount - plan.qty) > step * 1.01:
            problem = f"{pair} amount {amount} is off the plan {plan.qty}"
        if problem is not None:
            if plan.decision is not None:
                self._revoke(plan.decision, problem)
            return False
        if plan.decision is not None and self.backtest_entry_never_fills(pair, current_time, side):
            self._revoke(
                plan.decision,
                "neither leg's maker entry fills on the fill candle: no spread (live cancels "
                "both after maker_timeout_s)",
                category=Category.EXECUTION,
            )
            return False
        self.state.entry_tags[pair] = plan.tag
        self.state.forced = {k: v for k, v in self.state.forced.items() if v is not plan.decision}
        if self.live is not None:
            self.live.announce(
                tag=plan.tag,
                symbol=pair,
                side="sell" if side == "short" else "buy",
                reduce_only=False,
                purpose=Purpose.ENTRY,
                qty_base=amount,
                companion=self._companion(plan, entry_tag),
            )
        log(
            logger,
            Category.EXECUTION,
            plan.tag.pair_id,
            "sending leg",
            pair=pair,
            side=side,
            qty=amount,
            rate=rate,
            leg=str(plan.tag.leg),
            spread=str(plan.tag.key),
        )
        return True

    def _companion(self, plan: LegPlan, entry_tag: str | None) -> CompanionOrder | None:
        """Live signal entries: the spread's other leg, to leave in the same request
        (docs/design.md, "Both legs in one request"). Forced entries and dry runs send one
        leg at a time."""
        if (
            self.live is None
            or self.internals is None
            or self.dp.runmode is not RunMode.LIVE
            or entry_tag in FORCED_TAGS
        ):
            return None
        return companion_for(
            plan,
            exchange=self.internals.exchange,
            live=self.live,
            leverage_setting=self.settings.leverage,
            order_type=str(self.order_types.get("entry", "limit")),
        )

    def _reprices_own_entry(self, pair: str, side: str) -> bool:
        """A backtest re-prices a resting maker entry through confirm_trade_entry (live does
        not ask): the trade, already approved as a leg, is open on this very pair and side."""
        if self.dp.runmode in LIVE_MODES:
            return False
        return any(
            t.is_short == (side == "short") and t.nr_of_successful_entries == 0
            for t in Trade.get_trades_proxy(pair=pair, is_open=True)
        )

    def _leg_plan(
        self, pair: str, current_time: datetime, entry_tag: str | None, side: str
    ) -> LegPlan | None:
        """Why this leg would be entered now: completing a twin, a forced spread, a signal."""
        completing = self.state.completing.get(pair)
        if completing is not None:
            return LegPlan(completing[0], completing[1], None)
        if entry_tag in FORCED_TAGS and self.dp.runmode in LIVE_MODES:
            found = self._forced_decision(pair, side, current_time)
        else:
            found = self._decision_for(pair, current_time)
            if found is not None and entry_tag != found[0].entry.pair_id:
                return None
        if found is None:
            return None
        active, decision = found
        if not decision.approved:
            return None
        plan = LegPlan(self._tag_for(decision, active), decision.leg_qty(active.role), decision)
        spread, leg = str(plan.tag.key), str(plan.tag.leg)
        if (
            self.live is not None
            and self.live.sends(spread, leg, str(Purpose.ENTRY))
            and not self.live.went_with_partner(spread, leg)
        ):
            # This leg was sent once already (and refused, or cancelled unfilled): any further
            # send is the hedging plan's, so its retry budget counts every attempt. A leg that
            # left with its partner is recorded by its own turn (the guard hands it back).
            return None
        if self._spread_already_traded(plan.tag):
            self._revoke(decision, f"{plan.tag.key} was already traded: one spread per signal")
            return None
        return plan

    def _last_common_candle(self, active: ActivePair) -> datetime | None:
        caches = [self.state.candles.get(active.symbol), self._candles_of(active.partner)]
        stamps = [c.last_open_ns for c in caches if c is not None]
        if len(stamps) < 2 or None in stamps:
            return None
        return datetime.fromtimestamp(min(stamps) / 1e9, tz=UTC)  # type: ignore[type-var]

    def _spread_already_traded(self, tag: LegTag) -> bool:
        """A closed leg of this very spread instance exists (same pair id and decision time).

        The entry signal stays on its candle for the whole candle; after a quick stop or exit
        FreqTrade would enter again on it, and the new legs would share the old spread's name.
        """
        return self._closed_leg_exists(tag, tag.leg_a if tag.leg is Leg.A else tag.leg_b)

    def _closed_leg_exists(self, tag: LegTag, symbol: str) -> bool:
        """A closed trade on `symbol` belongs to this very spread instance."""
        return self._closed_leg(tag, symbol) is not None

    def _closed_leg(self, tag: LegTag, symbol: str) -> Trade | None:
        """This spread instance's closed trade on `symbol`, if any.

        Asked every loop while a leg waits (entry cancels, lone legs), so only trades closed
        after the spread was decided are read, not the bot's whole history on the symbol.
        """
        for trade in Trade.get_trades_proxy(pair=symbol, is_open=False, close_date=tag.opened_at):
            other = self.tags.tag_of(trade)
            if other is not None and other.key == tag.key:
                return trade
        return None

    def _tag_for(self, decision: EntryDecision, active: ActivePair) -> LegTag:
        entry = active.entry
        thresholds = self.thresholds_for(entry)
        return LegTag(
            pair_id=entry.pair_id,
            opened_at=decision.signal_candle,
            leg=active.role,
            direction=decision.direction,
            hedge_ratio=entry.quantity_ratio,
            leg_a=entry.leg_a,
            leg_b=entry.leg_b,
            window=entry.mean_reversion_window,
            planned_qty=decision.leg_qty(active.role),
            entry_z=thresholds.entry_z,
            exit_z=thresholds.exit_z,
            stop_z=thresholds.stop_z,
            spread_beta=entry.hedge_ratio,
            price_space=entry.price_space,
        )

    def _forced_decision(
        self, pair: str, side: str, current_time: datetime
    ) -> tuple[ActivePair, EntryDecision] | None:
        """A person's forceenter on one leg: allowed only as a whole spread (the twin follows)."""
        signal_candle = signal_candle_of(current_time, self._tf_minutes)
        active = self.book.active(pair, signal_candle)
        if active is None:
            log(
                logger,
                Category.SAFETY,
                None,
                "forced entry refused: no spread holds this coin, a forced leg must have a twin",
                pair=pair,
            )
            return None
        key = SpreadKey(active.entry.pair_id, signal_candle)
        decision = self.state.forced.get(key)
        if decision is not None and self._spread_was_sent(key.pair_id, decision.signal_candle):
            decision = None  # that request reached the exchange and failed: this one is new
        if decision is None:
            direction = spread_direction(active.role, side == "short")
            # Judged on live prices; the analysed candle only supplies sizing prices, so the
            # last one both legs have will do while the newest is still being fetched.
            candle = self._last_common_candle(active) or signal_candle
            decision = self._decide(active, candle, forced_direction=direction)
            # A forced spread is named after the second it was decided, not its candle: two
            # forced spreads of one pair in one minute must not share a name (or order ids).
            decided_at = datetime.now(UTC).replace(microsecond=0)
            # A retry within the second of a failed request (e.g. after a 429) is a new
            # spread too: it must not take the name whose leg was already sent once.
            while self._spread_was_sent(key.pair_id, decided_at):
                decided_at += timedelta(seconds=1)
            decision = dataclasses.replace(decision, signal_candle=decided_at)
            if decision.approved:  # a refusal is re-examined on the next request
                self.state.forced[key] = decision
            log(
                logger,
                Category.SAFETY if not decision.approved else Category.STRATEGY,
                key.pair_id,
                "forced entry " + ("approved" if decision.approved else "refused"),
                reason=decision.reason,
                pair=pair,
                side=side,
            )
        return active, decision

    def _spread_was_sent(self, pair_id: str, opened_at: datetime) -> bool:
        if self.live is None:
            return False
        spread = str(SpreadKey(pair_id, opened_at))
        return any(self.live.sends(spread, str(leg), str(Purpose.ENTRY)) for leg in Leg)

    def order_filled(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any
    ) -> None:
        if order.ft_order_side == trade.entry_side and trade.get_custom_data("spread") is None:
            tag = self.state.entry_tags.pop(pair, None)
            if tag is None or leg_is_short(tag.leg, tag.direction) != trade.is_short:
                tag = self.tags.rebuild(trade)
            if tag is not None:
                self.tags.store(trade, tag)
        log(
            logger,
            Category.EXECUTION,
            trade.enter_tag,
            "fill",
            pair=pair,
            side=order.ft_order_side,
            qty=order.filled,
            price=order.safe_price,
            trade_id=trade.id,
        )

    # ------------------------------------------------------------------ exits
    def custom_exit(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        **kwargs: Any,
    ) -> str | None:
        tag = self.tags.tag_of(trade)
        if tag is None:
            return None
        if trade.select_order(trade.exit_side, is_open=True) is not None:
            return None  # already leaving: a resting maker exit crosses after its timeout
        if self.dp.runmode in LIVE_MODES:
            return self._live_exit(tag)
        cache_key = (tag.key, current_time)
        if cache_key not in self.state.exit_cache:
            self.state.exit_cache[cache_key] = self._spread_exit(tag, current_time)
            if len(self.state.exit_cache) > 10_000:
                self.state.exit_cache.clear()
                self.state.exit_cache[cache_key] = self._spread_exit(tag, current_time)
        return self.state.exit_cache[cache_key]

    def _spread_exit(self, tag: LegTag, current_time: datetime) -> str | None:
        twin_open = any(
            leg.tag.key == tag.key and leg.tag.leg != tag.leg for leg in self.tags.open_legs()
        )
        if not twin_open:
            following = self._follow_closed_twin(tag)
            if following is not None:
                return following
        # Both legs enter in the same pass over the pairs; until that pass is over (the
        # fill candle) the twin has not had its turn yet and is not "missing".
        entry_pass_over = current_time >= tag.opened_at + timedelta(minutes=2 * self._tf_minutes)
        if not twin_open and entry_pass_over:
            log(
                logger,
                Category.SAFETY,
                tag.pair_id,
                "twin leg missing: closing this leg",
                spread=str(tag.key),
                leg=str(tag.leg),
            )
            return str(ExitReason.TWIN_MISSING)
        z_now, z_prev = self._open_z(tag, current_time)
        return self._judge(tag, z_now, z_prev, current_time)

    def _judge(
        self, tag: LegTag, z_now: float, z_prev: float, current_time: datetime
    ) -> str | None:
        """The z rules for an open spread (its own entry hedge ratio and thresholds)."""
        thresholds = tag.entered_thresholds()
        if thresholds is None:  # a tag written before thresholds were recorded
            entry = self.book.find(tag.pair_id, tag.opened_at)
            thresholds = (
                self.thresholds_for(entry)
                if entry
                else Thresholds(
                    float(self.entry_z.value), float(self.exit_z.value), float(self.stop_z.value)
                )
            )
        reason = exit_reason(
            direction=tag.direction,
            z_now=z_now,
            z_prev=z_prev,
            thresholds=thresholds,
            require_turn=self.settings.require_turn,
        )
        if reason is ExitReason.STOP:
            log(
                logger,
                Category.SAFETY,
                tag.pair_id,
                "z stop: closing both legs",
                spread=str(tag.key),
                z=z_now,
                stop_z=thresholds.stop_z,
            )
            until = current_time + timedelta(
                minutes=self._tf_minutes * self.settings.stop_cooldown_candles
            )
            for symbol in (tag.leg_a, tag.leg_b):
                self.lock_pair(symbol, until, reason=_stop_lock_reason(tag.pair_id))
            if self.live is not None:  # docs/design.md §2.5: a stop is flagged for manual review
                self.live.safety(
                    tag.pair_id,
                    f"z stop at {z_now:.2f}: review the pair",
                    review=True,
                    spread=str(tag.key),
                )
        elif reason is ExitReason.REVERTED:
            log(
                logger,
                Category.STRATEGY,
                tag.pair_id,
                "spread reverted: closing both legs",
                spread=str(tag.key),
                z=z_now,
            )
        return str(reason) if reason else None

    def _live_exit(self, tag: LegTag) -> str | None:
        """Live: both legs judged on the same live z each loop; lone and stuck legs handled."""
        twin_open = any(
            leg.tag.key == tag.key and leg.tag.leg != tag.leg for leg in self.tags.open_legs()
        )
        gate = self.live_exit_gate(tag, twin_open)
        if gate is not None:
            return gate or None
        if not twin_open:
            following = self._follow_closed_twin(tag)
            if following is not None:
                return following
            if self.live is not None:
                return None  # the hedging plan opens the missing twin or flattens this leg
            now = datetime.now(UTC)
            if now >= tag.opened_at + timedelta(minutes=3 * self._tf_minutes):
                return str(ExitReason.TWIN_MISSING)
            return None
        z_now, z_prev = self.state.live_z.get(tag.key) or self._open_z(tag, datetime.now(UTC))
        reason = self._judge(tag, z_now, z_prev, datetime.now(UTC))
        if reason is not None:
            self.state.exiting.setdefault(tag.key, reason)
        return reason

    def _twin_closed(self, tag: LegTag) -> bool:
        return self._closed_leg_exists(tag, tag.partner)

    def _follow_closed_twin(self, tag: LegTag) -> str | None:
        """This leg's exit reason when its twin has already closed (None while it has not):
        the spread's reason, so both legs leave under one (statarb.spread.signals).

        Closed by this process a moment ago (an exit that fills at once leaves before its twin
        is asked; both legs exit in one backtest pass): the same exit, no alarm. Closed
        otherwise (by hand, a liquidation, before a restart): [SAFETY]. Live, the leg crosses
        at once whatever the reason (cost_mixin.custom_exit_price): it is naked until it is out.
        """
        twin = self._closed_leg(tag, tag.partner)
        if twin is None:
            return None
        decided = self.state.exiting.get(tag.key)
        reason = follower_exit_reason(decided, twin.exit_reason)
        log(
            logger,
            Category.EXECUTION if decided is not None else Category.SAFETY,
            tag.pair_id,
            "twin closed first: following it out"
            if decided is not None
            else "twin closed: closing this leg too",
            spread=str(tag.key),
            leg=str(tag.leg),
            twin=twin.pair,
            reason=reason,
        )
        return reason

    def _open_z(self, tag: LegTag, current_time: datetime) -> tuple[float, float]:
        hist_a = self._candles_of(tag.leg_a)
        hist_b = self._candles_of(tag.leg_b)
        if hist_a is None or hist_b is None:
            return math.nan, math.nan
        count = tag.window + 1
        close_a, close_b = common_closes(hist_a, hist_b, current_time, count)
        return open_spread_z(
            close_a, close_b, hedge_ratio=tag.beta, window=tag.window, price_space=tag.price_space
        )

    def _candles_of(self, symbol: str) -> CandleCache | None:
        """The analysed cache, or raw candles for a leg FreqTrade did not analyse in this run
        (an analysis run loads one pair; a spread dropped from the whitelist keeps its legs)."""
        cache = self.state.candles.get(symbol)
        if cache is not None:
            return cache
        raw = self.dp.get_pair_dataframe(symbol, self.timeframe)
        if raw is None or raw.empty:
            return None
        cached = self.state.raw_candles.get(symbol)
        last = raw["date"].iloc[-1]
        if cached is None or cached[0] != last:
            cached = (last, CandleCache(raw["date"], {"close": raw["close"]}, self._tf_minutes))
            self.state.raw_candles[symbol] = cached
        return cached[1]

    # ------------------------------------------------------------------ entry blocks
    def _track_entry_blocks(self, current_time: datetime) -> None:
        """Which loaded pairs cannot open a spread now, and why; each change of a pair's blocks
        is one [STRATEGY] line (statarb.spread.blocks). The cost gate's verdict comes from the
        entry decisions only (`_decision_for`): it stands from a signal its costs refused until
        one pays them."""
        signal_candle = signal_candle_of(current_time, self._tf_minutes)
        config = self.book.config_at(signal_candle)
        loaded = config.pairs if config is not None else []
        self.state.blocks.keep_only(entry.pair_id for entry in loaded)
        review = (
            "manual review flag up: no new spreads until a person acknowledges it"
            if self.review_flag.is_raised()
            else None
        )
        for entry in loaded:
            blocks: dict[Block, str | None] = {
                Block.REVIEW: review,
                Block.COOLDOWN: self._stop_cooldown(
                    entry.pair_id, (entry.leg_a, entry.leg_b), current_time
                ),
            }
            cache = self.state.candles.get(entry.leg_a)
            row = cache.row_at(signal_candle) if cache is not None else None
            if row is not None:  # analysed: the re-test's verdict
                blocks[Block.RETEST] = None if bool(row["coint_ok"]) else self._retest_failure(row)
            self._report_blocks(entry.pair_id, blocks)

    def _report_blocks(self, pair_id: str, blocks: dict[Block, str | None]) -> None:
        change = self.state.blocks.update(pair_id, blocks)
        if change is None:
            return
        if change.blocked:
            lifted = {"lifted": ",".join(change.lifted)} if change.lifted else {}
            log(
                logger,
                Category.STRATEGY,
                pair_id,
                "entries blocked",
                by=change.blocks,
                reason=change.reason,
                **lifted,
            )
        else:
            log(
                logger, Category.STRATEGY, pair_id, "entries unblocked", was=",".join(change.lifted)
            )

    def _retest_failure(self, row: dict[str, Any]) -> str:
        pvalue = float(row.get("coint_pvalue", math.nan))
        window = self.settings.retest_window
        if not math.isfinite(pvalue):
            return f"trailing re-test has no verdict yet (it needs {window} candles of the spread)"
        return (
            f"trailing re-test failed: ADF p={pvalue:.3f} > {self.settings.retest_max_pvalue:.2f} "
            f"over the last {window} candles"
        )

    def _stop_cooldown(self, pair_id: str, legs: tuple[str, str], now: datetime) -> str | None:
        """Why a z stop still locks this pair's legs, or None."""
        for symbol in legs:
            for lock in PairLocks.get_pair_locks(symbol, now):
                if lock.reason == _stop_lock_reason(pair_id):
                    return f"z stop cool-down until {lock.lock_end_time_utc:%Y-%m-%d %H:%M} UTC"
        return None

    # ------------------------------------------------------------------ loop
    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        self._track_entry_blocks(current_time)
        if self.dp.runmode not in LIVE_MODES:
            return
        # Entry decisions are per signal candle; keep only the recent ones.
        horizon = current_time.astimezone(UTC) - timedelta(minutes=self._tf_minutes * 10)
        self.state.decisions = {
            k: v for k, v in self.state.decisions.items() if k.opened_at >= horizon
        }
        self.state.forced = {k: v for k, v in self.state.forced.items() if k.opened_at >= horizon}
        self.state.waiting = {k for k in self.state.waiting if k.opened_at >= horizon}
        self.live_loop(current_time)


def _stop_lock_reason(pair_id: str) -> str:
    """The reason of the pair locks a z stop sets (one definition: set, and looked for)."""
    return f"z stop on {pair_id}"


def _int_or_zero(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if math.isfinite(number) else 0

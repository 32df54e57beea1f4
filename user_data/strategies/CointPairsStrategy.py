"""Cointegration pairs trading on Binance USDT-M futures: the FreqTrade adapter.

FreqTrade holds one trade per symbol and acts on each symbol's signals in turn; a spread is two
trades in opposite directions. This file holds FreqTrade's callbacks only, each handing over to
the part of `statarb.ft` that does the work, made in `__init__` with this strategy as its host
(`statarb.ft.host.StrategyHost`): frames (indicators, signals, FreqAI), entries (one decision per
spread instance, both legs read it), exits (one per spread and moment, both legs leave
together), blocks (why a pair cannot enter), costs (cost-aware entry, maker-first prices), live
(hedging plan, ghost checks, monitor, pairs reload). What it remembers is one `StrategyState`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.exceptions import OperationalException
from freqtrade.persistence import Order, Trade
from freqtrade.strategy import DecimalParameter, IStrategy
from pandas import DataFrame

from statarb.costs.entry_cost import DEFAULT_COST_MARGIN
from statarb.ft import frames, startup
from statarb.ft.blocks import EntryBlockReporter
from statarb.ft.candles import CandleReader
from statarb.ft.costs import ORDER_TYPES, CostDesk
from statarb.ft.entries import EntryDesk, thresholds_of
from statarb.ft.exits import ExitDesk
from statarb.ft.live import LiveDesk
from statarb.ft.state import StrategyState
from statarb.ft.trades import LIVE_MODES, TagStore
from statarb.pairs_config import PairsConfigError
from statarb.safety.review_flag import ManualReviewFlag
from statarb.spread.signals import Thresholds


class CointPairsStrategy(IStrategy):
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

    order_types = ORDER_TYPES
    plot_config = frames.PLOT_CONFIG

    # ------------------------------------------------------------------ set-up
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.state = StrategyState()  # all the strategy remembers between callbacks
        try:
            ready = startup.prepare(config, self.order_types, default_timeframe=self.timeframe)
        except startup.StartupRefusedError as exc:
            raise OperationalException(str(exc)) from None
        self.settings, self.book, self.retest = ready.settings, ready.book, ready.retest
        self.tf_minutes, self.analysis_run = ready.timeframe_minutes, ready.analysis_run
        self.startup_candle_count = ready.startup_candle_count
        self.review_flag = ManualReviewFlag(ready.review_flag_path)
        self.tags = TagStore(self.book, self.tf_minutes)
        self.candles = CandleReader(self)
        self.blocks = EntryBlockReporter(self)
        self.entries = EntryDesk(self, self.blocks)
        self.exits = ExitDesk(self)
        self.costs = CostDesk(self)
        self.live_desk = LiveDesk(self)

    def bot_start(self, **kwargs: Any) -> None:
        if refusal := startup.unknown_symbols_refusal(self.book, self.dp.market):
            raise PairsConfigError(refusal)  # a ValueError: FreqTrade logs one line and stops
        startup.log_loaded_pairs(self.book)
        self.live_desk.start()
        startup.log_review_flag(self.review_flag)

    def thresholds_for(self, entry: Any) -> Thresholds:
        return thresholds_of(entry, self.default_thresholds())

    def default_thresholds(self) -> Thresholds:
        values = (self.entry_z.value, self.exit_z.value, self.stop_z.value)
        return Thresholds(*(float(value) for value in values))

    # ------------------------------------------------------------------ indicators, signals
    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if self.config.get("freqai", {}).get("enabled", False):
            # FreqAI first, on the bare candles (it copies every column it is given); live, its
            # corr-pair features are rebuilt each time so our spread features find them.
            self.freqai.get_corr_dataframes = True
            dataframe = self.freqai.start(dataframe, metadata, self)
        return self.candles.analyse(dataframe, metadata["pair"])

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return frames.entry_signals(dataframe, metadata["pair"], self.book, self.thresholds_for)

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # Exits are per spread instance (entry hedge ratio, both legs together): custom_exit.
        dataframe["exit_long"] = 0
        dataframe["exit_short"] = 0
        return dataframe

    # ------------------------------------------------------------------ FreqAI
    def feature_engineering_expand_all(
        self, dataframe: DataFrame, period: int, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        return frames.candle_columns(dataframe)

    def feature_engineering_expand_basic(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        return frames.with_raw_close(dataframe)

    def feature_engineering_standard(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        return frames.hour_features(dataframe)

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs: Any) -> DataFrame:
        return frames.freqai_targets(
            dataframe,
            metadata["pair"],
            self.book,
            timeframe=self.config["timeframe"],
            timeframe_minutes=self.tf_minutes,
            feature_parameters=self.freqai_info["feature_parameters"],
        )

    # ------------------------------------------------------------ entries (statarb.ft.entries)
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
        return self.entries.stake_amount(
            pair, current_time, current_rate, max_stake, leverage, entry_tag, side
        )

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
        return self.entries.confirm(pair, amount, rate, current_time, entry_tag, side)

    def order_filled(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any
    ) -> None:
        self.entries.order_filled(pair, trade, order)

    # ------------------------------------------------------------------ costs (statarb.ft.costs)
    def custom_entry_price(
        self,
        pair: str,
        trade: Trade | None,
        current_time: datetime,
        proposed_rate: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        return self.costs.custom_entry_price(pair, trade, current_time, proposed_rate, side)

    def custom_exit_price(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        proposed_rate: float,
        current_profit: float,
        exit_tag: str | None,
        **kwargs: Any,
    ) -> float:
        return self.costs.custom_exit_price(pair, trade, current_time, proposed_rate, exit_tag)

    def check_entry_timeout(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any
    ) -> bool:
        return self.live_desk.check_entry_timeout(pair, trade, order, current_time)

    def check_exit_timeout(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any
    ) -> bool:
        return self.costs.check_exit_timeout(pair, trade, order, current_time)

    def adjust_order_price(
        self,
        trade: Trade,
        order: Order | None,
        pair: str,
        current_time: datetime,
        proposed_rate: float,
        current_order_rate: float,
        entry_tag: str | None,
        side: str,
        is_entry: bool,
        **kwargs: Any,
    ) -> float | None:
        buy = side == ("long" if is_entry else "short")
        return self.costs.give_up_waiting(
            trade, order, pair, current_time, proposed_rate, current_order_rate, buy=buy
        )

    # ------------------------------------------------------------------ live (statarb.ft.live)
    def adjust_trade_position(
        self,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        min_stake: float | None,
        max_stake: float,
        current_entry_rate: float,
        current_exit_rate: float,
        current_entry_profit: float,
        current_exit_profit: float,
        **kwargs: Any,
    ) -> float | tuple[float | None, str | None] | None:
        return self.live_desk.adjust_trade_position(trade, current_rate, current_entry_rate)

    def confirm_trade_exit(
        self,
        pair: str,
        trade: Trade,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        exit_reason: str,
        current_time: datetime,
        **kwargs: Any,
    ) -> bool:
        return self.live_desk.confirm_trade_exit(pair, trade, amount, rate, exit_reason)

    # -------------------------------------------------------------- exits (statarb.ft.exits)
    def custom_exit(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        **kwargs: Any,
    ) -> str | None:
        return self.exits.custom_exit(trade, current_time)

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        self.blocks.track(current_time)
        if self.dp.runmode not in LIVE_MODES:
            return
        self.entries.forget_old(current_time)
        self.live_desk.loop(current_time)

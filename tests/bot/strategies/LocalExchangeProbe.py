"""A deliberately trivial futures strategy that exercises the exchange, not a trading idea.

Backtesting: enter long on every up-candle, short on every down-candle, exit after
``probe_hold_minutes`` (config key, default 30). Live: enter on the first candle, once per pair —
long the first pair of the whitelist, short the others — and exit after ``probe_hold_seconds``
(default 20): one open-and-close round trip per pair whose fills, fees and P&L the test compares
with the exchange.
"""

from __future__ import annotations

from datetime import datetime

from freqtrade.enums import RunMode
from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class LocalExchangeProbe(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = True
    minimal_roi = {"0": 100.0}  # noqa: RUF012 (FreqTrade reads it as a class attribute)
    stoploss = -0.99
    use_exit_signal = True
    process_only_new_candles = False
    startup_candle_count = 2

    def _live(self) -> bool:
        return self.dp.runmode in (RunMode.LIVE, RunMode.DRY_RUN)

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if self._live():
            first = metadata["pair"] == self.config["exchange"]["pair_whitelist"][0]
            dataframe["enter_long" if first else "enter_short"] = 1
            return dataframe
        dataframe["enter_long"] = (dataframe["close"] > dataframe["open"]).astype(int)
        dataframe["enter_short"] = (dataframe["close"] < dataframe["open"]).astype(int)
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        dataframe["exit_short"] = 0
        return dataframe

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs) -> bool:  # fmt: skip
        # live: one round trip per pair, so the comparison with the exchange is exact
        return not (self._live() and Trade.get_trades_proxy(pair=pair))

    def custom_exit(self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
                    current_profit: float, **kwargs) -> str | None:  # fmt: skip
        held_s = (current_time - trade.open_date_utc).total_seconds()
        if self._live():
            return "probe_done" if held_s >= self.config.get("probe_hold_seconds", 20) else None
        return "probe_done" if held_s >= 60 * self.config.get("probe_hold_minutes", 30) else None

    def leverage(self, pair: str, current_time: datetime, current_rate: float,
                 proposed_leverage: float, max_leverage: float, entry_tag: str | None,
                 side: str, **kwargs) -> float:  # fmt: skip
        return 3.0

"""The strategy's cost duties: `CostDesk`, made by `CointPairsStrategy.__init__`.

- `cost_view`: gathers what the cost-aware entry check needs (fee rate FreqTrade will charge,
  the spread's σ over its window, its half-life, the legs' latest funding rates) for
  `statarb.spread.planner.decide_entry`; the decision itself is `statarb.costs.entry_cost`.
- maker-first orders (`order_types` entry "limit"): `custom_entry_price` / `custom_exit_price`
  rest at the touch; live, `check_entry_timeout` / `check_exit_timeout` cancel an order still
  unfilled after `maker_timeout_s` (the lone leg's twin then goes at market, an exit as
  FreqTrade's emergency exit). A backtest decides both legs on the fill candle
  (`statarb.costs.orders.backtest_leg_fill`): a leg the candle does not reach crosses at its
  open when its twin rests, and an entry neither leg's limit would fill opens no spread
  (`backtest_entry_never_fills`), so both legs always open and close on one candle; an order
  left unfilled anyway re-prices across the book at the next candle (`adjust_order_price`).
  Orders that must fill now (stops, lone legs, hedging, a maker order that waited out) cross
  as marketable limits. Prices come from `statarb.costs.orders`.

What it reads from the strategy is `statarb.ft.host.StrategyHost` (analysed candles with
close, high and low; top-up prices in its state; the hyperoptable `cost_margin`).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from freqtrade.persistence import Order, Trade

from statarb.costs.entry_cost import CostParams, CostView, spread_sd_usdt
from statarb.costs.orders import (
    BacktestFill,
    backtest_leg_fill,
    crossing_price,
    exit_waits,
    expected_fee_rate,
    is_maker_first,
    limit_reached,
    maker_waited_out,
    order_is_urgent,
    resting_price_backtest,
    through_touch,
)
from statarb.execution.hedging import RETRY_WAIT_MS
from statarb.ft.freqtrade_internals import exchange_of
from statarb.ft.trades import LIVE_MODES, market_of
from statarb.safety.log import Category, log
from statarb.spread.book import ActivePair
from statarb.spread.client_ids import Purpose
from statarb.spread.history import common_closes
from statarb.spread.legs import signal_candle_of
from statarb.spread.sizing import stake_for_qty
from statarb.stats.halflife import ou_half_life
from statarb.stats.inputs import StatsInputError

if TYPE_CHECKING:
    from statarb.ft.host import StrategyHost

logger = logging.getLogger(__name__)

# The strategy's order types as shipped: market orders. Maker-first is the config's choice
# (`order_types` entry "limit"), checked at start against the timeouts (statarb.ft.startup).
ORDER_TYPES = {
    "entry": "market",
    "exit": "market",
    "emergency_exit": "market",
    "force_entry": "market",
    "force_exit": "market",
    "stoploss": "market",
    "stoploss_on_exchange": False,
}


class CostDesk:
    def __init__(self, host: StrategyHost) -> None:
        self.host = host

    # ------------------------------------------------------------------ cost-aware entry
    def cost_view(self, active: ActivePair, signal_candle: datetime) -> CostView | None:
        """Inputs of the cost check at the signal candle; None when the check is off."""
        if not self.host.settings.cost_gate:
            return None
        entry = active.entry
        end = signal_candle + timedelta(minutes=self.host.tf_minutes)  # the signal candle closed
        hist_a, hist_b = (
            self.host.candles.candles_of(entry.leg_a),
            self.host.candles.candles_of(entry.leg_b),
        )
        sigma, half_life = math.nan, entry.half_life_candles or math.nan
        if hist_a is not None and hist_b is not None:
            count = max(entry.mean_reversion_window, self.host.settings.retest_window)
            close_a, close_b = common_closes(hist_a, hist_b, end, count)
            window = entry.mean_reversion_window
            # In USDT per unit of leg A, as the position holds it (B at the quantity ratio).
            ratio = entry.quantity_ratio
            sigma = spread_sd_usdt(close_a[-window:], close_b[-window:], ratio)
            if entry.half_life_candles is None:
                half_life = _half_life(close_a - ratio * close_b)
        try:
            params, problem = (
                CostParams(
                    fee_rate=self._fee_rate(entry.leg_a),
                    slippage_bps=self.host.settings.expected_slippage_bps,
                    margin=float(self.host.cost_margin.value),
                ),
                None,
            )
        except ValueError as exc:  # no fee rate, or one out of range: refuse, never guess
            params, problem = None, str(exc)
        return CostView(
            params=params,
            problem=problem,
            spread_sd_usdt=sigma,
            half_life_candles=half_life,
            timeframe_minutes=self.host.tf_minutes,
            funding_rate_a=self._funding_rate(entry.leg_a, end),
            funding_rate_b=self._funding_rate(entry.leg_b, end),
        )

    def _fee_rate(self, symbol: str) -> float:
        """The rate per fill FreqTrade will charge (cached: it does not change in a run)."""
        cache = self.host.state.fee_rates
        if symbol not in cache:
            exchange = exchange_of(self.host.dp)

            def rate(kind: str) -> float | None:
                if exchange is None:
                    return None
                try:
                    return float(exchange.get_fee(symbol, taker_or_maker=kind))
                except Exception:  # a market without fee data: the other kind may be known
                    return None

            cache[symbol] = expected_fee_rate(
                override=self.host.settings.fee_rate,
                config_fee=self.host.config.get("fee") if self.host.config.get("dry_run") else None,
                maker_rate=rate("maker"),
                taker_rate=rate("taker"),
                maker_first=is_maker_first(self.host.order_types),
            )
        return cache[symbol]

    def _funding_rate(self, symbol: str, until: datetime) -> float:
        """The latest funding rate known at `until`; NaN when unknown (the check assumes 0)."""
        try:
            if self.host.dp.runmode in LIVE_MODES:
                return float(self.host.dp.funding_rate(symbol).get("fundingRate") or math.nan)
            frame = self.host.dp.get_pair_dataframe(
                symbol, self.host.dp.get_funding_rate_timeframe(), candle_type="funding_rate"
            )
        except Exception:  # funding is a small term of the cost: unknown, never fatal
            return math.nan
        if frame is None or frame.empty:
            return math.nan
        column = "funding_rate" if "funding_rate" in frame.columns else "open"
        known = frame.loc[frame["date"] < until, column]
        return float(known.iloc[-1]) if len(known) else math.nan

    # ------------------------------------------------------------------ maker-first orders
    @property
    def _maker_first(self) -> bool:
        return is_maker_first(self.host.order_types)

    def _resting_price(self, pair: str, current_time: datetime, *, buy: bool) -> float | None:
        """Backtest only: a limit one tick through the signal candle's close."""
        close = self.host.candles.close_at(
            pair, signal_candle_of(current_time, self.host.tf_minutes)
        )
        if not math.isfinite(close):
            return None
        market = self.host.dp.market(pair) or {}
        tick = float(market.get("precision", {}).get("price") or 0.0)
        return resting_price_backtest(close, buy=buy, tick=tick)

    def _crossing(self, pair: str, *, buy: bool) -> float | None:
        """Live: a marketable limit through the opposite touch of the order book; None when
        the book cannot be read (the caller keeps or falls back, and says so)."""
        try:
            book = self.host.dp.orderbook(pair, 1)
            bid = book["bids"][0][0] if book.get("bids") else None
            ask = book["asks"][0][0] if book.get("asks") else None
            return crossing_price(
                buy=buy,
                best_bid=_price_or_none(bid),
                best_ask=_price_or_none(ask),
                max_slippage_bps=self.host.settings.crossing_slippage_bps,
            )
        except Exception:  # a garbage or missing answer: no book this loop
            return None

    def custom_entry_price(
        self,
        pair: str,
        trade: Trade | None,
        current_time: datetime,
        proposed_rate: float,
        side: str,
    ) -> float:
        if not self._maker_first:
            return proposed_rate
        live = self.host.dp.runmode in LIVE_MODES
        if trade is not None:
            # A top-up of a leg already open completes a hedge: it does not wait in the queue
            # (a backtest fills it at the candle's open). Live, at the price its stake was
            # sized with (top_up_price).
            if not live:
                return proposed_rate
            priced = self.host.state.top_up_prices.pop(pair, None)
            return priced if priced is not None else proposed_rate
        if live:
            return proposed_rate  # FreqTrade priced it at the touch (entry_pricing side "same")
        fill, price = self._backtest_entry_fill(pair, current_time, buy=side == "long")
        if fill is BacktestFill.CROSS or price is None:
            return proposed_rate  # the fill candle's open: crosses at once, with its twin
        return price  # NO_SPREAD is refused by confirm_trade_entry

    def custom_exit_price(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        proposed_rate: float,
        exit_tag: str | None,
    ) -> float:
        if not self._maker_first:
            return proposed_rate
        buy = bool(trade.is_short)
        live = self.host.dp.runmode in LIVE_MODES
        # Live, a leg following its closed twin out carries the spread's reason (maybe a
        # patient one) yet crosses. A backtest decides both legs' exits in one pass: there the
        # twin that filled first is no reason to cross.
        if exit_waits(exit_tag, twin_closed=live and self._twin_of_trade_closed(trade)):
            if live:
                return proposed_rate  # the touch (exit_pricing side "same")
            tag = self.host.tags.tag_of(trade)
            twin = None if tag is None else tag.partner
            fill, price = self._backtest_fill(pair, twin, current_time, buy=buy, entering=False)
            if fill is not BacktestFill.REST or price is None:
                return proposed_rate  # the fill candle's open: crosses at once, with its twin
            return price
        # Stops, lone legs, hedging and forced exits do not wait in the queue.
        if not live:
            return proposed_rate  # the candle's open: fills at once
        return self._urgent_price(pair, proposed_rate, buy=buy)

    # ------------------------------------------------ backtests: both legs on one candle
    def _backtest_entry_fill(
        self, pair: str, current_time: datetime, *, buy: bool
    ) -> tuple[BacktestFill, float | None]:
        """Backtest: a new leg's fate on its fill candle, decided with its twin's."""
        active = self.host.book.active(pair, signal_candle_of(current_time, self.host.tf_minutes))
        twin = None if active is None else active.partner
        return self._backtest_fill(pair, twin, current_time, buy=buy, entering=True)

    def _backtest_fill(
        self, pair: str, twin: str | None, current_time: datetime, *, buy: bool, entering: bool
    ) -> tuple[BacktestFill, float | None]:
        """This leg's fate on the fill candle (statarb.costs.orders.backtest_leg_fill) and its
        resting price.

        The fill candle is the one FreqTrade fills this order on; its range is what FreqTrade's
        own fill rule reads, read here one step earlier so the twin can be judged with it: a
        leg whose twin rests but which the candle does not reach crosses on the same candle,
        never one candle later (a naked hour at 1h candles, which the live bot never allows).
        """
        candle = signal_candle_of(current_time, self.host.tf_minutes) + timedelta(
            minutes=self.host.tf_minutes
        )
        price = self._resting_price(pair, current_time, buy=buy)
        reached = self._limit_reached(pair, candle, price, buy=buy)
        twin_reached = True
        if twin is not None:
            twin_price = self._resting_price(twin, current_time, buy=not buy)
            twin_reached = self._limit_reached(twin, candle, twin_price, buy=not buy)
        return backtest_leg_fill(reached, twin_reached, entering=entering), price

    def _limit_reached(
        self, symbol: str, candle: datetime, price: float | None, *, buy: bool
    ) -> bool:
        """Does `candle` trade through this resting limit? Unknown (no analysed candle or no
        price): assumed so, and FreqTrade's fill rule alone decides."""
        cache = self.host.state.candles.get(symbol)
        row = cache.row_at(candle) if cache is not None else None
        if price is None or row is None:
            return True
        low, high = float(row.get("low", math.nan)), float(row.get("high", math.nan))
        if not (math.isfinite(low) and math.isfinite(high)):
            return True
        return limit_reached(price, buy=buy, low=low, high=high)

    def backtest_entry_never_fills(self, pair: str, current_time: datetime, side: str) -> bool:
        """Backtest, maker-first: neither leg's resting entry would fill on the fill candle.

        Live, both orders are cancelled unfilled after `maker_timeout_s` and the spread does
        not open (that candle's signal is spent); the backtest refuses it the same way.
        """
        if not self._maker_first or self.host.dp.runmode in LIVE_MODES:
            return False
        fill, _ = self._backtest_entry_fill(pair, current_time, buy=side == "long")
        return fill is BacktestFill.NO_SPREAD

    def _twin_of_trade_closed(self, trade: Trade) -> bool:
        tag = self.host.tags.tag_of(trade)
        return tag is not None and self.host.tags.twin_closed(tag)

    def top_up_price(self, pair: str, current_entry_rate: float, *, buy: bool) -> float:
        """Live: the price of a hedging top-up, decided once for its stake and its order."""
        if not self._maker_first:
            return current_entry_rate  # a market order: FreqTrade sizes it at this rate
        price = self._urgent_price(pair, current_entry_rate, buy=buy)
        self.host.state.top_up_prices[pair] = price
        return price

    def _urgent_price(self, pair: str, proposed_rate: float, *, buy: bool) -> float:
        """Live: a marketable limit for an order that must fill now; without a book, FreqTrade's
        price (this side's touch) pushed through by the same allowance."""
        crossing = self._crossing(pair, buy=buy)
        if crossing is not None:
            return crossing
        log(
            logger,
            Category.EXECUTION,
            None,
            "order book unreadable: crossing from FreqTrade's price instead",
            pair=pair,
            price=proposed_rate,
        )
        return through_touch(
            proposed_rate, buy=buy, max_slippage_bps=self.host.settings.crossing_slippage_bps
        )

    def check_entry_timeout(
        self, pair: str, trade: Trade, order: Order, current_time: datetime
    ) -> bool:
        return self._rested_long_enough(pair, trade, order, current_time)

    def check_exit_timeout(
        self, pair: str, trade: Trade, order: Order, current_time: datetime
    ) -> bool:
        if not self._rested_long_enough(pair, trade, order, current_time):
            return False
        # FreqTrade's emergency exit follows the cancel and asks no callback: register its
        # intent now, so it goes out under this spread's own deterministic client id.
        live, tag = self.host.live_desk.live, self.host.tags.tag_of(trade)
        if live is not None and tag is not None:
            live.announce(
                tag=tag,
                symbol=pair,
                side="buy" if trade.is_short else "sell",
                reduce_only=True,
                purpose=Purpose.EXIT,
                qty_base=float(order.safe_remaining),
            )
        return True

    def _rested_long_enough(
        self, pair: str, trade: Trade, order: Order, current_time: datetime
    ) -> bool:
        """Live: a maker order unfilled after `maker_timeout_s` is cancelled, every loop; an
        urgent order's resting remainder after the hedging wait (2 s).

        FreqTrade re-prices (adjust_order_price) only once a new candle has closed; its timeout
        check runs every loop. After the cancel the crossing is FreqTrade's and ours: an entry
        leg left alone gets its twin from the hedging plan at market, an exit goes on as
        FreqTrade's emergency exit (market) after `unfilledtimeout.exit_timeout_count` (1).
        A backtest re-prices at the next candle instead (adjust_order_price).
        """
        if not self._maker_first or self.host.dp.runmode not in LIVE_MODES:
            return False
        urgent = self._urgent(trade, order)
        wait_s = RETRY_WAIT_MS / 1000 if urgent else self.host.settings.maker_timeout_s
        if not maker_waited_out(order.order_date_utc, current_time, wait_s):
            return False
        live = self.host.live_desk.live
        if live is not None and order.order_id and not order.safe_filled:
            live.cancelled_unfilled(str(order.order_id), "order timed out unfilled")
        log(
            logger,
            Category.EXECUTION,
            None,
            "urgent order's rest not filled after the hedging wait: cancelling it"
            if urgent
            else "maker order not filled in time: cancelling it",
            pair=pair,
            side=order.ft_order_side,
            filled=order.safe_filled,
            waited_s=(current_time - order.order_date_utc).total_seconds(),
        )
        return True

    def _urgent(self, trade: Trade, order: Order) -> bool:
        """Was this order sent to fill now? (statarb.costs.orders.order_is_urgent)"""
        return order_is_urgent(
            order_type=order.order_type,
            order_tag=order.ft_order_tag,
            exiting=order.ft_order_side != trade.entry_side,
            twin_closed=self._twin_of_trade_closed(trade),
        )

    def give_up_waiting(
        self,
        trade: Trade,
        order: Order | None,
        pair: str,
        current_time: datetime,
        proposed_rate: float,
        current_order_rate: float,
        *,
        buy: bool,
    ) -> float | None:
        """`adjust_order_price`: after `maker_timeout_s` at the touch, re-price across the book
        (a taker fill). `buy`: an entry of a long leg or an exit of a short one."""
        if not self._maker_first or order is None:
            return current_order_rate
        if not maker_waited_out(
            order.order_date_utc, current_time, self.host.settings.maker_timeout_s
        ):
            return current_order_rate
        # Live: the opposite touch; a backtest: the new candle's open, which fills at once.
        live = self.host.dp.runmode in LIVE_MODES
        price = self._crossing(pair, buy=buy) if live else proposed_rate
        if price is None:
            log(
                logger,
                Category.EXECUTION,
                trade.enter_tag,
                "order book unreadable: keeping the resting order, crossing next loop",
                pair=pair,
                side=order.ft_order_side,
            )
            return current_order_rate
        if price == current_order_rate:
            return current_order_rate
        self._announce_reprice(trade, order, pair, buy=buy)
        log(
            logger,
            Category.EXECUTION,
            trade.enter_tag,
            "maker order not filled: crossing the book",
            pair=pair,
            side=order.ft_order_side,
            waited_s=(current_time - order.order_date_utc).total_seconds(),
            price=price,
        )
        return price

    def backtest_top_up(self, trade: Trade, current_rate: float) -> float | None:
        """Backtest: the stake that brings a leg back to its planned quantity, or None.

        FreqTrade re-prices a resting order by keeping its STAKE, so a buy re-priced up gets
        fewer coins, truncated to the lot step (10 SOL at 93.48 re-priced at 93.52 is 9). Live,
        the hedging plan tops such a leg up; a backtest has no plan, so the leg tops itself up
        at the next candle, crossing the book.
        """
        if not self._maker_first or self.host.dp.runmode in LIVE_MODES or trade.has_open_orders:
            return None
        tag = self.host.tags.tag_of(trade)
        if tag is None or not current_rate > 0:
            return None
        step = market_of(self.host.dp, trade.pair).qty_step
        missing = tag.planned_qty - float(trade.amount or 0.0)
        steps = math.floor(missing / step + 1e-9)
        if steps < 1:
            return None
        return stake_for_qty(steps * step, current_rate, float(trade.leverage or 1.0))

    def _announce_reprice(self, trade: Trade, order: Order, pair: str, *, buy: bool) -> None:
        """Live: the re-priced order is a new send of the same intent (its own client id)."""
        live = self.host.live_desk.live
        tag = self.host.tags.tag_of(trade)
        if live is None or tag is None:
            return
        is_entry = order.ft_order_side == trade.entry_side
        live.announce(
            tag=tag,
            symbol=pair,
            side="buy" if buy else "sell",
            reduce_only=not is_entry,
            purpose=Purpose.ENTRY if is_entry else Purpose.EXIT,
            qty_base=float(order.safe_remaining),
        )


def _price_or_none(value: Any) -> float | None:
    """A book level's price as ccxt parsed it; None when the answer carried no number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _half_life(spread: np.ndarray) -> float:
    finite = spread[np.isfinite(spread)]
    try:
        return float(ou_half_life(finite))
    except StatsInputError:
        return math.nan

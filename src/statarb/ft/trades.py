"""FreqTrade's objects as spread legs: tags, open legs, markets, the bot handle.

Adapter code (it imports FreqTrade); the decisions it feeds are in `statarb.spread` and
`statarb.execution`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.persistence import Trade

from statarb.spread.book import SpreadBook
from statarb.spread.client_ids import Leg
from statarb.spread.legs import TAG_KEY, LegTag, OpenLeg, signal_candle_of, spread_direction
from statarb.spread.sizing import LegMarket

# Run modes with a running bot: the live execution path runs in both (dry-run simulates orders).
LIVE_MODES = (RunMode.LIVE, RunMode.DRY_RUN)


def market_of(dp: Any, symbol: str) -> LegMarket:
    """The exchange's lot rules for `symbol` as loaded by FreqTrade (ccxt market)."""
    market = dp.market(symbol) or {}
    step = float(market.get("precision", {}).get("amount") or 0.0)
    limits = market.get("limits", {})
    return LegMarket(
        symbol=symbol,
        qty_step=step if step > 0 else 1e-8,
        min_qty=float(limits.get("amount", {}).get("min") or 0.0),
        max_qty=limits.get("amount", {}).get("max"),
        min_notional_usdt=float(limits.get("cost", {}).get("min") or 0.0),
    )


TradeIdentity = tuple[int, str, datetime]


def trade_identity(trade: Any) -> TradeIdentity:
    """A trade's id is not its identity: SQLite hands the id of a deleted trade (an entry
    cancelled unfilled, e.g. a maker order timed out) to the next one, maybe on the other
    leg's symbol. Cached by id alone, the new leg would wear the dead leg's tag, its spread
    would look one leg short, and the hedging plan would send a second twin."""
    return (int(trade.id), str(trade.pair), trade.open_date_utc)


class TagStore:
    """Each trade's LegTag: FreqTrade's per-trade custom data (it survives restarts), cached
    by the trade's identity (id, pair, open time), never by its re-usable id alone."""

    def __init__(self, book: SpreadBook, timeframe_minutes: int) -> None:
        self.book = book
        self._tf_minutes = timeframe_minutes
        self._tags: dict[TradeIdentity, LegTag] = {}

    def tag_of(self, trade: Trade) -> LegTag | None:
        identity = trade_identity(trade)
        if identity in self._tags:
            return self._tags[identity]
        raw = trade.get_custom_data(TAG_KEY)
        tag = LegTag.from_json(raw) if raw else self.rebuild(trade)
        if tag is not None:
            self._tags = {k: v for k, v in self._tags.items() if k[0] != identity[0]}
            self._tags[identity] = tag
        return tag

    def store(self, trade: Trade, tag: LegTag) -> None:
        trade.set_custom_data(TAG_KEY, tag.to_json())
        identity = trade_identity(trade)
        self._tags = {k: v for k, v in self._tags.items() if k[0] != identity[0]}
        self._tags[identity] = tag

    def rebuild(self, trade: Trade) -> LegTag | None:
        """A leg's tag from its enter tag and open time (custom data not written yet)."""
        if not trade.enter_tag:
            return None
        opened_at = signal_candle_of(trade.open_date_utc, self._tf_minutes)
        entry = self.book.find(trade.enter_tag, opened_at)
        if entry is None or trade.pair not in (entry.leg_a, entry.leg_b):
            return None
        leg = Leg.A if trade.pair == entry.leg_a else Leg.B
        return LegTag(
            pair_id=entry.pair_id,
            opened_at=opened_at,
            leg=leg,
            direction=spread_direction(leg, trade.is_short),
            hedge_ratio=entry.quantity_ratio,
            leg_a=entry.leg_a,
            leg_b=entry.leg_b,
            window=entry.mean_reversion_window,
            planned_qty=trade.amount,
            spread_beta=entry.hedge_ratio,
            price_space=entry.price_space,
        )

    def closed_leg(self, tag: LegTag, symbol: str) -> Trade | None:
        """This spread instance's closed trade on `symbol`, if any.

        Asked every loop while a leg waits (entry cancels, lone legs), so only trades closed
        after the spread was decided are read, not the bot's whole history on the symbol.
        """
        for trade in Trade.get_trades_proxy(pair=symbol, is_open=False, close_date=tag.opened_at):
            other = self.tag_of(trade)
            if other is not None and other.key == tag.key:
                return trade
        return None

    def twin_closed(self, tag: LegTag) -> bool:
        """The leg's twin (`tag.partner`) has a closed trade of this very spread instance."""
        return self.closed_leg(tag, tag.partner) is not None

    def already_traded(self, tag: LegTag) -> bool:
        """A closed leg of this very spread instance exists on this leg's own symbol.

        The entry signal stays on its candle for the whole candle; after a quick stop or exit
        FreqTrade would enter again on it, and the new legs would share the old spread's name.
        """
        own = tag.leg_a if tag.leg is Leg.A else tag.leg_b
        return self.closed_leg(tag, own) is not None

    def twin_open(self, tag: LegTag) -> bool:
        """The leg's twin is open (a leg of the same spread instance on the other side)."""
        return any(leg.tag.key == tag.key and leg.tag.leg != tag.leg for leg in self.open_legs())

    def open_legs(self) -> list[OpenLeg]:
        legs = []
        for trade in Trade.get_trades_proxy(is_open=True):
            tag = self.tag_of(trade)
            if tag is not None:
                legs.append(OpenLeg(trade.id, trade.pair, trade.is_short, trade.amount, tag))
        return legs

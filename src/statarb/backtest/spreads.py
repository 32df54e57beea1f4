"""A backtest's legs joined into spreads and their money split (gross, fees, funding, slippage).

In a backtest both legs of a spread carry the same enter tag (the pair id) and open on the same
candle, so (enter tag, signal candle) names the spread, exactly as the strategy's LegTag does;
the pairs schedule says which legs and hedge ratio that pair had then. The decision candles'
closes and z come from the same candles the backtest traded.

Fees: FreqTrade's backtest charges one rate on every fill. With maker-first orders that is
wrong both ways, so given the exchange's `FeeRates` each fill is re-priced by its role: a fill
AT its candle's open crossed the book (FreqTrade fills a crossing order at the open: a taker),
any other price is a resting limit the candle traded through (a maker). Each leg's share of
its spread's money (`LegFigures`) comes from the same re-priced fills, so `trades.json` and
`spreads.json` add up to the same net.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from statarb.accounting.ledger import first_exit_fill, leg_from_trade_row, marks_from_closes
from statarb.accounting.pnl import (
    AccountingError,
    LegFigures,
    LegLedger,
    SpreadIdentity,
    SpreadRecord,
    account_spread,
    leg_figures,
)
from statarb.costs.orders import FeeRates
from statarb.spread.book import SpreadBook
from statarb.spread.client_ids import Leg
from statarb.spread.legs import signal_candle_of, spread_direction
from statarb.timeutil import epoch_ns


@dataclass(frozen=True)
class _Group:
    identity: SpreadIdentity
    legs: dict[Leg, LegLedger]


def group_backtest_legs(
    trades: pd.DataFrame, book: SpreadBook, timeframe_minutes: int
) -> list[_Group]:
    """Legs by spread instance, in opening order; a leg no scheduled pair explains is an error."""
    groups: dict[tuple[str, datetime], _Group] = {}
    records = trades.to_dict("records")
    for number, row in enumerate(records, start=1):
        ledger = leg_from_trade_row(row, trade_id=number)
        tag = row.get("enter_tag")
        opened_at = signal_candle_of(ledger.open_date, timeframe_minutes)
        entry = book.find(str(tag), opened_at) if tag else None
        if entry is None or ledger.pair not in (entry.leg_a, entry.leg_b):
            raise AccountingError(
                f"{ledger.pair} opened {ledger.open_date:%Y-%m-%d %H:%M} with tag {tag!r}: "
                "no pair of the schedule holds this leg then"
            )
        role = Leg.A if ledger.pair == entry.leg_a else Leg.B
        key = (entry.pair_id, opened_at)
        if key not in groups:
            identity = SpreadIdentity(
                pair_id=entry.pair_id,
                opened_at=opened_at,
                leg_a=entry.leg_a,
                leg_b=entry.leg_b,
                direction=spread_direction(role, ledger.is_short),
                hedge_ratio=entry.quantity_ratio,
                window=entry.mean_reversion_window,
            )
            groups[key] = _Group(identity, {})
        group = groups[key]
        if role in group.legs:
            raise AccountingError(f"{group.identity.spread_id}: two trades claim leg {role}")
        if spread_direction(role, ledger.is_short) != group.identity.direction:
            raise AccountingError(f"{group.identity.spread_id}: both legs on the same side")
        group.legs[role] = ledger
    return sorted(groups.values(), key=lambda g: (g.identity.opened_at, g.identity.pair_id))


@dataclass(frozen=True)
class BacktestAccounts:
    """A backtest's money: each spread's record and each leg's share of it (the same fills,
    fees and funding, so the legs add up to the spreads)."""

    spreads: tuple[SpreadRecord, ...]
    legs: dict[int, LegFigures]  # by the leg's number in FreqTrade's result order, from 1


def backtest_accounts(
    trades: pd.DataFrame,
    book: SpreadBook,
    closes: pd.DataFrame,
    timeframe_minutes: int,
    *,
    maker_taker: tuple[FeeRates, pd.DataFrame] | None = None,
) -> BacktestAccounts:
    """Every spread of a backtest, accounted. `closes`: one column per symbol, by candle open.

    `maker_taker`: the exchange's rates and the candles' opens (same layout as `closes`) to
    re-price each fill by its role; None keeps FreqTrade's rates (all fills cross: taker).
    """
    if trades.empty:
        return BacktestAccounts((), {})
    stamps = epoch_ns(closes.index)
    records, figures = [], {}
    for group in group_backtest_legs(trades, book, timeframe_minutes):
        legs = group.legs
        if maker_taker is not None:
            rates, opens = maker_taker
            legs = {role: _by_role(leg, rates, opens) for role, leg in legs.items()}
        identity = group.identity
        exit_fill = first_exit_fill(list(legs.values()))
        exit_signal = signal_candle_of(exit_fill, timeframe_minutes) if exit_fill else None
        close_a = closes[identity.leg_a].to_numpy(dtype=float)
        close_b = closes[identity.leg_b].to_numpy(dtype=float)
        marks = marks_from_closes(
            close_a,
            close_b,
            identity=identity,
            entry_index=_index_of(stamps, identity.opened_at),
            exit_index=_index_of(stamps, exit_signal),
        )
        records.append(account_spread(identity, legs, marks))
        for role, ledger in legs.items():
            figures[ledger.trade_id] = leg_figures(identity.spread_id, role, ledger)
    return BacktestAccounts(tuple(records), figures)


def _by_role(leg: LegLedger, rates: FeeRates, opens: pd.DataFrame) -> LegLedger:
    """The leg with each fill charged the maker or taker rate by where it filled."""
    column = opens[leg.pair]
    fills = []
    for fill in leg.fills:
        if fill.filled_at is None:
            raise AccountingError(f"{leg.pair} trade {leg.trade_id}: a fill without a time")
        at_open = column.get(pd.Timestamp(fill.filled_at))
        maker = at_open is not None and not np.isclose(fill.price, at_open, rtol=1e-12, atol=0)
        rate = rates.maker if maker else rates.taker
        fills.append(dataclasses.replace(fill, maker=bool(maker), fee_rate=rate))
    return dataclasses.replace(leg, fills=tuple(fills))


def _index_of(stamps: np.ndarray, moment: datetime | None) -> int | None:
    if moment is None:
        return None
    target = int(pd.Timestamp(moment).value)
    index = int(np.searchsorted(stamps, target))
    if index < stamps.size and stamps[index] == target:
        return index
    return None

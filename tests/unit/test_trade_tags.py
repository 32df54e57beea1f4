"""Which spread leg a FreqTrade trade is, when SQLite re-uses the id of a deleted trade.

Protects against the duplicate leg CI caught live: both maker entries of a spread timed out
unfilled, FreqTrade deleted the two trades, the next signal's legs got the same ids back, and
the tag cache (keyed by id alone) gave the new resting leg A the dead spread's tag. Leg B
filled, its spread looked one leg short, and the hedging plan sent a second leg A at market
while the first still rested: the exchange ended holding twice leg A.

Real FreqTrade persistence on an in-memory database, no stand-ins.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.persistence import Trade, init_db

from statarb.ft.trades import TagStore
from statarb.pairs_config import parse_pairs_config
from statarb.spread.book import SpreadBook
from statarb.spread.client_ids import Leg

SOL, ADA = "SOL/USDT:USDT", "ADA/USDT:USDT"
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def book() -> SpreadBook:
    entry = {
        "pair_id": "SOL_ADA",
        "leg_a": SOL,
        "leg_b": ADA,
        "hedge_ratio": 180.0,
        "cointegration_stat": -4.0,
        "pvalue": 0.001,
        "entry_size_leg_a": 1.0,
        "entry_size_leg_b": 180.0,
        "last_updated": "2026-01-05T00:00:00Z",
    }
    return SpreadBook.from_config(parse_pairs_config({"pairs": [entry]}))


@pytest.fixture(autouse=True)
def database() -> Iterator[None]:
    init_db("sqlite://")
    yield
    Trade.session.remove()


def new_trade(pair: str, opened: datetime, *, is_short: bool) -> Trade:
    trade = Trade(
        pair=pair,
        open_rate=1.0,
        stake_amount=100.0,
        amount=0.0,
        open_date=opened,
        fee_open=0.0005,
        fee_close=0.0005,
        exchange="binance",
        enter_tag="SOL_ADA",
        is_short=is_short,
        leverage=2.0,
        trading_mode="futures",
        is_open=True,
    )
    Trade.session.add(trade)
    Trade.commit()
    return trade


def test_a_new_leg_on_a_reused_trade_id_gets_its_own_spread_not_the_dead_ones(
    book: SpreadBook,
) -> None:
    tags = TagStore(book, timeframe_minutes=1)
    first_a = new_trade(SOL, T0 + timedelta(seconds=61), is_short=True)
    first_b = new_trade(ADA, T0 + timedelta(seconds=62), is_short=False)
    old_a, old_b = tags.tag_of(first_a), tags.tag_of(first_b)
    assert old_a is not None and old_b is not None and old_a.key == old_b.key
    ids = (first_a.id, first_b.id)
    first_a.delete()  # both maker entries cancelled unfilled: FreqTrade deletes the trades
    first_b.delete()

    # The next signal, the legs sent in the other order: the ids come back, swapped.
    later = T0 + timedelta(minutes=5, seconds=1)
    second_b = new_trade(ADA, later, is_short=True)
    second_a = new_trade(SOL, later + timedelta(seconds=1), is_short=False)
    assert {second_a.id, second_b.id} == set(ids), "SQLite re-uses the freed ids"
    tag_a, tag_b = tags.tag_of(second_a), tags.tag_of(second_b)
    assert tag_a is not None and tag_b is not None
    assert (tag_a.leg, tag_b.leg) == (Leg.A, Leg.B)
    assert tag_a.key == tag_b.key != old_a.key, "the new legs belong to the new spread"
    assert tag_a.direction == tag_b.direction == 1  # long SOL, short ADA: a long spread


def test_a_stored_tag_is_found_again_for_the_same_trade(book: SpreadBook) -> None:
    tags = TagStore(book, timeframe_minutes=1)
    trade = new_trade(SOL, T0 + timedelta(seconds=61), is_short=True)
    rebuilt = tags.tag_of(trade)
    assert rebuilt is not None
    tags.store(trade, rebuilt)
    assert TagStore(book, timeframe_minutes=1).tag_of(trade) == rebuilt  # from custom data

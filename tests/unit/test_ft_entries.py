"""The entry side of the FreqTrade adapter, as plain decisions (statarb.ft.entries).

Each leg of a spread is its own FreqTrade trade; these functions decide whether the order
FreqTrade is about to send is the leg the spread planned, and what the leg carries with it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from statarb.ft.entries import (
    capped_stake,
    int_or_zero,
    leg_problem,
    max_open_trades,
    model_view,
    tag_for,
)
from statarb.pairs_config import parse_pairs_config
from statarb.spread.book import SpreadBook
from statarb.spread.client_ids import Leg
from statarb.spread.planner import EntryDecision
from statarb.spread.signals import Thresholds
from statarb.spread.sizing import SpreadSize

SOL, ADA = "SOL/USDT:USDT", "ADA/USDT:USDT"
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


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


def approved(direction: int = 1) -> EntryDecision:
    size = SpreadSize(qty_a=2.0, qty_b=360.0, price_a=150.0, price_b=0.8, hedge_ratio=180.0)
    return EntryDecision("SOL_ADA", T0, True, "ok", direction=direction, size=size)


def test_a_leg_carries_the_thresholds_it_was_entered_under_and_its_twin_the_same() -> None:
    """Protects against the two legs of one spread being judged by different rules: after a
    re-scan changed the book's thresholds, a twin opened later by the hedging plan must still
    close with its partner (it is built from the partner's tag, `LegTag.twin`)."""
    active = book().active(SOL, T0)
    assert active is not None and active.role is Leg.A
    thresholds = Thresholds(entry_z=2.2, exit_z=0.4, stop_z=4.5)
    tag = tag_for(approved(), active, thresholds)
    assert (tag.entry_z, tag.exit_z, tag.stop_z) == (2.2, 0.4, 4.5)
    assert (tag.leg, tag.planned_qty, tag.hedge_ratio) == (Leg.A, 2.0, 180.0)
    assert tag.opened_at == T0 and tag.pair_id == "SOL_ADA"
    twin = tag.twin(360.0)
    assert twin.leg is Leg.B and twin.partner == SOL
    assert twin.entered_thresholds() == tag.entered_thresholds()


def test_a_stake_far_above_the_cap_refuses_the_leg_and_a_hair_above_is_capped() -> None:
    """Protects against one leg entering at a capped (smaller) size while its twin enters in
    full: an unhedged remainder. A plan the account cannot carry sends neither leg."""
    assert capped_stake(90.0, 100.0) == 90.0
    assert capped_stake(100.00005, 100.0) == 100.0  # truncation headroom
    assert capped_stake(101.0, 100.0) is None


def test_an_order_on_the_wrong_side_or_off_the_planned_amount_is_not_the_leg() -> None:
    """Protects against FreqTrade sending a leg the spread did not plan (its own sizing, or
    a signal read on the wrong side): the spread would be unhedged from the first fill."""
    assert leg_problem(SOL, "long", "long", 2.0, 2.0, 0.01) is None
    assert leg_problem(SOL, "long", "long", 2.01, 2.0, 0.01) is None  # one lot step
    assert "disagrees" in str(leg_problem(SOL, "short", "long", 2.0, 2.0, 0.01))
    assert "off the plan" in str(leg_problem(SOL, "long", "long", 2.5, 2.0, 0.01))


def test_unlimited_trades_mean_no_slot_limit_and_the_default_is_two_legs_a_spread() -> None:
    """Protects against a lookahead analysis (max_open_trades -1) refusing every spread for
    lack of slots, and against a config without the key allowing one leg per spread."""
    assert max_open_trades({"max_open_trades": -1}, 3) == math.inf
    assert max_open_trades({}, 3) == 6
    assert max_open_trades({"max_open_trades": 4}, 3) == 4


def test_the_model_gate_reads_a_missing_or_broken_prediction_as_no_prediction() -> None:
    """Protects against a NaN or absent do_predict crashing the entry decision."""
    view = model_view({"do_predict": math.nan})
    assert view.do_predict == 0 and math.isnan(view.predicted_reversion)
    assert model_view({"do_predict": 1.0, "&-spread_reversion": 0.7}).do_predict == 1
    assert int_or_zero("x") == 0 and int_or_zero(None) == 0 and int_or_zero(2.9) == 2

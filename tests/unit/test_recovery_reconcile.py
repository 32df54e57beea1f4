"""reconcile(): every way the exchange and the DB can disagree, over hand-built snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recovery_world import LEVERAGE, NOW, PRICES, World, exchange_id, tag

from statarb.recovery.findings import FindingKind, Severity
from statarb.recovery.reconcile import reconcile
from statarb.recovery.snapshots import CROSS, DbOrder, ExchangePosition
from statarb.spread.client_ids import Leg, OrderIntent, Purpose

BTC, ETH, SOL, XRP, DOGE, BNB = PRICES


def run(world: World, leverage: float = LEVERAGE, hedge_tolerance: float = 0.01):
    return reconcile(
        world.exchange(),
        world.db(),
        configured_leverage=leverage,
        now=NOW,
        hedge_tolerance=hedge_tolerance,
    )


def kinds(result) -> list[FindingKind]:
    return [f.kind for f in result.findings]


def test_consistent_state_with_two_open_spreads_gives_no_findings():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67, direction=1)
    world.spread("P2", SOL, XRP, 10.0, 300.0, direction=-1)
    result = run(world)
    assert result.findings == ()
    assert set(result.matched_symbols) == {BTC, ETH, SOL, XRP}
    assert not result.manual_review_required


# --------------------------------------------------------------------------- orphans
def test_orphaned_short_is_reported_as_short_with_the_exchange_numbers():
    world = World()
    world.position(BTC, -0.3, entry=42_500.0)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.ORPHANED_POSITION
    assert finding.severity is Severity.REVIEW
    assert (finding.symbol, finding.amount, finding.side) == (BTC, 0.3, "SHORT")
    assert finding.entry_price == 42_500.0
    assert finding.current_price == pytest.approx(PRICES[BTC] * 1.01)
    pos = world.positions[0]
    assert finding.current_pnl == pytest.approx(pos.unrealized_pnl_usdt)
    assert finding.current_pnl < 0  # a short that the price rose against loses
    assert "Investigate" in finding.recommendation
    assert "--flatten-orphans" in finding.recommendation


def unrecorded_entry_of_leg_a(world: World, purpose: Purpose = Purpose.ENTRY, attempt: int = 0):
    """Leg A's order went out, filled, and the bot died before recording it: DB has leg B."""
    a, _ = world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.trades = [t for t in world.trades if t.trade_id != a.trade_id]
    world.known_order_ids -= {o.order_id for o in a.orders}
    cid = OrderIntent("P1", a.tag.opened_at, Leg.A, purpose, attempt).client_order_id
    world.fill(BTC, 0.5, "777", client_order_id=cid)
    return a, cid


def test_orphan_from_an_unrecorded_bot_order_names_its_spread_and_leg():
    world = World()
    a, cid = unrecorded_entry_of_leg_a(world)
    result = run(world)
    orphan = result.of_kind(FindingKind.ORPHANED_POSITION)[0]
    assert orphan.spread_id == str(a.tag.key)
    assert cid in orphan.recommendation
    assert orphan.details["origin_client_order_id"] == cid
    fill = result.of_kind(FindingKind.FILL_MISSING_FROM_DB)[0]
    assert (fill.symbol, fill.amount, fill.side, fill.spread_id) == (
        BTC,
        0.5,
        "BUY",
        orphan.spread_id,
    )
    lone = result.of_kind(FindingKind.BROKEN_SPREAD)[0]
    assert lone.symbol == ETH
    assert lone.details["twin_state"] == "orphan"


def test_an_unrecorded_entry_of_the_missing_twin_is_adopted_at_start_not_flattened():
    # The strategy re-sends that entry under the same client id and the guard returns the
    # existing order: closing the position instead would leave leg B naked and make the bot
    # record an order whose position is gone.
    world = World()
    unrecorded_entry_of_leg_a(world)
    result = run(world)
    orphan = result.of_kind(FindingKind.ORPHANED_POSITION)[0]
    lone = result.of_kind(FindingKind.BROKEN_SPREAD)[0]
    assert orphan.details["adopted_at_start"] is True
    assert orphan.recommendation.startswith("Adopted at start")
    assert "Do NOT close it" in orphan.recommendation
    assert lone.details["twin_adopted_at_start"] is True
    assert "adopts it as the twin" in lone.recommendation
    assert "Do not flatten" in lone.recommendation
    assert orphan.severity is lone.severity is Severity.REVIEW  # a person still confirms


@pytest.mark.parametrize(
    ("purpose", "attempt", "why"),
    [
        (Purpose.ENTRY, 5, "the twin's retries are spent: the strategy closes leg B instead"),
        (Purpose.TOP_UP, 0, "not an entry: nothing re-sends it as the twin"),
    ],
)
def test_an_unrecorded_order_the_strategy_will_not_adopt_is_to_be_flattened(
    purpose: Purpose, attempt: int, why: str
):
    world = World()
    unrecorded_entry_of_leg_a(world, purpose, attempt)
    result = run(world)
    orphan = result.of_kind(FindingKind.ORPHANED_POSITION)[0]
    lone = result.of_kind(FindingKind.BROKEN_SPREAD)[0]
    assert orphan.details["adopted_at_start"] is False, why
    assert "--flatten-orphans" in orphan.recommendation, why
    assert lone.details["twin_adopted_at_start"] is False, why
    assert "--flatten-orphans" in lone.recommendation, why


def test_an_unrecorded_entry_of_a_spread_with_no_open_leg_is_not_adopted():
    world = World()
    a, _b = world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.trades, world.known_order_ids = [], set()
    world.positions = [p for p in world.positions if p.symbol == BTC]
    cid = OrderIntent("P1", a.tag.opened_at, Leg.A, Purpose.ENTRY).client_order_id
    world.fill(BTC, 0.5, "777", client_order_id=cid)
    (orphan,) = run(world).of_kind(FindingKind.ORPHANED_POSITION)
    assert orphan.details["adopted_at_start"] is False
    assert "--flatten-orphans" in orphan.recommendation


def test_orphan_close_to_liquidation_says_so_first():
    world = World()
    world.position(ETH, 2.0)
    pos = world.positions[0]
    world.positions = [
        ExchangePosition(**{**pos.__dict__, "liquidation_price": pos.mark_price * 0.95})
    ]
    (finding,) = run(world).findings
    assert finding.recommendation.startswith("Liquidation risk")


# --------------------------------------------------------------------------- ghosts and sizes
def test_ghost_trade_when_the_exchange_holds_nothing_breaks_the_spread():
    world = World()
    _a, b = world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.positions = [p for p in world.positions if p.symbol != ETH]
    result = run(world)
    assert kinds(result) == [FindingKind.GHOST_TRADE, FindingKind.BROKEN_SPREAD]
    ghost, broken = result.findings
    assert (ghost.symbol, ghost.amount, ghost.side) == (ETH, pytest.approx(8.335), "SHORT")
    assert ghost.severity is Severity.REVIEW
    assert ghost.details["trade_ids"] == [b.trade_id]
    assert (broken.symbol, broken.side, broken.details["twin_state"]) == (BTC, "LONG", "ghost")
    assert result.manual_review_required


def test_ghost_explained_by_a_tracked_exit_order_is_info_only():
    world = World()
    world.position(SOL, 0)  # settings known, flat
    world.positions = []
    exit_order = DbOrder("e1", "sell", "open", True, 4.0, 0.0)
    entry = DbOrder("n1", "buy", "closed", False, 4.0, 4.0)
    world.db_trade(SOL, 4.0, enter_tag=None, orders=(entry, exit_order))
    result = run(world)
    ghost = result.of_kind(FindingKind.GHOST_TRADE)[0]
    assert ghost.severity is Severity.INFO
    assert not result.manual_review_required


def test_float_noise_between_db_and_exchange_is_not_a_mismatch():
    world = World()
    world.spread("P1", BTC, ETH, 0.3, 10.0)
    trade = world.trades[0]
    world.replace_trade(trade, qty_base=0.30000000000000004)
    assert run(world).findings == ()


def test_size_mismatch_beyond_tolerance_is_reviewed():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.position(BTC, 0.7)
    result = run(world)
    mismatch = result.of_kind(FindingKind.SIZE_MISMATCH)[0]
    assert mismatch.severity is Severity.REVIEW
    assert mismatch.amount == pytest.approx(0.2)
    assert (mismatch.details["exchange_qty"], mismatch.details["db_qty"]) == (0.7, 0.5)
    # leg A now holds 0.7 against leg B's 8.335 = 16.67 x 0.5: out of ratio too
    assert result.of_kind(FindingKind.BROKEN_SPREAD)[0].symbol == ETH


def test_partial_fill_of_a_tracked_entry_order_is_info():
    world = World()
    entry = DbOrder("n1", "buy", "open", True, 1.0, 0.4)
    world.db_trade(SOL, 0.4, orders=(entry,))
    world.position(SOL, 0.9)
    result = run(world)
    (finding,) = result.findings
    assert finding.kind is FindingKind.SIZE_MISMATCH
    assert finding.severity is Severity.INFO
    assert finding.details["tracked_open_orders"] == ["n1"]


def test_opposite_sides_are_reviewed_even_when_an_order_is_pending():
    world = World()
    pending = DbOrder("n1", "sell", "open", True, 5.0, 0.0)
    world.db_trade(SOL, 2.0, orders=(DbOrder("n0", "buy", "closed", False, 2.0, 2.0), pending))
    world.position(SOL, -1.0)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.SIZE_MISMATCH
    assert finding.severity is Severity.REVIEW
    assert "SIDES differ" in finding.recommendation


def test_trade_with_unfilled_entry_and_flat_exchange_is_consistent():
    world = World()
    world.db_trade(SOL, 0.0, orders=(DbOrder("n1", "buy", "open", True, 3.0, 0.0),))
    world.open_orders.append(world.exchange_order(SOL, 3.0, "n1"))
    world.set_symbol(SOL)
    assert run(world).findings == ()


# --------------------------------------------------------------------------- orders and fills
def test_unknown_open_order_of_ours_is_reviewed_with_its_spread():
    world = World()
    world.set_symbol(DOGE)
    opened = NOW.replace(minute=0)
    cid = OrderIntent("P9", opened, Leg.B, Purpose.ENTRY, attempt=1).client_order_id
    world.open_orders.append(world.exchange_order(DOGE, -1000.0, "55", cid, filled=250.0))
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.UNKNOWN_OPEN_ORDER
    assert (finding.symbol, finding.amount, finding.side) == (DOGE, 750.0, "SELL")
    assert finding.spread_id == "P9@2026-02-02T22:00:00Z"
    assert finding.details["leg"] == "B"
    assert finding.details["purpose"] == "ENTRY"
    assert finding.details["age_s"] == 30.0
    assert "cancel it" in finding.recommendation


def test_open_order_known_to_the_db_is_not_reported():
    world = World()
    world.db_trade(SOL, 0.0, orders=(DbOrder("n1", "buy", "open", True, 3.0, 0.0),))
    world.open_orders.append(world.exchange_order(SOL, 3.0, "n1"))
    world.set_symbol(SOL)
    assert FindingKind.UNKNOWN_OPEN_ORDER not in kinds(run(world))


def test_fill_missing_from_db_and_fill_of_a_known_order():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67)
    known = next(iter(world.trades[0].orders)).order_id
    world.fill(BTC, 0.5, known)
    world.fill(SOL, -3.0, "999")  # someone sold SOL and bought it back: flat now
    world.fill(SOL, 3.0, "998")
    world.set_symbol(SOL)
    result = run(world)
    missing = result.of_kind(FindingKind.FILL_MISSING_FROM_DB)
    assert [(f.symbol, f.details["order_id"], f.side) for f in missing] == [
        (SOL, "998", "BUY"),
        (SOL, "999", "SELL"),
    ]
    assert all(f.severity is Severity.REVIEW for f in missing)
    assert "flat now" in missing[0].recommendation


def test_recoverys_own_flatten_fill_is_info_once_the_symbol_is_flat():
    world = World()
    world.set_symbol(BNB)
    cid = OrderIntent("BNBUSDT", NOW.replace(minute=0), Leg.A, Purpose.FLATTEN).client_order_id
    world.fill(BNB, -1.0, "31", client_order_id=cid, reduce_only=True)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.FILL_MISSING_FROM_DB
    assert finding.severity is Severity.INFO


# --------------------------------------------------------------------------- spreads
def test_lone_leg_without_its_twin_is_a_broken_spread():
    world = World()
    a, _b = world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.trades = [a]
    world.positions = [p for p in world.positions if p.symbol == BTC]
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.BROKEN_SPREAD
    assert (finding.symbol, finding.amount, finding.side) == (BTC, 0.5, "LONG")
    assert finding.spread_id == str(a.tag.key)
    assert finding.details["twin_state"] == "absent"
    assert "the strategy opens it in the hedge ratio" in finding.recommendation
    assert "never doubled" in finding.recommendation


def test_a_lone_leg_whose_twin_just_closed_was_halfway_through_its_exit():
    # Killed between the two exits: the restarted strategy closes B, following its twin out;
    # the report must say so, not that it will open a new twin.
    world = World()
    a, _b = world.spread("P1", BTC, ETH, 0.5, 16.67)
    closed_a = world.close_trade(a)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.BROKEN_SPREAD
    assert (finding.symbol, finding.subject) == (ETH, "leg B without twin")
    assert finding.details["twin_state"] == "closed"
    assert finding.details["twin_trade_id"] == closed_a.trade_id
    assert finding.details["twin_closed_at"] == closed_a.close_date.isoformat()
    assert "halfway through closing" in finding.recommendation
    assert "following its twin out" in finding.recommendation
    assert "opens it" not in finding.recommendation


def test_a_closed_trade_of_another_spread_instance_does_not_count_as_the_twin():
    world = World()
    a, _b = world.spread("P1", BTC, ETH, 0.5, 16.67)
    old_a = replace(a, trade_id=99, tag=replace(a.tag, opened_at=a.tag.opened_at - timedelta(1)))
    world.trades = [t for t in world.trades if t.trade_id != a.trade_id]
    world.positions = [p for p in world.positions if p.symbol != BTC]
    world.closed.append(replace(old_a, close_date=NOW))
    (finding,) = run(world).findings
    assert finding.details["twin_state"] == "absent"


def test_legs_out_of_hedge_ratio_are_a_broken_spread():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67, direction=-1)
    eth = next(t for t in world.trades if t.pair == ETH)
    world.replace_trade(eth, qty_base=5.0)
    world.position(ETH, 5.0)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.BROKEN_SPREAD
    assert finding.symbol == ETH
    assert finding.amount == pytest.approx(8.335 - 5.0)
    assert finding.details["hedge_error"] == pytest.approx(1 - 5.0 / 8.335)
    assert finding.current_pnl is not None


def test_legs_within_hedge_tolerance_or_as_planned_are_fine():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67)
    eth = next(t for t in world.trades if t.pair == ETH)
    eth = world.replace_trade(eth, qty_base=8.3)  # 0.4 % short of the ratio
    world.position(ETH, -8.3)
    assert run(world, hedge_tolerance=0.01).findings == ()
    assert kinds(run(world, hedge_tolerance=0.001)) == [FindingKind.BROKEN_SPREAD]
    # sized on the lot grid by the strategy: planned quantities are accepted as they are
    world.replace_trade(eth, tag=tag("P1", Leg.B, 1, BTC, ETH, 16.67, 8.3))
    assert run(world, hedge_tolerance=0.001).findings == ()


def test_a_leg_on_the_wrong_side_is_a_broken_spread():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67, direction=1)
    eth = next(t for t in world.trades if t.pair == ETH)
    world.replace_trade(eth, is_short=False)
    world.position(ETH, 8.335)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.BROKEN_SPREAD
    assert finding.details["expected_side"] == "SHORT"


def test_two_trades_claiming_one_leg_are_a_broken_spread():
    world = World()
    a, _ = world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.db_trade(SOL, 1.0, a.tag)
    world.position(SOL, 1.0)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.BROKEN_SPREAD
    assert finding.subject == "leg A claimed twice"


def test_untagged_legs_are_grouped_by_enter_tag():
    world = World()
    world.db_trade(SOL, 2.0, enter_tag="P7")
    world.db_trade(XRP, -600.0, enter_tag="P7")
    world.position(SOL, 2.0)
    world.position(XRP, -600.0)
    assert run(world).findings == ()
    world.positions = [p for p in world.positions if p.symbol == SOL]
    result = run(world)
    assert kinds(result) == [FindingKind.GHOST_TRADE, FindingKind.BROKEN_SPREAD]
    assert result.findings[1].spread_id == "P7 (untagged)"


def test_trade_without_any_tag_is_a_warning_not_a_silent_pass():
    world = World()
    world.db_trade(SOL, 2.0, enter_tag="")
    world.position(SOL, 2.0)
    result = run(world)
    assert result.findings == ()
    assert any("no spread tag" in w for w in result.warnings)


# --------------------------------------------------------------------------- settings
def test_cross_margin_on_a_held_symbol_is_reviewed():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.set_symbol(BTC, margin_mode=CROSS)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.MARGIN_NOT_ISOLATED
    assert (finding.symbol, finding.amount, finding.side) == (BTC, 0.5, "LONG")
    assert finding.details["margin_mode"] == "cross"


def test_leverage_other_than_configured_on_a_held_symbol_is_reviewed():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.set_symbol(ETH, leverage=20)
    (finding,) = run(world).findings
    assert finding.kind is FindingKind.LEVERAGE_DIFFERS
    assert finding.details["exchange_leverage"] == 20
    assert "10x closer" in finding.recommendation


def test_settings_of_flat_symbols_do_not_matter_and_leverage_is_floored():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67)
    world.set_symbol(SOL, leverage=20, margin_mode=CROSS)  # flat: FreqTrade sets it at entry
    assert run(world).findings == ()
    assert run(world, leverage=2.9).findings == ()  # Binance takes whole numbers: floor(2.9)


def test_open_order_on_a_cross_symbol_is_reviewed():
    world = World()
    world.set_symbol(SOL, margin_mode=CROSS)
    world.db_trade(SOL, 0.0, orders=(DbOrder("n1", "buy", "open", True, 3.0, 0.0),))
    world.open_orders.append(world.exchange_order(SOL, 3.0, "n1"))
    assert kinds(run(world)) == [FindingKind.MARGIN_NOT_ISOLATED]


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="UTC"):
        reconcile(
            World().exchange(),
            World().db(),
            configured_leverage=2,
            now=datetime(2026, 1, 1),  # noqa: DTZ001 - the point of the test
        )


# --------------------------------------------------------------------------- properties
SYMBOLS = list(PRICES)
spread_specs = st.lists(
    st.tuples(
        st.floats(0.01, 50.0, allow_nan=False).map(lambda q: round(q, 3)),
        st.floats(0.01, 500.0, allow_nan=False).map(lambda r: round(r, 4)),
        st.sampled_from([1, -1]),
    ),
    max_size=3,
)


def consistent_world(specs) -> World:
    world = World()
    for index, (qty_a, ratio, direction) in enumerate(specs):
        world.spread(
            f"P{index}", SYMBOLS[2 * index], SYMBOLS[2 * index + 1], qty_a, ratio, direction
        )
    return world


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spread_specs)
def test_property_a_consistent_state_gives_no_findings(specs):
    world = consistent_world(specs)
    result = run(world)
    assert result.findings == ()
    assert len(result.matched_symbols) == 2 * len(specs)


@settings(max_examples=60, deadline=None)
@given(
    spread_specs.filter(lambda s: len(s) <= 2),
    st.lists(st.floats(-5.0, 5.0).filter(lambda q: abs(q) > 1e-3), min_size=1, max_size=2),
)
def test_property_every_planted_orphan_is_reported_exactly_once(specs, orphan_qtys):
    world = consistent_world(specs)
    free = SYMBOLS[2 * len(specs) :]
    for symbol, qty in zip(free, orphan_qtys, strict=False):
        world.position(symbol, qty)
    result = run(world)
    orphans = result.of_kind(FindingKind.ORPHANED_POSITION)
    planted = {p.symbol: p for p in world.positions if p.symbol in free}
    assert sorted(f.symbol for f in orphans) == sorted(planted)
    for finding in orphans:
        assert finding.side == ("SHORT" if planted[finding.symbol].qty_base < 0 else "LONG")
        assert finding.amount == abs(planted[finding.symbol].qty_base)
    assert len(result.findings) == len(orphans)


chaos_position = st.tuples(st.sampled_from(SYMBOLS), st.floats(-3, 3).map(lambda q: round(q, 2)))
chaos_trade = st.tuples(
    st.sampled_from(SYMBOLS),
    st.floats(-3, 3).map(lambda q: round(q, 2)),
    st.sampled_from(["P1", "P2", "", None]),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(chaos_position, max_size=6),
    st.lists(chaos_trade, max_size=6),
    st.lists(st.tuples(st.sampled_from(SYMBOLS), st.integers(1, 5)), max_size=4),
    st.sets(st.sampled_from(SYMBOLS)),
)
def test_property_any_state_every_position_matched_or_reported_and_nothing_twice(
    positions, trades, fills, cross
):
    world = World()
    for symbol, qty in positions:
        world.position(symbol, qty)
    for symbol, qty, enter_tag, tagged in trades:
        leg_tag = (
            tag(enter_tag, Leg.A if qty >= 0 else Leg.B, 1, symbol, BNB, 2.0, abs(qty))
            if tagged and enter_tag
            else None
        )
        world.db_trade(symbol, qty, leg_tag, enter_tag=enter_tag)
    for symbol, n in fills:
        world.fill(symbol, n / 10, f"f{symbol}{n}")
    for symbol in cross:
        world.set_symbol(symbol, margin_mode=CROSS)
    result = run(world)
    keys = [f.key for f in result.findings]
    assert len(keys) == len(set(keys))
    position_kinds = {FindingKind.ORPHANED_POSITION, FindingKind.SIZE_MISMATCH}
    reported = {f.symbol for f in result.findings if f.kind in position_kinds}
    for pos in world.positions:
        if pos.qty_base != 0:
            assert (pos.symbol in result.matched_symbols) != (pos.symbol in reported)
    for finding in result.findings:
        assert finding.recommendation
        assert finding.amount is None or finding.amount >= 0
    assert exchange_id(BTC) == "BTCUSDT"

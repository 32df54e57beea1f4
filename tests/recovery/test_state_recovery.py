"""Recovery against the local exchange (a real subprocess) and a trading.db built with FreqTrade's
own persistence: each finding kind as it arises from real orders, the report and the flag."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from recovery_site import BTC, ETH, SOL, Site, filled_trade, leg_tag

from statarb.recovery.report import EXTRA_FIELDS, ORPHAN_FIELDS, SPEC_FIELDS
from statarb.recovery.tradedb import OrderSpec
from statarb.spread.client_ids import Leg, OrderIntent, Purpose


def kinds(report: dict) -> list[str]:
    return [f["kind"] for f in report["findings"]]


def open_spread(site: Site, qty_a: float = 0.01, ratio: float = 20.0) -> tuple[dict, dict]:
    """Leg A long BTC and leg B short ETH, on the exchange AND recorded in the DB."""
    qty_b = round(qty_a * ratio, 3)
    site.prepare(BTC)
    site.prepare(ETH)
    tag_a = leg_tag(Leg.A, 1, qty_a, hedge_ratio=ratio)
    tag_b = leg_tag(Leg.B, 1, qty_b, hedge_ratio=ratio)
    cid_a = OrderIntent("PAIR_001", tag_a.opened_at, Leg.A, Purpose.ENTRY).client_order_id
    cid_b = OrderIntent("PAIR_001", tag_a.opened_at, Leg.B, Purpose.ENTRY).client_order_id
    order_a = site.market(BTC, "buy", qty_a, cid_a)
    order_b = site.market(ETH, "sell", qty_b, cid_b)
    site.record(filled_trade(order_a, BTC, tag=tag_a), filled_trade(order_b, ETH, tag=tag_b))
    return order_a, order_b


def test_clean_state_is_success_and_leaves_the_flag_untouched(site: Site):
    open_spread(site)
    outcome = site.run()
    report = site.report()
    assert report["recovery_status"] == "SUCCESS", report["findings"]
    assert report["findings"] == []
    assert report["orphaned_positions"] == []
    assert (report["open_orders"], report["recent_trades"]) == (0, 2)
    assert report["reconciliation_status"] == "COMPLETE"
    assert report["next_action"] == "Resume normal operation"
    assert report["manual_review_required"] is False
    assert not site.flag_path.exists()
    assert outcome.flag_raised is False
    assert outcome.history_path is not None
    assert json.loads(outcome.history_path.read_text()) == report
    assert list(report) == [*SPEC_FIELDS, *EXTRA_FIELDS]


def test_orphaned_short_is_an_alert_in_the_spec_shape_and_raises_the_flag(site: Site):
    site.exchange.admin.plant_position(
        "BTCUSDT", "-0.030", entry_price="61000", leverage=2, margin_type="ISOLATED"
    )
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ALERT"
    assert report["manual_review_required"] is True
    (orphan,) = report["orphaned_positions"]
    assert list(orphan) == list(ORPHAN_FIELDS)
    assert (orphan["symbol"], orphan["amount"], orphan["side"]) == (BTC, 0.03, "SHORT")
    assert orphan["entry_price"] == 61000.0
    mark = orphan["current_price"]
    assert orphan["current_pnl"] == pytest.approx((61000.0 - mark) * 0.03, abs=0.05)
    assert orphan["recommendation"].startswith("Investigate")
    flag = json.loads(site.flag_path.read_text())
    assert flag["raised"] is True
    assert [r["source"] for r in flag["reasons"]] == ["recovery"]
    assert "orphaned_position" in flag["reasons"][0]["message"]


def test_recovery_never_sends_or_cancels_an_order_unless_asked(site: Site):
    site.exchange.admin.plant_position("ETHUSDT", "0.5", leverage=2, margin_type="ISOLATED")
    site.prepare(SOL)
    site.resting(SOL, "buy", 1.0)
    before = site.exchange.admin.order_log()
    site.run()
    site.run()
    assert site.exchange.admin.order_log() == before
    assert kinds(site.report()) == ["orphaned_position", "unknown_open_order"]
    assert len(site.exchange.admin.orders(symbol="SOLUSDT")) == 1


def test_ghost_trade_in_the_db_is_an_alert(site: Site):
    _order_a, order_b = open_spread(site)
    site.market(ETH, "buy", float(order_b["executedQty"]), reduce_only=True)  # closed outside
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ALERT"
    ghost = next(f for f in report["findings"] if f["kind"] == "ghost_trade")
    assert (ghost["symbol"], ghost["side"], ghost["severity"]) == (ETH, "SHORT", "review")
    # the outside close is a fill the DB never recorded, and leg A now stands alone
    assert set(kinds(report)) == {"ghost_trade", "fill_missing_from_db", "broken_spread"}


def test_size_mismatch_when_the_exchange_holds_more_than_the_db(site: Site):
    site.prepare(SOL)
    first = site.market(SOL, "buy", 2.0)
    site.market(SOL, "buy", 1.0)  # filled, never recorded
    site.record(filled_trade(first, SOL, enter_tag=None))
    site.run()
    report = site.report()
    mismatch = next(f for f in report["findings"] if f["kind"] == "size_mismatch")
    assert mismatch["amount"] == pytest.approx(1.0)
    assert (mismatch["details"]["exchange_qty"], mismatch["details"]["db_qty"]) == (3.0, 2.0)
    assert "fill_missing_from_db" in kinds(report)
    assert report["recovery_status"] == "ALERT"


def test_unknown_open_order_is_attributed_by_its_client_order_id(site: Site):
    site.prepare(ETH)
    tag_b = leg_tag(Leg.B, 1, 0.2, hedge_ratio=20.0)
    cid = OrderIntent("PAIR_001", tag_b.opened_at, Leg.B, Purpose.ENTRY, 1).client_order_id
    placed = site.resting(ETH, "sell", 0.2, cid)
    site.run()
    report = site.report()
    (finding,) = report["findings"]
    assert finding["kind"] == "unknown_open_order"
    assert finding["details"]["order_id"] == str(placed["orderId"])
    assert finding["spread_id"] == str(tag_b.key)
    assert (finding["side"], finding["amount"]) == ("SELL", 0.2)
    assert report["open_orders"] == 1


def test_fill_missing_from_the_db_on_a_symbol_now_flat(site: Site):
    site.prepare(SOL)
    site.market(SOL, "sell", 2.0)
    site.market(SOL, "buy", 2.0, reduce_only=True)
    site.run()
    report = site.report()
    assert kinds(report) == ["fill_missing_from_db", "fill_missing_from_db"]
    assert report["recent_trades"] == 2
    assert all("flat now" in f["recommendation"] for f in report["findings"])


def test_leg_a_without_leg_b_is_a_broken_spread(site: Site):
    site.prepare(BTC)
    tag_a = leg_tag(Leg.A, -1, 0.01, hedge_ratio=20.0)
    order = site.market(BTC, "sell", 0.01)
    site.record(filled_trade(order, BTC, tag=tag_a))
    site.run()
    (finding,) = site.report()["findings"]
    assert finding["kind"] == "broken_spread"
    assert (finding["symbol"], finding["side"], finding["amount"]) == (BTC, "SHORT", 0.01)
    assert finding["spread_id"] == str(tag_a.key)
    assert finding["details"]["twin_state"] == "absent"


def test_leg_b_left_open_after_leg_a_closed_is_named_a_spread_halfway_through_its_exit(
    site: Site,
):
    # Killed between the two exits: the DB has leg A closed (FreqTrade's own records), leg B
    # open. The report must say the spread was exiting (the strategy closes B at start), not
    # that B's twin was never opened (the strategy would open it).
    order_a, order_b = open_spread(site)
    tag = leg_tag(Leg.A, 1, 0.01, hedge_ratio=20.0)
    cid = OrderIntent("PAIR_001", tag.opened_at, Leg.A, Purpose.EXIT).client_order_id
    exit_a = site.market(BTC, "sell", 0.01, cid, reduce_only=True)
    site.db_path.unlink()  # recorded again: A closed by its exit, B still open
    entry_a = filled_trade(order_a, BTC, tag=tag)
    closed_at = datetime.fromtimestamp(int(exit_a["updateTime"]) / 1000, tz=UTC)
    exit_price = float(exit_a["avgPrice"])
    closed_a = replace(
        entry_a,
        is_open=False,
        close_date=closed_at,
        close_rate=exit_price,
        orders=[
            *entry_a.orders,
            OrderSpec(str(exit_a["orderId"]), "sell", 0.01, 0.01, exit_price, is_entry=False),
        ],
    )
    tag_b = leg_tag(Leg.B, 1, 0.2, hedge_ratio=20.0)
    (a_id, _) = site.record(closed_a, filled_trade(order_b, ETH, tag=tag_b))
    site.run()
    report = site.report()
    (finding,) = report["findings"]
    assert (finding["kind"], finding["symbol"], finding["subject"]) == (
        "broken_spread",
        ETH,
        "leg B without twin",
    )
    assert finding["details"]["twin_state"] == "closed"
    assert finding["details"]["twin_trade_id"] == a_id
    assert finding["details"]["twin_closed_at"] == closed_at.isoformat()
    assert "following its twin out" in finding["recommendation"]


def test_cross_margin_and_other_leverage_on_held_symbols(site: Site):
    site.prepare(BTC, leverage=2, margin="CROSSED")
    site.prepare(ETH, leverage=20)
    a = site.market(BTC, "buy", 0.01)
    b = site.market(ETH, "sell", 0.2)
    site.record(
        filled_trade(a, BTC, enter_tag="PAIR_001"), filled_trade(b, ETH, enter_tag="PAIR_001")
    )
    site.run()
    report = site.report()
    assert [(f["kind"], f["symbol"]) for f in report["findings"]] == [
        ("margin_not_isolated", BTC),
        ("leverage_differs", ETH),
    ]
    assert report["findings"][1]["details"]["exchange_leverage"] == 20
    assert report["recovery_status"] == "ALERT"


def test_flatten_orphans_closes_once_with_a_deterministic_reduce_only_order(site: Site):
    site.exchange.admin.plant_position("SOLUSDT", "-3.0", leverage=2, margin_type="ISOLATED")
    site.run(flatten_orphans=True)
    report = site.report()
    (action,) = report["actions"]
    assert action["status"] == "sent"
    assert (action["symbol"], action["side"], action["qty_base"]) == (SOL, "BUY", 3.0)
    sent = [o for o in site.exchange.admin.order_log() if o.get("clientOrderId")]
    assert len(sent) == 1
    assert sent[0]["clientOrderId"] == action["client_order_id"]
    assert str(sent[0].get("reduceOnly")).lower() == "true"
    assert site.exchange.admin.positions() == []
    # the alert about the orphan stands (a person must know), and a re-run sends nothing
    assert report["recovery_status"] == "ALERT"
    site.run(flatten_orphans=True)
    assert len(site.exchange.admin.order_log()) == len(sent)
    again = site.report()
    assert again["actions"] == []
    assert [(f["kind"], f["severity"]) for f in again["findings"]] == [
        ("fill_missing_from_db", "info")
    ]

"""Durable state: a restart must restore exactly what the exchange had answered, and a save must
stay cheap however long the exchange has been running (old history is sealed into segments)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from exchange_world import make_world

from statarb.exchange import state

D = Decimal


def canonical(venue) -> str:
    return json.dumps(state.dump(venue), sort_keys=True)


def trade_a_lot(world, orders: int) -> None:
    for i in range(orders):
        world.order("ETHUSDT", "BUY" if i % 2 == 0 else "SELL", "0.010")


def test_restart_restores_orders_trades_positions_settings_and_ids(tmp_path: Path):
    w = make_world()
    w.order("ETHUSDT", "BUY", "1.000", client_order_id="a")
    w.order("ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("2900.00"), time_in_force="GTC")
    w.venue.set_leverage("BTCUSDT", 7)
    store = state.StateStore(tmp_path / "state.json")
    store.save(w.venue, force=True)
    data, _ = state.load_state(tmp_path / "state.json")
    fresh = make_world()
    state.restore(fresh.venue, data)
    assert canonical(fresh.venue) == canonical(w.venue)
    assert fresh.venue.find_order("ETHUSDT", None, "a").status == "FILLED"
    assert fresh.order("ETHUSDT", "BUY", "1.000").order.order_id not in w.venue.orders


def test_long_history_is_sealed_so_the_snapshot_stays_small_and_restores_whole(tmp_path: Path):
    w = make_world()
    store = state.StateStore(tmp_path / "state.json")
    for _ in range(4):
        trade_a_lot(w, 150)
        store.save(w.venue)
    snapshot = json.loads((tmp_path / "state.json").read_text())
    assert len(snapshot["segments"]) >= 2
    assert len(snapshot["orders"]) + len(snapshot["trades"]) < state.SEAL_AFTER_RECORDS
    data, sealed = state.load_state(tmp_path / "state.json")
    fresh = make_world()
    state.restore(fresh.venue, data)
    assert canonical(fresh.venue) == canonical(w.venue)
    assert len(fresh.venue.trades) == 600
    resumed = state.StateStore(tmp_path / "state.json", sealed)
    trade_a_lot(fresh, 10)
    resumed.save(fresh.venue)
    again, _ = state.load_state(tmp_path / "state.json")
    assert len(again["trades"]) == 610


def test_a_segment_written_just_before_a_crash_is_ignored(tmp_path: Path):
    w = make_world()
    store = state.StateStore(tmp_path / "state.json")
    trade_a_lot(w, 10)
    store.save(w.venue)
    before = canonical(w.venue)
    orphan = tmp_path / "state.json.d" / "history-999999-deadbeef.json"
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_text('{"orders": [], "trades": [{"bogus": 1}], "income": [], "order_log": []}')
    data, _ = state.load_state(tmp_path / "state.json")
    fresh = make_world()
    state.restore(fresh.venue, data)
    assert canonical(fresh.venue) == before


def test_admin_reset_starts_a_new_history(tmp_path: Path):
    w = make_world()
    store = state.StateStore(tmp_path / "state.json")
    trade_a_lot(w, 300)
    store.save(w.venue)
    w.venue.reset()
    store.save(w.venue)
    data, _ = state.load_state(tmp_path / "state.json")
    assert data["trades"] == [] and data["segments"] == []
    assert list((tmp_path / "state.json.d").glob("history-*.json")) == []

"""The recovery report: the fields of docs/design.md §3.2 exactly, written atomically, never
lost."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from recovery_world import BTC, ETH, NOW, World

from statarb.recovery import report as rep
from statarb.recovery.reconcile import reconcile
from statarb.recovery.snapshots import DbOrder

# The docs/design.md §3.2 examples, verbatim.
SPEC_SUCCESS = json.loads("""{
  "timestamp": "2026-02-02T22:26:00Z",
  "recovery_status": "SUCCESS",
  "orphaned_positions": [],
  "open_orders": 0,
  "recent_trades": 12,
  "reconciliation_status": "COMPLETE",
  "next_action": "Resume normal operation",
  "warnings": [],
  "manual_review_required": false
}""")
SPEC_ALERT = json.loads("""{
  "recovery_status": "ALERT",
  "orphaned_positions": [
    {"symbol": "BTC", "amount": 0.3, "side": "LONG", "entry_price": 42500,
     "current_price": 42800, "current_pnl": 90,
     "recommendation": "Investigate - possible liquidation risk"}
  ],
  "manual_review_required": true
}""")


def build(world: World, **context) -> dict:
    result = reconcile(world.exchange(), world.db(), configured_leverage=2, now=NOW)
    ctx = rep.ReportContext(generated_at=NOW, **context)
    return rep.reconciled_report(result, world.exchange(), world.db(), ctx)


def same_type(a, b) -> bool:
    numbers = (int, float)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or type(a) is type(b)


def test_success_report_has_the_spec_fields_with_the_spec_types():
    world = World()
    world.spread("P1", BTC, ETH, 0.5, 16.67)
    report = build(world)
    assert list(report)[: len(rep.SPEC_FIELDS)] == list(SPEC_SUCCESS)
    assert list(report) == [*rep.SPEC_FIELDS, *rep.EXTRA_FIELDS]
    for key, value in SPEC_SUCCESS.items():
        assert same_type(report[key], value), key
    assert report["timestamp"] == "2026-02-02T22:26:00Z"
    assert {k: report[k] for k in SPEC_SUCCESS if k not in ("timestamp", "recent_trades")} == {
        k: v for k, v in SPEC_SUCCESS.items() if k not in ("timestamp", "recent_trades")
    }


def test_alert_orphan_entries_have_exactly_the_spec_shape():
    world = World()
    world.position(BTC, 0.3, entry=42_500.0)
    report = build(world)
    assert report["recovery_status"] == SPEC_ALERT["recovery_status"]
    assert report["manual_review_required"] is True
    (orphan,) = report["orphaned_positions"]
    (spec_orphan,) = SPEC_ALERT["orphaned_positions"]
    assert list(orphan) == list(spec_orphan)
    for key, value in spec_orphan.items():
        assert same_type(orphan[key], value), key
    assert (orphan["amount"], orphan["side"], orphan["entry_price"]) == (0.3, "LONG", 42500.0)
    assert report["findings"][0]["kind"] == "orphaned_position"
    assert "scripts/review.py ack" in report["next_action"]


def test_info_findings_are_warnings_not_an_alert():
    world = World()
    entry = DbOrder("n1", "buy", "open", True, 1.0, 0.4)
    world.db_trade("SOL/USDT:USDT", 0.4, orders=(entry,))
    world.position("SOL/USDT:USDT", 0.9)
    report = build(world, warnings=("clock fine",))
    assert report["recovery_status"] == "SUCCESS"
    assert report["manual_review_required"] is False
    assert report["warnings"][0] == "clock fine"
    assert any(w.startswith("size_mismatch SOL/USDT:USDT") for w in report["warnings"])
    assert report["findings"][0]["severity"] == "info"


def test_error_report_says_unknown_as_null_never_zero():
    ctx = rep.ReportContext(generated_at=NOW, timings_ms={"total": 12.345})
    report = rep.error_report("exchange unreadable: positionRisk: 503", ctx)
    assert list(report) == [*rep.SPEC_FIELDS, *rep.EXTRA_FIELDS]
    assert report["recovery_status"] == "ERROR"
    assert report["orphaned_positions"] is None
    assert report["open_orders"] is None and report["recent_trades"] is None
    assert report["reconciliation_status"] == "FAILED"
    assert report["manual_review_required"] is True
    assert "manage-only" in report["next_action"]
    assert report["timings_ms"] == {"total": 12.3}


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="UTC"):
        rep.iso_z(datetime(2026, 2, 2))  # noqa: DTZ001 - the point of the test


def test_write_is_atomic_and_keeps_a_dated_copy_of_every_report(tmp_path):
    path = tmp_path / "logs" / "recovery_report.json"
    history = tmp_path / "logs" / "recovery_reports"
    first = rep.write_report({"n": 1}, path, history, now=NOW)
    second = rep.write_report({"n": 2}, path, history, now=NOW)  # same instant: no overwrite
    assert json.loads(path.read_text()) == {"n": 2}
    assert first != second
    assert sorted(json.loads(p.read_text())["n"] for p in history.iterdir()) == [1, 2]
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_history_keeps_only_the_newest_reports(tmp_path):
    path, history = tmp_path / "r.json", tmp_path / "h"
    for minute in range(7):
        rep.write_report({"n": minute}, path, history, keep=3, now=NOW + timedelta(minutes=minute))
    (history / "notes.txt").write_text("a person's file is never deleted")
    rep.write_report({"n": 7}, path, history, keep=3, now=NOW + timedelta(minutes=7))
    kept = sorted(json.loads(p.read_text())["n"] for p in history.glob("*.json"))
    assert kept == [5, 6, 7]
    assert (history / "notes.txt").exists()
    names = sorted(p.name for p in history.glob("*.json"))
    assert all(re.match(r"recovery_report-\d{8}T\d{6}\.\d{6}Z\.json$", n) for n in names)


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    path = tmp_path / "recovery_report.json"
    rep.write_report({"status": "old"}, path)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        rep.write_report({"status": "new"}, path)
    assert json.loads(path.read_text()) == {"status": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["recovery_report.json"]


def test_report_times_are_utc_with_a_z():
    moment = datetime(2026, 2, 2, 23, 26, tzinfo=UTC).astimezone()  # any zone in, UTC out
    assert rep.iso_z(moment) == "2026-02-02T23:26:00Z"

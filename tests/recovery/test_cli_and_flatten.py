"""The CLI's exit policy and last-resort paths, and --flatten-orphans' never-twice rule."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from recovery_site import BTC, ETH, SCRIPT, Site, filled_trade, leg_tag

from statarb.recovery import runner
from statarb.recovery.flatten import flatten_intent
from statarb.recovery.snapshots import ExchangePosition
from statarb.spread.client_ids import Leg, OrderIntent, Purpose

spec = importlib.util.spec_from_file_location("state_recovery_cli", SCRIPT)
assert spec is not None and spec.loader is not None
cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli)


def test_a_crash_inside_recovery_still_leaves_an_error_report_and_the_flag(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    def broken(options: runner.RecoveryOptions) -> runner.RecoveryOutcome:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "run_recovery", broken)
    monkeypatch.chdir(site.root)
    assert cli.main(["-c", "config.json"]) == cli.EXIT_REPORTED
    captured = capsys.readouterr()
    assert "Traceback" in captured.err and "ZeroDivisionError" in captured.err
    assert "recovery ERROR" in captured.out
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert report["error"] == "recovery crashed: ZeroDivisionError: a bug"
    assert json.loads(site.flag_path.read_text())["raised"] is True


def test_an_unwritable_report_stops_the_chain_with_exit_3(site: Site):
    blocker = site.root / "not_a_dir"
    blocker.write_text("a file where the report folder should be")
    result = site.cli("-c", str(site.config_path), "--report", str(blocker / "report.json"))
    assert result.returncode == 3
    assert result.stderr.strip().startswith("state_recovery: cannot write")


def test_bad_cli_numbers_are_refused(site: Site):
    result = site.cli("-c", str(site.config_path), "--retries", "0")
    assert result.returncode == 2
    assert "--retries must be >= 1" in result.stderr


def test_an_unrecorded_entry_is_named_by_its_client_order_id(site: Site):
    """The crash the client ids exist for: leg A's entry filled, the bot died before the DB."""
    site.prepare(BTC)
    site.prepare(ETH)
    tag_b = leg_tag(Leg.B, 1, 0.2, hedge_ratio=20.0)
    cid_a = OrderIntent("PAIR_001", tag_b.opened_at, Leg.A, Purpose.ENTRY).client_order_id
    site.market(BTC, "buy", 0.01, cid_a)  # filled, never recorded
    order_b = site.market(ETH, "sell", 0.2)
    site.record(filled_trade(order_b, ETH, tag=tag_b))
    site.run()
    report = site.report()
    by_kind = {f["kind"]: f for f in report["findings"]}
    assert set(by_kind) == {"orphaned_position", "fill_missing_from_db", "broken_spread"}
    orphan = by_kind["orphaned_position"]
    assert orphan["spread_id"] == str(tag_b.key)
    assert orphan["details"]["origin_client_order_id"] == cid_a
    assert by_kind["broken_spread"]["details"]["twin_state"] == "orphan"


def test_flatten_leaves_an_orphan_the_strategy_adopts_at_start_alone(site: Site):
    """Closing the unrecorded twin would leave leg B naked, and the strategy (which re-sends
    that entry under the same id and finds the filled order) would record a leg that is gone."""
    site.prepare(BTC)
    site.prepare(ETH)
    tag_b = leg_tag(Leg.B, 1, 0.2, hedge_ratio=20.0)
    cid_a = OrderIntent("PAIR_001", tag_b.opened_at, Leg.A, Purpose.ENTRY).client_order_id
    site.market(BTC, "buy", 0.01, cid_a)  # filled, never recorded
    order_b = site.market(ETH, "sell", 0.2)
    site.record(filled_trade(order_b, ETH, tag=tag_b))
    before = len(site.exchange.admin.order_log())
    site.run(flatten_orphans=True)
    report = site.report()
    (action,) = report["actions"]
    assert (action["symbol"], action["status"]) == (BTC, "skipped")
    assert "adopted by the strategy at start" in action["detail"]
    assert len(site.exchange.admin.order_log()) == before
    assert sorted(p["symbol"] for p in site.exchange.admin.positions()) == ["BTCUSDT", "ETHUSDT"]
    (orphan,) = report["orphaned_positions"]
    assert orphan["recommendation"].startswith("Adopted at start")


def test_flatten_leaves_a_working_close_alone_and_skips_finished_attempts(site: Site):
    site.exchange.admin.plant_position("BTCUSDT", "0.02", leverage=2, margin_type="ISOLATED")
    pos_time = next(iter(site.client.fapiPrivateV3GetPositionRisk()))["updateTime"]
    pos = ExchangePosition(BTC, "BTCUSDT", 0.02, 0, 0, 0, None, int(pos_time))
    first = flatten_intent(pos, None)
    # attempt 0 was sent once and expired unfilled; attempt 1 is resting right now
    site.resting(BTC, "sell", 0.02, first.client_order_id)
    site.exchange.admin.cancel_order("BTCUSDT", client_order_id=first.client_order_id)
    working = site.resting(BTC, "sell", 0.02, first.next_attempt().client_order_id)
    before = len(site.exchange.admin.order_log())
    site.run(flatten_orphans=True)
    (action,) = site.report()["actions"]
    assert action["status"] == "already working"
    assert action["order_id"] == str(working["orderId"])
    assert len(site.exchange.admin.order_log()) == before
    site.exchange.admin.cancel_order("BTCUSDT", order_id=working["orderId"])
    site.run(flatten_orphans=True)
    (action,) = site.report()["actions"]
    assert action["status"] == "sent"
    assert action["client_order_id"] == first.next_attempt().next_attempt().client_order_id
    assert site.exchange.admin.positions() == []


def test_positions_are_re_read_when_the_two_endpoints_disagree_once(site: Site):
    site.exchange.admin.plant_position("ETHUSDT", "0.7", leverage=2, margin_type="ISOLATED")
    site.exchange.admin.inject_fault(
        "garbage", endpoint="GET /fapi/v3/positionRisk", body_text="[]"
    )
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ALERT"
    assert [(o["symbol"], o["amount"]) for o in report["orphaned_positions"]] == [(ETH, 0.7)]


def test_report_path_option_and_printed_path(site: Site, tmp_path: Path):
    target = tmp_path / "elsewhere" / "r.json"
    result = site.cli("-c", str(site.config_path), "--report", str(target))
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
    assert json.loads(target.read_text())["recovery_status"] == "SUCCESS"
    assert len(list((target.parent / "recovery_reports").iterdir())) == 1

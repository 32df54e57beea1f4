"""The daily checklist's verdicts, on hand-made inputs: each check must alarm exactly when a
person has to act (money unmanaged, bot stuck, disk or memory about to fail)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statarb.ops.checks import (
    GIB,
    MIB,
    CheckResult,
    HedgeLimits,
    LogActivity,
    OpenTradeView,
    ProcessMemory,
    Status,
    check_bot_loop,
    check_disk,
    check_docker,
    check_log_activity,
    check_memory,
    check_open_spreads,
    check_ping,
    check_recovery_report,
    check_review_flag,
    worst,
)
from statarb.safety.review_flag import ReviewReason, ReviewStatus
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPENED = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


def test_exit_codes_let_cron_tell_warning_from_critical():
    assert [s.exit_code for s in Status] == [0, 0, 1, 2]
    assert worst([Status.OK, Status.INFO]) is Status.INFO
    assert worst([Status.WARNING, Status.CRITICAL, Status.OK]) is Status.CRITICAL
    assert worst([]) is Status.OK


# ---------------------------------------------------------------------------- API


def test_an_api_that_does_not_answer_is_critical():
    result = check_ping(None, "connection refused", "http://127.0.0.1:8080")
    assert result.status is Status.CRITICAL
    assert "connection refused" in result.detail
    assert check_ping({"status": "pong"}, None, "u").status is Status.OK
    assert check_ping({"status": "nope"}, None, "u").status is Status.CRITICAL


def health(last_loop: datetime | None, startup: datetime | None = None) -> dict[str, Any]:
    return {
        "last_process_ts": int(last_loop.timestamp()) if last_loop else None,
        "bot_startup_ts": int(startup.timestamp()) if startup else None,
    }


RUNNING = {"state": "running", "dry_run": False}


def test_a_pinging_api_over_a_stuck_loop_is_critical():
    # docs/design.md §6.4: ping answered while the strategy raised on every candle.
    stuck = check_bot_loop(health(NOW - timedelta(minutes=11)), RUNNING, None, NOW)
    assert stuck.status is Status.CRITICAL
    assert "stuck" in stuck.detail
    slow = check_bot_loop(health(NOW - timedelta(minutes=4)), RUNNING, None, NOW)
    assert slow.status is Status.WARNING
    fine = check_bot_loop(health(NOW - timedelta(seconds=5)), RUNNING, None, NOW)
    assert fine.status is Status.OK
    assert fine.data["last_loop_age_s"] == pytest.approx(5)


def test_a_bot_that_never_completed_a_loop_is_critical_once_it_had_time():
    young = check_bot_loop(health(None, NOW - timedelta(minutes=1)), RUNNING, None, NOW)
    assert young.status is Status.WARNING
    old = check_bot_loop(health(None, NOW - timedelta(hours=1)), RUNNING, None, NOW)
    assert old.status is Status.CRITICAL


def test_a_stopped_bot_is_not_silently_ok():
    stopped = check_bot_loop(
        health(NOW - timedelta(seconds=5)), {"state": "stopped", "dry_run": False}, None, NOW
    )
    assert stopped.status is Status.WARNING


def test_rejected_credentials_leave_the_check_blind_and_that_is_critical():
    result = check_bot_loop(None, None, "the API refused the credentials (HTTP 401)", NOW)
    assert result.status is Status.CRITICAL


# ----------------------------------------------------------------------- recovery

SUCCESS = {
    "timestamp": "2026-03-01T10:00:00Z",
    "recovery_status": "SUCCESS",
    "orphaned_positions": [],
    "open_orders": 0,
    "recent_trades": 12,
    "reconciliation_status": "COMPLETE",
    "next_action": "Resume normal operation",
    "warnings": [],
    "manual_review_required": False,
    "findings": [],
}
ORPHAN = {
    "symbol": "BTC",
    "amount": 0.3,
    "side": "LONG",
    "entry_price": 42500,
    "current_price": 42800,
    "current_pnl": 90,
    "recommendation": "Investigate - possible liquidation risk",
}


def test_a_clean_recovery_report_is_ok():
    assert check_recovery_report(SUCCESS, None).status is Status.OK


def test_an_orphaned_position_is_critical_whatever_the_status_says():
    alert = {**SUCCESS, "recovery_status": "ALERT", "orphaned_positions": [ORPHAN]}
    result = check_recovery_report(alert, None)
    assert result.status is Status.CRITICAL
    assert "BTC LONG 0.3" in result.detail
    # A report that contradicts itself (SUCCESS with an orphan) is still an orphan.
    assert check_recovery_report({**SUCCESS, "orphaned_positions": [ORPHAN]}, None).status is (
        Status.CRITICAL
    )


def test_a_failed_recovery_is_critical_and_an_alert_without_orphans_a_warning():
    error = {**SUCCESS, "recovery_status": "ERROR", "next_action": "exchange unreachable"}
    assert check_recovery_report(error, None).status is Status.CRITICAL
    leverage = {
        **SUCCESS,
        "recovery_status": "ALERT",
        "findings": [{"kind": "leverage_mismatch", "symbol": "ETH/USDT:USDT"}],
    }
    result = check_recovery_report(leverage, None)
    assert result.status is Status.WARNING
    assert "leverage_mismatch ETH/USDT:USDT" in result.detail
    assert check_recovery_report({**SUCCESS, "recovery_status": "??"}, None).status is (
        Status.CRITICAL
    )


def test_a_missing_report_is_a_warning_and_a_corrupt_one_critical():
    assert check_recovery_report(None, "missing: no report at x").status is Status.WARNING
    assert check_recovery_report(None, "unreadable report x: bad json").status is Status.CRITICAL


def test_a_report_older_than_the_bots_start_means_recovery_did_not_run():
    started = datetime(2026, 3, 1, 11, 0, tzinfo=UTC).timestamp()
    result = check_recovery_report(SUCCESS, None, bot_startup_ts=started)
    assert result.status is Status.WARNING
    assert "did recovery run" in result.detail
    just_before = {**SUCCESS, "timestamp": "2026-03-01T10:59:58Z"}
    assert check_recovery_report(just_before, None, bot_startup_ts=started).status is Status.OK


# ------------------------------------------------------------------------ spreads


def tag(leg: Leg, direction: int = 1, hedge_ratio: float = 16.0) -> dict[str, Any]:
    return LegTag(
        pair_id="PAIR_001",
        opened_at=OPENED,
        leg=leg,
        direction=direction,
        hedge_ratio=hedge_ratio,
        leg_a="BTC/USDT:USDT",
        leg_b="ETH/USDT:USDT",
        window=50,
        planned_qty=0.5 if leg is Leg.A else 8.0,
    ).to_json()


def trade(trade_id: int, pair: str, is_short: bool, amount: float, rate: float) -> OpenTradeView:
    return OpenTradeView(trade_id, pair, is_short, amount, rate, "PAIR_001")


BTC_LONG = trade(1, "BTC/USDT:USDT", False, 0.5, 48_000.0)
ETH_SHORT = trade(2, "ETH/USDT:USDT", True, 8.0, 3_000.0)


def test_a_complete_spread_in_its_hedge_ratio_is_ok_and_reports_its_delta():
    result = check_open_spreads([BTC_LONG, ETH_SHORT], {1: tag(Leg.A), 2: tag(Leg.B)})
    assert result.status is Status.OK
    assert result.data["spreads"] == 1
    assert result.data["net_delta_usdt"] == pytest.approx(0.5 * 48_000 - 8.0 * 3_000)
    assert "hedge miss 0.00%" in result.detail


def test_a_lone_leg_is_critical():
    result = check_open_spreads([BTC_LONG], {1: tag(Leg.A)})
    assert result.status is Status.CRITICAL
    assert "lone leg A BTC/USDT:USDT long 0.5 without its twin ETH/USDT:USDT" in result.detail
    assert "+24000.00 USDT" in result.detail


def test_an_untagged_open_trade_is_unhedged_exposure():
    forced = OpenTradeView(3, "SOL/USDT:USDT", False, 10.0, 150.0, "force_entry")
    result = check_open_spreads([BTC_LONG, ETH_SHORT, forced], {1: tag(Leg.A), 2: tag(Leg.B)})
    assert result.status is Status.CRITICAL
    assert "trade 3 SOL/USDT:USDT is not tagged" in result.detail
    assert "PAIR_001@" in result.detail  # the healthy spread is still listed


def test_a_leg_on_the_wrong_side_is_critical():
    eth_long = trade(2, "ETH/USDT:USDT", False, 8.0, 3_000.0)  # both legs long: no hedge at all
    result = check_open_spreads([BTC_LONG, eth_long], {1: tag(Leg.A), 2: tag(Leg.B)})
    assert result.status is Status.CRITICAL
    assert "leg B ETH/USDT:USDT is long" in result.detail


def test_legs_that_disagree_on_the_hedge_ratio_are_critical():
    result = check_open_spreads(
        [BTC_LONG, ETH_SHORT], {1: tag(Leg.A), 2: tag(Leg.B, hedge_ratio=12.0)}
    )
    assert result.status is Status.CRITICAL


@pytest.mark.parametrize(
    ("eth_amount", "expected"),
    [(8.0, Status.OK), (8.1, Status.OK), (7.6, Status.WARNING), (5.6, Status.CRITICAL)],
)
def test_a_partial_fill_left_over_shows_as_a_hedge_miss(eth_amount: float, expected: Status):
    eth = trade(2, "ETH/USDT:USDT", True, eth_amount, 3_000.0)
    result = check_open_spreads(
        [BTC_LONG, eth], {1: tag(Leg.A), 2: tag(Leg.B)}, limits=HedgeLimits()
    )
    assert result.status is expected, result.detail


def test_a_second_trade_claiming_the_same_leg_is_not_hidden():
    again = trade(3, "BTC/USDT:USDT", False, 0.5, 48_000.0)
    result = check_open_spreads(
        [BTC_LONG, ETH_SHORT, again], {1: tag(Leg.A), 2: tag(Leg.B), 3: tag(Leg.A)}
    )
    assert result.status is Status.CRITICAL
    assert "trades 1 and 3 are both leg A" in result.detail


def test_an_unreadable_leg_tag_is_critical():
    broken = {**tag(Leg.B), "opened_at": "yesterday"}
    result = check_open_spreads([BTC_LONG, ETH_SHORT], {1: tag(Leg.A), 2: broken})
    assert result.status is Status.CRITICAL
    assert "unreadable leg tag" in result.detail


def test_no_open_trades_is_ok_and_an_unlistable_book_is_critical():
    assert check_open_spreads([], {}).status is Status.OK
    assert check_open_spreads([], {}, error="HTTP 500").status is Status.CRITICAL


# ------------------------------------------------------------------------- review


def test_a_raised_review_flag_is_critical_and_says_how_to_clear_it():
    raised = ReviewStatus(
        raised=True,
        reasons=(ReviewReason("2026-03-01T10:00:00Z", "strategy", "leg B rejected", "PAIR_001"),),
    )
    result = check_review_flag(raised)
    assert result.status is Status.CRITICAL
    assert "leg B rejected" in result.detail
    assert "scripts/review.py ack" in result.detail
    assert check_review_flag(ReviewStatus(raised=False, reasons=())).status is Status.OK


def test_an_unreadable_review_flag_counts_as_raised():
    result = check_review_flag(ReviewStatus(raised=True, reasons=(), unreadable="bad json"))
    assert result.status is Status.CRITICAL


# --------------------------------------------------------------------------- host


@pytest.mark.parametrize(
    ("free", "total", "expected"),
    [
        (20 * GIB, 40 * GIB, Status.OK),
        (4 * GIB, 40 * GIB, Status.WARNING),  # under 5 GiB
        (3 * GIB, 40 * GIB, Status.WARNING),  # 7.5 %
        (int(0.9 * GIB), 40 * GIB, Status.CRITICAL),
        (30 * GIB, 1000 * GIB, Status.CRITICAL),  # 3 % of a big disk
    ],
)
def test_disk_thresholds(free: int, total: int, expected: Status):
    assert check_disk("/x", total, free).status is expected


def test_memory_near_the_container_limit_alarms_before_the_kernel_kills_the_bot():
    def rss(mib: float) -> CheckResult:
        return check_memory([ProcessMemory(1, int(mib * MIB), "freqtrade trade")])

    assert rss(1200).status is Status.OK
    assert rss(2800).status is Status.WARNING
    assert rss(3300).status is Status.CRITICAL
    assert check_memory([]).status is Status.WARNING


def test_docker_unreachable_is_information_never_an_alarm():
    result = check_docker("freqtrade_bot", None, None, "Cannot connect to the Docker daemon")
    assert result.status is Status.INFO
    assert result.status.exit_code == 0
    assert result.detail.startswith("docker: not reachable")


def test_docker_container_states():
    healthy = {"Status": "running", "Running": True, "Health": {"Status": "healthy"}}
    stats = {"MemUsage": "812MiB / 3.418GiB", "MemPerc": "23.20%"}
    assert check_docker("c", healthy, stats, None).status is Status.OK
    unhealthy = {**healthy, "Health": {"Status": "unhealthy"}}
    assert check_docker("c", unhealthy, None, None).status is Status.CRITICAL
    exited = {"Status": "exited", "Running": False}
    assert check_docker("c", exited, None, None).status is Status.CRITICAL
    assert check_docker("c", None, None, None, missing=True).status is Status.CRITICAL
    starting = {**healthy, "Health": {"Status": "starting"}}
    assert check_docker("c", starting, None, None).status is Status.WARNING


def activity(**counts: int) -> LogActivity:
    base = {"lines": 1000, "execution": 0, "safety": 0, "strategy": 3, "errors": 0}
    base.update(counts)
    return LogActivity(since=NOW - timedelta(hours=24), last_safety="[SAFETY] z stop", **base)


def test_safety_lines_in_the_last_day_need_a_person():
    result = check_log_activity(activity(safety=2, execution=4))
    assert result.status is Status.WARNING
    assert "[SAFETY] 2" in result.detail
    assert "z stop" in result.detail


def test_a_quiet_day_without_orders_is_ok_but_a_silent_log_is_critical():
    quiet = check_log_activity(activity())
    assert quiet.status is Status.OK
    assert "no orders" in quiet.detail
    assert check_log_activity(activity(lines=0)).status is Status.CRITICAL
    assert check_log_activity(None, "no log file at x").status is Status.WARNING

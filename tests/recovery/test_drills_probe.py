"""The drill harness on a real `freqtrade trade` killed with SIGKILL, driven by the probe strategy
(tests/bot/strategies: it opens BTC long and ETH short at once). The four spread drills of issue 6
use the same harness with CointPairsStrategy; these two prove the harness and recovery's reading
of a DB a killed FreqTrade really left behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from drills import Drill

from statarb.exchange.launcher import RunningExchange, start_local_exchange

pytestmark = pytest.mark.bot

PROBE_DIR = Path(__file__).resolve().parents[1] / "bot" / "strategies"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
PROBE_CONFIG = {
    "freqai": {"enabled": False},
    "stake_amount": 300,
    "max_open_trades": 2,
    "probe_hold_seconds": 3600,  # hold: the drills kill it with both legs open
    "order_types": {
        "entry": "market",
        "exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    },
    "statarb": {"leverage": 3.0, "review_flag": "state/manual_review.json"},  # the probe's 3x
}


@pytest.fixture(scope="module")
def exchange(
    sample_market_datadir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningExchange]:
    folder = tmp_path_factory.mktemp("drill-exchange")
    running = start_local_exchange(
        sample_market_datadir, log_path=folder / "exchange.log", state_path=folder / "state.json"
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def drill(exchange: RunningExchange, tmp_path: Path) -> Iterator[Drill]:
    exchange.admin.reset()
    probe = Drill(
        tmp_path / "bot", exchange, PAIRS, strategy="LocalExchangeProbe",
        strategy_path=PROBE_DIR, config_changes=PROBE_CONFIG,
    )  # fmt: skip
    try:
        yield probe
    finally:
        probe.kill9()


def test_kill_minus_nine_with_both_legs_open_then_recovery_and_restart_stay_consistent(
    drill: Drill,
):
    drill.start_bot()
    drill.wait_for(
        lambda: len(drill.filled_open_trades()) == 2 and len(drill.positions()) == 2,
        "both legs open",
    )
    drill.kill9()
    result, report = drill.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "SUCCESS", report["findings"]
    assert report["recent_trades"] == 2 and report["open_orders"] == 0
    assert report["database"]["open_trades"] == 2
    mark = len(drill.order_log())
    drill.start_bot()  # what `state_recovery.py && freqtrade trade` does next
    drill.wait_for(lambda: "Bot heartbeat" in drill.bot_log(), "the restarted bot's first loop")
    drill.run_loops(5)
    drill.assert_no_order_sent_since(mark)  # nothing re-sent, nothing forgotten
    assert len(drill.filled_open_trades()) == 2
    assert drill.stop() is not None
    _, again = drill.recover()
    assert again["recovery_status"] == "SUCCESS", again["findings"]


def test_order_in_flight_with_its_answer_held_then_kill_minus_nine_is_an_orphan(drill: Drill):
    drill.exchange.admin.inject_fault(
        "drop_response", symbol="ETHUSDT", mode="timeout", hold_ms=60_000
    )
    drill.start_bot()
    drill.wait_for(lambda: "ETHUSDT" in drill.positions(), "ETH filled on the exchange")
    drill.wait_for(lambda: len(drill.filled_open_trades()) == 1, "BTC recorded in the DB")
    drill.kill9()  # FreqTrade is still waiting for ETH's answer: it never recorded the order
    result, report = drill.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "ALERT"
    (orphan,) = report["orphaned_positions"]
    assert (orphan["symbol"], orphan["side"]) == ("ETH/USDT:USDT", "SHORT")
    assert orphan["amount"] == pytest.approx(abs(drill.positions()["ETHUSDT"]))
    kinds = sorted(f["kind"] for f in report["findings"])
    assert kinds == ["fill_missing_from_db", "orphaned_position"]
    assert drill.flag_path.exists()
    mark = len(drill.order_log())
    result, report = drill.recover("--flatten-orphans")
    assert [a["status"] for a in report["actions"]] == ["sent"]
    sent = drill.order_log()[mark:]
    assert len(sent) == 1 and sent[0]["reduceOnly"] is True and sent[0]["side"] == "BUY"
    assert "ETHUSDT" not in drill.positions()

"""`scripts/daily_check.py` end to end against a stand-in of FreqTrade's REST API (the real one is
exercised in tests/bot/test_api_and_daily_check.py): gathering, JSON output, exit codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from statarb.ops.daily_check import _is_freqtrade_trade
from statarb.safety.review_flag import ManualReviewFlag
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "operator", "s3cret-pass"
OPENED = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


def leg_tag(leg: Leg) -> dict[str, Any]:
    return LegTag(
        "PAIR_001", OPENED, leg, 1, 16.0, "BTC/USDT:USDT", "ETH/USDT:USDT", 50, 0.5
    ).to_json()


class FakeFreqtrade(BaseHTTPRequestHandler):
    """Answers like FreqTrade 2026.9's API: ping is public, the rest needs Basic auth."""

    trades: ClassVar[list[dict[str, Any]]] = []
    tags: ClassVar[dict[int, dict[str, Any]]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0].removeprefix("/api/v1/")
        if path == "ping":
            return self._send(200, {"status": "pong"})
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._send(401, {"detail": "Unauthorized"})
        now = time.time()
        if path == "health":
            return self._send(200, {"last_process_ts": int(now) - 3, "bot_startup_ts": 0})
        if path == "show_config":
            return self._send(200, {"state": "running", "dry_run": False})
        if path == "status":
            return self._send(200, self.trades)
        if path == "trades/open/custom-data":
            rows = [
                {"trade_id": i, "custom_data": [{"key": "spread", "value": v}]}
                for i, v in self.tags.items()
            ]
            if not rows:
                return self._send(404, {"detail": "No custom-data with key 'spread' found"})
            return self._send(200, rows)
        return self._send(404, {"detail": "Not Found"})


@pytest.fixture
def api() -> Iterator[str]:
    FakeFreqtrade.trades = [
        {"trade_id": 1, "pair": "BTC/USDT:USDT", "is_short": False, "amount": 0.5,
         "current_rate": 48_000.0, "enter_tag": "PAIR_001", "has_open_orders": False},
        {"trade_id": 2, "pair": "ETH/USDT:USDT", "is_short": True, "amount": 8.0,
         "current_rate": 3_000.0, "enter_tag": "PAIR_001", "has_open_orders": False},
    ]  # fmt: skip
    FakeFreqtrade.tags = {1: leg_tag(Leg.A), 2: leg_tag(Leg.B)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeFreqtrade)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def user_data(tmp_path: Path) -> Path:
    folder = tmp_path / "user_data"
    (folder / "logs").mkdir(parents=True)
    report = {
        "timestamp": datetime.now(UTC).isoformat(),
        "recovery_status": "SUCCESS",
        "orphaned_positions": [],
        "open_orders": 0,
        "recent_trades": 0,
        "reconciliation_status": "COMPLETE",
        "next_action": "Resume normal operation",
        "warnings": [],
        "manual_review_required": False,
        "findings": [],
    }
    (folder / "logs" / "recovery_report.json").write_text(json.dumps(report))
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S,000")
    (folder / "logs" / "freqtrade.log").write_text(
        f"{stamp} - freqtrade.worker - INFO - Bot heartbeat. PID=1, state='RUNNING'\n"
        f"{stamp} - CointPairsStrategy - INFO - [EXECUTION] PAIR_001 fill pair=BTC/USDT:USDT\n"
    )
    return folder


def daily_check(api_url: str, user_data: Path, *extra: str, **env: str) -> tuple[int, dict]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")}
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "daily_check.py"), "--json",
         "--api-url", api_url, "--user-data", str(user_data), "--pid", str(os.getpid()),
         *extra],
        env={**base_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def statuses(report: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


CREDENTIALS = {
    "FREQTRADE__API_SERVER__USERNAME": USER,
    "FREQTRADE__API_SERVER__PASSWORD": PASSWORD,
}


def test_a_healthy_bot_passes_every_check_it_controls(api: str, user_data: Path):
    code, report = daily_check(api, user_data, **CREDENTIALS)
    got = statuses(report)
    for name in ("api ping", "bot loop", "open spreads", "recovery report", "manual review"):
        assert got[name] == "ok", report
    assert got["log activity (24 h)"] == "ok"
    assert got["bot memory"] == "ok"
    assert got["docker"] in ("info", "ok", "critical")  # depends on this host's docker
    spreads = next(c for c in report["checks"] if c["name"] == "open spreads")
    assert spreads["data"] == {"spreads": 1, "legs": 2, "net_delta_usdt": 0.0}
    # The exit code is the worst status, so cron alerts on exactly what the table shows.
    worst = max({"ok": 0, "info": 0, "warning": 1, "critical": 2}[s] for s in got.values())
    assert code == report["exit_code"] == worst


def test_credentials_can_come_from_the_compose_env_file(api: str, user_data: Path, tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n"
        f"FREQTRADE__API_SERVER__USERNAME={USER}\nFREQTRADE__API_SERVER__PASSWORD={PASSWORD}\n"
    )
    _, report = daily_check(api, user_data, "--env-file", str(env_file))
    assert statuses(report)["bot loop"] == "ok"


def test_wrong_credentials_are_critical(api: str, user_data: Path):
    code, report = daily_check(
        api, user_data, **{**CREDENTIALS, "FREQTRADE__API_SERVER__PASSWORD": "wrong"}
    )
    assert code == 2
    loop = next(c for c in report["checks"] if c["name"] == "bot loop")
    assert loop["status"] == "critical" and "401" in loop["detail"]
    assert statuses(report)["api ping"] == "ok"  # ping needs no credentials


def test_an_api_that_does_not_answer_is_critical(user_data: Path):
    code, report = daily_check("http://127.0.0.1:9", user_data, **CREDENTIALS)
    assert code == 2
    assert statuses(report)["api ping"] == "critical"


def test_a_lone_leg_is_critical(api: str, user_data: Path):
    FakeFreqtrade.trades = FakeFreqtrade.trades[:1]
    FakeFreqtrade.tags = {1: leg_tag(Leg.A)}
    code, report = daily_check(api, user_data, **CREDENTIALS)
    assert code == 2
    assert statuses(report)["open spreads"] == "critical"


def test_open_trades_without_any_tag_are_critical(api: str, user_data: Path):
    FakeFreqtrade.tags = {}  # FreqTrade answers 404 when no open trade has the key
    code, report = daily_check(api, user_data, **CREDENTIALS)
    assert code == 2
    assert (
        "not tagged" in next(c for c in report["checks"] if c["name"] == "open spreads")["detail"]
    )


def test_a_recovery_report_with_an_orphan_is_critical(api: str, user_data: Path):
    path = user_data / "logs" / "recovery_report.json"
    report = json.loads(path.read_text())
    report.update(
        recovery_status="ALERT",
        manual_review_required=True,
        orphaned_positions=[{"symbol": "BTC", "amount": 0.3, "side": "LONG"}],
    )
    path.write_text(json.dumps(report))
    code, result = daily_check(api, user_data, **CREDENTIALS)
    assert code == 2
    assert statuses(result)["recovery report"] == "critical"


def test_a_raised_review_flag_is_critical(api: str, user_data: Path):
    ManualReviewFlag(user_data / "state" / "manual_review.json").raise_flag(
        source="strategy", message="ghost order", spread_id="PAIR_001"
    )
    code, report = daily_check(api, user_data, **CREDENTIALS)
    assert code == 2
    assert statuses(report)["manual review"] == "critical"


def test_the_table_is_readable_and_quotes_log_lines_literally(api: str, user_data: Path):
    log = user_data / "logs" / "freqtrade.log"
    stamp = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S,000")
    log.write_text(
        log.read_text()
        + f"{stamp} - CointPairsStrategy - WARNING - [SAFETY] PAIR_001 z stop: closing\n"
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "daily_check.py"), "--api-url", api,
         "--user-data", str(user_data), "--pid", str(os.getpid())],
        env={**os.environ, **CREDENTIALS, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode in (1, 2), result.stderr
    assert "[SAFETY] PAIR_001 z stop" in result.stdout  # not eaten as rich markup
    assert "overall:" in result.stdout


def test_a_bad_option_is_a_clear_error_not_a_traceback(user_data: Path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "daily_check.py"), "--env-file",
         str(user_data / "nope.env")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "nope.env" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("cmdline", "is_bot"),
    [
        (["/home/ftuser/.local/bin/freqtrade", "trade", "--config", "c.json"], True),
        (["python", "-m", "freqtrade", "trade"], True),
        (["freqtrade", "backtesting"], False),
        (["python", "scripts/daily_check.py", "trade"], False),
    ],
)
def test_the_bot_process_is_found_by_its_command_line(cmdline: list[str], is_bot: bool):
    assert _is_freqtrade_trade(cmdline) is is_bot

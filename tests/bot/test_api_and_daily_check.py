"""The production deployment against a live bot: `freqtrade trade` (dry_run false) with the
committed config.json and the strategy, started through the container's entrypoint, trading
on the local exchange. Its REST API answers ping without credentials and nothing else; the
daily check reads a real open spread through it, turns critical on an orphan in the recovery
report and when the bot is gone; the log categories reach both the console and the log file."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import RunningExchange, free_port, start_local_exchange
from statarb.exchange.protocol import DEFAULT_API_KEY, DEFAULT_API_SECRET
from statarb.ops.entrypoint import RECOVERY_SCRIPT

pytestmark = pytest.mark.bot

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "operator", "Live-test-password-7"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
STARTUP_TIMEOUT_S = 240
SPREAD_TIMEOUT_S = 300

# Recovery is issue 6's script, tested there; here a stand-in that succeeds, so this module is
# about the API, the logs and the daily check (the entrypoint's handling of a failing recovery
# is tested in tests/unit/test_ops_entrypoint.py).
RECOVERY_STAND_IN = "import sys\nprint('recovery stand-in', sys.argv[1:])\n"


def pairs_config(now: datetime) -> dict[str, Any]:
    """BTC/ETH of the sample market (they share a random factor), with bands that make the
    strategy open a spread within a candle or two and hold it (exit only inside |z| < 0.01)."""
    return {
        "version": 1,
        "pairs": [
            {
                "pair_id": "PAIR_001",
                "leg_a": "BTC/USDT:USDT",
                "leg_b": "ETH/USDT:USDT",
                "hedge_ratio": 20.0,
                "cointegration_stat": -4.2,
                "pvalue": 0.001,
                "z_score_threshold": 0.1,
                "exit_z": 0.01,
                "stop_loss_z": 50.0,
                "entry_size_leg_a": 0.05,
                "entry_size_leg_b": 1.0,
                "mean_reversion_window": 20,
                "last_updated": now.isoformat(),
            }
        ],
    }


@dataclass
class LiveBot:
    exchange: RunningExchange
    process: subprocess.Popen[bytes]
    folder: Path
    api_url: str
    console: Path

    @property
    def user_data(self) -> Path:
        return self.folder / "user_data"

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self) -> str:
        stderr = self.console.with_suffix(".stderr").read_text(errors="replace")
        return self.console.read_text(errors="replace")[-3000:] + stderr[-3000:]


def start_bot(folder: Path, exchange: RunningExchange) -> LiveBot:
    user_data = folder / "user_data"
    user_data.mkdir(parents=True)
    (folder / "pairs_config.json").write_text(json.dumps(pairs_config(datetime.now(UTC))))
    (folder / RECOVERY_SCRIPT).parent.mkdir(parents=True)
    (folder / RECOVERY_SCRIPT).write_text(RECOVERY_STAND_IN)
    port = free_port()
    override = {
        "user_data_dir": str(user_data),
        "datadir": str(user_data / "data"),
        "db_url": f"sqlite:///{user_data / 'trading.db'}",
        "exchange": {
            **freqtrade_exchange_config(exchange.url, api_key=None, api_secret=None),
            "pair_whitelist": PAIRS,
        },
        "freqai": {"enabled": False},  # training is not what this module tests
        "api_server": {"listen_port": port},
        "internals": {"process_throttle_secs": 2},
        "statarb": {
            "pairs_config": str(folder / "pairs_config.json"),
            "model_gate": False,
            "cost_gate": False,  # not what this module tests: the first signal must open
            "retest_window": 30,
            "retest_max_pvalue": 1.0,
        },
    }
    (folder / "override.json").write_text(json.dumps(override, indent=2))
    env = {
        # FreqTrade skips its logging set-up (the --logfile handler) when it sees pytest's
        # PYTEST_VERSION; production has none.
        **{k: v for k, v in os.environ.items() if not k.startswith(("FREQTRADE__", "PYTEST_"))},
        # What the compose env file and the image's ENV provide in production.
        "FREQTRADE__EXCHANGE__KEY": DEFAULT_API_KEY,
        "FREQTRADE__EXCHANGE__SECRET": DEFAULT_API_SECRET,
        "FREQTRADE__API_SERVER__USERNAME": USER,
        "FREQTRADE__API_SERVER__PASSWORD": PASSWORD,
        "FREQTRADE__API_SERVER__JWT_SECRET_KEY": "Zq8tM1r0w7sJkPfXy3bVnC5aHgLd2eQuX",
        "FREQTRADE__API_SERVER__WS_TOKEN": "ws-Tk4n9fQz",
        "FREQTRADE__STRATEGY_PATH": str(REPO / "user_data" / "strategies"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    args = [
        "trade",
        "--config", str(REPO / "config.json"),
        "--config", str(folder / "override.json"),
        "--logfile", str(user_data / "logs" / "freqtrade.log"),
    ]  # fmt: skip
    console = folder / "console.log"  # the container's stdout: what `docker logs` pipes
    with console.open("wb") as out, console.with_suffix(".stderr").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "entrypoint.py"), *args],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=err,
        )
    return LiveBot(exchange, process, folder, f"http://127.0.0.1:{port}", console)


def request(
    bot: LiveBot, method: str, path: str, *, auth: bool = True, body: Any = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{bot.api_url}/api/v1/{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if auth:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(bot: LiveBot, what: str, timeout_s: float, condition: Any) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert bot.alive(), f"the bot exited while waiting for {what}:\n{bot.tail()}"
        try:
            value = condition()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            value = None
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}:\n{bot.tail()}")


@pytest.fixture(scope="module")
def bot(sample_market_datadir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    folder = tmp_path_factory.mktemp("live_api")
    exchange = start_local_exchange(
        sample_market_datadir, log_path=folder / "exchange.log", state_path=folder / "state.json"
    )
    running = None
    try:
        running = start_bot(folder, exchange)
        wait_for(
            running,
            "the API",
            STARTUP_TIMEOUT_S,
            lambda: request(running, "GET", "ping", auth=False)[0] == 200,
        )
        yield running
    finally:
        if running is not None and running.alive():
            running.process.send_signal(signal.SIGINT)
            try:
                running.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                running.process.kill()
                running.process.wait()
        exchange.stop()


def both_legs_tagged(bot: LiveBot) -> list[dict[str, Any]] | None:
    """The two legs of an open spread, once both are tagged; None while there is none."""
    code, trades = request(bot, "GET", "status")
    if code != 200 or len(trades) < 2:
        return None
    code, tags = request(bot, "GET", "trades/open/custom-data?key=spread")
    return trades if code == 200 and len(tags) == len(trades) else None


@pytest.fixture(scope="module")
def open_spread(bot: LiveBot) -> list[dict[str, Any]]:
    """The two legs of the spread the strategy opens, once both are tagged."""
    return wait_for(bot, "a spread to open", SPREAD_TIMEOUT_S, lambda: both_legs_tagged(bot))


def daily_check(bot: LiveBot, *extra: str) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")}
    env_file = bot.folder / ".env"
    env_file.write_text(
        f"FREQTRADE__API_SERVER__USERNAME={USER}\nFREQTRADE__API_SERVER__PASSWORD={PASSWORD}\n"
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "daily_check.py"), "--json",
         "--api-url", bot.api_url, "--user-data", str(bot.user_data),
         "--env-file", str(env_file), "--pid", str(bot.process.pid), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


# ------------------------------------------------------------------------------ tests


def test_ping_is_public_and_every_other_route_needs_credentials(bot: LiveBot):
    assert request(bot, "GET", "ping", auth=False) == (200, {"status": "pong"})
    for route in ("status", "locks", "trades", "health", "trades/open/custom-data"):
        code, _ = request(bot, "GET", route, auth=False)
        assert code == 401, route
    code, locks = request(bot, "GET", "locks")
    assert code == 200 and locks["lock_count"] == len(locks["locks"])
    code, trades = request(bot, "GET", "trades")
    assert code == 200 and "trades" in trades
    code, status = request(bot, "GET", "status")
    assert code == 200 and isinstance(status, list)


def test_the_daily_check_reads_the_open_spread_and_its_delta(
    bot: LiveBot, open_spread: list[dict[str, Any]]
):
    assert {t["pair"] for t in open_spread} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert {t["is_short"] for t in open_spread} == {True, False}  # opposite sides
    # This market's spread crosses its mean often (the bands are set to trade at once): a
    # spread may be closing, by the strategy's own rules, while the check reads it (one leg
    # out, the other on its way). Then the check runs again while the next spread is open; a
    # spread the check keeps finding wrong still fails below.
    for _ in range(5):
        wait_for(bot, "a spread to be open", SPREAD_TIMEOUT_S, lambda: both_legs_tagged(bot))
        code, report = daily_check(bot)
        spreads = check(report, "open spreads")
        if spreads["status"] == "ok" and spreads["data"].get("legs") == 2:
            break
    assert code in (0, 1), report
    assert spreads["status"] == "ok", spreads
    assert spreads["data"]["spreads"] == 1 and spreads["data"]["legs"] == 2
    assert "PAIR_001@" in spreads["detail"]
    assert check(report, "api ping")["status"] == "ok"
    assert check(report, "bot loop")["status"] == "ok", check(report, "bot loop")
    assert check(report, "manual review")["status"] == "ok"
    assert check(report, "bot memory")["status"] in ("ok", "warning")
    # No report: the recovery stand-in writes none (a missing report is a warning).
    assert check(report, "recovery report")["status"] == "warning"
    activity = check(report, "log activity (24 h)")
    assert activity["data"]["execution"] >= 2  # both legs sent and filled
    assert activity["data"]["strategy"] >= 1


def test_the_categories_reach_stdout_and_the_log_file(
    bot: LiveBot, open_spread: list[dict[str, Any]]
):
    """`docker logs -f freqtrade_bot | grep "\\[EXECUTION\\]"` (stdout) and
    `grep "\\[EXECUTION\\]" user_data/logs/freqtrade.log` see the same lines."""
    console = bot.console.read_text(errors="replace")  # first: the file can only be ahead
    logfile = (bot.user_data / "logs" / "freqtrade.log").read_text()
    for category in ("[STRATEGY]", "[EXECUTION]"):
        in_file = [line for line in logfile.splitlines() if category in line]
        in_console = [line for line in console.splitlines() if category in line]
        assert in_file, category
        assert in_console == in_file[: len(in_console)], category
        assert len(in_file) - len(in_console) <= 2, category  # lines written since we read
    # The entrypoint's own lines land in the same file, in FreqTrade's format.
    assert "statarb.entrypoint - INFO - state recovery done" in logfile


def test_forceenter_of_a_coin_outside_every_spread_is_refused(
    bot: LiveBot, open_spread: list[dict[str, Any]]
):
    def sol_orders() -> int:
        return sum(o["symbol"] == "SOLUSDT" for o in bot.exchange.admin.orders())

    orders_before = sol_orders()
    code, answer = request(
        bot, "POST", "forceenter", body={"pair": "SOL/USDT:USDT", "side": "long"}
    )
    # The strategy has no spread for SOL, so its entry confirmation refuses the lone leg.
    assert code == 502, answer
    assert "Failed to enter position for SOL/USDT:USDT" in answer["error"]
    _, trades = request(bot, "GET", "status")
    assert "SOL/USDT:USDT" not in {t["pair"] for t in trades}
    assert sol_orders() == orders_before  # no SOL order reached the exchange


def test_an_orphan_in_the_recovery_report_is_critical(
    bot: LiveBot, open_spread: list[dict[str, Any]]
):
    report = bot.user_data / "logs" / "recovery_report.json"
    report.write_text(
        json.dumps(
            {
                "timestamp": datetime.now(UTC).isoformat(),
                "recovery_status": "ALERT",
                "orphaned_positions": [
                    {"symbol": "SOL", "amount": 3.0, "side": "SHORT", "entry_price": 150.0,
                     "current_price": 151.0, "current_pnl": -3.0,
                     "recommendation": "Investigate - possible liquidation risk"}
                ],
                "open_orders": 0,
                "recent_trades": 2,
                "reconciliation_status": "COMPLETE",
                "next_action": "Manual review",
                "warnings": [],
                "manual_review_required": True,
                "findings": [],
            }
        )
    )  # fmt: skip
    try:
        code, result = daily_check(bot)
    finally:
        report.unlink()
    assert code == 2
    assert check(result, "recovery report")["status"] == "critical"
    assert "SOL SHORT 3.0" in check(result, "recovery report")["detail"]


def healthcheck(bot: LiveBot) -> int:
    """Docker's HEALTHCHECK command, with the port FreqTrade's env override sets."""
    port = bot.api_url.rsplit(":", 1)[1]
    return subprocess.run(
        [sys.executable, "-m", "statarb.ops.healthcheck"],
        env={**os.environ, "FREQTRADE__API_SERVER__LISTEN_PORT": port},
        capture_output=True,
        timeout=60,
        check=False,
    ).returncode


def test_the_daily_check_and_the_health_check_turn_red_when_the_bot_is_gone(
    bot: LiveBot, open_spread: list[dict[str, Any]]
):
    assert healthcheck(bot) == 0
    bot.process.send_signal(signal.SIGKILL)
    bot.process.wait(timeout=30)
    assert healthcheck(bot) == 1
    code, report = daily_check(bot)
    assert code == 2
    assert check(report, "api ping")["status"] == "critical"
    assert check(report, "bot loop")["status"] == "critical"

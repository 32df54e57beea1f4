"""`scripts/paper.py --local-exchange` paper-trades a generated market end to end: the bot starts
in dry-run from the production config on the pairs file's legs, its strategy analyses them, its
REST API answers with the secrets generated for the run, and a SIGTERM to its whole process
group (a service manager, `timeout`) stops the bot once, then the exchange, cleanly.

A real run of the script as a user starts it (subprocess, the bot as its child); only the time is
short.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from statarb.exchange.launcher import free_port
from support.live_bot import LEG_A, LEG_B, bot_environment, live_market, pairs_config

pytestmark = pytest.mark.bot

REPO = Path(__file__).resolve().parents[2]
LEGS = [LEG_A, LEG_B]


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1.0)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}; log tail:\n{tail}")


def test_paper_start_on_a_local_exchange_trades_dry_run_and_stops_cleanly(tmp_path: Path) -> None:
    market = live_market(tmp_path / "market", days=3)
    pairs = pairs_config(
        tmp_path / "pairs_config.json",
        window_end=datetime.now(UTC) - timedelta(minutes=2),
        pair_ids=("SOL_ADA",),
    )
    user_data = tmp_path / "user_data"
    api_port = free_port()
    out_path = tmp_path / "paper.out"
    with out_path.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "scripts" / "paper.py"),
                "--pairs-config",
                str(pairs),
                "--user-data",
                str(user_data),
                "--api-port",
                str(api_port),
                "--wallet",
                "10000",
                "--local-exchange",
                str(market),
                "--live-hours",
                "3",
            ],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=bot_environment(),
            start_new_session=True,  # its own process group, as under a service manager
        )
    log = user_data / "logs" / "freqtrade.paper.log"
    try:
        wait_for(log.exists, 60, "the bot's log", out_path)
        config = json.loads((user_data / "config.paper.json").read_text())
        auth = ("paper", config["api_server"]["password"])
        api = f"http://127.0.0.1:{api_port}/api/v1"
        assert config["api_server"]["password"] in out_path.read_text()  # printed for the user

        def answers(path: str, **params: str) -> requests.Response | None:
            try:
                return requests.get(f"{api}/{path}", auth=auth, params=params, timeout=10)
            except requests.RequestException:
                return None

        def last_analysed(pair: str) -> str | None:
            """The date of the pair's last candle analysed by the strategy (with a z-score)."""
            answer = answers("pair_candles", pair=pair, timeframe="1m")
            if answer is None or not answer.ok:
                return None
            frame = answer.json()
            if "spread_z" not in frame.get("columns", []) or not frame.get("data"):
                return None
            return str(frame["data"][-1][frame["columns"].index("date")])

        def analysed() -> bool:
            return all(last_analysed(pair) is not None for pair in LEGS)

        wait_for(lambda: (a := answers("ping")) is not None and a.ok, 120, "/api/v1/ping", log)
        wait_for(analysed, 120, "the strategy's first analysed candles of both legs", log)
        first = last_analysed(LEG_A)
        # the loop goes on with the exchange's live candles: a later candle is analysed too
        wait_for(lambda: (last_analysed(LEG_A) or "") > str(first), 150, "a new candle", log)
        text = log.read_text(errors="replace")
        assert "Dry run is enabled" in text
        assert "Bot heartbeat." in text
        assert f"Whitelist with 2 pairs: {LEGS}" in text
        assert (user_data / "paper_trading.db").exists()
        show = answers("show_config")
        assert show is not None and show.ok
        assert show.json()["dry_run"] is True
        assert show.json()["state"] == "running"
        assert process.poll() is None, out_path.read_text()
    finally:
        # A service manager or `timeout` stopping the run: SIGTERM to the whole process group,
        # so the script and everything in its group get it at once. FreqTrade must stop on
        # it: a second signal (forwarded by the script) used to interrupt its clean-up,
        # leaving its API server thread running, and the bot never exited.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    output = out_path.read_text(errors="replace")
    # FreqTrade's status after a signal-requested stop that ran its clean-up (main.py: 130)
    assert code == 130, output[-3000:]
    text = log.read_text(errors="replace")
    assert "Cleaning up modules" in text and "SIGINT received, aborting" in text
    assert " - ERROR - " not in text and "Traceback" not in output
    # the exchange was stopped after the bot (no orphan listening)
    with pytest.raises(requests.ConnectionError):
        exchange_line = next(line for line in output.splitlines() if "local exchange http" in line)
        requests.get(exchange_line.split()[2] + "/fapi/v1/ping", timeout=5)

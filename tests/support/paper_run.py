"""A real `scripts/paper.py --local-exchange` run, steered from outside, and its candles saved.

Paper trading leaves a FreqTrade database (`paper_trading.db`) behind; comparing it with a
backtest needs the candles the paper bot saw. The local exchange shifts its data onto the wall
clock when it starts and price shocks change it further, so the market folder is NOT those
candles: they are downloaded from the running exchange with `freqtrade download-data`, as a
real paper run's candles are downloaded from Binance.
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from statarb.exchange.admin import LocalExchangeAdmin
from statarb.exchange.launcher import free_port
from support.live_bot import bot_environment

REPO = Path(__file__).resolve().parents[2]
PAPER_SCRIPT = REPO / "scripts" / "paper.py"


def download_served_candles(config_path: Path, datadir: Path, *, cwd: Path, days: int = 2) -> Path:
    """The 1m candles (with mark and funding) the exchange of a RUNNING bot's config serves, in
    FreqTrade's layout (`datadir/binance/futures/…`, as `freqtrade download-data` stores
    Binance's): the candles a dry-run on the local exchange saw, for `compare_paper_run`."""
    (datadir / "binance").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable, "-m", "freqtrade", "download-data",
            "--config", str(config_path),
            "--datadir", str(datadir / "binance"),
            "--timeframes", "1m",
            "--days", str(days),
            "--trading-mode", "futures",
            "--erase",
        ],
        cwd=cwd, capture_output=True, text=True, env=bot_environment(), check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"download-data failed:\n{result.stdout[-3000:]}{result.stderr}")
    return datadir


@dataclass
class PaperRun:
    """`paper.py` as a user starts it (the bot and the exchange are its children)."""

    folder: Path
    market: Path
    pairs: Path
    live_hours: float = 3.0
    process: subprocess.Popen[bytes] | None = None
    api_port: int = field(default_factory=free_port)
    exchange_url: str = ""

    @property
    def user_data(self) -> Path:
        return self.folder / "user_data"

    @property
    def out_path(self) -> Path:
        return self.folder / "paper.out"

    @property
    def log_path(self) -> Path:
        return self.user_data / "logs" / "freqtrade.paper.log"

    @property
    def config_path(self) -> Path:
        return self.user_data / "config.paper.json"

    @property
    def db_path(self) -> Path:
        return self.user_data / "paper_trading.db"

    def start(self, legs: list[str], timeout_s: float = 180.0) -> None:
        with self.out_path.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable, str(PAPER_SCRIPT),
                    "--pairs-config", str(self.pairs),
                    "--user-data", str(self.user_data),
                    "--api-port", str(self.api_port),
                    "--wallet", "10000",
                    "--no-freqai",
                    "--local-exchange", str(self.market),
                    "--live-hours", str(self.live_hours),
                ],
                cwd=self.folder, stdout=out, stderr=subprocess.STDOUT, env=bot_environment(),
            )  # fmt: skip
        self.wait_for(lambda: "local exchange http" in self._out(), timeout_s, "the exchange")
        line = next(x for x in self._out().splitlines() if "local exchange http" in x)
        self.exchange_url = line.split()[2]
        self.wait_for(self._ping, timeout_s, "the bot's REST API")
        self.wait_for(lambda: all(self._analysed(p) for p in legs), timeout_s, "analysed legs")

    # ------------------------------------------------------------------ REST API
    def _auth(self) -> tuple[str, str]:
        config = json.loads(self.config_path.read_text())
        return ("paper", str(config["api_server"]["password"]))

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"http://127.0.0.1:{self.api_port}/api/v1/{path}",
            auth=self._auth(),
            timeout=30,
            **kwargs,
        )

    def _ping(self) -> bool:
        try:
            return self.call("GET", "ping").ok
        except requests.RequestException:
            return False

    def _analysed(self, pair: str) -> bool:
        answer = self.call("GET", "pair_candles", params={"pair": pair, "timeframe": "1m"})
        return answer.ok and "spread_z" in answer.json().get("columns", [])

    def open_trades(self) -> list[dict[str, Any]]:
        answer = self.call("GET", "status")
        return list(answer.json()) if answer.ok else []

    # ------------------------------------------------------------------ the market
    @property
    def admin(self) -> LocalExchangeAdmin:
        return LocalExchangeAdmin(self.exchange_url)

    def closes(self, symbol: str, limit: int = 60) -> list[float]:
        """The exchange's last closed 1m candles' closes (the in-progress one dropped)."""
        answer = requests.get(
            f"{self.exchange_url}/fapi/v1/klines",
            params={
                "symbol": symbol.split("/", maxsplit=1)[0] + "USDT",
                "interval": "1m",
                "limit": limit + 1,
            },
            timeout=10,
        )
        answer.raise_for_status()
        return [float(row[4]) for row in answer.json()[:-1]]

    def last_closed_candle(self, symbol: str) -> datetime:
        """Open time of the exchange's last closed 1m candle of `symbol`."""
        answer = requests.get(
            f"{self.exchange_url}/fapi/v1/klines",
            params={"symbol": symbol.split("/", maxsplit=1)[0] + "USDT", "interval": "1m",
                    "limit": 2},
            timeout=10,
        )  # fmt: skip
        answer.raise_for_status()
        return datetime.fromtimestamp(int(answer.json()[0][0]) / 1000, tz=UTC)

    def push_spread_z(
        self, leg_a: str, leg_b: str, hedge_ratio: float, target_z: float, window: int = 50
    ) -> float:
        """Shock leg A so the raw spread A − β·B sits at about `target_z`; returns the factor."""
        close_a, close_b = self.closes(leg_a, window), self.closes(leg_b, window)
        spreads = [a - hedge_ratio * b for a, b in zip(close_a, close_b, strict=True)]
        mean, sd = statistics.fmean(spreads), statistics.stdev(spreads)
        price_a, price_b = self.admin.price(leg_a), self.admin.price(leg_b)
        factor = (mean + target_z * sd + hedge_ratio * price_b) / price_a
        self.admin.price_shock(leg_a, factor=factor)
        return factor

    def download_candles(self, datadir: Path, days: int = 2) -> Path:
        return download_served_candles(self.config_path, datadir, cwd=self.folder, days=days)

    # ------------------------------------------------------------------ process
    def stop(self, timeout_s: float = 60.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def _out(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for(self, check: Callable[[], Any], timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"paper.py exited waiting for {what}:\n{self._tail()}")
            result = check()
            if result:
                return result
            time.sleep(1.0)
        raise AssertionError(f"timed out waiting for {what}:\n{self._tail()}")

    def _tail(self) -> str:
        return "\n".join((self._out() + self.log()).splitlines()[-40:])

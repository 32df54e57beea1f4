"""Crash-drill harness: the local exchange + a real `freqtrade trade`, kill -9, recovery, restart.

A drill is a script of steps on one `Drill`:

    drill.start_bot()                                  # freqtrade trade, live (dry_run false)
    drill.wait_for(lambda: len(drill.open_trades()) == 2, "both legs open")
    drill.kill9()                                      # no chance to clean up
    result, report = drill.recover()                   # scripts/state_recovery.py, as in Docker
    drill.start_bot(); ...                             # the restart after `state_recovery && ...`
    drill.assert_no_order_sent_since(mark)             # nothing sent twice

Faults are armed on the exchange (`drill.exchange.admin.inject_fault(...)`) to place the crash:
`latency` holds an order's answer (kill inside the window), `drop_response` loses it. The
harness knows nothing of the strategy: `config_changes`, `strategy` and `strategy_path` choose
it (the repository's CointPairsStrategy by default).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import RunningExchange
from statarb.recovery.ftconfig import deep_merge

REPO = Path(__file__).resolve().parents[2]
RECOVERY = REPO / "scripts" / "state_recovery.py"


def drill_config(
    exchange_url: str, root: Path, pairs: list[str], changes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The repository's config.json on the local exchange, everything under `root`;
    `changes` are merged over it (nested dicts key by key, as FreqTrade merges config files)."""
    config = json.loads((REPO / "config.json").read_text(encoding="utf-8"))
    config["exchange"] = {
        **config["exchange"],
        **freqtrade_exchange_config(exchange_url),
        "pair_whitelist": pairs,
    }
    config["freqai"]["feature_parameters"]["include_corr_pairlist"] = pairs
    config["user_data_dir"] = str(root / "user_data")
    config["datadir"] = str(root / "user_data" / "data")
    config["db_url"] = f"sqlite:///{root / 'user_data' / 'trading.db'}"
    config.pop("api_server", None)  # its secrets come from the environment in production
    config["internals"] = {"process_throttle_secs": 1}
    return deep_merge(changes or {}, config)


@dataclass
class Drill:
    root: Path
    exchange: RunningExchange
    pairs: list[str]
    strategy: str = "CointPairsStrategy"
    strategy_path: Path | None = None
    config_changes: dict[str, Any] = field(default_factory=dict)
    bot: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        (self.root / "user_data").mkdir(parents=True, exist_ok=True)
        config = drill_config(self.exchange.url, self.root, self.pairs, self.config_changes)
        self.config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")

    # -- paths ---------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def db_path(self) -> Path:
        return self.root / "user_data" / "trading.db"

    @property
    def report_path(self) -> Path:
        return self.root / "user_data" / "logs" / "recovery_report.json"

    @property
    def flag_path(self) -> Path:
        return self.root / "user_data" / "state" / "manual_review.json"

    def log_path(self, start: int | None = None) -> Path:
        return self.root / f"freqtrade-{self.starts if start is None else start}.log"

    def bot_log(self) -> str:
        path = self.log_path()
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # -- the bot -------------------------------------------------------------------------
    def start_bot(self) -> None:
        if self.bot is not None and self.bot.poll() is None:
            raise RuntimeError("the bot is already running")
        self.starts += 1
        args = [sys.executable, "-m", "freqtrade", "trade", "--config", str(self.config_path),
                "--strategy", self.strategy]  # fmt: skip
        if self.strategy_path is not None:
            args += ["--strategy-path", str(self.strategy_path)]
        with self.log_path().open("wb") as out:
            self.bot = subprocess.Popen(args, cwd=self.root, stdout=out, stderr=subprocess.STDOUT)

    def kill9(self) -> None:
        """SIGKILL: the bot gets no chance to write, cancel or close anything."""
        if self.bot is not None and self.bot.poll() is None:
            self.bot.send_signal(signal.SIGKILL)
            self.bot.wait()

    def stop(self, timeout_s: float = 60) -> int | None:
        """A clean stop (SIGTERM, as `docker stop`), SIGKILL after `timeout_s`."""
        if self.bot is None:
            return None
        if self.bot.poll() is None:
            self.bot.send_signal(signal.SIGTERM)
            try:
                self.bot.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.bot.returncode

    def wait_for(
        self, condition: Callable[[], bool], what: str, timeout_s: float = 240, poll_s: float = 0.2
    ) -> None:
        """Poll `condition` while the bot lives; fail with the bot's log tail otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            if self.bot is not None and self.bot.poll() is not None:
                raise AssertionError(f"bot exited ({self.bot.returncode}) waiting for {what}:\n"
                                     + self.bot_log()[-4000:])  # fmt: skip
            time.sleep(poll_s)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}:\n"
                             + self.bot_log()[-4000:])  # fmt: skip

    def run_loops(self, seconds: float = 5.0) -> None:
        """Let the running bot go through several loops (process_throttle_secs is 1 s here);
        fails if it dies meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.bot is None or self.bot.poll() is not None:
                raise AssertionError("bot exited while running loops:\n" + self.bot_log()[-4000:])
            time.sleep(0.2)

    # -- recovery ------------------------------------------------------------------------
    def recover(self, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        """scripts/state_recovery.py on the bot's config, as the container runs it."""
        result = subprocess.run(
            [sys.executable, str(RECOVERY), "--config", str(self.config_path), *args],
            cwd=self.root, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        report = json.loads(self.report_path.read_text()) if self.report_path.exists() else {}
        return result, report

    # -- what the world holds ----------------------------------------------------------
    def db_rows(self, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Read-only rows (an absent or still empty DB reads as no rows)."""
        if not self.db_path.exists():
            return []
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(query, params)]
        except sqlite3.OperationalError:  # tables not created yet
            return []
        finally:
            con.close()

    def open_trades(self) -> list[dict[str, Any]]:
        return self.db_rows("SELECT * FROM trades WHERE is_open = 1 ORDER BY id")

    def filled_open_trades(self) -> list[dict[str, Any]]:
        return [t for t in self.open_trades() if (t["amount"] or 0) > 0]

    def positions(self) -> dict[str, float]:
        """Binance id → signed amount, from the exchange's own books."""
        return {p["symbol"]: float(p["positionAmt"]) for p in self.exchange.admin.positions()}

    def order_log(self) -> list[dict[str, Any]]:
        return self.exchange.admin.order_log()

    def assert_no_order_sent_since(self, mark: int) -> None:
        extra = self.order_log()[mark:]
        assert not extra, f"orders sent after the mark: {extra}"

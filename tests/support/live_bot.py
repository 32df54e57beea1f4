"""A real `freqtrade trade` with the strategy against the local exchange (dry_run false, or
true for paper trading: `freqtrade={"dry_run": True}`).

The one live-bot harness, shared by the execution-safety tests (one exchange and one bot per
module: starting FreqTrade costs seconds; 2 cores) and the crash drills (one exchange and bot
per drill, on a market folder generated once: each drill kills the bot, runs
`scripts/state_recovery.py` on its config and starts it again on the same config and DB).
Nothing is mocked: FreqTrade talks to the exchange over HTTP with signed requests, and tests
steer the world through FreqTrade's REST API and the exchange's admin API.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
import requests

from statarb.atomic import atomic_write_json
from statarb.backtest.config import backtest_config, load_base_config
from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import RunningExchange, free_port, start_local_exchange
from statarb.execution.journal import IntentJournal, IntentRecord
from statarb.market import MarketSpec, PlantedPair, generate_market
from statarb.market.store import write_market
from statarb.pairs_config import PairEntry, PairsConfig, ScanWindow, write_pairs_config
from statarb.safety.review_flag import ManualReviewFlag
from statarb.settings import INTENT_JOURNAL, state_file

REPO = Path(__file__).resolve().parents[2]
STRATEGY_PATH = REPO / "user_data" / "strategies"
RECOVERY_SCRIPT = REPO / "scripts" / "state_recovery.py"
LEG_A, LEG_B = "SOL/USDT:USDT", "ADA/USDT:USDT"
OTHER_A, OTHER_B = "ETH/USDT:USDT", "XRP/USDT:USDT"
HEDGE_SOL_ADA, HEDGE_ETH_XRP = 180.0, 1400.0


def bot_environment() -> dict[str, str]:
    """The environment for a freqtrade child process.

    FreqTrade skips its own logging set-up when it sees pytest's PYTEST_* variables, which
    would make the child log through a line-wrapping console handler instead of `log_config`.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def live_market(folder: Path, *, days: int = 3, seed: int = 5) -> Path:
    """Two planted pairs; the exchange reveals the data's last hours live.

    The data ends at now, to the minute, and its volatility has no time of day or weekday in
    it: the exchange moves data by whole 8 h funding periods, so every run sees the same
    candles at the same moment of a test, whatever the wall clock says (README, "Two commands").
    """
    start = (datetime.now(UTC) - timedelta(days=days)).replace(second=0, microsecond=0)
    spec = MarketSpec(
        coins=("BTC", "ETH", "SOL", "XRP", "ADA"),
        pairs=(
            PlantedPair(
                "SOL",
                "ADA",
                hedge_ratio=HEDGE_SOL_ADA,
                half_life_candles=15,
                residual_sd_frac=0.004,
            ),
            PlantedPair(
                "ETH",
                "XRP",
                hedge_ratio=HEDGE_ETH_XRP,
                half_life_candles=20,
                residual_sd_frac=0.004,
            ),
        ),
        start=start,
        days=days,
        timeframe="1m",
        seed=seed,
        intraday_amplitude=0.0,
        weekend_vol_factor=1.0,
    )
    write_market(generate_market(spec), folder)
    return folder


PAIRS = {
    "SOL_ADA": (LEG_A, LEG_B, HEDGE_SOL_ADA),
    "ETH_XRP": (OTHER_A, OTHER_B, HEDGE_ETH_XRP),
}


def pairs_config(
    path: Path,
    *,
    window_end: datetime,
    pair_ids: tuple[str, ...] = ("SOL_ADA", "ETH_XRP"),
    overrides: dict[str, Any] | None = None,
) -> Path:
    def entry(pair_id: str) -> PairEntry:
        a, b, beta = PAIRS[pair_id]
        return PairEntry(
            pair_id=pair_id,
            leg_a=a,
            leg_b=b,
            hedge_ratio=beta,
            cointegration_stat=-6.0,
            pvalue=1e-6,
            entry_size_leg_a=1.0,
            entry_size_leg_b=beta,
            last_updated=window_end,
            **(overrides or {}),
        )

    config = PairsConfig(
        generated_at=window_end,
        timeframe="1m",
        scan_window=ScanWindow(start=window_end - timedelta(days=2), end=window_end),
        pairs=[entry(pair_id) for pair_id in pair_ids],
    )
    write_pairs_config(config, path)
    return path


@dataclass
class LiveBot:
    folder: Path
    exchange: RunningExchange
    config_path: Path
    api_port: int
    username: str
    password: str
    legs: list[str]
    dry_run: bool = False
    # Pairs locked against signal entries before the bot's first loop (it starts "stopped",
    # the locks go in through the API, then it is started): a scenario needs a bot that has
    # not traded on whatever the generated market signalled at start-up.
    locked_at_start: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.folder / "freqtrade.log"
        self._shocks: list[tuple[str, float]] = []
        self.starts = 0
        self._start_offset = 0

    # ------------------------------------------------------------------ process
    def start(self, timeout_s: float = 120.0) -> None:
        """Start `freqtrade trade` (again: same config, same DB) and wait for its first
        analysed candles; the log is appended to, and `log(since_start=True)` reads this run's."""
        if self.alive():
            raise RuntimeError("the bot is already running")
        self.starts += 1
        self._start_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "freqtrade",
                    "trade",
                    "--config",
                    str(self.config_path),
                    "--userdir",
                    str(self.user_data),
                    "--strategy",
                    "CointPairsStrategy",
                    "--strategy-path",
                    str(STRATEGY_PATH),
                ],
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=bot_environment(),
            )
        self.wait_for(
            lambda: "guarded order seam installed" in self.log(since_start=True) and self.ping(),
            timeout_s,
            "the bot to start",
        )
        if self.locked_at_start:
            lock_pairs(self, self.locked_at_start)
            assert self.call("POST", "start").ok
        self.wait_for(self.analysed, timeout_s, "the first analysed candles of every leg")

    def analysed(self) -> bool:
        """Every leg's analysed frame carries a spread z-score (FreqTrade ran the strategy)."""
        for pair in self.legs:
            answer = self.call("GET", "pair_candles", params={"pair": pair, "timeframe": "1m"})
            if not answer.ok or "spread_z" not in answer.json().get("columns", []):
                return False
        return True

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 40.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the crash the recovery script exists for."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    @property
    def user_data(self) -> Path:
        return self.folder / "user_data"

    @property
    def db_path(self) -> Path:
        return self.user_data / "trading.db"

    def log(self, *, since_start: bool = False) -> str:
        """The bot's log (every run so far), or only the current run's part."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as handle:
            handle.seek(self._start_offset if since_start else 0)
            return handle.read().decode(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ------------------------------------------------------------------ recovery and state
    def recover(self, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        """`scripts/state_recovery.py` on the bot's config, as the container runs it before
        `freqtrade trade`; returns the process result and the report it wrote."""
        report_path = self.user_data / "logs" / "recovery_report.json"
        report_path.unlink(missing_ok=True)
        result = subprocess.run(
            [sys.executable, str(RECOVERY_SCRIPT), "--config", str(self.config_path), *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        return result, report

    @property
    def review_flag(self) -> ManualReviewFlag:
        """The flag this run's strategy raises (a dry run has its own file)."""
        path = self.user_data / "state" / "manual_review.json"
        return ManualReviewFlag(state_file(path, dry_run=self.dry_run))

    @property
    def journal_path(self) -> Path:
        return state_file(self.user_data / INTENT_JOURNAL, dry_run=self.dry_run)

    def intents(self) -> list[IntentRecord]:
        """The strategy's order-intent journal as it is on disk now."""
        path = self.journal_path
        return IntentJournal(path).records() if path.exists() else []

    def order_log(self) -> list[dict[str, Any]]:
        """Every order request the exchange received, in arrival order, with its outcome."""
        return self.exchange.admin.order_log()

    # ------------------------------------------------------------------ REST API
    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    def ping(self) -> bool:
        try:
            return requests.get(f"{self.api}/ping", timeout=2).ok
        except requests.RequestException:
            return False

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.api}/{path}",
            auth=(self.username, self.password),
            timeout=30,
            **kwargs,
        )

    def force_enter(self, pair: str, side: str) -> requests.Response:
        return self.call("POST", "forceenter", json={"pair": pair, "side": side})

    def force_exit_all(self) -> requests.Response:
        return self.call("POST", "forceexit", json={"tradeid": "all"})

    def candles(self, pair: str) -> list[dict[str, Any]]:
        answer = self.call("GET", "pair_candles", params={"pair": pair, "timeframe": "1m"})
        answer.raise_for_status()
        body = answer.json()
        return [dict(zip(body["columns"], row, strict=True)) for row in body["data"]]

    # ------------------------------------------------------------------ steering the market
    def push_spread_z(
        self,
        target_z: float,
        leg_a: str = LEG_A,
        leg_b: str = LEG_B,
        hedge_ratio: float = HEDGE_SOL_ADA,
        window: int = 50,
    ) -> float:
        """Shock leg A's price so the spread's live z is about `target_z`; returns the factor."""
        closes_b = {r["date"]: r["close"] for r in self.candles(leg_b)}
        rows = [r for r in self.candles(leg_a) if r["date"] in closes_b][-window:]
        spreads = [r["close"] - hedge_ratio * closes_b[r["date"]] for r in rows]
        mean = sum(spreads) / len(spreads)
        std = (sum((x - mean) ** 2 for x in spreads) / (len(spreads) - 1)) ** 0.5
        price_a = self.exchange.admin.price(leg_a)
        price_b = self.exchange.admin.price(leg_b)
        wanted_a = mean + target_z * std + hedge_ratio * price_b
        factor = wanted_a / price_a
        self.exchange.admin.price_shock(leg_a, factor=factor)
        self._shocks.append((leg_a, factor))
        return factor

    def push_until(
        self,
        target_z: float,
        condition: Callable[[], Any],
        timeout_s: float,
        what: str,
        **leg: Any,
    ) -> Any:
        """Push the spread to `target_z` and again at every candle until `condition` holds.

        The generated market keeps moving (a jump can land right after a push and carry the
        spread back out of a band for minutes), so a scenario that needs the spread at a level
        holds it there rather than pushing once and hoping.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self.push_spread_z(target_z, **leg)
            until_next_candle = 65 - datetime.now(UTC).second
            left = deadline - time.monotonic()
            try:
                return self.wait_for(condition, max(1.0, min(until_next_candle, left)), what)
            except AssertionError:
                if time.monotonic() >= deadline or not self.alive():
                    raise

    def undo_shocks(self) -> None:
        while self._shocks:
            symbol, factor = self._shocks.pop()
            self.exchange.admin.price_shock(symbol, factor=1 / factor)

    # ------------------------------------------------------------------ database (read-only)
    def rows(self, query: str) -> list[dict[str, Any]]:
        if not self.db_path.exists():
            return []
        try:
            with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5) as db:
                db.row_factory = sqlite3.Row
                return [dict(r) for r in db.execute(query)]
        except sqlite3.OperationalError:
            return []

    def open_trades(self) -> list[dict[str, Any]]:
        return self.rows("select * from trades where is_open = 1")

    # ------------------------------------------------------------------ waiting
    def wait_for(self, condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"freqtrade exited while waiting for {what}:\n" + self.log()[-5000:]
                )
            result = condition()
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(
            f"timed out after {timeout_s:.0f}s waiting for {what}:\n" + self.log()[-5000:]
        )

    def run_loops(self, seconds: float) -> None:
        """Let the running bot go through several loops (process_throttle_secs is 1 s here);
        fails if it dies meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError("freqtrade exited while running loops:\n" + self.log()[-5000:])
            time.sleep(0.2)

    # ------------------------------------------------------------------ both sides
    def exchange_positions(self) -> dict[str, float]:
        """Signed position quantity per ccxt symbol, from the exchange's own records."""
        out = {}
        for p in self.exchange.admin.positions():
            amount = float(p.get("positionAmt", 0))
            if amount:
                symbol = str(p["symbol"])
                out[symbol.replace("USDT", "/USDT:USDT", 1) if "/" not in symbol else symbol] = (
                    amount
                )
        return out

    def bot_positions(self) -> dict[str, float]:
        return {
            t["pair"]: -float(t["amount"]) if t["is_short"] else float(t["amount"])
            for t in self.open_trades()
        }


def start_live_bot(
    folder: Path,
    *,
    statarb: dict[str, Any] | None = None,
    freqtrade: dict[str, Any] | None = None,
    live_hours: float = 3.0,
    pair_ids: tuple[str, ...] = ("SOL_ADA", "ETH_XRP"),
    pair_overrides: dict[str, Any] | None = None,
    whitelist: list[str] | None = None,
    market: Path | None = None,
    order_mode: str = "taker",
    signal_entries_locked: bool = False,
) -> LiveBot:
    """Exchange + config + a started bot in `folder`; `market` reuses a generated market folder
    (generating one costs seconds). `signal_entries_locked`: every leg is locked against
    signal entries before the first loop (scenarios unlock what they trade)."""
    market = market or live_market(folder / "market")
    exchange = start_local_exchange(
        market,
        log_path=folder / "exchange.log",
        state_path=folder / "exchange-state.json",
        extra_args=("--live-hours", str(live_hours)),
    )
    user_data = folder / "user_data"
    for sub in ("logs", "state", "data"):
        (user_data / sub).mkdir(parents=True, exist_ok=True)
    pairs = pairs_config(
        folder / "pairs_config.json",
        window_end=datetime.now(UTC) - timedelta(minutes=2),
        pair_ids=pair_ids,
        overrides=pair_overrides,
    )
    legs = whitelist or [leg for pair_id in pair_ids for leg in PAIRS[pair_id][:2]]
    api_port = free_port()
    username, password = "tester", secrets.token_hex(12)
    config = backtest_config(
        load_base_config(),
        exchange_section=freqtrade_exchange_config(exchange.url),
        whitelist=legs,
        timeframe="1m",
        user_data_dir=user_data,
        pairs_config=pairs,
        freqai=False,
        # The execution-safety scenarios are written for market orders (an order fills at once
        # or the fault under test decides); maker-first orders have their own live test
        # (tests/bot/test_costs_live.py).
        order_mode=order_mode,
        statarb_overrides={
            "max_risk_percent": 10.0,
            "leverage": 2.0,
            "stop_cooldown_candles": 1,
            **(statarb or {}),
        },
        freqtrade_overrides={
            "dry_run": False,
            "dry_run_wallet": 10_000,
            "initial_state": "stopped" if signal_entries_locked else "running",
            "force_entry_enable": True,
            "internals": {"process_throttle_secs": 1, "heartbeat_interval": 10},
            "unfilledtimeout": {
                "entry": 10,
                "exit": 10,
                "exit_timeout_count": 0,
                "unit": "seconds",
            },
            **(freqtrade or {}),
        },
    )
    config["db_url"] = f"sqlite:///{user_data / 'trading.db'}"
    config["api_server"].update(
        {
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": api_port,
            "username": username,
            "password": password,
        }
    )
    config_path = folder / "config.json"
    atomic_write_json(config_path, config)
    bot = LiveBot(
        folder,
        exchange,
        config_path,
        api_port,
        username,
        password,
        legs,
        config["dry_run"],
        locked_at_start=tuple(legs) if signal_entries_locked else (),
    )
    try:
        bot.start()
    except BaseException:
        bot.kill()
        exchange.stop()
        raise
    return bot


@contextmanager
def running_live_bot(folder: Path, **options: Any) -> Iterator[LiveBot]:
    """`start_live_bot` for a `with` block (a module fixture): bot and exchange stop after."""
    running = start_live_bot(folder, **options)
    try:
        yield running
    finally:
        running.stop()
        running.exchange.stop()


def accepted_twice(orders: list[dict[str, Any]]) -> dict[str, int]:
    """Client order ids the exchange accepted more than once (a duplicate order)."""
    accepted = Counter(o["newClientOrderId"] for o in orders if o.get("outcome") == "accepted")
    return {cid: n for cid, n in accepted.items() if n > 1}


def assert_sides_agree(bot: LiveBot) -> None:
    """The exchange holds exactly what FreqTrade's open trades say, symbol by symbol."""
    exchange, mine = bot.exchange_positions(), bot.bot_positions()
    assert set(exchange) == set(mine), (exchange, mine)
    for symbol, qty in mine.items():
        assert exchange[symbol] == pytest.approx(qty, abs=1e-9), (symbol, exchange, mine)


def sides_agree(bot: LiveBot) -> bool:
    try:
        assert_sides_agree(bot)
    except AssertionError:
        return False
    return True


def flat(bot: LiveBot) -> bool:
    """No open trade in the bot, no position on the exchange."""
    return not bot.open_trades() and not bot.exchange_positions()


def new_lines(bot: LiveBot, since: int) -> str:
    """The bot's log written after offset `since` (a `len(bot.log())` taken earlier)."""
    return bot.log()[since:]


def lock_pairs(bot: LiveBot, pairs: Iterable[str]) -> None:
    """FreqTrade's own pair locks against signal entries, for an hour (a person's forced entry
    and the hedging plan are not bound by them)."""
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    locks = [{"pair": pair, "until": until, "reason": "test: scenario set-up"} for pair in pairs]
    assert bot.call("POST", "locks", json=locks).ok


def lock_signal_entries(bot: LiveBot) -> None:
    """Lock both legs against signal entries and start flat: a spread the strategy opened on
    its own signal meanwhile would race the scenario's own. A spread caught entering is closed
    again until it stays closed (its second leg may still be recorded, or completed by the
    hedging plan, after the first force-exit)."""
    lock_pairs(bot, (LEG_A, LEG_B))
    bot.run_loops(3)  # an entry already under way when the locks came
    deadline = time.monotonic() + 120
    while not flat(bot) and time.monotonic() < deadline:
        if bot.open_trades():
            bot.force_exit_all()
        bot.run_loops(15)
    assert flat(bot), f"not flat before the scenario: {bot.open_trades()}"


def unlock_signal_entries(bot: LiveBot) -> None:
    for pair in (LEG_A, LEG_B):
        assert bot.call("POST", "locks/delete", json={"pair": pair}).ok


ORDER_ENDPOINT = "orders"  # one order, or the batch that carries it (two legs in one request)


class SteersTheSpread(Protocol):
    """A test harness around a running bot: its REST API and a patient wait."""

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response: ...

    def wait_for(self, condition: Callable[[], Any], timeout_s: float, what: str) -> Any: ...


def analysed_z(harness: SteersTheSpread, pair: str) -> tuple[datetime, float] | None:
    """The bot's own spread z on its last analysed (closed) candle of `pair`, with the candle's
    open time: what its entry decision reads, not a re-computation."""
    answer = harness.call("GET", "pair_candles", params={"pair": pair, "timeframe": "1m"})
    if not answer.ok:
        return None
    body = answer.json()
    if not body.get("data") or "spread_z" not in body.get("columns", []):
        return None
    last = dict(zip(body["columns"], body["data"][-1], strict=True))
    if last["spread_z"] is None:
        return None
    return datetime.fromisoformat(str(last["date"])).astimezone(UTC), float(last["spread_z"])


def push_until_a_candle_closes_in_band(
    harness: SteersTheSpread,
    push: Callable[[], object],
    *,
    side: float,
    band: tuple[float, float],
    tries: int = 4,
) -> None:
    """`push` the spread until the bot's own z on a closed candle of leg A is inside `band`
    (entry < |z| < stop, on `side`'s sign).

    The market keeps moving between a push and the candle's close, and the pushed close joins
    its own rolling window: one push can land short of the band (where a backtest rightly
    trades nothing either), so the bot's z is read, not assumed.
    """
    entry, stop = band
    seen: list[float] = []
    for _ in range(tries):
        push()
        pushed_at = datetime.now(UTC).replace(second=0, microsecond=0)
        _, z = harness.wait_for(
            lambda since=pushed_at: (a := analysed_z(harness, LEG_A)) and a[0] >= since and a,
            150,
            "the bot's analysis of a candle closed pushed",
        )
        seen.append(round(z, 2))
        if z * side > 0 and entry < abs(z) < stop:
            return
    raise AssertionError(f"the pushed candles' z never closed inside {band}: {seen}")


def signal_with_leg_a_held(
    bot: LiveBot,
    *,
    symbol: str,
    z: float,
    hold_ms: int,
    log_start: int,
    band: tuple[float, float] = (2.0, 4.0),
) -> str:
    """A signal spread whose leg A entry request the exchange holds for `hold_ms` (the test
    moves prices meanwhile): pushes the spread to `z`, unlocks signal entries once a candle
    closed inside the entry `band` (so the signal traded is this one) and returns the log line
    sending leg A (its `side=` says the spread's direction)."""
    bot.exchange.admin.inject_fault(
        "latency", endpoint=ORDER_ENDPOINT, symbol=symbol, reduce_only=False, latency_ms=hold_ms
    )
    push_until_a_candle_closes_in_band(bot, lambda: bot.push_spread_z(z), side=z, band=band)
    unlock_signal_entries(bot)
    sent = bot.wait_for(
        lambda: [
            line
            for line in new_lines(bot, log_start).splitlines()
            if "sending leg" in line and "leg=A" in line
        ],
        150,
        "the spread's leg A to be sent",
    )
    return sent[0]


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)

"""Real ``freqtrade`` processes against the local exchange: download-data, backtesting, and a
live (dry_run false, futures, isolated) round trip whose fills, fees and P&L must agree between
FreqTrade's database and the exchange's own records."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_stats

from statarb.exchange.client_config import ccxt_config, freqtrade_exchange_config
from statarb.exchange.launcher import RunningExchange, start_local_exchange

pytestmark = pytest.mark.bot

STRATEGY_DIR = Path(__file__).parent / "strategies"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]  # live: BTC long, ETH short
HOLD_SECONDS = 8


def freqtrade(args: list[str], cwd: Path, timeout_s: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "freqtrade", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def write_config(folder: Path, exchange_url: str) -> Path:
    config = {
        "max_open_trades": 2,
        "stake_currency": "USDT",
        "stake_amount": 300,
        "tradable_balance_ratio": 0.99,
        "dry_run": False,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "timeframe": "1m",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {
            "entry": "market",
            "exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": False,
        },
        "pairlists": [{"method": "StaticPairList"}],
        "internals": {"process_throttle_secs": 1},
        "bot_name": "local-exchange-probe",
        "initial_state": "running",
        "user_data_dir": str(folder / "user_data"),
        "datadir": str(folder / "user_data" / "data"),
        "db_url": f"sqlite:///{folder / 'user_data' / 'trading.db'}",
        "probe_hold_seconds": HOLD_SECONDS,
        "exchange": {**freqtrade_exchange_config(exchange_url), "pair_whitelist": PAIRS},
    }
    (folder / "user_data").mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


@pytest.fixture(scope="module")
def world(
    sample_market_datadir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningExchange, Path]]:
    folder = tmp_path_factory.mktemp("freqtrade")
    running = start_local_exchange(
        sample_market_datadir, log_path=folder / "exchange.log", state_path=folder / "state.json"
    )
    try:
        yield running, write_config(folder, running.url)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def downloaded(world: tuple[RunningExchange, Path]) -> Path:
    _, config = world
    result = freqtrade(
        ["download-data", "--config", str(config), "--timeframes", "1m", "5m", "--days", "2"],
        cwd=config.parent,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return config.parent / "user_data" / "data" / "binance" / "futures"


def test_download_data_stores_the_exchanges_candles_mark_and_funding(
    world: tuple[RunningExchange, Path], downloaded: Path
):
    running, _ = world
    names = {p.name for p in downloaded.glob("*.feather")}
    for base in ("BTC", "ETH"):
        for suffix in ("1m-futures", "5m-futures", "1h-mark", "1h-funding_rate"):
            assert f"{base}_USDT_USDT-{suffix}.feather" in names
    stored = pd.read_feather(downloaded / "ETH_USDT_USDT-5m-futures.feather")
    assert len(stored) > 500
    client = ccxt.binance(ccxt_config(running.url))
    served = client.fetch_ohlcv(
        "ETH/USDT:USDT", "5m", since=int(stored["date"].iloc[-40].timestamp() * 1000), limit=20
    )
    for ts, o, h, low, c, _ in served:
        row = stored[stored["date"] == pd.Timestamp(ts, unit="ms", tz="UTC")].iloc[0]
        assert (row["open"], row["high"], row["low"], row["close"]) == pytest.approx((o, h, low, c))
    funding = pd.read_feather(downloaded / "BTC_USDT_USDT-1h-funding_rate.feather")
    assert (funding["date"].dt.hour % 8 == 0).all()


def test_backtesting_runs_futures_isolated_on_the_downloaded_data(
    world: tuple[RunningExchange, Path], downloaded: Path
):
    _, config = world
    result = freqtrade(
        ["backtesting", "--config", str(config), "--strategy", "LocalExchangeProbe",
         "--strategy-path", str(STRATEGY_DIR), "--export", "trades"],
        cwd=config.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stats = load_backtest_stats(config.parent / "user_data" / "backtest_results")
    strategy = stats["strategy"]["LocalExchangeProbe"]
    assert strategy["total_trades"] > 10
    assert (strategy["trading_mode"], strategy["margin_mode"]) == ("futures", "isolated")
    assert {p["key"] for p in strategy["results_per_pair"]} >= set(PAIRS)


def _db_rows(db: Path, query: str) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute(query)]


def _closed_trades(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    try:
        return _db_rows(db, "select * from trades where is_open = 0")
    except sqlite3.OperationalError:  # tables not created yet
        return []


def test_live_round_trip_agrees_with_the_exchange(world: tuple[RunningExchange, Path]):
    running, config = world
    client = ccxt.binance(ccxt_config(running.url))
    wallet_before = float(client.fetch_balance()["info"]["totalWalletBalance"])
    db = config.parent / "user_data" / "trading.db"
    log = config.parent / "freqtrade-live.log"
    with log.open("wb") as out:
        bot = subprocess.Popen(
            [sys.executable, "-m", "freqtrade", "trade", "--config", str(config),
             "--strategy", "LocalExchangeProbe", "--strategy-path", str(STRATEGY_DIR)],
            cwd=config.parent, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while len(_closed_trades(db)) < len(PAIRS) and time.monotonic() < deadline:
            assert bot.poll() is None, log.read_text()[-4000:]
            time.sleep(1)
    finally:
        bot.send_signal(signal.SIGINT)
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()
    trades = _closed_trades(db)
    assert len(trades) == len(PAIRS), log.read_text()[-4000:]
    orders = _db_rows(db, "select * from orders")
    exchange_trades = running.admin.trades()
    exchange_orders = {o["orderId"]: o for o in running.admin.orders()}

    assert {t["pair"]: bool(t["is_short"]) for t in trades} == {PAIRS[0]: False, PAIRS[1]: True}
    assert len(orders) == 4
    for order in orders:  # every order FreqTrade knows is the exchange's, filled as it says
        ex = exchange_orders[int(order["order_id"])]
        assert (ex["status"], float(ex["executedQty"])) == ("FILLED", order["filled"])
        assert float(ex["cumQuote"]) == pytest.approx(order["cost"])
    assert len(exchange_orders) == 4  # and the exchange saw no other order

    for trade in trades:
        fills = {
            o["ft_order_side"]: [t for t in exchange_trades if str(t["orderId"]) == o["order_id"]]
            for o in orders
            if o["ft_trade_id"] == trade["id"]
        }
        entry_side, exit_side = ("sell", "buy") if trade["is_short"] else ("buy", "sell")
        entry, exit_ = fills[entry_side], fills[exit_side]
        assert trade["open_rate"] == pytest.approx(float(entry[0]["price"]))
        assert trade["close_rate"] == pytest.approx(float(exit_[0]["price"]))
        assert trade["amount"] == pytest.approx(sum(float(f["qty"]) for f in entry))
        commission_open = sum(float(f["commission"]) for f in entry)
        commission_close = sum(float(f["commission"]) for f in exit_)
        assert trade["fee_open"] == pytest.approx(commission_open / float(entry[0]["quoteQty"]))
        assert trade["fee_close_cost"] == pytest.approx(commission_close)
        realized = sum(float(f["realizedPnl"]) for f in entry + exit_)
        funding = sum(  # zero unless 00/08/16 UTC fell inside the few seconds held
            float(f["income"])
            for f in client.fapiPrivateGetIncome({"incomeType": "FUNDING_FEE"})
            if f["symbol"] == trade["pair"].split("/")[0] + "USDT"
        )
        assert trade["funding_fees"] == pytest.approx(funding, abs=1e-8)
        assert trade["close_profit_abs"] == pytest.approx(
            realized - commission_open - commission_close + funding, abs=1e-6
        )

    wallet_after = float(client.fetch_balance()["info"]["totalWalletBalance"])
    assert wallet_after - wallet_before == pytest.approx(
        sum(t["close_profit_abs"] for t in trades), abs=1e-6
    )
    assert client.fetch_positions() == []

#!/usr/bin/env python3
"""Time scripts/state_recovery.py from start to report written (issue 6; target: < 2 s all in).

Set-up (not timed): a generated market of 10 real symbols on the local exchange (a real
subprocess), 5 spreads open on it (10 legs, real market orders: 10 fills in the last 24 h),
and a trading.db written with FreqTrade's own persistence models holding 10,000 trades: the
10 open legs plus 9,990 closed ones spread over the last 60 days (entry + exit order each,
a spread tag each, ~200 closed in the last 24 h), so the reading is FreqTrade's real schema.

Timed, median of --runs:
- all in: `python scripts/state_recovery.py -c config.json` as a subprocess, from spawn to
  exit (interpreter start, imports, config, DB, exchange, report, flag);
- in-process: `run_recovery()` in this warm interpreter (imports excluded), with its phases.
For the record it also times the imports the choice in `statarb.recovery.ftconfig` avoids
(FreqTrade's `Configuration`) and a bare interpreter.

    ./run bench/recovery_bench.py [--runs 7] [--trades 10000]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ccxt

from statarb.exchange.client_config import ccxt_config, freqtrade_exchange_config
from statarb.exchange.launcher import RunningExchange, start_local_exchange
from statarb.market import default_spec, generate_market
from statarb.market.store import write_market
from statarb.recovery.runner import RecoveryOptions, run_recovery
from statarb.recovery.tradedb import OrderSpec, TradeSpec, write_trades
from statarb.spread.client_ids import Leg, OrderIntent, Purpose
from statarb.spread.legs import LegTag

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "state_recovery.py"
N_SYMBOLS = 10
NOTIONAL_USDT = 300.0


def open_spreads(
    exchange: RunningExchange, symbols: list[str]
) -> tuple[list[TradeSpec], list[str]]:
    """Pair the symbols up, open both legs with market orders, return their DB trades."""
    client = ccxt.binance(ccxt_config(exchange.url))
    client.load_markets()
    opened_at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    trades, pair_ids = [], []
    for index in range(0, len(symbols) - 1, 2):
        leg_a, leg_b = symbols[index], symbols[index + 1]
        pair_id = f"PAIR_{index // 2 + 1:03d}"
        pair_ids.append(pair_id)
        price = {s: float(exchange.admin.price(client.market(s)["id"])) for s in (leg_a, leg_b)}
        qty_a = float(client.amount_to_precision(leg_a, NOTIONAL_USDT / price[leg_a]))
        ratio = price[leg_a] / price[leg_b]
        qty_b = float(client.amount_to_precision(leg_b, qty_a * ratio))
        for leg, symbol, qty, side in ((Leg.A, leg_a, qty_a, "BUY"), (Leg.B, leg_b, qty_b, "SELL")):
            market_id = client.market(symbol)["id"]
            client.fapiPrivatePostMarginType({"symbol": market_id, "marginType": "ISOLATED"})
            client.fapiPrivatePostLeverage({"symbol": market_id, "leverage": 2})
            cid = OrderIntent(pair_id, opened_at, leg, Purpose.ENTRY).client_order_id
            placed = client.fapiPrivatePostOrder(
                {"symbol": market_id, "side": side, "type": "MARKET",
                 "quantity": client.amount_to_precision(symbol, qty), "newClientOrderId": cid}
            )  # fmt: skip
            order = client.fapiPrivateGetOrder({"symbol": market_id, "orderId": placed["orderId"]})
            filled, avg = float(order["executedQty"]), float(order["avgPrice"])
            tag = LegTag(pair_id, opened_at, leg, 1, ratio, leg_a, leg_b, 50, qty)
            trades.append(
                TradeSpec(
                    pair=symbol, is_short=side == "SELL", qty_base=filled, open_rate=avg,
                    open_date=opened_at + timedelta(minutes=1), enter_tag=pair_id, tag=tag,
                    orders=[OrderSpec(str(order["orderId"]), side.lower(), filled, filled, avg)],
                )
            )  # fmt: skip
    return trades, pair_ids


def closed_trades(symbols: list[str], count: int, start_id: int) -> list[TradeSpec]:
    """History: closed legs over 60 days, newest last (~200 closed in the last 24 h)."""
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        symbol = symbols[i % len(symbols)]
        opened = now - timedelta(days=60) + timedelta(minutes=i * 60 * 24 * 60 / count)
        closed = opened + timedelta(minutes=30)
        short = i % 2 == 1
        entry, exit_ = ("sell", "buy") if short else ("buy", "sell")
        tag = LegTag(f"PAIR_{i % 5 + 1:03d}", opened.replace(second=0, microsecond=0),
                     Leg.A if i % 2 == 0 else Leg.B, 1, 2.0, symbol, symbol, 50, 1.0)  # fmt: skip
        out.append(
            TradeSpec(
                pair=symbol, is_short=short, qty_base=1.0, open_rate=100.0, open_date=opened,
                is_open=False, close_date=closed, close_rate=101.0, enter_tag=tag.pair_id,
                tag=tag,
                orders=[
                    OrderSpec(str(start_id + 2 * i), entry, 1.0, 1.0, 100.0),
                    OrderSpec(str(start_id + 2 * i + 1), exit_, 1.0, 1.0, 101.0, is_entry=False),
                ],
            )
        )  # fmt: skip
    return out


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.0f} ms (min {min(samples):.0f}, max {max(samples):.0f})"


def timed_subprocess(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--trades", type=int, default=10_000)
    args = parser.parse_args()
    logging.getLogger("statarb.recovery").setLevel(logging.ERROR)  # its [SAFETY] lines: noise here
    if args.runs < 1 or args.trades < N_SYMBOLS:
        parser.error("--runs >= 1 and --trades >= 10")
    with tempfile.TemporaryDirectory(prefix="recovery-bench-") as tmp:
        root = Path(tmp)
        market = generate_market(default_spec(days=2, n_coins=N_SYMBOLS, n_pairs=2, seed=6))
        write_market(market, root / "market")
        symbols = list(market.candles)
        exchange = start_local_exchange(root / "market", log_path=root / "exchange.log")
        try:
            bot = root / "bot"
            (bot / "user_data").mkdir(parents=True)
            config = json.loads((REPO / "config.json").read_text(encoding="utf-8"))
            config["exchange"] = {
                **config["exchange"],
                **freqtrade_exchange_config(exchange.url),
                "pair_whitelist": symbols,
            }
            (bot / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
            t0 = time.perf_counter()
            legs, _ = open_spreads(exchange, symbols)
            history = closed_trades(symbols, args.trades - len(legs), start_id=9_000_000_000)
            write_trades(bot / "user_data" / "trading.db", [*history, *legs])
            setup_s = time.perf_counter() - t0
            db_mb = (bot / "user_data" / "trading.db").stat().st_size / 1e6

            command = [sys.executable, str(SCRIPT), "-c", "config.json"]
            timed_subprocess(command, bot)  # warm the OS file cache once
            all_in = [timed_subprocess(command, bot) for _ in range(args.runs)]
            report = json.loads((bot / "user_data/logs/recovery_report.json").read_text())

            options = RecoveryOptions(config_files=["config.json"], cwd=bot, environ={})
            phases: dict[str, list[float]] = {}
            in_process = []
            for _ in range(args.runs + 1):
                start = time.perf_counter()
                outcome = run_recovery(options)
                in_process.append((time.perf_counter() - start) * 1000)
                for name, value in outcome.report["timings_ms"].items():
                    phases.setdefault(name, []).append(value)
            in_process = in_process[1:]

            bare = [timed_subprocess([sys.executable, "-c", "pass"], bot) for _ in range(3)]
            freqtrade_config = [
                timed_subprocess(
                    [sys.executable, "-c", "from freqtrade.configuration import Configuration"],
                    bot,
                )
                for _ in range(3)
            ]
        finally:
            exchange.stop()

    print(
        f"recovery bench: {N_SYMBOLS} symbols, {args.trades} trades in the DB ({db_mb:.1f} MB, "
        f"{len(legs)} open legs), {args.runs} runs; set-up {setup_s:.1f} s"
    )
    print(
        f"  status {report['recovery_status']}, findings {len(report['findings'])}, "
        f"open_orders {report['open_orders']}, recent_trades {report['recent_trades']}"
    )
    print(
        f"  all in (subprocess, interpreter start included): {median_ms(all_in)}  target < 2000 ms"
    )
    print(f"  in-process (imports excluded):                  {median_ms(in_process)}")
    for name, values in phases.items():
        print(f"    {name:<10} {statistics.median(values):7.1f} ms")
    print(f"  for reference: bare interpreter {statistics.median(bare):.0f} ms; importing "
          f"FreqTrade's Configuration {statistics.median(freqtrade_config):.0f} ms "
          "(avoided, see statarb.recovery.ftconfig)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

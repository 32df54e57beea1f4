#!/usr/bin/env python3
"""Order round trip against the local exchange: ccxt create_order (market) + fetch_order.

Starts the exchange as a real subprocess (as the bot meets it), sends ``--orders`` market orders
(buy/sell alternating, so the position stays flat) each followed by a fetch of that order, and
prints the median and p90 round trip in milliseconds — once without a state file and once with
durable state (every accepted order is written with ``statarb.atomic`` before the answer leaves).

Without ``--datadir`` a small synthetic market is written to a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import ccxt
import numpy as np
import pandas as pd

from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import start_local_exchange

SYMBOL = "ETH/USDT:USDT"


def write_synthetic_market(datadir: Path, days: int = 2) -> None:
    """2 days of 1m ETH and BTC candles (random walk), FreqTrade's feather layout."""
    folder = datadir / "binance" / "futures"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    n = days * 1440
    dates = pd.date_range("2026-01-01", periods=n, freq="1min", tz="UTC")
    for base, start in (("BTC", 60_000.0), ("ETH", 3_000.0)):
        close = start * np.exp(np.cumsum(rng.normal(0, 0.0007, n)))
        open_ = np.concatenate([[start], close[:-1]])
        frame = pd.DataFrame(
            {
                "date": dates,
                "open": open_,
                "high": np.maximum(open_, close) * 1.0003,
                "low": np.minimum(open_, close) * 0.9997,
                "close": close,
                "volume": np.full(n, 100.0),
            }
        )
        frame.to_feather(folder / f"{base}_USDT_USDT-1m-futures.feather")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def run(datadir: Path, orders: int, state_path: Path | None, log_path: Path) -> list[float]:
    exchange = start_local_exchange(datadir, log_path=log_path, state_path=state_path)
    try:
        client = ccxt.binance(ccxt_config(exchange.url))
        client.load_markets()
        for _ in range(5):  # warm up connections and caches
            order = client.create_order(SYMBOL, "market", "buy", 0.01)
            client.create_order(SYMBOL, "market", "sell", 0.01)
        timings: list[float] = []
        for i in range(orders):
            side = "buy" if i % 2 == 0 else "sell"
            started = time.perf_counter()
            order = client.create_order(SYMBOL, "market", side, 0.01)
            fetched = client.fetch_order(order["id"], SYMBOL)
            timings.append((time.perf_counter() - started) * 1000)
            if fetched["status"] != "closed":
                raise RuntimeError(f"order {order['id']} not filled: {fetched['status']}")
        return timings
    finally:
        exchange.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--datadir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        datadir = args.datadir
        if datadir is None:
            datadir = folder / "data"
            write_synthetic_market(datadir)
        results = {
            "no state file": run(datadir, args.orders, None, folder / "a.log"),
            "durable state (--state)": run(
                datadir, args.orders, folder / "state.json", folder / "b.log"
            ),
        }
    print(f"order round trip (ccxt create_order market + fetch_order), {args.orders} orders")
    for name, timings in results.items():
        print(
            f"  {name:<24} median {statistics.median(timings):6.2f} ms   "
            f"p90 {percentile(timings, 90):6.2f} ms   max {max(timings):6.2f} ms"
        )
    print(f"median round trip: {statistics.median(results['no state file']):.2f} ms")


if __name__ == "__main__":
    main()

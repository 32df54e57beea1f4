#!/usr/bin/env python3
"""How long a default market takes to generate and to write (20 coins x 30 days of 1m).

    ./run bench/market_speed.py [--coins 20] [--days 30] [--timeframe 1m] [--repeat 3]

Prints the best of `--repeat` runs for generation (pure numpy) and for writing the FreqTrade
feather files (FreqTrade's own handler, lz4), into a temporary folder that is removed after.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from statarb.market import default_spec, generate_market
from statarb.market.store import write_market


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coins", type=int, default=20)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--timeframe", default="1m")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    spec = default_spec(days=args.days, timeframe=args.timeframe, seed=0, n_coins=args.coins)
    gen_s, write_s = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        market = generate_market(spec)
        gen_s.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            write_market(market, out)
            write_s.append(time.perf_counter() - t0)
    rows = spec.n_candles * len(spec.coins)
    size = f"{len(spec.coins)} coins x {spec.n_candles} {spec.timeframe} candles"
    print(f"market: {size} = {rows:,} rows")
    print(f"generate: {min(gen_s):.2f} s ({rows / min(gen_s):,.0f} rows/s)")
    print(f"write (futures + 1h mark + funding, feather): {min(write_s):.2f} s")
    print(f"total: {min(gen_s) + min(write_s):.2f} s")


if __name__ == "__main__":
    main()

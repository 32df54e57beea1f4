#!/usr/bin/env python3
"""Generate a synthetic Binance USDT-M futures market into a FreqTrade datadir.

Example:
    ./run scripts/generate_market.py --out demo_output/market --days 30 --timeframe 1m --seed 7 \
        --extra-timeframes 5m 1h
then: freqtrade backtesting --datadir demo_output/market/binance ...
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from statarb.market import (
    DEFAULT_UNIVERSE,
    MarketSpecError,
    default_spec,
    generate_market,
)
from statarb.market.spec import DEFAULT_START, TIMEFRAME_MINUTES
from statarb.market.store import MarketStoreError, write_market


def _utc(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date/time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a bare date means UTC, never local time
    return value.astimezone(UTC)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="output folder (datadir = OUT/binance)")
    p.add_argument("--days", type=float, default=30.0, help="length of the market in days")
    p.add_argument("--timeframe", default="1m", choices=sorted(TIMEFRAME_MINUTES, key=len))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--coins", type=int, default=20, help=f"universe size (<= {len(DEFAULT_UNIVERSE)})"
    )
    p.add_argument("--pairs", type=int, default=3, help="planted cointegrated pairs")
    p.add_argument(
        "--start", type=_utc, default=DEFAULT_START, help="first candle, UTC on a whole hour"
    )
    p.add_argument(
        "--extra-timeframes", nargs="*", default=[], metavar="TF",
        help="also write these timeframes, resampled from the base (e.g. 5m 1h)",
    )  # fmt: skip
    p.add_argument(
        "--clean", action="store_true",
        help="delete candle files of another market found in OUT/binance/futures",
    )  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        t0 = time.perf_counter()
        spec = default_spec(
            days=args.days, timeframe=args.timeframe, seed=args.seed, n_coins=args.coins,
            n_pairs=args.pairs, start=args.start,
        )  # fmt: skip
        market = generate_market(spec)
        t1 = time.perf_counter()
        written = write_market(market, args.out, args.extra_timeframes, clean=args.clean)
        t2 = time.perf_counter()
    except (MarketSpecError, MarketStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    rows = spec.n_candles * len(spec.coins)
    print(
        f"market: {len(spec.coins)} coins x {spec.n_candles} {spec.timeframe} candles "
        f"({rows:,} rows), {spec.start:%Y-%m-%d %H:%M} .. {spec.end:%Y-%m-%d %H:%M} UTC, "
        f"seed {spec.seed}"
    )
    print(f"generated in {t1 - t0:.2f} s, written in {t2 - t1:.2f} s")
    print(f"datadir: {written.datadir}  (freqtrade --datadir)")
    print(f"files: {len(written.files)} in {written.datadir / 'futures'}")
    print(f"  timeframes: {', '.join(written.timeframes)} futures; 1h mark; 1h funding_rate")
    print(f"ground truth: {written.ground_truth_path}")
    print("planted pairs (price_a = intercept + hedge_ratio * price_b + OU residual):")
    header = f"  {'pair_a':<16}{'pair_b':<16}{'hedge_ratio':>14}{'intercept':>14}"
    print(header + f"{'half_life':>11}{'resid_sd':>10}  break")
    for p in market.planted:
        brk = p.break_date.isoformat() if p.break_date else "-"
        print(
            f"  {p.pair_a:<16}{p.pair_b:<16}{p.hedge_ratio:>14.6g}{p.intercept:>14.6g}"
            f"{p.half_life_candles:>11.1f}{p.residual_sd_frac:>9.2%}  {brk}"
        )
    print(f"random-walk coins: {', '.join(market.random_walk_coins) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

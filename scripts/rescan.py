#!/usr/bin/env python3
"""The daily pair re-scan of production (docs/design.md §4.2: pairs_config.json is re-tested
every 24 h).

Scans the universe (the config's `exchange.pair_whitelist`) on the last
`statarb.scan_lookback_candles` closed candles (or --lookback-candles / --lookback-days), in the
config's `statarb.price_space` — the same scan a walk-forward backtest runs at each scan
time — and atomically replaces the pairs file; the running bot validates and picks it up
without a restart (open spreads keep their own hedge ratio). A failed scan leaves the old file
in place and exits 1.

    ./run scripts/rescan.py --config config.json --output user_data/pairs_config.json --download
    # as a service (docker-compose.production.yml, service `rescan`): --every-hours 24
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from freqtrade.exchange import timeframe_to_minutes

from statarb.market.candles import CandleDataError
from statarb.pairs_config import PairsConfigError, describe_pairs_change, load_pairs_config
from statarb.recovery.ftconfig import ConfigError, load_freqtrade_config
from statarb.runner.processes import ProcessError, run_freqtrade
from statarb.safety.log import Category, format_line
from statarb.selection.keep import keep_window
from statarb.selection.rescan import rescan_once
from statarb.selection.scanner import ScanParams
from statarb.selection.window import ScanInputError
from statarb.settings import SettingsError, parse_settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", action="append", required=True, help="FreqTrade config file(s)")
    p.add_argument("--output", required=True, type=Path, help="the pairs file the bot reads")
    p.add_argument("--datadir", type=Path, help="candles (default: <user_data>/data)")
    p.add_argument("--timeframe", help="default: the config's timeframe")
    p.add_argument(
        "--lookback-candles", type=int,
        help="scan window in candles (default: the config's statarb.scan_lookback_candles)",
    )  # fmt: skip
    p.add_argument("--lookback-days", type=float, help="scan window as a time span instead")
    p.add_argument("--max-pairs", type=int, default=10)
    p.add_argument("--fdr-alpha", type=float, help="default: the config's statarb.fdr_alpha")
    p.add_argument("--download", action="store_true", help="freqtrade download-data first")
    p.add_argument("--every-hours", type=float, help="keep running, one scan per interval")
    return p


def say(category: Category | None, message: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = format_line(category, None, message) if category else message
    print(f"{stamp} - rescan - {text}", flush=True)


def run_once(args: argparse.Namespace, config: dict, user_data: Path) -> bool:
    timeframe = args.timeframe or config.get("timeframe", "1m")
    settings = parse_settings(config)
    lookback: int | timedelta = (
        timedelta(days=args.lookback_days)
        if args.lookback_days is not None
        else args.lookback_candles or settings.scan_lookback_candles
    )
    span_days = (
        lookback.total_seconds() / 86_400
        if isinstance(lookback, timedelta)
        else lookback * timeframe_to_minutes(timeframe) / 1_440
    )
    universe = list(config.get("exchange", {}).get("pair_whitelist", []))
    datadir = args.datadir or user_data / "data"
    if args.download:
        run_freqtrade(
            [
                "download-data",
                *[part for c in args.config for part in ("--config", c)],
                "--timeframes",
                timeframe,
                "--days",
                str(math.ceil(span_days) + 2),
                "--datadir",
                str(datadir / "binance"),
                "--trading-mode",
                "futures",
            ],
            log_path=user_data / "logs" / "rescan-download.log",
            echo=False,
        )
    previous = None
    if args.output.exists():
        try:
            previous = load_pairs_config(args.output)
        except PairsConfigError:
            previous = None
    outcome = rescan_once(
        datadir=datadir,
        timeframe=timeframe,
        universe=universe,
        lookback=lookback,
        output=args.output,
        now=datetime.now(UTC),
        params=ScanParams(
            max_pairs=args.max_pairs,
            fdr_alpha=args.fdr_alpha or settings.fdr_alpha,
            price_space=settings.price_space,
        ),
        keep=previous.pairs if previous is not None else (),
        # Production re-scans daily (--every-hours 24 in the compose file).
        keep_for=keep_window(settings.keep_pairs_scans, timedelta(hours=args.every_hours or 24)),
    )
    say(
        Category.STRATEGY,
        f"re-scan of {len(universe)} coins on {outcome.candles} candles "
        f"before {outcome.scanned_at:%Y-%m-%d %H:%M} UTC: {len(outcome.config.pairs)} pair(s) "
        f"written to {outcome.path}",
    )
    if previous is not None:
        for line in describe_pairs_change(previous, outcome.config):
            say(Category.STRATEGY, line)
    return True


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_freqtrade_config(args.config, environ=os.environ, cwd=Path.cwd())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    user_data = Path(config.get("user_data_dir", "user_data"))
    while True:
        ok = True
        try:
            run_once(args, config, user_data)
        except (
            CandleDataError, ScanInputError, PairsConfigError, ProcessError, SettingsError,
            ValueError,
        ) as exc:  # fmt: skip
            ok = False
            say(Category.SAFETY, f"re-scan failed, the old pairs file stays: {exc}")
        if args.every_hours is None:
            return 0 if ok else 1
        time.sleep(args.every_hours * 3600)


if __name__ == "__main__":
    sys.exit(main())

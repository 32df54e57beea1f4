#!/usr/bin/env python3
"""Scan a FreqTrade data folder for cointegrated pairs and write pairs_config.json atomically.

    scan_pairs.py --datadir user_data/data --timeframe 1h --output pairs_config.json \
        [--pairs BTC ETH SOL ...] [--lookback-candles 720 | --lookback-days 30] \
        [--price-space raw|log] [--as-of 2026-02-01T00:00Z] [--max-pairs 5] [--fdr-alpha 0.05] \
        [--plot scan.png]

Only candles with open time before --as-of (default: all) are used, the last --lookback-candles
(or --lookback-days) of them. Exit status: 0 written (possibly with no pair: nothing is
cointegrated now), 2 bad input or data.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from statarb.market.candles import CandleDataError, available_pairs, load_closes
from statarb.pairs_config import (
    DEFAULT_PRICE_SPACE,
    DEFAULT_SCAN_LOOKBACK_CANDLES,
    PairsConfigError,
    utc_now,
    write_pairs_config,
)
from statarb.selection.plot import plot_spreads
from statarb.selection.scanner import ScanParams, ScanResult, scan_pairs
from statarb.selection.window import ScanInputError
from statarb.stats.inputs import StatsInputError
from statarb.stats.space import PRICE_SPACES

QUOTE_SUFFIX = "/USDT:USDT"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Logs and pipes get long lines instead of an 80-column wrap that cuts symbols apart.
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console = Console(soft_wrap=True, width=160)
    try:
        params = ScanParams(
            max_pairs=args.max_pairs, fdr_alpha=args.fdr_alpha, price_space=args.price_space
        )
        as_of = _parse_as_of(args.as_of)
        lookback: int | timedelta = (
            timedelta(days=args.lookback_days)
            if args.lookback_days is not None
            else args.lookback_candles
        )
        pairs = [_symbol(p) for p in args.pairs] if args.pairs else None
        pairs = pairs or available_pairs(args.datadir, args.timeframe)
        if len(pairs) < 2:
            raise CandleDataError(
                f"{args.datadir}: found {len(pairs)} pair(s) with {args.timeframe} futures "
                "candles; a scan needs at least two"
            )
        span = lookback if isinstance(lookback, timedelta) else None
        start = as_of - span if as_of and span else None
        closes = load_closes(args.datadir, pairs, args.timeframe, start=start, end=as_of)
        result = _scan_with_progress(closes, as_of, lookback, params, console)
        config = result.to_pairs_config(generated_at=utc_now(), timeframe=args.timeframe)
        write_pairs_config(config, args.output)
    except (CandleDataError, ScanInputError, StatsInputError, PairsConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    _report(console, result)
    console.print(f"wrote {len(config.pairs)} pair(s) to {args.output}", highlight=False)
    if args.plot:
        drawn = plot_spreads(closes, result, args.plot)
        console.print(f"plotted {drawn} spread(s) to {args.plot}", highlight=False)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datadir", required=True, type=Path, help="user_data/data or its binance/"
    )
    parser.add_argument("--timeframe", required=True, help="candle timeframe, e.g. 5m, 1h")
    parser.add_argument("--output", required=True, type=Path, help="pairs_config.json to write")
    parser.add_argument("--pairs", nargs="+", help="symbols (BTC or BTC/USDT:USDT); default: all")
    parser.add_argument(
        "--lookback-candles", type=int, default=DEFAULT_SCAN_LOOKBACK_CANDLES,
        help=f"scan window in candles (default {DEFAULT_SCAN_LOOKBACK_CANDLES})",
    )  # fmt: skip
    parser.add_argument(
        "--lookback-days", type=_positive_float, help="scan window as a time span instead"
    )
    parser.add_argument(
        "--price-space", choices=PRICE_SPACES, default=DEFAULT_PRICE_SPACE,
        help=f"Engle-Granger on prices or log prices (default {DEFAULT_PRICE_SPACE})",
    )  # fmt: skip
    parser.add_argument("--as-of", help="ISO time with zone; use candles opened before it only")
    parser.add_argument("--max-pairs", type=int, default=ScanParams.max_pairs)
    parser.add_argument("--fdr-alpha", type=float, default=ScanParams.fdr_alpha)
    parser.add_argument("--plot", type=Path, help="PNG of the top spreads and their z-scores")
    return parser


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ScanInputError(f"--as-of {text!r} is not an ISO date-time") from None
    if value.tzinfo is None:
        raise ScanInputError(f"--as-of {text!r} needs a time zone, e.g. {text}Z for UTC")
    return value.astimezone(UTC)


def _symbol(text: str) -> str:
    return text if "/" in text else f"{text.upper()}{QUOTE_SUFFIX}"


def _scan_with_progress(
    closes: pd.DataFrame,
    as_of: datetime | None,
    lookback: timedelta,
    params: ScanParams,
    console: Console,
) -> ScanResult:
    columns = (
        TextColumn("Engle-Granger tests"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("scan", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return scan_pairs(closes, as_of=as_of, lookback=lookback, params=params, progress=advance)


def _report(console: Console, result: ScanResult) -> None:
    console.print(
        f"scan window {result.window_start:%Y-%m-%d %H:%M} .. {result.window_end:%Y-%m-%d %H:%M}"
        f" UTC, {result.n_candles} candles ({result.timeframe}), "
        f"{len(result.candidates)} pairs tested",
        highlight=False,
    )
    for coin in result.dropped_coins:
        console.print(f"[yellow]dropped {coin.symbol}:[/] {coin.reason}", highlight=False)
    table = Table(title="selected pairs")
    for name in ("leg A", "leg B", "hedge ratio", "t-stat", "p", "q", "half-life", "lag", "ρ ret"):
        table.add_column(name, justify="right" if name not in ("leg A", "leg B") else "left")
    for c in result.selected:
        table.add_row(
            c.leg_a,
            c.leg_b,
            f"{c.hedge_ratio:.6g}",
            f"{c.stat:.3f}",
            f"{c.pvalue:.2e}",
            f"{c.qvalue:.2e}",
            f"{c.half_life_candles:.1f}",
            str(c.lag),
            f"{c.corr_returns:.2f}",
        )
    if result.selected:
        console.print(table)
    elif not result.candidates:
        console.print("[yellow]fewer than two coins with complete candles: nothing was tested[/]")
    else:
        console.print("[yellow]no pair passed every rule: the bot will open no new spread[/]")
    counts = result.rejection_counts()
    if counts:
        reasons = Table(title="rejections by reason")
        reasons.add_column("reason")
        reasons.add_column("pairs", justify="right")
        for reason, count in counts.items():
            reasons.add_row(reason, str(count))
        console.print(reasons)


if __name__ == "__main__":
    sys.exit(main())

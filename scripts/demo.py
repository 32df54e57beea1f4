#!/usr/bin/env python3
"""The main job (README command 1): an honest walk-forward FreqAI backtest, fully offline.

No data and no network needed: a synthetic market is generated, served by the local Binance
exchange, downloaded with `freqtrade download-data`, and backtested walk-forward. With real
candles in user_data/data (downloaded from Binance), those are backtested instead.
Results land in demo_output/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from rich.console import Console

from statarb.backtest.demo import DemoSettings, run_demo
from statarb.backtest.offline import TIMEFRAME_MINUTES, BacktestSetupError
from statarb.backtest.report import headline, plot_spreads, print_report
from statarb.backtest.results import load_trades
from statarb.runner.processes import ProcessError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--output", type=Path, default=DemoSettings.output)
    p.add_argument("--days", type=int, default=DemoSettings.days)
    p.add_argument("--seed", type=int, default=DemoSettings.seed)
    p.add_argument("--verbose", action="store_true", help="echo FreqTrade's own output")
    args = p.parse_args(argv)
    settings = DemoSettings(
        output=args.output, days=args.days, seed=args.seed, echo_freqtrade=args.verbose
    )
    console = Console()
    started = time.perf_counter()
    try:
        result = run_demo(settings, console)
    except (BacktestSetupError, ProcessError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    print_report(result, console)
    if result.summary is not None:
        plot = plot_spreads(
            result.closes,
            result.selection.book,
            load_trades(result.results_dir),
            start=pd.Timestamp(result.start),
            end=pd.Timestamp(result.end),
            timeframe_minutes=TIMEFRAME_MINUTES[settings.timeframe],
            path=settings.output / "results" / "spreads.png",
        )
        console.print(f"spread plot: {plot}")
        console.print(f"[bold]result: {headline(result.summary)}[/]")
    console.print(f"done in {time.perf_counter() - started:.0f} s; everything is in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

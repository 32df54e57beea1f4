#!/usr/bin/env python3
"""Backtest the pairs strategy offline on any candles you hold (FreqTrade's data layout).

Starts the local exchange on DIR (FreqTrade loads markets even to backtest), chooses the pairs
walk-forward — re-scanning every --rescan-every-hours on the trailing scan window only (config
statarb.scan_lookback_candles, or --lookback-candles / --lookback-days), as
production does — unless --pairs-config is given, runs `freqtrade backtesting` with FreqAI and
writes FreqTrade's result files plus OUT/trades.json, OUT/spreads.json (each spread's gross,
fees, funding, slippage and net), OUT/summary.json and OUT/spreads.png, and prints where the
money went (totals, per pair, per exit reason).

    ./run scripts/backtest_offline.py --datadir user_data/data --timeframe 5m --results out/bt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from statarb.backtest.offline import (
    TIMEFRAME_MINUTES,
    BacktestSetupError,
    OfflineRequest,
    run_offline_backtest,
)
from statarb.backtest.report import plot_spreads, print_report
from statarb.backtest.results import load_trades
from statarb.costs.orders import ORDER_MODES
from statarb.market.candles import CandleDataError
from statarb.pairs_config import PairsConfigError
from statarb.runner.processes import ProcessError
from statarb.selection.schedule import ScheduleError
from statarb.stats.space import PRICE_SPACES


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--datadir", required=True, type=Path, help="FreqTrade datadir (or DIR/binance)")
    p.add_argument("--timeframe", required=True, choices=sorted(TIMEFRAME_MINUTES, key=len))
    p.add_argument("--results", required=True, type=Path, help="output folder")
    p.add_argument("--timerange", help="YYYYMMDD-YYYYMMDD (default: all data after the history)")
    p.add_argument("--pairs-config", type=Path, help="fixed pairs instead of walk-forward")
    p.add_argument("--pairs", nargs="*", default=[], help="limit the universe (BTC/USDT:USDT ...)")
    p.add_argument("--config", type=Path, help="base FreqTrade config (default: config.json)")
    p.add_argument(
        "--lookback-candles", type=int,
        help="scan window in candles (default: config statarb.scan_lookback_candles)",
    )  # fmt: skip
    p.add_argument("--lookback-days", type=float, help="scan window as a time span instead")
    p.add_argument(
        "--price-space", choices=PRICE_SPACES,
        help="spread on prices or log prices (default: config statarb.price_space)",
    )  # fmt: skip
    p.add_argument("--rescan-every-hours", type=float, default=24.0, help="re-scan interval")
    p.add_argument("--train-days", type=float, help="FreqAI train_period_days override")
    p.add_argument("--max-pairs", type=int, default=10)
    p.add_argument("--wallet", type=float, default=10_000.0, help="starting balance (USDT)")
    p.add_argument(
        "--fee", type=float,
        help="fee rate per fill (default: the exchange's); with maker_first, the taker fee",
    )  # fmt: skip
    p.add_argument(
        "--maker-fee", type=float,
        help="maker_first only: the maker fee charged on fills that rested (default 0.0002)",
    )  # fmt: skip
    p.add_argument(
        "--order-mode", choices=ORDER_MODES,
        help="taker: market orders; maker_first: limits at the touch, across the book after "
        "statarb.maker_timeout_s (default: as the base config says)",
    )  # fmt: skip
    p.add_argument(
        "--no-model-gate", action="store_true",
        help="trade the z-score rules without the FreqAI gate (FreqAI is then not run at all)",
    )  # fmt: skip
    p.add_argument(
        "--no-cost-gate", action="store_true",
        help="open every signalled spread, whether or not its expected reversion pays its costs",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="do not echo FreqTrade's output")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    overrides: dict[str, object] = {"base_config": args.config} if args.config else {}
    if args.no_cost_gate:
        overrides["statarb_overrides"] = {"cost_gate": False}
    request = OfflineRequest(
        datadir=args.datadir,
        timeframe=args.timeframe,
        results=args.results,
        timerange=args.timerange,
        pairs_config=args.pairs_config,
        pairs=tuple(args.pairs),
        lookback_candles=args.lookback_candles,
        lookback_days=args.lookback_days,
        price_space=args.price_space,
        rescan_every_hours=args.rescan_every_hours,
        train_days=args.train_days,
        freqai=not args.no_model_gate,
        max_pairs=args.max_pairs,
        wallet_usdt=args.wallet,
        fee=args.fee,
        order_mode=args.order_mode,
        maker_fee=args.maker_fee,
        echo=not args.quiet,
        **overrides,
    )
    try:
        result = run_offline_backtest(request)
    except (
        BacktestSetupError,
        CandleDataError,
        PairsConfigError,
        ScheduleError,
        ProcessError,
        ValueError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_report(result)
    if result.summary is not None:
        plot = plot_spreads(
            result.closes,
            result.selection.book,
            load_trades(result.results_dir),
            start=pd.Timestamp(result.start),
            end=pd.Timestamp(result.end),
            timeframe_minutes=TIMEFRAME_MINUTES[args.timeframe],
            path=args.results / "spreads.png",
        )
        if plot:
            print(f"spread plot: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

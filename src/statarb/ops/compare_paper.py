"""Run the backtest a paper run is compared with, and the comparison's command line.

`compare_paper_run` reads the paper database, backtests the paper run's pairs over its period
with the paper run's own config (`statarb.backtest.offline`, fixed pairs, no walk-forward) and
matches the two runs' spreads (`statarb.backtest.paper_compare` and the modules it names:
paper_db, paper_backtest, paper_match, entry_blocks; pure). `main` is
`scripts/compare_paper.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from statarb.backtest.config import DEFAULT_BASE_CONFIG, load_base_config
from statarb.backtest.entry_blocks import BlockEvent, read_entry_blocks
from statarb.backtest.offline import (
    TIMEFRAME_MINUTES,
    BacktestSetupError,
    OfflineRequest,
    run_offline_backtest,
)
from statarb.backtest.paper_backtest import backtest_runs
from statarb.backtest.paper_compare import (
    DEFAULT_TOLERANCE_CANDLES,
    PaperComparison,
    PaperDbError,
    backtest_timerange,
    paper_period,
    trading_schedule,
)
from statarb.backtest.paper_db import paper_spreads, read_paper_legs
from statarb.backtest.paper_match import match_spreads
from statarb.exchange.launcher import LauncherError
from statarb.ops.paper import PAPER_CONFIG_NAME, PAPER_LOG
from statarb.pairs_config import load_pairs_config, write_schedule
from statarb.runner.processes import ProcessError
from statarb.settings import parse_settings


def compare_paper_run(
    db_path: Path,
    pairs_config: Path | None,
    datadir: Path,
    *,
    paper_config: Path | None = None,
    results_dir: Path,
    tolerance_candles: int = DEFAULT_TOLERANCE_CANDLES,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    warmup_candles: int | None = None,
    paper_log: Path | None = None,
    echo: bool = False,
) -> PaperComparison:
    """Backtest the paper run's pairs over its period on `datadir`'s candles and match.

    `paper_config` (the run's `config.paper.json`) is the backtest's base config, so order
    mode, fees, timeframe, wallet and the `statarb` settings are the paper run's; its
    `statarb.pairs_config` is the pairs file unless `pairs_config` is given.
    `warmup_candles` (default: the trailing re-test's window) start the backtest before the
    period, as the paper bot ran before its first entry; its spreads there are not counted.
    `paper_log` (default: the paper config's `logs/freqtrade.paper.log` when it exists) and the
    backtest's log give the entry blocks (`entries blocked by=...`) the reasons name.
    """
    base_path = paper_config or DEFAULT_BASE_CONFIG
    config = load_base_config(base_path)
    statarb = dict(config.get("statarb", {}))
    pairs_path = pairs_config or (
        Path(statarb["pairs_config"]) if statarb.get("pairs_config") else None
    )
    if pairs_path is None or not pairs_path.is_file():
        raise PaperDbError(f"the paper run's pairs file {pairs_path} is not there: give it")
    timeframe = str(config.get("timeframe", "1m"))
    if timeframe not in TIMEFRAME_MINUTES:
        raise BacktestSetupError(f"timeframe {timeframe!r} is not supported")
    minutes = TIMEFRAME_MINUTES[timeframe]
    settings = parse_settings(config)
    legs = read_paper_legs(db_path)
    period = paper_period(
        paper_spreads(legs, timeframe_minutes=minutes),
        now=now or datetime.now(UTC),
        since=since,
        until=until,
    )
    notes = [f"pairs file: {pairs_path}; base config: {base_path}"]
    warmup = settings.retest_window if warmup_candles is None else warmup_candles
    if warmup > tolerance_candles:
        notes.append(
            f"the backtest starts {warmup} candles before the period (warm-up: the trailing "
            "re-test needs them, as the running paper bot had them); its spreads before the "
            "period are not counted"
        )
    freqai_on = bool(config.get("freqai", {}).get("enabled", False))
    model_gate = settings.model_gate
    freqai = freqai_on and model_gate
    if freqai_on and not model_gate:
        notes.append(
            "FreqAI off in the backtest: the paper config's model_gate is false, so its "
            "predictions decided no entry"
        )
    schedule = trading_schedule(
        load_pairs_config(pairs_path),
        period,
        timeframe_minutes=minutes,
        tolerance_candles=tolerance_candles,
    )
    schedule_path = None
    if schedule is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        schedule_path = results_dir.resolve() / "paper_pairs_schedule.json"
        write_schedule(schedule, schedule_path)
        notes.append(
            "the backtest opens spreads from "
            f"{schedule.periods[0].valid_from:%Y-%m-%d %H:%M} UTC on, as paper could (before "
            "that it only warms up)"
        )
    else:
        notes.append(
            "the pairs file was chosen after the period began: the backtest may trade during "
            "its warm-up, paper could not"
        )
    result = run_offline_backtest(
        OfflineRequest(
            datadir=datadir.resolve(),  # FreqTrade runs from the repository
            timeframe=timeframe,
            results=results_dir.resolve(),
            timerange=backtest_timerange(
                period,
                timeframe_minutes=minutes,
                tolerance_candles=tolerance_candles,
                warmup_candles=warmup,
            ),
            pairs_config=None if schedule_path else pairs_path.resolve(),
            pairs_schedule=schedule_path,
            base_config=base_path.resolve(),
            freqai=freqai,
            wallet_usdt=float(config.get("dry_run_wallet", 10_000.0)),
            echo=echo,
        )
    )
    if result.message:
        notes.append(f"backtest: {result.message}")
    notes.append(
        f"backtest order mode {result.order_mode}"
        + (
            f", fills re-priced by role (maker {result.fee_rates.maker:.4%}, taker "
            f"{result.fee_rates.taker:.4%})"
            if result.fee_rates
            else ""
        )
        + "; paper fills are FreqTrade's dry-run simulation on the live order book"
    )
    paper = [
        s
        for s in paper_spreads(legs, timeframe_minutes=minutes, closes=result.closes)
        if period.start <= s.entry_at <= period.end
    ]
    trades = json.loads(result.trades_path.read_text()) if result.trades_path.exists() else []
    backtest = backtest_runs(result.spreads, trades)
    if paper_log is None and paper_config is not None:
        paper_log = paper_config.parent / PAPER_LOG
    backtest_log = results_dir / "logs" / "backtesting.log"
    matches, excluded = match_spreads(
        paper,
        backtest,
        period=period,
        timeframe_minutes=minutes,
        tolerance_candles=tolerance_candles,
        backtest_range=(result.start, result.end),
        max_open_spreads=settings.max_open_spreads,
        paper_blocks=_blocks_of(paper_log),
        backtest_blocks=_blocks_of(backtest_log),
    )
    return PaperComparison(
        period=period,
        backtest_range=(result.start, result.end),
        tolerance_candles=tolerance_candles,
        timeframe=timeframe,
        matches=matches,
        excluded_backtest=excluded,
        notes=tuple(notes),
    )


DEFAULT_PAPER_CONFIG = Path("user_data") / PAPER_CONFIG_NAME


def _blocks_of(log_path: Path | None) -> list[BlockEvent]:
    if log_path is None or not log_path.is_file():
        return []
    return read_entry_blocks(log_path.read_text(errors="replace"))


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compare_paper.py",
        description="A paper run's spreads next to the backtest of the same pairs and period.",
    )
    parser.add_argument("--db", type=Path, default=Path("user_data/paper_trading.db"))
    parser.add_argument(
        "--paper-config",
        type=Path,
        help="the run's config (order mode, fees, timeframe, statarb settings); default: "
        "user_data/config.paper.json when it exists, else config.json",
    )
    parser.add_argument("--pairs-config", type=Path, help="default: the paper config's")
    parser.add_argument(
        "--datadir",
        type=Path,
        required=True,
        help="candles of the period (FreqTrade's layout): what download-data fetched",
    )
    parser.add_argument("--results", type=Path, default=Path("user_data/compare_paper"))
    parser.add_argument("--out", type=Path, help="write the match as JSON (atomically)")
    parser.add_argument("--tolerance-candles", type=int, default=DEFAULT_TOLERANCE_CANDLES)
    parser.add_argument(
        "--since", type=_moment, help="period start (UTC ISO); default: first entry"
    )
    parser.add_argument("--until", type=_moment, help="period end; default: last exit or now")
    parser.add_argument(
        "--warmup-candles", type=int, help="backtest start before the period (default: retest)"
    )
    parser.add_argument("--paper-log", type=Path, help="default: <paper config dir>/logs/...")
    parser.add_argument("--echo", action="store_true", help="show FreqTrade's output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    paper_config = args.paper_config
    if paper_config is None and DEFAULT_PAPER_CONFIG.is_file():
        paper_config = DEFAULT_PAPER_CONFIG  # where scripts/paper.py writes it
    try:
        comparison = compare_paper_run(
            args.db,
            args.pairs_config,
            args.datadir,
            paper_config=paper_config,
            results_dir=args.results,
            tolerance_candles=args.tolerance_candles,
            since=args.since,
            until=args.until,
            warmup_candles=args.warmup_candles,
            paper_log=args.paper_log,
            echo=args.echo,
        )
    except (PaperDbError, BacktestSetupError, ValueError) as exc:
        print(f"compare_paper: {exc}", file=sys.stderr)
        return 2
    except (ProcessError, LauncherError) as exc:  # the backtest failed; the tail says why
        print(f"compare_paper: {exc}", file=sys.stderr)
        return 1
    print(comparison.table())
    if args.out is not None:
        comparison.write_json(args.out)
        print(f"\nwritten: {args.out}")
    return 0

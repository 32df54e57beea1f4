"""What a person reads after a backtest: the selection, the result, and a plot of the spreads."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from statarb.accounting.report import print_costs
from statarb.atomic import atomic_write_bytes
from statarb.backtest.offline import OfflineResult
from statarb.backtest.results import BacktestSummary
from statarb.pairs_config import DEFAULT_ENTRY_Z, DEFAULT_EXIT_Z, DEFAULT_STOP_Z
from statarb.selection.plot import png_bytes
from statarb.spread.book import SpreadBook
from statarb.spread.features import RetestParams, spread_columns

MAX_PLOTTED_PAIRS = 6


def print_report(result: OfflineResult, console: Console | None = None) -> None:
    console = console or Console()
    selection = result.selection
    console.rule("[bold]Pair selection")
    if selection.mode == "walk_forward":
        console.print(
            f"walk-forward: {selection.scans} re-scans, each on its trailing window only "
            f"({selection.scan_seconds:.2f} s of scanning) — schedule: {selection.path}"
        )
        table = Table("trades from (UTC)", "scan window", "pairs chosen")
        for period in selection.book.periods:
            window = period.config.scan_window
            table.add_row(
                f"{period.valid_from:%Y-%m-%d %H:%M}",
                f"{window.start:%m-%d %H:%M} .. {window.end:%m-%d %H:%M}" if window else "?",
                ", ".join(
                    f"{p.pair_id} (β {p.hedge_ratio:.4g}, p {p.pvalue:.1e})"
                    for p in period.config.pairs
                )
                or "-",
            )
        console.print(table)
    else:
        console.print(f"fixed pairs config: {selection.path}")
    if selection.warning:
        console.print(f"[bold red]WARNING: {selection.warning}[/]")
    console.rule("[bold]Result (the spreads' money: fills priced by role, after fees and funding)")
    if result.summary is None:
        console.print(result.message or "no result")
        return
    s = result.summary
    console.print(f"[bold]{headline(s)}[/]")
    table = Table("metric", "value")
    rows = [
        ("range (UTC)", f"{result.start:%Y-%m-%d %H:%M} .. {result.end:%Y-%m-%d %H:%M}"),
        ("selection", selection.mode + (" (IN-SAMPLE)" if selection.in_sample else "")),
        ("order mode", result.order_mode),
        ("spreads / leg trades", f"{s.spreads} / {s.trades}"),
        (
            "net profit after fees and funding",
            f"{s.net_profit_usdt:+.2f} USDT ({s.net_profit_pct:+.2f} % of "
            f"{s.starting_balance_usdt:.0f})",
        ),
        (
            "Sharpe",
            f"{_number(s.sharpe)} (daily equity returns, all {s.days} days, x sqrt(365))",
        ),
        ("max drawdown", f"{s.max_drawdown_pct:.2f} % of equity ({s.max_drawdown_usdt:.2f} USDT)"),
        ("spread win rate", f"{s.win_rate_pct:.1f} %"),
        ("freqtrade backtesting", f"{result.freqtrade_seconds:.0f} s"),
        ("trades file", str(result.trades_path)),
        ("FreqTrade's own results", f"{result.results_dir} (its own fee and Sharpe conventions)"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if result.costs is not None:
        rates = result.fee_rates
        # Taker runs: FreqTrade charged the same fees, so its leg profits must add up to ours.
        check = None if rates else result.freqtrade_net_usdt
        print_costs(result.costs, console, freqtrade_net_usdt=check)
        if rates is not None:
            fills = sum(r.fills for r in result.spreads)
            makers = sum(r.maker_fills for r in result.spreads)
            console.print(
                f"maker-first: {makers} of {fills} fills rested (maker fee {rates.maker:.4%}), "
                f"the rest crossed (taker fee {rates.taker:.4%})."
            )
        console.print(f"spreads file: {result.spreads_path}")


def headline(summary: BacktestSummary) -> str:
    """The run in one line: the spreads' net, its Sharpe and max drawdown (README, Figures)."""
    return (
        f"net {summary.net_profit_usdt:+.2f} USDT ({summary.net_profit_pct:+.2f} %) after fees "
        f"and funding, Sharpe {_number(summary.sharpe)}, max drawdown "
        f"{summary.max_drawdown_pct:.2f} % — {summary.spreads} spreads over {summary.days} days"
    )


def _number(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "n/a"


def plot_spreads(
    closes: pd.DataFrame,
    book: SpreadBook,
    trades: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    timeframe_minutes: int,
    path: Path,
) -> Path | None:
    """z-score of each traded pair over the backtest, its active periods, entries and exits."""
    legs_a: dict[str, str] = {}
    for config in book.configs:
        for pair in config.pairs:
            legs_a.setdefault(pair.pair_id, pair.leg_a)
    pair_ids = list(legs_a)[:MAX_PLOTTED_PAIRS]
    if not pair_ids:
        return None
    dates = pd.Series(closes.index, index=closes.index)
    fig = Figure(figsize=(13, 2.6 * len(pair_ids)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(pair_ids), 1, squeeze=False)
    for ax, pair_id in zip(axes[:, 0], pair_ids, strict=True):
        leg_a = legs_a[pair_id]
        cols = spread_columns(
            dates,
            {c: closes[c] for c in closes.columns},
            book,
            leg_a,
            timeframe_minutes=timeframe_minutes,
            retest=RetestParams(window=30, every=10**9),
        )
        z = cols["spread_z"].where(cols["spread_pair"] == pair_id)
        z = z[(z.index >= start) & (z.index < end)]
        ax.plot(z.index, z.to_numpy(), lw=0.6, color="tab:purple")
        for level, style in ((DEFAULT_ENTRY_Z, "--"), (DEFAULT_EXIT_Z, ":"), (DEFAULT_STOP_Z, "-")):
            for sign in (1, -1):
                ax.axhline(sign * level, color="tab:red", lw=0.6, ls=style)
        legs = trades[(trades["enter_tag"] == pair_id) & (trades["pair"] == leg_a)]
        if len(legs):
            ax.scatter(legs["open_date"], [0] * len(legs), marker="^", color="tab:green", s=12,
                       label="spread opened")  # fmt: skip
            ax.scatter(legs["close_date"], [0] * len(legs), marker="v", color="black", s=12,
                       label="spread closed")  # fmt: skip
        active = z.notna()
        ax.fill_between(z.index, -5, 5, where=active.to_numpy(), color="tab:blue", alpha=0.05,
                        label="in schedule")  # fmt: skip
        ax.set_ylim(-5, 5)
        ax.set_ylabel("z")
        ax.set_title(f"{pair_id}: spread z-score ({len(legs)} spreads)", fontsize=9)
        ax.legend(loc="upper right", fontsize=7)
    atomic_write_bytes(path, png_bytes(fig))
    return path

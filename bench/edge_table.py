#!/usr/bin/env python3
"""The edge table: walk-forward product backtests over a small grid, with BTC buy-and-hold beside.

Every row is a real `freqtrade backtesting` run of CointPairsStrategy against the local exchange
(`statarb.backtest.offline`), pairs chosen walk-forward (daily re-scans on the trailing window
only). The grid varies one setting at a time from a baseline (timeframe, scan lookback, entry z,
price space, cost gate, model gate, order mode), on two periods of the development data:

- fit:        the earlier months — where the defaults are chosen;
- validation: the later months — looked at once the choice is made, to report it honestly.

Figures per row (the account: 10,000 USDT; one Sharpe definition, statarb.accounting.performance):
spreads, spreads per month, win %, gross, fees, funding, net %, Sharpe, max drawdown %, time in
market (% of the period with at least one spread open).

    ./run bench/edge_table.py --datadir ../shared/data/real-dev --out edge_table.json
    ./run bench/edge_table.py --datadir D --rows baseline,log --periods validation
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from statarb.accounting.performance import performance
from statarb.atomic import atomic_write_json
from statarb.backtest.offline import OfflineRequest, run_offline_backtest
from statarb.market.candles import load_closes, resolve_exchange_dir

WALLET_USDT = 10_000.0
# The development data (shared/data/real-dev) spans 2024-12-31 .. 2025-06-30: the first month
# feeds the first scans, fit = Feb..Mar, validation = Apr..Jun.
PERIODS = {
    "fit": ("20250201", "20250401"),
    "validation": ("20250401", "20250701"),
}


GATE_STARTS = {"fit": "20250222"}


@dataclass(frozen=True)
class Row:
    name: str
    timeframe: str = "1h"
    lookback_candles: int | None = None  # None: the config's default
    entry_z: float | None = None  # None: the strategy's default
    price_space: str | None = None
    cost_gate: bool = True
    model_gate: bool = False
    order_mode: str | None = None  # None: the config's (maker-first)
    keep_pairs_scans: int | None = None
    fdr_alpha: float | None = None
    # Model-gate comparisons start later: FreqAI trains on the window before the strategy's
    # startup candles, which the fit period's first weeks do not have at 1h.
    starts: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


GRID = (
    Row("baseline"),  # the shipped defaults (config.json), at 1h
    Row("raw prices", price_space="raw"),
    Row("lookback 336", lookback_candles=336),
    Row("lookback 504", lookback_candles=504),
    Row("keep 3 scans", keep_pairs_scans=3),
    Row("keep 7 scans", keep_pairs_scans=7),
    Row("fdr 0.20", fdr_alpha=0.20),
    Row("keep 7 + fdr 0.20", keep_pairs_scans=7, fdr_alpha=0.20),
    Row("entry z 1.5", entry_z=1.5),
    Row("entry z 2.5", entry_z=2.5),
    Row("no cost gate", cost_gate=False),
    Row("taker orders", order_mode="taker"),
    Row("no gate (gate range)", starts=GATE_STARTS),
    Row("model gate", model_gate=True, starts=GATE_STARTS),
    Row("5m baseline", timeframe="5m"),
    Row("5m lookback 8640", timeframe="5m", lookback_candles=8640),
    Row("5m lookback 4032", timeframe="5m", lookback_candles=4032),
    Row("5m lookback 2016", timeframe="5m", lookback_candles=2016),
    Row("5m model gate", timeframe="5m", model_gate=True),
    Row("5m raw prices", timeframe="5m", price_space="raw"),
    Row("5m entry z 2.5", timeframe="5m", entry_z=2.5),
    Row("5m keep 3 scans", timeframe="5m", keep_pairs_scans=3),
    Row("5m fdr 0.20", timeframe="5m", fdr_alpha=0.20),
    Row("5m taker", timeframe="5m", order_mode="taker"),
    Row("5m no cost gate", timeframe="5m", cost_gate=False),
)


def run_row(row: Row, period: str, datadir: Path, scratch: Path) -> dict[str, Any]:
    start, end = PERIODS[period]
    start = row.starts.get(period, start)
    overrides: dict[str, Any] = {
        "cost_gate": row.cost_gate,
        "model_gate": row.model_gate,
        **row.extra,
    }
    request = OfflineRequest(
        datadir=datadir,
        timeframe=row.timeframe,
        results=scratch / f"{period}-{row.name.replace(' ', '_')}",
        timerange=f"{start}-{end}",
        lookback_candles=row.lookback_candles,
        price_space=row.price_space,
        freqai=row.model_gate,
        wallet_usdt=WALLET_USDT,
        order_mode=row.order_mode,
        statarb_overrides=overrides,
        entry_z=row.entry_z,
        keep_pairs_scans=row.keep_pairs_scans,
        fdr_alpha=row.fdr_alpha,
        echo=False,
    )
    tick = time.perf_counter()
    result = run_offline_backtest(request)
    seconds = time.perf_counter() - tick
    spreads = [s for s in result.spreads if s.close_date is not None]
    perf = performance(
        [(s.close_date, s.net_profit) for s in spreads],
        start=result.start,
        end=result.end,
        starting_balance_usdt=WALLET_USDT,
    )
    months = (result.end - result.start).total_seconds() / (30.44 * 86_400)
    return {
        "row": row.name,
        "period": period,
        "timeframe": row.timeframe,
        "spreads": len(spreads),
        "unpaired_legs": sum(1 for s in result.spreads if s.legs != 2),
        "spreads_per_month": len(spreads) / months if months > 0 else math.nan,
        "win_pct": 100.0 * np.mean([s.net_profit > 0 for s in spreads]) if spreads else math.nan,
        "gross_usdt": sum(s.gross_profit for s in spreads),
        "fees_usdt": sum(s.fees for s in spreads),
        "funding_usdt": sum(s.funding for s in spreads),
        "net_usdt": perf.net_profit_usdt,
        "net_pct": perf.net_profit_pct,
        "sharpe": perf.sharpe,
        "max_dd_pct": perf.max_drawdown_pct,
        "time_in_market_pct": time_in_market(spreads, result.start, result.end),
        "seconds": seconds,
    }


def time_in_market(spreads: list[Any], start: datetime, end: datetime) -> float:
    """% of [start, end) with at least one spread open (overlaps counted once)."""
    spans = sorted((max(s.open_date, start), min(s.close_date, end)) for s in spreads)
    covered, cursor = 0.0, start
    for opened, closed in spans:
        left = max(opened, cursor)
        if closed > left:
            covered += (closed - left).total_seconds()
            cursor = closed
    total = (end - start).total_seconds()
    return 100.0 * covered / total if total > 0 else math.nan


def buy_and_hold(datadir: Path, period: str) -> dict[str, Any]:
    """BTC bought at the period's first 1h open, marked at each day's last close."""
    start, end = (datetime.strptime(p, "%Y%m%d").replace(tzinfo=UTC) for p in PERIODS[period])
    closes = load_closes(
        resolve_exchange_dir(datadir), ["BTC/USDT:USDT"], "1h", start=start, end=end
    )["BTC/USDT:USDT"]
    daily = closes.resample("1D").last().dropna().to_numpy()
    returns = np.diff(np.concatenate([[closes.iloc[0]], daily])) / np.concatenate(
        [[closes.iloc[0]], daily[:-1]]
    )
    equity = np.concatenate([[1.0], daily / closes.iloc[0]])
    peak = np.maximum.accumulate(equity)
    std = returns.std(ddof=1)
    return {
        "row": "BTC buy-and-hold",
        "period": period,
        "net_pct": 100.0 * (daily[-1] / closes.iloc[0] - 1.0),
        "sharpe": float(returns.mean() / std * math.sqrt(365)) if std > 0 else math.nan,
        "max_dd_pct": float(100.0 * np.max(1.0 - equity / peak)),
        "time_in_market_pct": 100.0,
    }


COLUMNS = (
    ("row", "{}"),
    ("period", "{}"),
    ("spreads", "{:d}"),
    ("spreads_per_month", "{:.1f}"),
    ("win_pct", "{:.0f}"),
    ("gross_usdt", "{:+.2f}"),
    ("fees_usdt", "{:.2f}"),
    ("funding_usdt", "{:+.2f}"),
    ("net_pct", "{:+.2f}"),
    ("sharpe", "{:+.2f}"),
    ("max_dd_pct", "{:.2f}"),
    ("time_in_market_pct", "{:.1f}"),
    ("unpaired_legs", "{:d}"),
)
HEADERS = (
    "row", "period", "spreads", "/month", "win%", "gross", "fees", "funding", "net %",
    "Sharpe", "maxDD%", "in mkt%", "unpaired",
)  # fmt: skip


def cell(r: dict[str, Any] | None, key: str, fmt: str) -> str:
    """One table cell; "–" where the row or the figure is missing or undefined."""
    value = None if r is None else r.get(key)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return fmt.format(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in rows:
        lines.append("| " + " | ".join(cell(r, key, fmt) for key, fmt in COLUMNS) + " |")
    return "\n".join(lines)


def side_by_side(rows: list[dict[str, Any]]) -> str:
    """One line per row: the fit months' figures beside the validation months' (README)."""

    by = {(r["row"], r["period"]): r for r in rows if "error" not in r}
    names = list(dict.fromkeys(r["row"] for r in rows))
    lines = [
        "| row | fit spreads | fit net % | fit Sharpe | val. spreads | val. net % | val. Sharpe "
        "| val. max DD % | val. win % | val. fees | unpaired |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        fit, val = by.get((name, "fit")), by.get((name, "validation"))
        unpaired = sum(r.get("unpaired_legs", 0) or 0 for r in (fit, val) if r is not None)
        lines.append(
            f"| {name} | {cell(fit, 'spreads', '{:d}')} | {cell(fit, 'net_pct', '{:+.2f}')} "
            f"| {cell(fit, 'sharpe', '{:+.2f}')} | {cell(val, 'spreads', '{:d}')} "
            f"| {cell(val, 'net_pct', '{:+.2f}')} | {cell(val, 'sharpe', '{:+.2f}')} "
            f"| {cell(val, 'max_dd_pct', '{:.2f}')} | {cell(val, 'win_pct', '{:.0f}')} "
            f"| {cell(val, 'fees_usdt', '{:.2f}')} "
            f"| {unpaired if name != 'BTC buy-and-hold' else '–'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--datadir", required=True, type=Path)
    p.add_argument("--out", type=Path, help="JSON of every row")
    p.add_argument("--rows", help="comma-separated row names (default: all)")
    p.add_argument("--periods", default="fit,validation")
    p.add_argument("--from-json", type=Path, nargs="*", help="print the tables of earlier runs")
    args = p.parse_args(argv)
    if args.from_json:
        rows = [r for path in args.from_json for r in json.loads(path.read_text())]
        print(side_by_side(rows))
        return 0
    wanted = set(args.rows.split(",")) if args.rows else None
    grid = [r for r in GRID if wanted is None or r.name in wanted]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="edge-") as tmp:
        for period in args.periods.split(","):
            rows.append(buy_and_hold(args.datadir, period))
            for row in grid:
                try:
                    rows.append(run_row(row, period, args.datadir, Path(tmp)))
                except Exception as exc:  # one failed row is reported, the table goes on
                    rows.append({"row": row.name, "period": period, "error": str(exc)})
                    print(f"{row.name} / {period}: FAILED {exc}", file=sys.stderr)
                print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table([r for r in rows if "error" not in r]))
    print()
    print(side_by_side(rows))
    if args.out:
        atomic_write_json(args.out, rows)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

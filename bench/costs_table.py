#!/usr/bin/env python3
"""Issue 10's closing table: where the money goes, per strategy variant, on real candles.

One offline backtest per variant (walk-forward pair selection, as production), each spread's
money split by `statarb.accounting` (gross, fees, funding, slippage, net) and the max drawdown of
the spreads' net. Variants: the rules of docs/design.md §2; cost-aware entries; cost-aware + the
FreqAI model gate; and each of those with maker-first orders instead of taker.

With --in-sample, the same variants also run on pairs chosen on the traded period itself
(relaxed thresholds, best pairs by p-value): look-ahead, labelled as such, only to see the cost
split on more spreads when walk-forward selection finds few pairs.

    ./run bench/costs_table.py --datadir ../shared/data --timeframe 5m --out /tmp/costs_bench
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from statarb.backtest.offline import OfflineRequest, OfflineResult, run_offline_backtest
from statarb.market.candles import available_pairs, load_closes, resolve_exchange_dir
from statarb.pairs_config import write_pairs_config
from statarb.selection.scanner import ScanParams, scan_pairs


@dataclass(frozen=True)
class Variant:
    name: str
    cost_gate: bool
    model_gate: bool
    order_mode: str


VARIANTS = (
    Variant("spec rules", False, False, "taker"),
    Variant("spec rules, maker-first", False, False, "maker_first"),
    Variant("cost-aware", True, False, "taker"),
    Variant("cost-aware, maker-first", True, False, "maker_first"),
    Variant("cost-aware + model gate", True, True, "taker"),
    Variant("cost-aware + model gate, maker-first", True, True, "maker_first"),
)


def in_sample_pairs(datadir: Path, timeframe: str, out: Path, max_pairs: int) -> Path:
    """Pairs chosen on ALL the candles (look-ahead): the best by p-value, FDR not required."""
    exchange_dir = resolve_exchange_dir(datadir)
    closes = load_closes(exchange_dir, available_pairs(exchange_dir, timeframe), timeframe)
    closes = closes.dropna()
    params = ScanParams(
        fdr_alpha=0.999, half_pvalue_max=1.0, hedge_ratio_tolerance=10.0, max_pairs=max_pairs
    )
    result = scan_pairs(closes, as_of=None, lookback=len(closes), params=params)
    path = out / "in_sample_pairs.json"
    write_pairs_config(result.to_pairs_config(timeframe=timeframe), path)
    return path


def run_variant(
    variant: Variant, args: argparse.Namespace, folder: Path, pairs: Path | None
) -> tuple[OfflineResult, float]:
    tick = time.perf_counter()
    result = run_offline_backtest(
        OfflineRequest(
            datadir=args.datadir,
            timeframe=args.timeframe,
            results=folder,
            pairs_config=pairs,
            lookback_days=args.lookback_days,
            train_days=args.train_days,
            freqai=variant.model_gate,
            order_mode=variant.order_mode,
            statarb_overrides={"cost_gate": variant.cost_gate},
            echo=False,
        )
    )
    return result, time.perf_counter() - tick


def row_of(variant: Variant, selection: str, result: OfflineResult, seconds: float) -> dict:
    row: dict[str, Any] = {"variant": variant.name, "selection": selection, "seconds": seconds}
    if result.costs is None or result.summary is None:
        return {**row, "spreads": 0, "note": result.message}
    total = result.costs.total
    fills = sum(r.fills for r in result.spreads)
    return {
        **row,
        "spreads": total.spreads,
        "win_rate": total.win_rate if total.spreads else None,
        "gross": total.gross_profit,
        "fees": total.fees,
        "funding": total.funding,
        "slippage": total.slippage,
        "net": total.net_profit,
        "max_dd_usdt": result.costs.max_drawdown_usdt,
        "max_dd_pct": result.costs.max_drawdown_pct,
        "maker_fill_share": sum(r.maker_fills for r in result.spreads) / fills if fills else None,
        "sharpe": result.summary.sharpe,
    }


def print_table(rows: list[dict], console: Console) -> None:
    table = Table(
        "variant", "selection", "spreads", "gross", "fees", "funding", "slippage", "net",
        "max DD", "Sharpe", "maker fills",
        title="Where the money goes (USDT; slippage is inside gross)",
    )  # fmt: skip
    for r in rows:
        if not r.get("spreads"):
            table.add_row(r["variant"], r["selection"], "0", *["-"] * 8)
            continue
        share = r["maker_fill_share"]
        table.add_row(
            r["variant"],
            r["selection"],
            str(r["spreads"]),
            f"{r['gross']:+.2f}",
            f"{r['fees']:.2f}",
            f"{r['funding']:+.2f}",
            f"{r['slippage']:+.2f}",
            f"{r['net']:+.2f}",
            f"{r['max_dd_usdt']:.2f} ({r['max_dd_pct']:.2f} %)",
            "-" if r["sharpe"] is None or math.isnan(r["sharpe"]) else f"{r['sharpe']:.2f}",
            "-" if share is None or share == 0 else f"{share:.0%}",
        )
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datadir", type=Path, required=True)
    parser.add_argument("--timeframe", default="5m")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lookback-days", type=float, default=7.0)
    parser.add_argument("--train-days", type=float, default=7.0)
    parser.add_argument("--in-sample", action="store_true", help="add in-sample variants")
    parser.add_argument("--in-sample-pairs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    console = Console(width=160)
    variants = [v for v in VARIANTS if not args.only or v.name in args.only]
    plans: list[tuple[Variant, str, Path | None]] = [(v, "walk-forward", None) for v in variants]
    if args.in_sample:
        pairs = in_sample_pairs(args.datadir, args.timeframe, args.out, args.in_sample_pairs)
        plans += [(v, "IN-SAMPLE", pairs) for v in variants]
    rows = []
    for number, (variant, selection, pairs) in enumerate(plans, start=1):
        folder = args.out / f"{number:02d}-{selection}-{variant.name}".replace(" ", "_")
        result, seconds = run_variant(variant, args, folder, pairs)
        rows.append(row_of(variant, selection, result, seconds))
        console.print(f"{variant.name} ({selection}): {rows[-1].get('spreads')} spreads, "
                      f"{seconds:.0f} s")  # fmt: skip
        (args.out / "table.json").write_text(json.dumps(rows, indent=2, default=str))
    print_table(rows, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

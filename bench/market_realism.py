#!/usr/bin/env python3
"""Stylised facts of the synthetic market beside real Binance USDT-M futures candles.

Prints, for 5m returns of BTC, ETH, SOL, XRP, DOGE: annualised vol, excess kurtosis (fat
tails), autocorrelation of |returns| (volatility clustering, incl. the daily cycle at lag 288),
of returns (should be ~0), cross-coin correlation, volume/|return| link, high-low range, plus
funding-rate and mark-basis statistics. Each cell is the median over the coins [min .. max].
Generated columns: the default 1m market resampled to 5m, and a market generated directly on 5m.
The real candles are only read, never copied (default: ../shared/data or /work/shared/data).

    ./run bench/market_realism.py [--real-dir DIR] [--seeds 3]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from statarb.market import default_spec, generate_market, resample_ohlcv

COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE")
BARS_PER_YEAR_5M = 365 * 288
REPO = Path(__file__).resolve().parents[1]
REAL_DIR_CANDIDATES = (
    REPO.parent / "shared/data/binance/futures",
    Path("/work/shared/data/binance/futures"),
)


def coin_facts(candles: pd.DataFrame) -> dict[str, float]:
    """Single-coin facts of a 5m OHLCV frame."""
    r = np.log(candles["close"]).diff().dropna()
    a = (r - r.mean()).abs()
    log_vol = np.log(candles["volume"].iloc[1:].clip(lower=1e-12))
    hl = np.log(candles["high"] / candles["low"]).iloc[1:]
    out = {
        "annual vol": r.std() * math.sqrt(BARS_PER_YEAR_5M),
        "excess kurtosis": r.kurt(),
        "acf r lag 1": r.autocorr(1),
    }
    for lag in (1, 5, 10, 50, 288):
        out[f"acf |r| lag {lag}"] = a.autocorr(lag)
    out["corr(log vol, |r|)"] = float(np.corrcoef(log_vol, a)[0, 1])
    out["volume cv"] = candles["volume"].std() / candles["volume"].mean()
    out["mean (h-l) / mean |r|"] = hl.mean() / a.mean()
    return out


def market_facts(
    candles: dict[str, pd.DataFrame],
    funding: dict[str, pd.Series],
    basis: dict[str, pd.Series],
) -> dict[str, list[float]]:
    facts: dict[str, list[float]] = {}
    for coin in COINS:
        for key, value in coin_facts(candles[coin]).items():
            facts.setdefault(key, []).append(float(value))
    rets = pd.DataFrame(
        {c: np.log(candles[c].set_index("date")["close"]).diff() for c in COINS}
    ).dropna()
    corr = rets.corr().to_numpy()
    facts["pairwise return corr"] = list(corr[np.triu_indices(len(COINS), 1)])
    for coin in COINS:
        f = funding[coin]
        facts.setdefault("funding mean", []).append(f.mean())
        facts.setdefault("funding sd", []).append(f.std())
        facts.setdefault("funding share < 0", []).append(float((f < 0).mean()))
        facts.setdefault("funding acf lag 1", []).append(f.autocorr(1))
        facts.setdefault("mark basis sd (1h close)", []).append(basis[coin].std())
    return facts


def real_market(real_dir: Path) -> dict[str, list[float]]:
    candles, funding, basis = {}, {}, {}
    for coin in COINS:
        stem = f"{coin}_USDT_USDT"
        candles[coin] = pd.read_feather(real_dir / f"{stem}-5m-futures.feather")
        fr = pd.read_feather(real_dir / f"{stem}-1h-funding_rate.feather")
        funding[coin] = fr["funding_rate" if "funding_rate" in fr else "open"]
        mark = pd.read_feather(real_dir / f"{stem}-1h-mark.feather").set_index("date")
        last = pd.read_feather(real_dir / f"{stem}-1h-futures.feather").set_index("date")
        basis[coin] = (mark["close"] / last["close"] - 1).dropna()
    return market_facts(candles, funding, basis)


def generated_market(seed: int, timeframe: str, days: float) -> dict[str, list[float]]:
    spec = default_spec(days=days, timeframe=timeframe, seed=seed, n_coins=5, n_pairs=0)
    spec = replace(spec, coins=COINS)
    market = generate_market(spec)
    candles, funding, basis = {}, {}, {}
    for coin in COINS:
        pair = f"{coin}/USDT:USDT"
        base = market.candles[pair]
        candles[coin] = base if timeframe == "5m" else resample_ohlcv(base, "5m")
        funding[coin] = market.funding_rates[pair]["funding_rate"]
        last = (base if timeframe == "1h" else resample_ohlcv(base, "1h")).set_index("date")
        mark = market.mark_candles[pair].set_index("date")
        basis[coin] = (mark["close"] / last["close"] - 1).dropna()
    return market_facts(candles, funding, basis)


def pooled(runs: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for run in runs:
        for key, values in run.items():
            out.setdefault(key, []).extend(values)
    return out


def cell(values: list[float], fmt: Callable[[float], str]) -> str:
    v = np.asarray(values, dtype=float)
    return f"{fmt(np.median(v))} [{fmt(v.min())} .. {fmt(v.max())}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=3, help="generated markets per column")
    parser.add_argument("--days", type=float, default=34.0, help="length (real set: ~34 days)")
    args = parser.parse_args()
    real_dir = args.real_dir or next((p for p in REAL_DIR_CANDIDATES if p.is_dir()), None)

    columns: dict[str, dict[str, list[float]]] = {}
    if real_dir is not None and (real_dir / "BTC_USDT_USDT-5m-futures.feather").exists():
        columns[f"real 5m ({real_dir.name})"] = real_market(real_dir)
    else:
        print("real candles not found: printing generated facts only")
    seeds = range(args.seeds)
    columns["generated 1m -> 5m"] = pooled([generated_market(s, "1m", args.days) for s in seeds])
    columns["generated 5m"] = pooled([generated_market(s, "5m", args.days) for s in seeds])

    def small(x: float) -> str:
        return f"{x:.2e}"

    def num(x: float) -> str:
        return f"{x:.2f}"

    keys = list(next(iter(columns.values())))
    width = max(len(k) for k in keys) + 2
    print(f"{'fact':<{width}}" + "".join(f"{name:<34}" for name in columns))
    for key in keys:
        fmt = small if key.startswith(("funding mean", "funding sd", "mark")) else num
        print(f"{key:<{width}}" + "".join(f"{cell(c[key], fmt):<34}" for c in columns.values()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Batched Engle-Granger scan vs a loop of statsmodels `coint` calls (issues 2 and 17).

A 50-coin x 2,000-candle universe (1,225 pairs, generated here with a fixed seed: a common
market factor, realistic price levels, a few planted cointegrated pairs) is tested both ways
with the same lag rule (statsmodels' default maxlag, AIC). Every pair must agree: t-statistic
to 1e-8, p-value to 1e-6, the same lag, the hedge ratio to 1e-9 (relative). Then a 200-coin x
2,000-candle universe (19,900 pairs) is scanned by the batch only: its time, its peak memory
(tracemalloc, and the process's peak RSS before and after it), and a random sample of its
pairs checked against statsmodels the same way. Prints the time of a full scan of the real
candles in /work/shared/data (if present) and, as its LAST line, `speedup: X` (50 coins).

Run: ./run bench/scan_bench.py   (about 2 minutes: the statsmodels loop is the slow part)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from statsmodels.regression.linear_model import OLS
from statsmodels.tsa.stattools import adfuller, coint
from statsmodels.tsa.tsatools import add_trend

from statarb.market.candles import available_pairs, load_closes
from statarb.selection.scanner import scan_pairs
from statarb.selection.window import candle_step
from statarb.stats.batch import BatchResult, engle_granger_batch
from statarb.stats.threads import single_threaded_blas

T_TOL = 1e-8
P_TOL = 1e-6
HEDGE_RTOL = 1e-9
REAL_DATA = Path("/work/shared/data")


def make_universe(n_coins: int, n_candles: int, seed: int) -> np.ndarray:
    """Closes (candles x coins): log random walks on a common factor, 1 pair in 10 planted."""
    rng = np.random.default_rng(seed)
    levels = np.exp(rng.uniform(np.log(0.05), np.log(80_000.0), n_coins))
    market = np.cumsum(rng.standard_t(4, n_candles) * 0.004)
    beta = rng.uniform(0.5, 1.5, n_coins)
    own = np.cumsum(rng.standard_t(4, (n_candles, n_coins)) * 0.006, axis=0)
    closes = levels * np.exp(market[:, None] * beta + own)
    for a in range(0, n_coins // 5 * 2, 4):  # coins 0..19: pairs (0,1), (4,5), ...
        b = a + 1
        hedge = rng.uniform(0.3, 3.0) * closes[0, a] / closes[0, b]
        phi = 2.0 ** (-1.0 / rng.uniform(5.0, 40.0))
        noise = rng.normal(0.0, 0.004 * closes[0, a], n_candles)
        resid = np.zeros(n_candles)
        for t in range(1, n_candles):
            resid[t] = phi * resid[t - 1] + noise[t]
        base = closes[0, a] - hedge * closes[0, b]
        closes[:, a] = base + hedge * closes[:, b] + resid
    return closes


def statsmodels_loop(closes: np.ndarray, pairs: np.ndarray) -> tuple[float, np.ndarray]:
    """Time `coint` per pair; also read statsmodels' lag and hedge ratio (untimed) to check."""
    out = np.empty((len(pairs), 4))
    elapsed = 0.0
    # Same BLAS setting as the batch (one thread): on a shared 2-vCPU box OpenBLAS threads
    # made statsmodels ~10x slower, which would flatter the speedup.
    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore")
        for i, (a, b) in enumerate(pairs):
            y0, y1 = closes[:, a], closes[:, b]
            start = time.perf_counter()
            res = coint(y0, y1, trend="c")
            elapsed += time.perf_counter() - start
            # coint does not return its lag: redo its two steps with statsmodels to read it.
            first_stage = OLS(y0, add_trend(y1[:, None], "c", prepend=False)).fit()
            adf = adfuller(first_stage.resid, autolag="aic", regression="n", result_object=True)
            out[i] = (res[0], res[1], adf.lags, first_stage.params[0])
    return elapsed, out


def batched(closes: np.ndarray, repeats: int) -> tuple[float, float, BatchResult]:
    """Best and median wall time of `repeats` scans (the box is shared: the median shows load)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = engle_granger_batch(closes)
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), float(np.median(times)), result


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def peak_traced_bytes(closes: np.ndarray) -> int:
    tracemalloc.start()
    engle_granger_batch(closes)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def compare(result: BatchResult, reference: np.ndarray, rows: np.ndarray | None = None) -> int:
    """Print the worst differences over `rows` (all pairs); return how many pairs disagree."""
    rows = np.arange(len(result)) if rows is None else rows
    refused = sum(result.error[i] is not None for i in rows)
    dt = np.abs(result.stat[rows] - reference[:, 0])
    dp = np.abs(result.pvalue[rows] - reference[:, 1])
    lag_diff = result.lag[rows] != reference[:, 2].astype(int)
    dh = np.abs(result.hedge_ratio[rows] / reference[:, 3] - 1.0)
    bad = (dt > T_TOL) | (dp > P_TOL) | lag_diff | (dh > HEDGE_RTOL) | ~np.isfinite(dt)
    print(f"pairs compared: {len(rows)}, refused by batch: {refused}")
    print(f"max |t-stat diff|: {np.nanmax(dt):.3e} (tolerance {T_TOL:g})")
    print(f"max |p-value diff|: {np.nanmax(dp):.3e} (tolerance {P_TOL:g})")
    print(f"max relative hedge-ratio diff: {np.nanmax(dh):.3e} (tolerance {HEDGE_RTOL:g})")
    print(f"pairs with a different lag: {int(lag_diff.sum())}")
    print(
        f"pairs summed from their own residual (cancellation): {result.direct_path_pairs}; "
        f"recomputed on the exact QR path: {result.exact_path_pairs}"
    )
    print(f"pairs disagreeing: {int(bad.sum())}")
    return int(bad.sum())


def large_universe(args: argparse.Namespace) -> int:
    """Batched scan of the large universe: time, peak memory, a sample checked; disagreements."""
    closes = make_universe(args.large_coins, args.candles, args.seed)
    n_pairs = args.large_coins * (args.large_coins - 1) // 2
    print(
        f"--- large universe: {args.large_coins} coins x {args.candles} candles ({n_pairs} pairs)"
    )
    rss_before = rss_mib()
    large_s, large_median_s, result = batched(closes, args.large_repeats)
    rss_after = rss_mib()
    print(
        f"batched scan: {large_s:.3f} s (best of {args.large_repeats}; median "
        f"{large_median_s:.3f} s), target < 2 s"
    )
    peak = peak_traced_bytes(closes)
    print(f"batched scan peak traced memory (tracemalloc): {peak / 2**20:.1f} MiB")
    print(
        f"process peak RSS (ru_maxrss): {rss_after:.1f} MiB after the scans, "
        f"{rss_before:.1f} MiB before them (Python, numpy, statsmodels and the data)"
    )
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(len(result), size=min(args.sample, len(result)), replace=False))
    pairs = np.column_stack([result.leg_a[rows], result.leg_b[rows]])
    _, reference = statsmodels_loop(closes, pairs)
    print(f"statsmodels check on a random sample of {len(rows)} pairs:")
    return compare(result, reference, rows)


def real_data_scans() -> None:
    folder = REAL_DATA / "binance" / "futures"
    if not folder.is_dir():
        print(f"real data: {folder} absent, skipped")
        return
    for timeframe in ("1m", "5m", "15m", "1h", "4h", "1d"):
        pairs = available_pairs(REAL_DATA, timeframe)
        if len(pairs) < 2:
            continue
        closes = load_closes(REAL_DATA, pairs, timeframe)
        # The files end at different times: scan up to the last candle every coin has.
        common_end = closes.apply(lambda s: s.last_valid_index()).min()
        as_of = (common_end + candle_step(closes.index)).to_pydatetime()
        span = as_of - closes.index[0].to_pydatetime()
        start = time.perf_counter()
        result = scan_pairs(closes, as_of=as_of, lookback=span, params=None)
        elapsed = time.perf_counter() - start
        print(
            f"real data {timeframe}: {len(pairs)} coins x {result.n_candles} candles, "
            f"{len(result.candidates)} pairs (x2 directions + halves) in {elapsed:.3f} s; "
            f"selected {len(result.selected)}; dropped {len(result.dropped_coins)}; "
            f"rejections {result.rejection_counts()}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="batched EG scan vs statsmodels coint")
    parser.add_argument("--coins", type=int, default=50)
    parser.add_argument("--candles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20260201)
    parser.add_argument("--repeats", type=int, default=15, help="batched runs; best time is kept")
    parser.add_argument("--large-repeats", type=int, default=5)
    parser.add_argument("--large-coins", type=int, default=200, help="batched only; 0: skip")
    parser.add_argument("--sample", type=int, default=100, help="large-universe pairs checked")
    args = parser.parse_args()

    # The large universe first, so that its peak RSS is not the statsmodels loop's.
    disagreeing = large_universe(args) if args.large_coins else 0
    print("--- statsmodels reference")

    closes = make_universe(args.coins, args.candles, args.seed)
    print(f"universe: {args.coins} coins x {args.candles} candles, seed {args.seed}")
    batch_s, batch_median_s, result = batched(closes, args.repeats)
    pairs = np.column_stack([result.leg_a, result.leg_b])
    print(f"pairs: {len(pairs)}, maxlag {result.maxlag} (statsmodels rule), autolag aic")
    print("BLAS threads: 1 for both (see statarb.stats.threads)")
    print(f"batched scan: {batch_s:.3f} s (best of {args.repeats}; median {batch_median_s:.3f} s)")
    loop_s, reference = statsmodels_loop(closes, pairs)
    print(f"statsmodels coint loop: {loop_s:.3f} s ({loop_s / len(pairs) * 1e3:.1f} ms/pair)")
    disagreeing += compare(result, reference)

    peak = peak_traced_bytes(closes)
    print(f"batched scan peak traced memory (tracemalloc): {peak / 2**20:.1f} MiB")
    print(f"process peak RSS (everything, statsmodels included): {rss_mib():.1f} MiB")

    real_data_scans()
    if disagreeing:
        print("RESULTS DIFFER: the speedup below is not a valid figure")
    print(f"speedup at the batch's median time: {loop_s / batch_median_s:.1f}")
    print(f"speedup: {loop_s / batch_s:.1f}")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())

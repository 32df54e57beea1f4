#!/usr/bin/env python3
"""Batched Engle-Granger scan vs a loop of statsmodels `coint` calls (issue 2, benchmark).

A 50-coin x 2,000-candle universe (1,225 pairs, generated here with a fixed seed: a common
market factor, realistic price levels, a few planted cointegrated pairs) is tested both ways
with the same lag rule (statsmodels' default maxlag, AIC). Every pair must agree: t-statistic
to 1e-8, p-value to 1e-6, the same lag. Prints both times, the peak memory of the batched scan,
the time of a full scan of the real candles in /work/shared/data (if present), and, as its
LAST line, `speedup: X`.

Run: ./run bench/scan_bench.py   (about 3 minutes: the statsmodels loop is the slow part)
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
    """Time `coint` per pair; also read statsmodels' chosen lag (untimed) for the lag check."""
    out = np.empty((len(pairs), 3))
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
            resid = OLS(y0, add_trend(y1[:, None], "c", prepend=False)).fit().resid
            lag = adfuller(resid, autolag="aic", regression="n", result_object=True).lags
            out[i] = (res[0], res[1], lag)
    return elapsed, out


def batched(closes: np.ndarray, repeats: int) -> tuple[float, BatchResult]:
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = engle_granger_batch(closes)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def peak_traced_bytes(closes: np.ndarray) -> int:
    tracemalloc.start()
    engle_granger_batch(closes)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def compare(result: BatchResult, reference: np.ndarray) -> int:
    """Print the worst differences; return the number of disagreeing pairs."""
    refused = sum(e is not None for e in result.error)
    dt = np.abs(result.stat - reference[:, 0])
    dp = np.abs(result.pvalue - reference[:, 1])
    lag_diff = result.lag != reference[:, 2].astype(int)
    bad = (dt > T_TOL) | (dp > P_TOL) | lag_diff | ~np.isfinite(dt)
    print(f"pairs compared: {len(result)}, refused by batch: {refused}")
    print(f"max |t-stat diff|: {np.nanmax(dt):.3e} (tolerance {T_TOL:g})")
    print(f"max |p-value diff|: {np.nanmax(dp):.3e} (tolerance {P_TOL:g})")
    print(f"pairs with a different lag: {int(lag_diff.sum())}")
    print(f"pairs recomputed on the exact QR path: {result.exact_path_pairs}")
    print(f"pairs disagreeing: {int(bad.sum())}")
    return int(bad.sum())


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
    parser.add_argument("--repeats", type=int, default=3, help="batched runs; best time is kept")
    args = parser.parse_args()

    closes = make_universe(args.coins, args.candles, args.seed)
    print(f"universe: {args.coins} coins x {args.candles} candles, seed {args.seed}")
    batch_s, result = batched(closes, args.repeats)
    pairs = np.column_stack([result.leg_a, result.leg_b])
    print(f"pairs: {len(pairs)}, maxlag {result.maxlag} (statsmodels rule), autolag aic")
    print("BLAS threads: 1 for both (see statarb.stats.threads)")
    print(f"batched scan: {batch_s:.3f} s (best of {args.repeats})")
    loop_s, reference = statsmodels_loop(closes, pairs)
    print(f"statsmodels coint loop: {loop_s:.3f} s ({loop_s / len(pairs) * 1e3:.1f} ms/pair)")
    disagreeing = compare(result, reference)

    peak = peak_traced_bytes(closes)
    print(f"batched scan peak traced memory (tracemalloc): {peak / 2**20:.1f} MiB")
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process peak RSS (everything, statsmodels included): {rss_kib / 1024:.1f} MiB")

    real_data_scans()
    if disagreeing:
        print("RESULTS DIFFER: the speedup below is not a valid figure")
    print(f"speedup: {loop_s / batch_s:.1f}")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())

"""Engle-Granger tests of many pairs of one universe at once.

Same statistics as `cointegration.engle_granger` (and so as statsmodels' `coint`, trend "c"),
computed with stacked linear algebra instead of one regression at a time:

1. Cointegrating regressions: one product `Xc' Xc` of the de-meaned closes gives every pair's
   hedge ratio `cov(A, B) / var(B)`.
2. Residual ADF without a residual: the ADF design of lag L (level r_t, lagged differences
   d_{t-1} .. d_{t-L}, and the dependent d_t) only enters through its Gram matrix, whose
   entries are lagged cross-products `Σ d_s d_{s-h}` and `Σ r_t d_{t-j}` over nearly the same
   rows for every lag. Their sum over the rows all lags share (the core) is bilinear in the
   two legs, `r = xc_a - β xc_b`, so 2 (p + 1) matrix products of all coins' de-meaned closes
   and differences (`_coin_moments`) give the core sums of EVERY pair; the few rows at the
   two ends of the sample that some lags use and others do not are summed per pair from the
   residual's first p + 1 and last 2p + 1 values (`_edge_sums`).
3. AIC over lags 0..p on the common sample: the Gram matrix of every smaller lag is a leading
   sub-block of the largest, and a Cholesky factor's leading block is the factor of the
   leading block, so ONE batched Cholesky of the column-scaled Gram matrix yields the residual
   sum of squares of every candidate lag at once.
4. Re-fit on the chosen lag's own (longer) sample: pairs are grouped by lag; each group's Gram
   matrix (edge sums from the lag's first row) is ordered [lags, level, y] and the
   t-statistic is `L[y, level] / L[y, y] x sqrt(dof)` of its batched Cholesky.

Accuracy. The bilinear core sums cancel when the residual is tiny beside its legs (R² near
1): a pair whose terms exceed its sum by more than `MAX_AMPLIFICATION`, or with a coin too
small to square without underflow, takes its core sums from its own residual instead
(`direct_path_pairs`). Either way the edge rows use the very differences the core sums are
made of, so each Gram matrix is that of one design. Normal equations square the condition
number; on scaled columns of real residuals it is tiny, but any pair whose Cholesky pivots
fall below `FAST_PATH_MIN_PIVOT` (near-singular design, near-perfect fit) or with a regressor
of rounding noise (`ROUNDING_NOISE`) is recomputed by the exact QR path of
`cointegration.engle_granger`, which also supplies the refusal reason when the data are
degenerate.

Threads: BLAS runs single-threaded during the scan (see `statarb.stats.threads`).

Memory: the coins' lagged cross-products take 16 (p + 1) x coins² bytes (17 MB for 200 coins
at p = 26); pairs are then processed in blocks of about `max_block_bytes` (16 MB by default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from statarb.stats import mackinnon
from statarb.stats.cointegration import (
    COLLINEAR_R_SQUARED,
    MIN_EG_OBS,
    AutoLag,
    CriticalValues,
    _aic,
    _autolag,
    engle_granger,
    require_adf_dof,
    resolve_maxlag,
)
from statarb.stats.halflife import half_life_from_slope
from statarb.stats.inputs import StatsInputError
from statarb.stats.threads import single_threaded_blas

# A regressor whose root sum of squares is below this fraction of the residual's (over the whole
# sample) is rounding noise, not data: its pair goes to the exact path.
ROUNDING_NOISE = 1e-12

# Below this (scaled) Cholesky pivot the normal equations could lose more than ~1e-10 of
# relative accuracy; such pairs take the exact QR path instead.
FAST_PATH_MIN_PIVOT = 1e-3

DEFAULT_MAX_BLOCK_BYTES = 16 * 1024 * 1024  # measured fastest (cache-sized blocks)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class BatchResult:
    """One row per tested pair (A regressed on B); NaN statistics where `error` says why not.

    `half_life` is the OU half-life of the full-sample residual in candles (inf: no reversion);
    `corr_returns` is the Pearson correlation of the two legs' log returns, `corr_levels` of
    their price levels (high for any two trending coins: a screen, not evidence).
    """

    leg_a: np.ndarray  # column index of leg A in the closes
    leg_b: np.ndarray
    hedge_ratio: np.ndarray
    intercept: np.ndarray
    r_squared: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    lag: np.ndarray  # -1 where refused
    half_life: np.ndarray
    corr_returns: np.ndarray
    corr_levels: np.ndarray
    error: tuple[str | None, ...]
    n_obs: int
    maxlag: int
    crit_values: CriticalValues
    exact_path_pairs: int  # pairs recomputed by the QR path (diagnostics)
    direct_path_pairs: int = 0  # pairs whose sums came from their own residual (diagnostics)

    @property
    def ok(self) -> np.ndarray:
        return np.array([e is None for e in self.error], dtype=bool)

    def __len__(self) -> int:
        return int(self.leg_a.shape[0])

    def to_frame(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per pair, legs by name when `names` (the closes' columns) are given."""
        label = (lambda i: names[i]) if names is not None else (lambda i: i)
        return pd.DataFrame(
            {
                "leg_a": [label(i) for i in self.leg_a],
                "leg_b": [label(i) for i in self.leg_b],
                "hedge_ratio": self.hedge_ratio,
                "intercept": self.intercept,
                "r_squared": self.r_squared,
                "stat": self.stat,
                "pvalue": self.pvalue,
                "lag": self.lag,
                "half_life": self.half_life,
                "corr_returns": self.corr_returns,
                "corr_levels": self.corr_levels,
                "error": list(self.error),
            }
        )


def all_unordered_pairs(n_coins: int) -> np.ndarray:
    """Every pair (i, j) with i < j, as a (K, 2) array: column i is leg A."""
    first, second = np.triu_indices(n_coins, k=1)
    return np.column_stack([first, second]).astype(np.intp)


def engle_granger_batch(
    closes: Any,
    pairs: Any = None,
    *,
    maxlag: int | None = None,
    autolag: AutoLag = "aic",
    names: Sequence[str] | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Engle-Granger test of every pair (A on B) of aligned closes (rows: candles, cols: coins).

    `pairs` is a (K, 2) array of column indices (A, B); default: all i < j. The lag rule is
    `coint`'s: `maxlag` None means statsmodels' default for the sample, `autolag` "aic" or None.
    """
    method = _autolag(autolag)
    x, names = _validated_closes(closes, names)
    n, n_coins = x.shape
    pair_idx = _validated_pairs(pairs, n_coins)
    name = "the Engle-Granger residual"
    p = resolve_maxlag(n, maxlag, 0, name)
    require_adf_dof(n, p, 0, name)

    with np.errstate(all="ignore"):  # overflow/underflow is refused just below, by coin
        means = x.mean(axis=0)
        xc_t = np.ascontiguousarray((x - means).T)  # (coins, candles): one row per coin
        gram = xc_t @ xc_t.T
    diag = np.diag(gram)
    bad = np.flatnonzero(~np.isfinite(diag) | (diag == 0.0) | ~np.isfinite(gram).all(axis=0))
    if bad.size:
        raise StatsInputError(
            f"closes of {_label(names, int(bad[0]))} are too large or too small to regress in "
            "float64 (their sums of squares overflow or underflow): rescale the prices"
        )
    sd = np.sqrt(diag)
    corr_levels_m = gram / np.outer(sd, sd)
    corr_returns_m = _log_return_correlation(x)

    k_pairs = pair_idx.shape[0]
    ia, ib = pair_idx[:, 0], pair_idx[:, 1]
    hedge = gram[ia, ib] / diag[ib]
    r_squared = np.full(k_pairs, np.nan)
    stat = np.full(k_pairs, np.nan)
    lag = np.full(k_pairs, -1, dtype=np.intp)
    half_life = np.full(k_pairs, np.nan)
    needs_exact = np.zeros(k_pairs, dtype=bool)
    direct = np.zeros(k_pairs, dtype=bool)

    block = _block_size(p, max_block_bytes)
    with single_threaded_blas(), np.errstate(all="ignore"):  # non-finite: exact path below
        coins, local = np.unique(pair_idx, return_inverse=True)
        local = local.reshape(pair_idx.shape)
        moments = _coin_moments(xc_t[coins], p)
        work = _Workspace()
        for start in range(0, k_pairs, block):
            sl = slice(start, min(start + block, k_pairs))
            part = _scan_block(
                moments,
                xc_t,
                la=local[sl, 0],
                lb=local[sl, 1],
                ia=ia[sl],
                ib=ib[sl],
                hedge=hedge[sl],
                gram=gram,
                method=method,
                work=work,
            )
            r_squared[sl], stat[sl], lag[sl] = part.r_squared, part.stat, part.lag
            half_life[sl], needs_exact[sl] = part.half_life, part.needs_exact
            direct[sl] = part.direct
            if progress is not None:
                progress(sl.stop, k_pairs)

    errors: list[str | None] = [None] * k_pairs
    for i in np.flatnonzero(r_squared >= COLLINEAR_R_SQUARED):
        errors[i] = (
            f"legs are (almost) perfectly collinear (R² = {r_squared[i]:.12f}): "
            "the residual is rounding noise"
        )
    exact = [i for i in np.flatnonzero(needs_exact) if errors[i] is None]
    for i in exact:
        try:
            res = engle_granger(x[:, ia[i]], x[:, ib[i]], maxlag=p, autolag=method)
        except StatsInputError as exc:
            errors[i] = str(exc)
        else:
            stat[i], lag[i] = res.stat, res.lag
    refused = np.array([e is not None for e in errors], dtype=bool)
    stat[refused], lag[refused] = np.nan, -1

    return BatchResult(
        leg_a=ia.copy(),
        leg_b=ib.copy(),
        hedge_ratio=hedge,
        intercept=means[ia] - hedge * means[ib],
        r_squared=r_squared,
        stat=stat,
        pvalue=mackinnon.pvalues(stat, "c", mackinnon.EG_N_VARS),
        lag=lag,
        half_life=half_life,
        corr_returns=corr_returns_m[ia, ib],
        corr_levels=corr_levels_m[ia, ib],
        error=tuple(errors),
        n_obs=n,
        maxlag=p,
        crit_values=CriticalValues(*mackinnon.critical_values("c", mackinnon.EG_N_VARS, n - 1)),
        exact_path_pairs=len(exact),
        direct_path_pairs=int(direct.sum()),
    )


@dataclass(frozen=True, eq=False)
class _CoinMoments:
    """Sums over the core rows of every coin pair's de-meaned closes and differences.

    With `xc` the de-meaned closes and `dx[s] = xc[s + 1] - xc[s]` (one column per coin):
    `diff_diff[h, x, y] = Σ_{s=p}^{n-2-p} dx[s, x] dx[s-h, y]`,
    `level_diff[j, x, y] = Σ_{t=p}^{n-2} xc[t, x] dx[t-j, y]`,
    `level_level[x, y] = Σ_{t=p}^{n-2} xc[t, x] xc[t, y]`. A residual `xc_a - β xc_b` is linear
    in the coins, so its sums are `[a, a] - β ([a, b] + [b, a]) + β² [b, b]` of these.
    """

    diff_diff: np.ndarray  # (p + 1, coins, coins)
    level_diff: np.ndarray  # (p + 1, coins, coins)
    level_level: np.ndarray  # (coins, coins)
    head: np.ndarray  # (coins, p + 1): xc at t = 0 .. p
    head_diff: np.ndarray  # (coins, p): dx at s = 0 .. p-1
    tail_diff: np.ndarray  # (coins, 2p): dx at s = n-1-2p .. n-2
    last: np.ndarray  # (coins,): xc at t = n-1
    underflows: np.ndarray  # (coins,) bool: some products of the coin's values are subnormal
    level_sum: np.ndarray  # (coins,): Σ_{t=0}^{n-2} xc[t]
    p: int
    n: int


def _coin_moments(xc_t: np.ndarray, p: int) -> _CoinMoments:
    """The lagged cross-products of all coins: 2 (p + 1) + 1 matrix products."""
    n = xc_t.shape[1]
    xc = np.ascontiguousarray(xc_t.T)  # (candles, coins): row windows are contiguous
    dx = np.diff(xc, axis=0)
    core_t = np.ascontiguousarray(dx[p : n - 1 - p].T)
    level_t = np.ascontiguousarray(xc[p : n - 1].T)
    diff_diff = np.stack([core_t @ dx[p - h : n - 1 - p - h] for h in range(p + 1)])
    level_diff = np.stack([level_t @ dx[p - j : n - 1 - j] for j in range(p + 1)])
    return _CoinMoments(
        diff_diff=diff_diff,
        level_diff=level_diff,
        level_level=level_t @ level_t.T,
        head=np.ascontiguousarray(xc_t[:, : p + 1]),
        head_diff=np.ascontiguousarray(dx[:p].T),
        tail_diff=np.ascontiguousarray(dx[n - 1 - 2 * p :].T),
        last=xc[n - 1].copy(),
        underflows=_underflows(xc) | _underflows(dx),
        level_sum=xc[: n - 1].sum(axis=0),
        p=p,
        n=n,
    )


# Products of values below this are subnormal: they carry fewer digits than a float64.
SQRT_SAFE_MIN = float(np.sqrt(np.finfo(np.float64).tiny / np.finfo(np.float64).eps))


def _underflows(values: np.ndarray) -> np.ndarray:
    """Per column: a non-zero value too small to square without losing digits to underflow."""
    magnitude = np.abs(values)
    return ((magnitude > 0.0) & (magnitude < SQRT_SAFE_MIN)).any(axis=0)


def _bilinear(m: np.ndarray, ia: np.ndarray, ib: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """`m[.., a, a] - β (m[.., a, b] + m[.., b, a]) + β² m[.., b, b]`, pairs on the last axis."""
    aa, ab, ba, bb = m[..., ia, ia], m[..., ia, ib], m[..., ib, ia], m[..., ib, ib]
    return (aa - beta * ab) - beta * (ba - beta * bb)


def _amplification(
    m: np.ndarray, ia: np.ndarray, ib: np.ndarray, beta: np.ndarray, value: np.ndarray
) -> np.ndarray:
    """How much larger than `value` the terms are that cancel in `_bilinear` (inf if value <= 0).

    A sum of products carries a rounding error of about eps x (the sum of the magnitudes); by
    Cauchy-Schwarz the terms are at most `(sqrt(m_aa) + |β| sqrt(m_bb))²`.
    """
    scale = (np.sqrt(m[ia, ia]) + np.abs(beta) * np.sqrt(m[ib, ib])) ** 2
    return np.where(value > 0.0, scale / np.where(value > 0.0, value, 1.0), np.inf)


# A pair whose sums of products cancel by more than this (e.g. R² > 0.9996: a residual tiny
# beside its legs) loses too many digits in `_bilinear`; its sums are recomputed from its own
# residual instead. Measured: at 1e4 the statistics still agree with the residual's own to ~1e-11.
MAX_AMPLIFICATION = 1e4


class _Workspace:
    """Buffers reused by every block of one scan: fresh memory costs a page fault per 4 KiB,
    measured at a quarter of the scan's time when each block allocated its own."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[name] = np.empty(size)
        return buffer[:size].reshape(shape)


@dataclass(frozen=True, eq=False)
class _Block:
    r_squared: np.ndarray
    stat: np.ndarray
    lag: np.ndarray
    half_life: np.ndarray
    needs_exact: np.ndarray  # near-singular for the normal equations: redo by QR
    direct: np.ndarray  # sums taken from the pair's own residual (cancellation)


def _scan_block(
    m: _CoinMoments,
    xc_t: np.ndarray,
    *,
    la: np.ndarray,
    lb: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    hedge: np.ndarray,
    gram: np.ndarray,
    method: AutoLag,
    work: _Workspace,
) -> _Block:
    """EG statistics for one block of pairs: `la`/`lb` index the moments, `ia`/`ib` the closes.

    The ADF design of lag L on rows t = lo .. n-2 has columns r_t (level) and d_{t-j}
    (j = 0: the dependent Δr_t). Its Gram matrix is the core sums (rows every lag shares,
    from `_CoinMoments`) plus the few edge rows, summed from the residual's first p + 1 and
    last 2p + 1 values (`_edge_sums`).
    """
    p, n = m.p, m.n
    beta = hedge
    core_dd = _bilinear(m.diff_diff, la, lb, beta).T  # (P, p + 1)
    core_ld = _bilinear(m.level_diff, la, lb, beta).T
    core_ll = _bilinear(m.level_level, la, lb, beta)
    ssr = _bilinear(gram, ia, ib, beta)  # Σ r_t² over all rows
    amp = np.maximum.reduce(
        [
            _amplification(m.diff_diff[0], la, lb, beta, core_dd[:, 0]),
            _amplification(m.level_level, la, lb, beta, core_ll),
            _amplification(gram, ia, ib, beta, ssr),
        ]
    )
    # The edge rows' differences are those the core sums are made of (here dx_a - β dx_b): a
    # Gram matrix mixing two roundings of the same d_s is no design's Gram matrix, and an
    # ill-conditioned ADF regression turns that inconsistency into t-statistic error.
    r_head = m.head[la] - beta[:, None] * m.head[lb]
    d_head = m.head_diff[la] - beta[:, None] * m.head_diff[lb]
    d_tail = m.tail_diff[la] - beta[:, None] * m.tail_diff[lb]
    direct = ~(amp <= MAX_AMPLIFICATION) | m.underflows[la] | m.underflows[lb]
    if direct.any():
        rows = np.flatnonzero(direct)
        sums = _residual_sums(xc_t, ia[rows], ib[rows], beta[rows], p)
        core_dd[rows], core_ld[rows], core_ll[rows], ssr[rows] = sums[:4]
        d_head[rows], d_tail[rows] = sums[4:]
    edges = _edge_sums(r_head, d_head, d_tail, p, work)

    # Half-life: slope of Δr_t on r_{t-1} with an intercept, rows t = 0 .. n-2. The cross sum
    # comes from Σ r_t Δr_t = (r_{n-1}² - r_0² - Σ Δr_t²) / 2 (telescoping).
    n1 = n - 1
    sum_r = m.level_sum[la] - beta * m.level_sum[lb]
    first, last = r_head[:, 0], m.last[la] - beta * m.last[lb]
    sum_dd = core_dd[:, 0] + edges.head_dd[:, 0, 0] + edges.tail_dd[:, 0, 0]
    sum_rd = 0.5 * ((last - first) * (last + first) - sum_dd)
    sum_rr = core_ll + np.einsum("ij,ij->i", r_head[:, :p], r_head[:, :p])
    slope = (sum_rd - sum_r * (last - first) / n1) / (sum_rr - sum_r * sum_r / n1)

    core = _CoreSums(core_dd, core_ld, core_ll)
    # A regressor this small beside the residual is rounding noise (e.g. a difference of two
    # residual values that are equal up to their last bit): exactly zero in another rounding.
    floor = (ROUNDING_NOISE * ROUNDING_NOISE) * ssr
    bad = np.zeros(len(beta), dtype=bool)
    if method == "aic":
        g = _gram(core, edges, p, slice(None), work, level_first=True)
        yy = g[:, p + 1, p + 1].copy()
        chol, bad_aic = _scaled_cholesky(g, floor)
        bad |= bad_aic
        z2 = chol[:, p + 1, : p + 1] ** 2
        e2 = chol[:, p + 1, p + 1] ** 2
        # ssr of lag l (scaled so that y'y = 1): e2 + sum of z_i^2 for i > l.
        tail = np.cumsum(z2[:, ::-1], axis=1)[:, ::-1]
        tail = np.concatenate([tail[:, 1:], np.zeros((len(z2), 1))], axis=1)
        ssr_lag = yy[:, None] * (e2[:, None] + tail)
        aics = _aic(ssr_lag, n - 1 - p, np.arange(1, p + 2)[None, :])
        lags = np.argmin(aics, axis=1)  # first minimum, like statsmodels
    else:
        lags = np.full(len(beta), p, dtype=np.intp)

    stat = np.full(len(beta), np.nan)
    for lag in np.unique(lags):
        sel = np.flatnonzero(lags == lag)
        g = _gram(core, edges, int(lag), sel, work, level_first=False)
        chol, bad_refit = _scaled_cholesky(g, floor[sel])
        dof = (n - 1 - lag) - (lag + 1)
        # Order [Δr lags 1..L, level, Δr_t]: t = L[y, level] / L[y, y] x sqrt(dof).
        stat[sel] = chol[:, lag + 1, lag] * np.sqrt(dof) / chol[:, lag + 1, lag + 1]
        bad[sel] |= bad_refit
    stat[bad] = np.nan
    return _Block(
        r_squared=1.0 - ssr / gram[ia, ia],
        stat=stat,
        lag=lags,
        half_life=half_life_from_slope(slope),
        needs_exact=bad,
        direct=direct,
    )


def _residual_sums(
    xc_t: np.ndarray, ia: np.ndarray, ib: np.ndarray, beta: np.ndarray, p: int
) -> tuple[np.ndarray, ...]:
    """The core sums and Σ r_t² of `_scan_block` from each pair's own residual (few pairs),
    and that residual's differences at the edge rows (d_0 .. d_{p-1}, d_{n-1-2p} .. d_{n-2})."""
    n = xc_t.shape[1]
    r = xc_t[ia] - beta[:, None] * xc_t[ib]
    d = np.diff(r, axis=1)
    core = d[:, p : n - 1 - p]
    level = r[:, p : n - 1]
    dd = np.stack([np.einsum("ij,ij->i", core, d[:, p - h : n - 1 - p - h]) for h in range(p + 1)])
    ld = np.stack([np.einsum("ij,ij->i", level, d[:, p - j : n - 1 - j]) for j in range(p + 1)])
    return (
        dd.T,
        ld.T,
        np.einsum("ij,ij->i", level, level),
        np.einsum("ij,ij->i", r, r),
        d[:, :p],
        d[:, n - 1 - 2 * p :],
    )


@dataclass(frozen=True, eq=False)
class _CoreSums:
    diff_diff: np.ndarray  # (P, p + 1): Σ_{s=p}^{n-2-p} d_s d_{s-h}
    level_diff: np.ndarray  # (P, p + 1): Σ_{t=p}^{n-2} r_t d_{t-j}
    level_level: np.ndarray  # (P,): Σ_{t=p}^{n-2} r_t²


@dataclass(frozen=True, eq=False)
class _EdgeSums:
    """Partial sums over the rows outside the core, for any first row lo <= p of the design.

    `head_dd[:, h, m] = Σ_{s=m}^{p-1} d_s d_{s-h}`, `tail_dd[:, h, i] =
    Σ_{s=n-1-p}^{n-2-i} d_s d_{s-h}`; m = p (or i = p) is the empty sum. The level's head
    sums are needed at one first row per pair only: `_level_head` takes them from `r_head`.
    """

    head_dd: np.ndarray  # (P, p + 1, p + 1)
    tail_dd: np.ndarray  # (P, p + 1, p + 1)
    r_head: np.ndarray  # (P, p + 1): r_0 .. r_p
    d_head: np.ndarray  # (P, p): d_0 .. d_{p-1}


def _edge_sums(
    r_head: np.ndarray, d_head: np.ndarray, d_tail: np.ndarray, p: int, work: _Workspace
) -> _EdgeSums:
    """Edge sums from r_0 .. r_p, d_0 .. d_{p-1} and d_{n-1-2p} .. d_{n-2} of each pair.

    The products are laid out by (head/tail, lag) x position; one product with a 0/1 triangle
    turns them into every partial sum at once.
    """
    k = r_head.shape[0]
    if p == 0:
        zeros = np.zeros((k, 1, 1))
        return _EdgeSums(zeros, zeros, r_head, d_head)
    padded = np.concatenate([np.zeros((k, p)), d_head], axis=1)
    head_lagged = sliding_window_view(padded, p, axis=1)[:, ::-1]  # [h, s] = d_{s-h} (0: s < h)
    tail_lagged = sliding_window_view(d_tail, p, axis=1)[:, ::-1]  # [h, u] = d_{n-1-p+u-h}
    top = p + 1
    products = work.get("edge_products", (k, 2 * top, p))
    np.multiply(d_head[:, None, :], head_lagged, out=products[:, :top])
    # The tail runs backwards (u = p-1 .. 0) so that its partial sums are suffix sums too.
    np.multiply(d_tail[:, None, p:][..., ::-1], tail_lagged[..., ::-1], out=products[:, top:])
    # [.., m] = Σ_{s >= m}; m = p: empty. One 2-D product (a stacked matmul loops in numpy).
    sums = np.matmul(
        products.reshape(-1, p), _suffix_triangle(p), out=work.get("edge_sums", (k * 2 * top, top))
    ).reshape(k, 2 * top, top)
    return _EdgeSums(head_dd=sums[:, :top], tail_dd=sums[:, top:], r_head=r_head, d_head=d_head)


def _level_head(r_head: np.ndarray, d: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """`Σ_{t=lag}^{p-1} r_t d_{t-j}` for j = 0 .. lag, and `Σ_{t=lag}^{p-1} r_t²`."""
    k, top = r_head.shape[0], lag + 1
    p = r_head.shape[1] - 1
    if lag == p:
        return np.zeros((k, top)), np.zeros(k)
    level = r_head[:, lag:p]
    lagged = sliding_window_view(d, p - lag, axis=1)[:, ::-1]  # [j, u] = d_{lag+u-j}
    return np.einsum("ku,kju->kj", level, lagged), np.einsum("ku,ku->k", level, level)


@cache
def _suffix_triangle(p: int) -> np.ndarray:
    """(p, p + 1) with 1 where row >= column: `a @ it` sums a[s] over s >= m."""
    tri = (np.arange(p)[:, None] >= np.arange(p + 1)[None, :]).astype(np.float64)
    tri.setflags(write=False)
    return tri


def _gram(
    core: _CoreSums, edges: _EdgeSums, lag: int, rows: Any, work: _Workspace, *, level_first: bool
) -> np.ndarray:
    """Gram matrices of the ADF design with `lag` lags on rows t = lag .. n-2 (lag <= p).

    Columns [r_t, Δr_{t-1} .. Δr_{t-lag}, Δr_t] (`level_first`) or [Δr_{t-1} .. Δr_{t-lag},
    r_t, Δr_t]. Entry (Δr_{t-i}, Δr_{t-i-h}) is Σ_{s=lag-i}^{n-2-i} d_s d_{s-h}: the core sum
    h, the head from s = lag - i and the tail to s = n-2-i. `rows`: the pairs wanted.
    """
    top = lag + 1
    level_diff, level_level = _level_head(edges.r_head[rows], edges.d_head[rows], lag)
    k = level_level.shape[0]
    source = work.get("gram_source", (k, top * top + top + 1))
    dd = source[:, : top * top].reshape(k, top, top)  # a view: dd[:, i, h] (i + h > lag unused)
    np.add(
        core.diff_diff[rows, None, :top],
        edges.head_dd[rows, :top, lag::-1].transpose(0, 2, 1),
        out=dd,
    )
    dd += edges.tail_dd[rows, :top, :top].transpose(0, 2, 1)
    np.add(core.level_diff[rows, :top], level_diff, out=source[:, -top - 1 : -1])
    ll = core.level_level[rows] + level_level
    source[:, -1] = ll
    out = work.get("gram", (k, (lag + 2) ** 2))
    return np.take(source, _gram_index(lag, level_first), axis=1, out=out).reshape(
        k, lag + 2, lag + 2
    )


@cache
def _gram_index(lag: int, level_first: bool) -> np.ndarray:
    """Where each Gram entry is in `_gram`'s source row: dd (i, h), then ld (j), then ll."""
    top = lag + 1
    lags: list[int | None] = list(range(1, top))
    columns = [None, *lags, 0] if level_first else [*lags, None, 0]
    index = np.empty((lag + 2, lag + 2), dtype=np.intp)
    for row, first in enumerate(columns):
        for col, second in enumerate(columns):
            if first is None and second is None:
                index[row, col] = top * top + top
            elif first is None or second is None:
                index[row, col] = top * top + (second if first is None else first)
            else:
                index[row, col] = min(first, second) * top + abs(first - second)
    index.setflags(write=False)
    return index.ravel()


def _scaled_cholesky(gram: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of the unit-diagonal versions of stacked Gram matrices (scaled in place).

    Returns the factors and a mask of matrices that are not safely positive definite (a pivot
    below FAST_PATH_MIN_PIVOT, or a column whose sum of squares is below `floor`, zero
    included); those get an identity placeholder.
    """
    squares = np.einsum("...ii->...i", gram)
    zero = ~(squares > floor[:, None]).all(axis=1)
    d = np.sqrt(squares)
    d = np.where(d > 0.0, d, 1.0)
    scaled = gram
    scaled /= d[:, :, None]
    scaled /= d[:, None, :]
    eye = np.eye(gram.shape[1])
    scaled[zero] = eye
    try:
        chol = np.linalg.cholesky(scaled)
        failed = np.zeros(len(gram), dtype=bool)
    except np.linalg.LinAlgError:
        chol = np.empty_like(scaled)
        failed = np.zeros(len(gram), dtype=bool)
        for i in range(len(gram)):
            try:
                chol[i] = np.linalg.cholesky(scaled[i])
            except np.linalg.LinAlgError:
                chol[i], failed[i] = eye, True
    pivots = np.einsum("...ii->...i", chol)
    bad = zero | failed | ~(pivots.min(axis=1) >= FAST_PATH_MIN_PIVOT)
    return chol, bad


def _validated_closes(
    closes: Any, names: Sequence[str] | None
) -> tuple[np.ndarray, Sequence[str] | None]:
    if isinstance(closes, pd.DataFrame):
        names = [str(c) for c in closes.columns] if names is None else names
    try:
        x = np.asarray(closes, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"closes are not numeric: {exc}") from None
    if x.ndim != 2:
        raise StatsInputError(f"closes must be 2-D (candles x coins), got shape {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        raise StatsInputError(
            f"closes of {_label(names, col)} have {int(bad[:, col].sum())} missing/non-finite "
            "value(s): drop the coin or the candles before a batch test"
        )
    if x.shape[0] < MIN_EG_OBS:
        raise StatsInputError(
            f"closes have {x.shape[0]} candles; an Engle-Granger test needs at least {MIN_EG_OBS}"
        )
    flat = np.flatnonzero(x.max(axis=0) == x.min(axis=0))
    if flat.size:
        raise StatsInputError(
            f"closes of {_label(names, int(flat[0]))} are constant: nothing to test"
        )
    return x, names


def _label(names: Sequence[str] | None, column: int) -> str:
    return names[column] if names is not None else f"column {column}"


def _validated_pairs(pairs: Any, n_coins: int) -> np.ndarray:
    if pairs is None:
        return all_unordered_pairs(n_coins)
    idx = np.asarray(pairs)
    if idx.size == 0:
        return np.empty((0, 2), dtype=np.intp)
    if idx.ndim != 2 or idx.shape[1] != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise StatsInputError(f"pairs must be a (K, 2) array of column indices, got {idx.shape}")
    if (idx < 0).any() or (idx >= n_coins).any():
        raise StatsInputError(f"pair index out of range for {n_coins} coins")
    if (idx[:, 0] == idx[:, 1]).any():
        raise StatsInputError("a pair must have two different coins")
    return idx.astype(np.intp)


def _log_return_correlation(x: np.ndarray) -> np.ndarray:
    """Correlation matrix of log returns; NaN for a coin with a non-positive price."""
    positive = (x > 0.0).all(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.diff(np.log(np.where(x > 0.0, x, np.nan)), axis=0)
        rets = rets - rets.mean(axis=0)
        cov = rets.T @ rets
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
    corr[~positive, :] = np.nan
    corr[:, ~positive] = np.nan
    return corr


def _block_size(p: int, max_block_bytes: int) -> int:
    # Per pair: about a dozen (p + 2) x (p + 2) arrays of float64 (edge sums, Gram, Cholesky).
    per_pair = 8 * 12 * (p + 2) ** 2
    return max(1, int(max_block_bytes // per_pair))

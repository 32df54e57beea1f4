"""Engle-Granger tests of many pairs of one universe at once.

Same statistics as `cointegration.engle_granger` (and so as statsmodels' `coint`, trend "c"),
computed with stacked linear algebra instead of one regression at a time:

1. Cointegrating regressions: one product `Xc' Xc` of the de-meaned closes gives every pair's
   hedge ratio `cov(A, B) / var(B)`.
2. Residual ADF: for a block of pairs, the ADF design of the largest lag p (level, p lagged
   differences, and the dependent difference as a last column) is stacked and one batched
   matrix product gives its Gram matrix. The Gram matrix of every smaller lag is a leading
   sub-block of it, and a Cholesky factor's leading block is the factor of the leading block,
   so ONE batched Cholesky of the column-scaled Gram matrix yields the residual sum of squares
   of every candidate lag (hence every AIC on the common sample) at once.
3. Re-fit on the chosen lag's own (longer) sample: the few extra early rows are added to the
   Gram matrix, unused lags are padded with an identity block so all pairs share one shape,
   and the level regressor is ordered last: its t-statistic is then `L[y, level] / s` of
   another batched Cholesky.

Normal equations square the condition number; on scaled columns of real residuals it is tiny,
but any pair whose Cholesky pivots fall below `FAST_PATH_MIN_PIVOT` (near-singular design,
near-perfect fit) is recomputed by the exact QR path of `cointegration.engle_granger`, which
also supplies the refusal reason when the data are degenerate.

Threads: BLAS runs single-threaded during the scan (see `statarb.stats.threads`).

Memory: pairs are processed in blocks whose stacked design stays under `max_block_bytes`
(16 MB by default), so 50 coins x 2,000 candles needs well under 100 MB in total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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

    block = _block_size(n, p, max_block_bytes)
    with single_threaded_blas():
        for start in range(0, k_pairs, block):
            sl = slice(start, min(start + block, k_pairs))
            part = _scan_block(
                xc_t, ia[sl], ib[sl], hedge[sl], tss_a=diag[ia[sl]], p=p, method=method
            )
            r_squared[sl], stat[sl], lag[sl] = part.r_squared, part.stat, part.lag
            half_life[sl], needs_exact[sl] = part.half_life, part.needs_exact
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
    )


@dataclass(frozen=True, eq=False)
class _Block:
    r_squared: np.ndarray
    stat: np.ndarray
    lag: np.ndarray
    half_life: np.ndarray
    needs_exact: np.ndarray  # near-singular for the normal equations: redo by QR


def _scan_block(
    xc_t: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    hedge: np.ndarray,
    *,
    tss_a: np.ndarray,
    p: int,
    method: AutoLag,
) -> _Block:
    """EG statistics for one block of pairs from the de-meaned closes (one row per coin)."""
    n = xc_t.shape[1]
    resid = xc_t[ia] - hedge[:, None] * xc_t[ib]  # (P, n), A - intercept - hedge * B
    ssr = np.einsum("ij,ij->i", resid, resid)
    diff = np.diff(resid, axis=1)  # (P, n - 1)

    # Half-life: slope of Δr_t on r_{t-1} with an intercept, over the whole residual.
    level = resid[:, :-1] - resid[:, :-1].mean(axis=1, keepdims=True)
    change = diff - diff.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.einsum("ij,ij->i", level, change) / np.einsum("ij,ij->i", level, level)

    # Stacked max-lag design over the common rows t = p .. n-2, columns
    # [r_t, Δr_{t-1}, ..., Δr_{t-p}, Δr_t]; its Gram matrix serves every lag.
    k = p + 2
    design = np.empty((resid.shape[0], k, n - 1 - p))
    design[:, 0] = resid[:, p : n - 1]
    for j in range(1, p + 1):
        design[:, j] = diff[:, p - j : n - 1 - j]
    design[:, p + 1] = diff[:, p:]
    gram = design @ design.transpose(0, 2, 1)
    del design

    bad = np.zeros(resid.shape[0], dtype=bool)
    if method == "aic":
        chol, bad_aic = _scaled_cholesky(gram)
        bad |= bad_aic
        z2 = chol[:, p + 1, : p + 1] ** 2
        e2 = chol[:, p + 1, p + 1] ** 2
        # ssr of lag l (scaled so that y'y = 1): e2 + sum of z_i^2 for i > l.
        tail = np.cumsum(z2[:, ::-1], axis=1)[:, ::-1]
        tail = np.concatenate([tail[:, 1:], np.zeros((len(z2), 1))], axis=1)
        ssr_lag = gram[:, p + 1, p + 1, None] * (e2[:, None] + tail)
        with np.errstate(divide="ignore", invalid="ignore"):  # degenerate pairs: exact path
            aics = _aic(ssr_lag, n - 1 - p, np.arange(1, p + 2)[None, :])
        lags = np.argmin(aics, axis=1)  # first minimum, like statsmodels
    else:
        lags = np.full(resid.shape[0], p, dtype=np.intp)

    stat, bad_refit = _refit_tstat(resid, diff, gram, lags, p)
    return _Block(
        r_squared=1.0 - ssr / tss_a,
        stat=stat,
        lag=lags,
        half_life=half_life_from_slope(slope),
        needs_exact=bad | bad_refit,
    )


def _refit_tstat(
    resid: np.ndarray, diff: np.ndarray, gram: np.ndarray, lags: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray]:
    """ADF t-statistic of each pair at its lag, on that lag's own rows t = lag .. n-2."""
    n_pairs, n = resid.shape
    k = p + 2
    if p > 0:
        # Early rows t = 0 .. p-1 that the common sample left out; keep those with t >= lag.
        extra = np.zeros((n_pairs, k, p))
        extra[:, 0] = resid[:, :p]
        for j in range(1, p + 1):
            extra[:, j, j:] = diff[:, : p - j]
        extra[:, p + 1] = diff[:, :p]
        extra *= (np.arange(p)[None, :] >= lags[:, None])[:, None, :]
        gram = gram + extra @ extra.transpose(0, 2, 1)

    # Order [lag 1..p, level, y] and replace unused lags by an identity block.
    order = np.r_[1 : p + 1, 0, p + 1]
    m = gram[:, order][:, :, order]
    keep = np.ones((n_pairs, k), dtype=bool)
    keep[:, :p] = np.arange(1, p + 1)[None, :] <= lags[:, None]
    m = m * (keep[:, :, None] & keep[:, None, :])
    m[:, np.arange(k), np.arange(k)] += ~keep

    chol, bad = _scaled_cholesky(m)
    dof = (n - 1 - lags) - (lags + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = chol[:, p + 1, p] * np.sqrt(dof) / chol[:, p + 1, p + 1]
    stat[bad] = np.nan
    return stat, bad


def _scaled_cholesky(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of the unit-diagonal versions of stacked Gram matrices.

    Returns the factors and a mask of matrices that are not safely positive definite (a pivot
    below FAST_PATH_MIN_PIVOT, or a zero column); those get an identity placeholder.
    """
    d = np.sqrt(np.einsum("...ii->...i", gram))
    zero = (d == 0.0).any(axis=1)
    d = np.where(d == 0.0, 1.0, d)
    scaled = gram / (d[:, :, None] * d[:, None, :])
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


def _block_size(n: int, p: int, max_block_bytes: int) -> int:
    per_pair = 8 * ((p + 2) * (n - 1 - p) + 3 * n + 2 * (p + 2) ** 2)
    return max(1, int(max_block_bytes // per_pair))

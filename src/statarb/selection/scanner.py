"""Pair selection: which cointegrated pairs to trade, decided from past closes only.

Rules, in order (each rejected candidate keeps its first failing reason):

1. Window: candles with open time < `as_of`, the last `lookback` of them; coins with missing or
   non-positive closes in that window are dropped with the reason.
2. Engle-Granger in BOTH directions (A on B and B on A) for every pair. The relation is
   symmetric; a pair whose evidence depends on which leg is the regressor is a weak one. The
   pair's p-value is the larger of the two, which is still a valid p-value (it rejects no more
   often than either test alone), so the next step stays honest.
3. Benjamini-Hochberg across all pairs tested: q-value <= `fdr_alpha`.
4. Orientation for trading: leg A is the coin with the higher mean price over the window
   (the BTC-on-ETH example of docs/design.md §2.4; a rule that does not depend on the test
   outcome), and the hedge ratio, intercept, half-life and reported statistic are of A
   regressed on B. A negative hedge ratio (legs moving against each other) is not a spread we
   trade.
5. OU half-life of the residual within [min, max] candles; by default max is the window
   length / MIN_HALF_LIVES_IN_WINDOW: a spread must revert many times inside the window for
   the reversion to be evidence (and for trades to end), whatever the timeframe.
6. Out of sample within the lookback: on each half, A on B must still be cointegrated
   (p < `half_pvalue_max`), and the two halves' hedge ratios may differ by at most
   `hedge_ratio_tolerance` x the full one (a hedge off by d leaves d x leg B's notional
   unhedged). On simulated genuine pairs (720 candles, half-lives 5-40, residual 0.2-0.5 % of
   price) the halves differ by up to ~16 % (99th percentile); a 2.0 -> 2.5 shift is caught.
7. Greedy, strongest first (by the weaker direction's t-statistic), no coin in two pairs
   (FreqTrade holds one trade per coin), at most `max_pairs`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd

from statarb.pairs_config import (
    DEFAULT_ENTRY_Z,
    DEFAULT_EXIT_Z,
    DEFAULT_FDR_ALPHA,
    DEFAULT_MEAN_REVERSION_WINDOW,
    DEFAULT_PRICE_SPACE,
    DEFAULT_STOP_Z,
    PairEntry,
    PairsConfig,
    ScanWindow,
    base_coin,
)
from statarb.selection.fdr import bh_qvalues
from statarb.selection.window import (
    DroppedCoin,
    ScanInputError,
    ScanWindowData,
    scan_window,
    timeframe_name,
)
from statarb.stats.batch import BatchResult, all_unordered_pairs, engle_granger_batch
from statarb.stats.cointegration import AutoLag, require_adf_dof, resolve_maxlag
from statarb.stats.inputs import StatsInputError
from statarb.stats.space import PRICE_SPACES, PriceSpace, to_space

ProgressCallback = Callable[[int, int], None]

# Fewest candles in the window: each half must carry its own Engle-Granger test.
MIN_SCAN_CANDLES = 100

# Default half-life cap: at least this many half-lives inside the scan window (30 days of 1m
# candles: 2,160 candles; of 1h candles: 36).
MIN_HALF_LIVES_IN_WINDOW = 20


class RejectReason(StrEnum):
    TEST_REFUSED = "test_refused"  # the EG test cannot be computed (collinear, singular data)
    NOT_SIGNIFICANT = "fdr_not_significant"
    NEGATIVE_HEDGE = "negative_hedge_ratio"
    HALF_LIFE = "half_life_out_of_bounds"
    UNSTABLE_FIRST_HALF = "unstable_first_half"
    UNSTABLE_SECOND_HALF = "unstable_second_half"
    UNSTABLE_HEDGE_RATIO = "unstable_hedge_ratio"
    COIN_TAKEN = "coin_already_in_a_pair"
    MAX_PAIRS = "max_pairs_reached"


@dataclass(frozen=True)
class ScanParams:
    """Selection thresholds and the trading defaults written into pairs_config.json."""

    fdr_alpha: float = DEFAULT_FDR_ALPHA
    half_pvalue_max: float = 0.10
    hedge_ratio_tolerance: float = 0.20  # |first half - second half| / |full|
    # Below ~1 candle "reversion" is bid-ask noise no order can catch. None for the max means
    # window length / MIN_HALF_LIVES_IN_WINDOW.
    min_half_life_candles: float = 1.0
    max_half_life_candles: float | None = None
    max_pairs: int = 10
    maxlag: int | None = None  # None: statsmodels' rule for the sample size
    autolag: AutoLag = "aic"
    # Per-pair threshold overrides to write; None leaves them out of the file so the strategy's
    # own (hyperoptable) thresholds apply.
    entry_z: float | None = None
    exit_z: float | None = None
    stop_z: float | None = None
    mean_reversion_window: int = DEFAULT_MEAN_REVERSION_WINDOW
    # "raw": Engle-Granger on prices (A − c − β·B); "log": on log prices, which finds coins of
    # different size whose prices follow a power law (price_A ∝ price_B^β); see
    # docs/price_space.md.
    price_space: PriceSpace = DEFAULT_PRICE_SPACE
    # Leg A's reference quantity is this notional at the last close; leg B = hedge_ratio x A.
    reference_notional_usdt: float = 1000.0

    def max_half_life(self, n_candles: int) -> float:
        """The half-life cap in candles for a window of `n_candles`."""
        if self.max_half_life_candles is not None:
            return self.max_half_life_candles
        return n_candles / MIN_HALF_LIVES_IN_WINDOW

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 < self.fdr_alpha < 1.0:
            problems.append(f"fdr_alpha must be in (0, 1), got {self.fdr_alpha}")
        if not 0.0 < self.half_pvalue_max <= 1.0:
            problems.append(f"half_pvalue_max must be in (0, 1], got {self.half_pvalue_max}")
        if not self.hedge_ratio_tolerance > 0.0:
            problems.append(f"hedge_ratio_tolerance must be > 0, got {self.hedge_ratio_tolerance}")
        high = self.max_half_life_candles
        if not (
            self.min_half_life_candles > 0.0 and (high is None or high > self.min_half_life_candles)
        ):
            problems.append(
                "half-life bounds must satisfy 0 < min < max, got "
                f"{self.min_half_life_candles} / {high}"
            )
        if self.max_pairs < 1:
            problems.append(f"max_pairs must be >= 1, got {self.max_pairs}")
        exit_z = DEFAULT_EXIT_Z if self.exit_z is None else self.exit_z
        entry_z = DEFAULT_ENTRY_Z if self.entry_z is None else self.entry_z
        stop_z = DEFAULT_STOP_Z if self.stop_z is None else self.stop_z
        if not 0.0 <= exit_z < entry_z < stop_z:
            problems.append(
                "thresholds must satisfy 0 <= exit_z < entry_z < stop_z, got "
                f"{exit_z} / {entry_z} / {stop_z}"
            )
        if self.mean_reversion_window < 10:
            problems.append(
                f"mean_reversion_window must be >= 10, got {self.mean_reversion_window}"
            )
        if not self.reference_notional_usdt > 0.0:
            problems.append(
                f"reference_notional_usdt must be > 0, got {self.reference_notional_usdt}"
            )
        if self.price_space not in PRICE_SPACES:
            problems.append(f"price_space must be one of {PRICE_SPACES}, got {self.price_space!r}")
        if problems:
            raise ValueError("invalid ScanParams: " + "; ".join(problems))


@dataclass(frozen=True)
class Candidate:
    """One tested pair, oriented for trading (A regressed on B), with its verdict."""

    leg_a: str
    leg_b: str
    hedge_ratio: float
    intercept: float
    stat: float  # EG t-statistic, A on B
    pvalue: float  # MacKinnon p-value, A on B
    reverse_stat: float  # B on A
    reverse_pvalue: float
    pair_pvalue: float  # max of both directions: what BH is applied to
    qvalue: float
    lag: int
    half_life_candles: float
    corr_returns: float  # Pearson, log returns
    corr_levels: float  # Pearson, price levels
    first_half_pvalue: float | None = None
    second_half_pvalue: float | None = None
    first_half_hedge_ratio: float | None = None
    second_half_hedge_ratio: float | None = None
    reject_reason: RejectReason | None = None
    detail: str = ""

    @property
    def selected(self) -> bool:
        return self.reject_reason is None

    @property
    def weakest_stat(self) -> float:
        return max(self.stat, self.reverse_stat)


@dataclass(frozen=True)
class ScanResult:
    selected: tuple[Candidate, ...]  # best first
    candidates: tuple[Candidate, ...]  # every pair tested, selected ones included
    dropped_coins: tuple[DroppedCoin, ...]
    window_start: datetime
    window_end: datetime
    n_candles: int
    timeframe: str | None
    last_close: dict[str, float]
    params: ScanParams = field(repr=False)

    def rejection_counts(self) -> dict[str, int]:
        """How many candidates each rule rejected (for logs)."""
        counts = Counter(str(c.reject_reason) for c in self.candidates if not c.selected)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {**c.__dict__, "reject_reason": c.reject_reason and str(c.reject_reason)}
            for c in self.candidates
        ]
        return pd.DataFrame(rows)

    def to_pairs_config(
        self, *, generated_at: datetime | None = None, timeframe: str | None = None
    ) -> PairsConfig:
        """The selected pairs in the bot's schema (validated on construction).

        `last_updated` is `generated_at` (the caller's clock) or, for a pure/backtest call, the
        end of the scan window.
        """
        stamp = generated_at or self.window_end
        p = self.params
        entries = []
        for c in self.selected:
            qty_a = p.reference_notional_usdt / self.last_close[c.leg_a]
            if p.price_space == "log":  # notional of B = β × notional of A, at the last closes
                qty_b = c.hedge_ratio * p.reference_notional_usdt / self.last_close[c.leg_b]
            else:
                qty_b = c.hedge_ratio * qty_a
            entries.append(
                PairEntry(
                    pair_id=pair_id_for(c.leg_a, c.leg_b),
                    leg_a=c.leg_a,
                    leg_b=c.leg_b,
                    hedge_ratio=c.hedge_ratio,
                    intercept=c.intercept,
                    cointegration_stat=c.stat,
                    pvalue=c.pvalue,
                    qvalue=c.qvalue,
                    half_life_candles=c.half_life_candles,
                    n_obs=self.n_candles,
                    z_score_threshold=p.entry_z,
                    exit_z=p.exit_z,
                    stop_loss_z=p.stop_z,
                    entry_size_leg_a=qty_a,
                    entry_size_leg_b=qty_b,
                    mean_reversion_window=p.mean_reversion_window,
                    price_space=p.price_space,
                    last_updated=stamp,
                )
            )
        return PairsConfig(
            generated_at=generated_at,
            timeframe=timeframe or self.timeframe,
            scan_window=ScanWindow(start=self.window_start, end=self.window_end),
            pairs=entries,
        )


def pair_id_for(leg_a: str, leg_b: str) -> str:
    """`BTC_ETH` for BTC/USDT:USDT against ETH/USDT:USDT.

    Built from the legs, not from a rank, so a pair keeps its id across daily re-scans: an
    open spread is still recognised when the next scan chooses the same pair again.
    """
    return f"{base_coin(leg_a)}_{base_coin(leg_b)}"


def scan_pairs(
    closes: pd.DataFrame,
    *,
    as_of: datetime | None,
    lookback: int | timedelta,
    params: ScanParams | None = None,
    progress: ProgressCallback | None = None,
) -> ScanResult:
    """Select pairs from aligned closes (index: candle open time, UTC; columns: symbols).

    Uses only candles with open time strictly before `as_of` (None: all), the last `lookback`
    candles (int) or time span (timedelta) of them. Pure: no clock, no I/O.
    """
    params = params or ScanParams()
    window = scan_window(closes, as_of=as_of, lookback=lookback)
    data = window.closes
    if len(data) < MIN_SCAN_CANDLES:
        raise ScanInputError(
            f"the scan window holds {len(data)} candles; at least {MIN_SCAN_CANDLES} are needed "
            "(each half is tested on its own): use a longer lookback"
        )
    _check_lag_rule_fits_halves(len(data), params)
    symbols = [str(c) for c in data.columns]
    prices = data.to_numpy()
    last_close = {s: float(prices[-1, i]) for i, s in enumerate(symbols)}
    x = to_space(prices, params.price_space)  # the window refused non-positive prices
    result = _ScanParts(window, params, last_close)
    if len(symbols) < 2:
        return result.finish(())

    # Leg A = the coin with the higher mean price; the pair list holds (A, B) then (B, A).
    mean_price = prices.mean(axis=0)
    pairs = all_unordered_pairs(len(symbols))
    flip = mean_price[pairs[:, 0]] < mean_price[pairs[:, 1]]
    pairs[flip] = pairs[flip][:, ::-1]
    both = np.vstack([pairs, pairs[:, ::-1]])
    k = len(pairs)
    lag_rule = {"maxlag": params.maxlag, "autolag": params.autolag}
    tested = engle_granger_batch(x, both, names=symbols, progress=progress, **lag_rule)

    fwd, rev = slice(0, k), slice(k, 2 * k)
    ok = np.array([e is None for e in tested.error])
    pair_ok = ok[fwd] & ok[rev]
    pair_p = np.where(pair_ok, np.maximum(tested.pvalue[fwd], tested.pvalue[rev]), np.nan)
    qvalues = bh_qvalues(pair_p)

    half_life_cap = params.max_half_life(len(data))
    candidates = [
        _candidate(
            tested,
            i,
            k=k,
            symbols=symbols,
            pair_pvalue=pair_p[i],
            qvalue=qvalues[i],
            params=params,
            cap=half_life_cap,
        )
        for i in range(k)
    ]
    survivors = [i for i, c in enumerate(candidates) if c.reject_reason is None]
    if survivors:
        candidates = _stability(candidates, survivors, x, pairs, params)
    return result.finish(tuple(candidates))


def _check_lag_rule_fits_halves(n_candles: int, params: ScanParams) -> None:
    """An explicit maxlag must fit each half of the window: refuse up front, whatever the data."""
    if params.maxlag is None:
        return  # statsmodels' rule adapts to each sample; MIN_SCAN_CANDLES keeps it valid
    half = n_candles // 2
    try:
        resolve_maxlag(half, params.maxlag, 0, f"a half window of {half} candles")
        require_adf_dof(half, params.maxlag, 0, f"a half window of {half} candles")
    except StatsInputError as exc:
        raise ScanInputError(
            f"maxlag={params.maxlag} does not fit half of the {n_candles}-candle window: {exc}"
        ) from None


@dataclass
class _ScanParts:
    """What every scan result carries, and the final greedy one-coin-per-pair selection."""

    window: ScanWindowData
    params: ScanParams
    last_close: dict[str, float]

    def finish(self, candidates: tuple[Candidate, ...]) -> ScanResult:
        ranked = sorted(
            (c for c in candidates if c.reject_reason is None), key=lambda c: c.weakest_stat
        )
        chosen: list[Candidate] = []
        owner: dict[str, str] = {}
        verdict: dict[tuple[str, str], Candidate] = {}
        for c in ranked:
            taken = [s for s in (c.leg_a, c.leg_b) if s in owner]
            if taken:
                verdict[(c.leg_a, c.leg_b)] = _reject(
                    c, RejectReason.COIN_TAKEN, f"{taken[0]} is already in {owner[taken[0]]}"
                )
            elif len(chosen) >= self.params.max_pairs:
                verdict[(c.leg_a, c.leg_b)] = _reject(
                    c, RejectReason.MAX_PAIRS, f"max_pairs={self.params.max_pairs} already chosen"
                )
            else:
                chosen.append(c)
                for s in (c.leg_a, c.leg_b):
                    owner[s] = f"{c.leg_a} / {c.leg_b}"
        final = tuple(verdict.get((c.leg_a, c.leg_b), c) for c in candidates)
        window = self.window
        return ScanResult(
            selected=tuple(chosen),
            candidates=final,
            dropped_coins=window.dropped,
            window_start=window.start,
            window_end=window.end,
            n_candles=len(window.closes),
            timeframe=timeframe_name(window.candle),
            last_close=self.last_close,
            params=self.params,
        )


def _candidate(
    tested: BatchResult,
    i: int,
    *,
    k: int,
    symbols: list[str],
    pair_pvalue: float,
    qvalue: float,
    params: ScanParams,
    cap: float,
) -> Candidate:
    j = i + k  # the same pair, B on A
    c = Candidate(
        leg_a=symbols[tested.leg_a[i]],
        leg_b=symbols[tested.leg_b[i]],
        hedge_ratio=float(tested.hedge_ratio[i]),
        intercept=float(tested.intercept[i]),
        stat=float(tested.stat[i]),
        pvalue=float(tested.pvalue[i]),
        reverse_stat=float(tested.stat[j]),
        reverse_pvalue=float(tested.pvalue[j]),
        pair_pvalue=float(pair_pvalue),
        qvalue=float(qvalue),
        lag=int(tested.lag[i]),
        half_life_candles=float(tested.half_life[i]),
        corr_returns=float(tested.corr_returns[i]),
        corr_levels=float(tested.corr_levels[i]),
    )
    refusal = tested.error[i] or tested.error[j]
    if refusal is not None:
        return _reject(c, RejectReason.TEST_REFUSED, refusal)
    if not qvalue <= params.fdr_alpha:
        return _reject(
            c,
            RejectReason.NOT_SIGNIFICANT,
            f"q={qvalue:.3g} > fdr_alpha={params.fdr_alpha} (p={c.pair_pvalue:.3g})",
        )
    if not c.hedge_ratio > 0.0:
        return _reject(c, RejectReason.NEGATIVE_HEDGE, f"hedge_ratio={c.hedge_ratio:.6g}")
    if not params.min_half_life_candles <= c.half_life_candles <= cap:
        return _reject(
            c,
            RejectReason.HALF_LIFE,
            f"half-life {c.half_life_candles:.3g} candles outside "
            f"[{params.min_half_life_candles:g}, {cap:g}]",
        )
    return c


def _stability(
    candidates: list[Candidate],
    survivors: list[int],
    x: np.ndarray,
    pairs: np.ndarray,
    params: ScanParams,
) -> list[Candidate]:
    """Re-test the survivors (A on B) on each half of the window."""
    half = x.shape[0] // 2
    sub = pairs[survivors]
    halves = (
        (RejectReason.UNSTABLE_FIRST_HALF, "first", _half_test(x[:half], sub, params)),
        (RejectReason.UNSTABLE_SECOND_HALF, "second", _half_test(x[half:], sub, params)),
    )
    out = list(candidates)
    for row, i in enumerate(survivors):
        c = replace(
            out[i],
            first_half_pvalue=float(halves[0][2].pvalue[row]),
            second_half_pvalue=float(halves[1][2].pvalue[row]),
            first_half_hedge_ratio=float(halves[0][2].hedge_ratio[row]),
            second_half_hedge_ratio=float(halves[1][2].hedge_ratio[row]),
        )
        for reason, name, res in halves:
            if res.error[row] is not None:
                c = _reject(c, reason, f"{name} half: {res.error[row]}")
                break
            p_half = float(res.pvalue[row])
            if not p_half < params.half_pvalue_max:
                c = _reject(c, reason, f"{name} half p={p_half:.3g} >= {params.half_pvalue_max}")
                break
        if c.reject_reason is None:
            first, second = c.first_half_hedge_ratio, c.second_half_hedge_ratio
            drift = abs(first - second) / abs(c.hedge_ratio)
            if not drift <= params.hedge_ratio_tolerance:
                c = _reject(
                    c,
                    RejectReason.UNSTABLE_HEDGE_RATIO,
                    f"half hedge ratios {first:.6g} and {second:.6g} differ by {drift:.1%} of "
                    f"the full {c.hedge_ratio:.6g} (tolerance {params.hedge_ratio_tolerance:.0%})",
                )
        out[i] = c
    return out


@dataclass(frozen=True, eq=False)
class _HalfTest:
    pvalue: np.ndarray
    hedge_ratio: np.ndarray
    error: tuple[str | None, ...]


def _half_test(x_half: np.ndarray, sub: np.ndarray, params: ScanParams) -> _HalfTest:
    """EG of each (A, B) row of `sub` on one half; a coin flat within the half fails its pairs."""
    flat = x_half.max(axis=0) == x_half.min(axis=0)
    usable = ~(flat[sub[:, 0]] | flat[sub[:, 1]])
    pvalue = np.full(len(sub), np.nan)
    hedge = np.full(len(sub), np.nan)
    errors: list[str | None] = [
        None if ok else "a leg's price does not move in this half" for ok in usable
    ]
    if usable.any():
        # Only the coins of these pairs: an unrelated coin flat in this half must not matter.
        coins = np.unique(sub[usable])
        local = np.searchsorted(coins, sub[usable])
        res = engle_granger_batch(
            x_half[:, coins], local, maxlag=params.maxlag, autolag=params.autolag
        )
        pvalue[usable], hedge[usable] = res.pvalue, res.hedge_ratio
        for row, err in zip(np.flatnonzero(usable), res.error, strict=True):
            errors[row] = err
    return _HalfTest(pvalue=pvalue, hedge_ratio=hedge, error=tuple(errors))


def _reject(c: Candidate, reason: RejectReason, detail: str) -> Candidate:
    return replace(c, reject_reason=reason, detail=detail)

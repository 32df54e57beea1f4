"""Synthetic Binance USDT-M futures market with planted cointegrated pairs and exact ground truth.

Model, per candle t of the base timeframe (all coins share the market series):

    r_i[t] = sigma_i * season[t] * regime[t] * (a_i g_mkt[t] + b_i g_i[t])
             + sigma_i * (sqrt(w_i) J_mkt[t] + sqrt(1 - w_i) J_i[t])
    a_i = sqrt(w_i (1 - jump share mkt)),  b_i = sqrt((1 - w_i) (1 - jump share coin))

g are GARCH(1,1)-t shocks (fat tails, volatility clustering), J compound jumps, w_i the coin's
market share of variance: coins are correlated through the market factor but each has its own
stochastic trend, so unrelated coins are not cointegrated. A planted pair's leg A is not drawn
like this: it is `intercept + hedge_ratio * price_b + residual` with an OU residual, candle by
candle, so its OHLC are consistent and the relation holds to the last bit.

Pure numpy/pandas: no FreqTrade import (`statarb.market.store` writes FreqTrade's files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from statarb.market import processes as proc
from statarb.market.spec import (
    DEFAULT_START,
    FUNDING_INTERVAL_HOURS,
    MARK_TIMEFRAME,
    MINUTES_PER_YEAR,
    CoinParams,
    FundingParams,
    GarchParams,
    MarketSpec,
    MarketSpecError,
    PlantedPair,
    any_timeframe_minutes,
    futures_pair,
)
from statarb.market.universe import default_spec

__all__ = [
    "DEFAULT_START",
    "CoinParams",
    "FundingParams",
    "GarchParams",
    "GeneratedMarket",
    "MarketSpec",
    "MarketSpecError",
    "PlantedPair",
    "PlantedPairTruth",
    "default_spec",
    "generate_market",
    "resample_ohlcv",
]

OHLCV_COLUMNS = ["date", "open", "high", "low", "close", "volume"]
FUNDING_COLUMNS = ["date", "funding_rate"]
GROUND_TRUTH_VERSION = 1


@dataclass(frozen=True)
class PlantedPairTruth:
    """What was planted, in the units the scanner reports: `residual = a - intercept - hr * b`."""

    pair_id: str
    leg_a: str
    leg_b: str
    pair_a: str
    pair_b: str
    hedge_ratio: float
    intercept: float  # USDT
    half_life_candles: float  # of the base timeframe
    ar1_phi: float  # per-candle AR(1) coefficient of the residual
    residual_sd_frac: float  # stationary sd / leg A's starting price
    residual_sd_usdt: float  # stationary sd in USDT
    price_a0: float  # leg A's starting price, USDT
    break_index: int | None  # first candle whose close is on the random-walk residual
    break_date: datetime | None  # open time of that candle (UTC)

    def cointegrated_at(self, date: datetime) -> bool:
        """True while the residual still mean-reverts (before the break)."""
        return self.break_date is None or date < self.break_date

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["break_date"] = _iso(self.break_date) if self.break_date else None
        return out


@dataclass(frozen=True)
class GeneratedMarket:
    """The candles of every coin, keyed by FreqTrade pair name ('BTC/USDT:USDT'), and the truth.

    `candles`: base-timeframe OHLCV, `date` = candle open time (tz-aware UTC).
    `mark_candles`: 1h mark-price OHLC (volume 0, as Binance serves them).
    `funding_rates`: one row per 8-hourly settlement, columns `date, funding_rate`.
    `residuals`: per planted pair id, the residual at each candle close (USDT), exactly
    `close_a - intercept - hedge_ratio * close_b`.
    """

    spec: MarketSpec
    candles: dict[str, pd.DataFrame]
    mark_candles: dict[str, pd.DataFrame]
    funding_rates: dict[str, pd.DataFrame]
    planted: tuple[PlantedPairTruth, ...]
    residuals: dict[str, pd.Series]

    @property
    def pairs(self) -> list[str]:
        return list(self.candles)

    @property
    def random_walk_coins(self) -> list[str]:
        legs = {c for p in self.spec.pairs for c in (p.leg_a, p.leg_b)}
        return [c for c in self.spec.coins if c not in legs]

    def ground_truth(self) -> dict[str, Any]:
        """JSON-ready description of the market: what the scanner should and should not find."""
        spec = self.spec
        roles = {p.leg_a: ("leg_a", p.pair_id) for p in spec.pairs}
        roles |= {p.leg_b: ("leg_b", p.pair_id) for p in spec.pairs}
        coins = []
        for coin in spec.coins:
            role, pair_id = roles.get(coin, ("random_walk", None))
            frame = self.candles[futures_pair(coin)]
            coins.append(
                {
                    "coin": coin,
                    "pair": futures_pair(coin),
                    "role": role,
                    "planted_pair_id": pair_id,
                    "first_close": float(frame["close"].iloc[0]),
                    "last_close": float(frame["close"].iloc[-1]),
                }
            )
        return {
            "generator": "statarb.market",
            "version": GROUND_TRUTH_VERSION,
            "seed": spec.seed,
            "timeframe": spec.timeframe,
            "start": _iso(spec.start),
            "end": _iso(spec.end),
            "n_candles": spec.n_candles,
            "coins": coins,
            "random_walk_coins": self.random_walk_coins,
            "planted_pairs": [p.to_dict() for p in self.planted],
            "spec": spec.to_dict(),
        }


def generate_market(spec: MarketSpec) -> GeneratedMarket:
    """Generate every coin's candles, mark prices and funding rates for `spec`.

    Deterministic: each coin, pair and market-wide series draws from its own stream keyed by
    (seed, name), so the same spec gives identical numbers and a coin's series does not depend
    on the other coins or their order. Raises MarketSpecError when a planted leg's price would
    not stay positive.
    """
    tf_min = spec.timeframe_minutes
    n = spec.n_candles
    start_min = int(spec.start.timestamp()) // 60
    minutes = start_min + tf_min * np.arange(n, dtype=np.int64)
    # Millisecond resolution, as FreqTrade 2026.9 holds candle dates in memory.
    dates = pd.DatetimeIndex(pd.to_datetime(minutes * 60, unit="s", utc=True)).as_unit("ms")

    market = _market_series(spec, minutes)
    derived = {pair.leg_a for pair in spec.pairs}  # drawn from their leg B below
    paths = {coin: _coin_path(spec, coin, market) for coin in spec.coins if coin not in derived}
    planted: list[PlantedPairTruth] = []
    residuals: dict[str, pd.Series] = {}
    for pair in spec.pairs:
        path_a, residual, truth = _planted_leg(spec, pair, paths[pair.leg_b], dates)
        paths[pair.leg_a] = path_a
        planted.append(truth)
        residuals[pair.pair_id] = pd.Series(residual, index=dates, name=pair.pair_id)

    candles: dict[str, pd.DataFrame] = {}
    marks: dict[str, pd.DataFrame] = {}
    funding: dict[str, pd.DataFrame] = {}
    for coin in spec.coins:
        path = paths[coin]
        candles[futures_pair(coin)] = _frame(dates, path)
        marks[futures_pair(coin)] = _mark_candles(spec, coin, path, dates)
        funding[futures_pair(coin)] = _funding_rates(spec, coin)
    return GeneratedMarket(spec, candles, marks, funding, tuple(planted), residuals)


def resample_ohlcv(candles: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate regular candles to a longer timeframe the way FreqTrade does.

    Buckets by candle open time (left-closed, left-labelled, aligned to UTC midnight):
    open first, high max, low min, close last, volume sum. Buckets not fully covered by the
    input (partial first or last) are dropped rather than reported as whole candles.
    """
    if candles.empty:
        raise MarketSpecError("cannot resample an empty candle frame")
    to_min = any_timeframe_minutes(timeframe)
    step = candles["date"].diff().dropna().unique()
    if len(step) != 1:
        raise MarketSpecError("resample_ohlcv needs a regular candle grid without gaps")
    from_min = int(pd.Timedelta(step[0]).total_seconds() // 60)
    if to_min % from_min:
        raise MarketSpecError(f"{timeframe} is not a multiple of the {from_min}m input candles")
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    grouped = candles.resample(f"{to_min * 60}s", on="date")
    out = grouped.agg(agg)
    full = grouped["close"].count() == to_min // from_min
    out = out[full.to_numpy()].reset_index()
    return out.loc[:, OHLCV_COLUMNS]


# ---- internals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Market:
    """Series shared by all coins: vol multiplier (season x regime), factor shocks and jumps."""

    vol_mult: np.ndarray
    factor_shocks: np.ndarray
    factor_var: np.ndarray
    factor_jumps: np.ndarray


@dataclass(frozen=True)
class _Path:
    """One coin's candles as arrays, plus its per-candle diffusion sd (conditional, typical)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    sigma: np.ndarray
    sigma_ref: float


def _market_series(spec: MarketSpec, minutes: np.ndarray) -> _Market:
    n = len(minutes)
    tf_min = spec.timeframe_minutes
    garch = spec.garch_params
    season = proc.intraday_vol_profile(
        minutes, spec.intraday_amplitude, spec.weekend_vol_factor, tf_min
    )
    rng_regime = proc.rng_for(spec.seed, "market", "regime")
    phi = proc.half_life_to_phi(spec.regime_half_life_hours * 60 / tf_min)
    log_vol = proc.stationary_ar1(rng_regime, n, phi, spec.regime_sd)
    regime = np.exp(log_vol - spec.regime_sd**2)  # E[regime²] = 1: the annual vol is kept
    rng_factor = proc.rng_for(spec.seed, "market", "factor")
    shocks, variances = proc.garch_shocks(
        proc.student_t_unit(rng_factor, garch.t_dof, n), garch.alpha, garch.beta
    )
    jump_sd = spec.jump_sd_hourly_sigmas * math.sqrt(60 / tf_min)  # in per-candle sds
    rng_jumps = proc.rng_for(spec.seed, "market", "jumps")
    factor_jumps = proc.jumps(rng_jumps, n, spec.market_jumps_per_day * tf_min / 1440, jump_sd)
    return _Market(season * regime, shocks, variances, factor_jumps)


def _coin_path(spec: MarketSpec, coin: str, market: _Market) -> _Path:
    params = spec.params_of(coin)
    n = spec.n_candles
    tf_min = spec.timeframe_minutes
    garch = spec.garch_params
    rng = proc.rng_for(spec.seed, "coin", coin)
    shocks, variances = proc.garch_shocks(
        proc.student_t_unit(rng, garch.t_dof, n), garch.alpha, garch.beta
    )
    jump_sd = spec.jump_sd_hourly_sigmas * math.sqrt(60 / tf_min)
    idio_jumps = proc.jumps(rng, n, spec.coin_jumps_per_day * tf_min / 1440, jump_sd)
    w = params.market_share
    load_m = math.sqrt(w * (1 - spec.jump_variance_share(spec.market_jumps_per_day)))
    load_i = math.sqrt((1 - w) * (1 - spec.jump_variance_share(spec.coin_jumps_per_day)))
    sigma_c = params.annual_vol * math.sqrt(tf_min / MINUTES_PER_YEAR)
    diffusion = market.vol_mult * (load_m * market.factor_shocks + load_i * shocks)
    jump_part = math.sqrt(w) * market.factor_jumps + math.sqrt(1 - w) * idio_jumps
    log_ret = sigma_c * (diffusion + jump_part)
    sigma_t = (
        sigma_c * market.vol_mult * np.sqrt(load_m**2 * market.factor_var + load_i**2 * variances)
    )

    log_close = math.log(params.base_price) + np.cumsum(log_ret)
    log_open = np.concatenate(([math.log(params.base_price)], log_close[:-1]))
    up, down = proc.bridge_extremes(log_ret, sigma_t, 1.0 - rng.random(n), 1.0 - rng.random(n))
    open_, close = np.exp(log_open), np.exp(log_close)
    high = np.maximum.reduce([np.exp(log_open + up), open_, close])
    low = np.minimum.reduce([np.exp(log_open + down), open_, close])
    volume = _volume(spec, params, rng=rng, close=close, log_ret=log_ret, sigma_t=sigma_t,
                     sigma_ref=sigma_c)  # fmt: skip
    return _Path(open_, high, low, close, volume, sigma_t, sigma_c)


def _volume(
    spec: MarketSpec,
    params: CoinParams,
    *,
    rng: np.random.Generator,
    close: np.ndarray,
    log_ret: np.ndarray,
    sigma_t: np.ndarray,
    sigma_ref: float,
) -> np.ndarray:
    tf_min = spec.timeframe_minutes
    noise_phi = spec.volume_noise_autocorr_1h ** (tf_min / 60)
    mult = proc.volume_multiplier(
        rng, np.abs(log_ret) / sigma_t, sigma_t / sigma_ref, spec.volume_noise_sd, noise_phi
    )
    notional_per_candle = params.daily_notional_usdt * tf_min / 1440
    return notional_per_candle * mult / close


def _planted_leg(
    spec: MarketSpec, pair: PlantedPair, path_b: _Path, dates: pd.DatetimeIndex
) -> tuple[_Path, np.ndarray, PlantedPairTruth]:
    """Leg A = intercept + hedge_ratio * B + residual, candle by candle (OHLC stay consistent)."""
    n = spec.n_candles
    price_a0 = spec.leg_a_start_price(pair)
    sd = pair.residual_sd_frac * price_a0
    phi = pair.ar1_phi
    step_sd = sd * math.sqrt(1 - phi * phi)
    rng = proc.rng_for(spec.seed, "pair", pair.leg_a, pair.leg_b)
    shocks = proc.student_t_unit(rng, spec.garch_params.t_dof, n) * step_sd
    eps0 = rng.standard_normal() * sd
    k = spec.break_index(pair)
    stop = n if k is None else k
    eps = np.empty(n + 1)  # eps[t] at the open of candle t, eps[t + 1] at its close
    eps[0] = eps0
    eps[1 : stop + 1] = proc.ar1(shocks[:stop], phi, eps0)
    if k is not None:  # cointegration stops: same shocks, no pull back to the mean
        eps[k + 1 :] = eps[k] + np.cumsum(shocks[k:])

    c, h = pair.intercept, pair.hedge_ratio
    open_ = c + h * path_b.open + eps[:-1]
    close = c + h * path_b.close + eps[1:]
    high = c + h * path_b.high + np.maximum(eps[:-1], eps[1:])
    low = c + h * path_b.low + np.minimum(eps[:-1], eps[1:])
    high = np.maximum.reduce([high, open_, close])
    low = np.minimum.reduce([low, open_, close])
    if not low.min() > 0:
        t = int(np.argmin(low))
        raise MarketSpecError(
            f"planted pair {pair.pair_id}: leg A's price reaches {low[t]:.6g} USDT at "
            f"{_iso(dates[t].to_pydatetime())} (seed {spec.seed}); raise the intercept or lower "
            "residual_sd_frac so that leg A stays positive"
        )
    # Leg A's diffusion sd: B's moves scaled by h*B/A, plus the residual's own shocks.
    sigma_t = np.sqrt((h * path_b.close / close * path_b.sigma) ** 2 + (step_sd / close) ** 2)
    sigma_ref = math.sqrt((h * path_b.open[0] / price_a0 * path_b.sigma_ref) ** 2
                          + (step_sd / price_a0) ** 2)  # fmt: skip
    log_ret = np.log(close / open_)
    volume = _volume(spec, spec.params_of(pair.leg_a), rng=rng, close=close, log_ret=log_ret,
                     sigma_t=sigma_t, sigma_ref=sigma_ref)  # fmt: skip
    truth = PlantedPairTruth(
        pair_id=pair.pair_id,
        leg_a=pair.leg_a,
        leg_b=pair.leg_b,
        pair_a=futures_pair(pair.leg_a),
        pair_b=futures_pair(pair.leg_b),
        hedge_ratio=h,
        intercept=c,
        half_life_candles=pair.half_life_candles,
        ar1_phi=phi,
        residual_sd_frac=pair.residual_sd_frac,
        residual_sd_usdt=sd,
        price_a0=price_a0,
        break_index=k,
        break_date=None if k is None else dates[k].to_pydatetime(),
    )
    residual = close - c - h * path_b.close
    return _Path(open_, high, low, close, volume, sigma_t, sigma_ref), residual, truth


def _frame(dates: pd.DatetimeIndex, path: _Path) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": dates,
            "open": path.open,
            "high": path.high,
            "low": path.low,
            "close": path.close,
            "volume": path.volume,
        }
    )


def _mark_candles(
    spec: MarketSpec, coin: str, path: _Path, dates: pd.DatetimeIndex
) -> pd.DataFrame:
    """1h mark-price candles: last price times (1 + a small AR(1) basis), resampled."""
    n = spec.n_candles
    tf_min = spec.timeframe_minutes
    rng = proc.rng_for(spec.seed, "mark", coin)
    phi = proc.half_life_to_phi(spec.mark_basis_half_life_minutes / tf_min)
    basis = spec.mark_basis_mean_frac + proc.stationary_ar1(
        rng, n + 1, phi, spec.mark_basis_sd_frac
    )
    m_open = path.open * (1 + basis[:-1])
    m_close = path.close * (1 + basis[1:])
    m_high = np.maximum.reduce([path.high * (1 + basis[1:]), m_open, m_close])
    m_low = np.minimum.reduce([path.low * (1 + basis[1:]), m_open, m_close])
    frame = _frame(dates, _Path(m_open, m_high, m_low, m_close, np.zeros(n), path.sigma, 0.0))
    if spec.timeframe == MARK_TIMEFRAME:
        return frame
    return resample_ohlcv(frame, MARK_TIMEFRAME)


def _funding_rates(spec: MarketSpec, coin: str) -> pd.DataFrame:
    """Funding at every 00/08/16 UTC settlement in [start, end): AR(1) around the coin's mean."""
    interval = pd.Timedelta(hours=FUNDING_INTERVAL_HOURS)
    first = pd.Timestamp(spec.start).ceil(interval)
    times = pd.date_range(first, pd.Timestamp(spec.end), freq=interval, inclusive="left")
    fp = spec.funding
    rng = proc.rng_for(spec.seed, "funding", coin)
    coin_mean = fp.mean_rate + fp.coin_mean_sd * rng.standard_normal()
    rates = coin_mean + proc.stationary_ar1(rng, len(times), fp.autocorr, fp.sd_rate)
    # Binance publishes funding rates with 8 decimals.
    return pd.DataFrame(
        {"date": times.as_unit("ms"), "funding_rate": np.round(rates, 8)}, columns=FUNDING_COLUMNS
    )


def _iso(value: datetime) -> str:
    return pd.Timestamp(value).tz_convert("UTC").isoformat().replace("+00:00", "Z")

#!/usr/bin/env python3
"""Issue 14 item 3: does a LightGBM entry gate add value over the plain z-score rules?

Measured causally on real candles (FreqTrade layout), walk-forward, in raw or log price space:

1. Every 24 h at T (UTC midnight) `scan_pairs` runs on the previous `--lookback-candles`
   candles. EVERY candidate pair with a positive hedge ratio keeps the scan's hedge ratio and
   intercept for its validity day [T, T+24h) (and for the life of a spread opened that day).
2. Per candidate spread and candle t of its day: spread = A − c − β·B (raw) or
   log A − c − β·log B (log), z over the trailing `--z-window` candles (t included), and
   features from candles <= t and funding settled <= t's close only.
3. Entry events (1.5 < |z| < stop): the trade entered at t's close is followed forward with the
   same β and the same rolling z window: exit when z is back inside the exit band (or through
   it), stop at |z| >= stop, time exit after `--horizon-candles`. Its return in units of leg A's
   entry notional (legs delta-neutral: raw qty_B = β·qty_A, log notional_B = β·notional_A),
   gross, fees (4 fills) and funding.
4. ONE LightGBM regressor pooled over all candidate spreads predicts the pre-fee return
   (gross + funding); the gate enters when that prediction exceeds the entry's own fees
   (i.e. predicted net > 0). Retrained weekly on events whose whole label horizon ended
   before the retrain date (purged), it predicts the following week only.
5. Hyperparameters are chosen on the fit months only (before `--fit-end`); the validation
   months are reported separately and never used to choose anything.
6. A trade simulation (at most 2 spreads open, one spread per pair, no coin in two open
   spreads; a spread is held until its own exit, stop or time exit with its entry β, even
   when the next scan drops the pair — as the bot does) compares the rules with and without
   the gate, on the scanner's selected pairs (what the bot trades) and on all candidates.

Every run asserts its own causality (features recomputed on data cut at t, outcomes on data cut
at t + horizon, z equal to `statarb.stats.rolling.rolling_zscore`, training labels ending before
each retrain date, scans ending before their day). Run on the development candles (1h, both
spaces: about 2.5 minutes on one core; 5m: about 6 minutes):

    ./run bench/gate_study.py --datadir ../shared/data/real-dev --price-space both \
        --out /tmp/gate_1h.json
    ./run bench/gate_study.py --datadir ../shared/data/real-dev --timeframe 5m \
        --lookback-candles 8640 --train-stride 6 --out /tmp/gate_5m.json

Results and verdict: docs/gate_study.md.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType
from numpy.lib.stride_tricks import sliding_window_view

from statarb.market.candles import (
    DATA_FORMAT,
    available_pairs,
    load_closes,
    resolve_exchange_dir,
)
from statarb.selection.scanner import ScanParams, scan_pairs
from statarb.stats.rolling import rolling_zscore

# log(close) + LOG_SHIFT is positive for any price above e^-50 (the scanner refuses
# non-positive closes); the scan's intercept absorbs the constant, z does not see it.
LOG_SHIFT = 50.0
VOL_SHORT = 24  # candles
VOL_LONG = 168  # candles
CROSS_CAP = 168  # "candles since z crossed 0" saturates here
Z_VOL_WINDOW = 24
DZ_LAGS = (1, 5, 15)
FEES = {"taker": 0.0005, "maker": 0.0002}

FEATURES = (
    "z",
    "abs_z",
    "dz_1",
    "dz_5",
    "dz_15",
    "z_vol_24",
    "spread_sigma_rel",
    "edge_rel",
    "spread_vol_24",
    "spread_vol_168",
    "vol_regime",
    "notional_ratio",
    "half_life",
    "pair_pvalue",
    "qvalue",
    "eg_stat",
    "selected",
    "since_cross",
    "funding_carry",
    "hour",
    "hours_since_scan",
)

# Small grid; chosen on the fit months only.
HYPER_GRID = (
    {"num_leaves": 4, "n_estimators": 150, "learning_rate": 0.05, "min_child_samples": 200},
    {"num_leaves": 7, "n_estimators": 200, "learning_rate": 0.03, "min_child_samples": 100},
    {"num_leaves": 15, "n_estimators": 300, "learning_rate": 0.03, "min_child_samples": 50},
    {"num_leaves": 31, "n_estimators": 400, "learning_rate": 0.02, "min_child_samples": 20},
)


@dataclass(frozen=True)
class StudyConfig:
    timeframe: str = "1h"
    price_space: str = "raw"
    lookback_candles: int = 720
    z_window: int = 50
    horizon_candles: int = 48
    entry_z_grid: tuple[float, ...] = (1.5, 2.0, 2.5)
    main_entry_z: float = 2.0
    exit_z: float = 0.5
    stop_z: float = 4.0
    account_usdt: float = 10_000.0
    notional_leg_a_usdt: float = 2_000.0  # 10 % margin x 2 leverage
    max_open_spreads: int = 2
    first_scan: str = "2025-01-30"
    first_retrain: str = "2025-02-13"
    fit_end: str = "2025-04-01"  # validation starts here
    data_end: str = "2025-07-01"
    retrain_every_days: int = 7
    train_stride: int = 1  # train on entry events at every n-th candle only (5m: fewer rows)
    seed: int = 7
    extra_seeds: tuple[int, ...] = (11, 23)  # the gate's sensitivity to LightGBM's sampling
    model_features: tuple[str, ...] = FEATURES

    @property
    def back_candles(self) -> int:
        return self.z_window + max(VOL_LONG, CROSS_CAP) + 1

    @property
    def min_entry_z(self) -> float:
        return min(self.entry_z_grid)


def _utc(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, eq=False)
class Market:
    symbols: tuple[str, ...]
    open_time: pd.DatetimeIndex  # candle open times (UTC)
    step: pd.Timedelta
    price: np.ndarray  # closes, candles x coins (NaN before a coin's listing)
    rates: tuple[pd.Series, ...]  # per coin: funding rate by settlement time
    settle_rate: np.ndarray  # funding rate settled at this candle's CLOSE, else 0
    funding_known: np.ndarray  # last funding rate settled at or before this candle's close

    @property
    def close_time(self) -> pd.DatetimeIndex:
        return self.open_time + self.step


def funding_known_matrix(rates: tuple[pd.Series, ...], close_time: pd.DatetimeIndex) -> np.ndarray:
    """Per candle and coin, the last funding rate settled at or before the candle's close."""
    known = np.full((len(close_time), len(rates)), np.nan)
    for j, series in enumerate(rates):
        if series.empty:
            continue
        pos = np.searchsorted(series.index.asi8, close_time.asi8, side="right") - 1
        known[:, j] = np.where(pos >= 0, series.to_numpy()[np.clip(pos, 0, None)], np.nan)
    return known


def load_market(datadir: str, timeframe: str) -> Market:
    exchange_dir = resolve_exchange_dir(datadir)
    symbols = available_pairs(exchange_dir, timeframe)
    closes = load_closes(exchange_dir, symbols, timeframe)
    step = pd.Timedelta(closes.index[1] - closes.index[0])
    full = pd.date_range(closes.index[0], closes.index[-1], freq=step, tz="UTC")
    closes = closes.reindex(full)  # a missing candle stays NaN
    close_time = closes.index + step
    handler = get_datahandler(exchange_dir, DATA_FORMAT)
    settle = np.zeros(closes.shape)
    rates = []
    for j, sym in enumerate(symbols):
        fr = handler.ohlcv_load(
            sym,
            "1h",
            CandleType.FUNDING_RATE,
            fill_missing=False,
            drop_incomplete=False,
            warn_no_data=False,
        )
        series = pd.Series(
            fr["open"].to_numpy(float) if not fr.empty else [],
            index=pd.DatetimeIndex(fr["date"] if not fr.empty else [], tz="UTC"),
            dtype=float,
        )
        series = series[~series.index.duplicated()].sort_index()
        rates.append(series)
        # settlements fall on candle closes (00/08/16 UTC, or every 4 h / 2 h for some coins)
        settle[:, j] = series.reindex(close_time).fillna(0.0).to_numpy()
    return Market(
        symbols=tuple(symbols),
        open_time=closes.index,
        step=step,
        price=closes.to_numpy(float),
        rates=tuple(rates),
        settle_rate=settle,
        funding_known=funding_known_matrix(tuple(rates), close_time),
    )


def space_values(price: np.ndarray, space: str) -> np.ndarray:
    """What the scan and the spread are computed on."""
    if space == "raw":
        return price
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(price) + LOG_SHIFT
    assert np.nanmin(out) > 0.0, "LOG_SHIFT too small for these prices"
    return out


# --------------------------------------------------------------------------------------------
# Walk-forward scans -> spread-days


def scan_days(market: Market, cfg: StudyConfig) -> pd.DataFrame:
    values = space_values(market.price, cfg.price_space)
    frame = pd.DataFrame(values, index=market.open_time, columns=list(market.symbols))
    days = pd.date_range(cfg.first_scan, cfg.data_end, freq="D", tz="UTC", inclusive="left")
    index_of = {s: i for i, s in enumerate(market.symbols)}
    rows = []
    for day_no, day in enumerate(days):
        res = scan_pairs(
            frame, as_of=day.to_pydatetime(), lookback=cfg.lookback_candles, params=ScanParams()
        )
        assert pd.Timestamp(res.window_end) <= day, "scan window reaches into its own day"
        t0 = int(market.open_time.get_loc(day))
        order = {(c.leg_a, c.leg_b): n for n, c in enumerate(res.selected)}
        for c in res.candidates:
            if not (np.isfinite(c.hedge_ratio) and c.hedge_ratio > 0.0):
                continue  # refused tests and legs moving against each other: not tradeable
            rows.append(
                {
                    "day_no": day_no,
                    "day": day,
                    "t0": t0,
                    "a": index_of[c.leg_a],
                    "b": index_of[c.leg_b],
                    "leg_a": c.leg_a,
                    "leg_b": c.leg_b,
                    "beta": c.hedge_ratio,
                    "intercept": c.intercept,
                    "half_life": c.half_life_candles,
                    "pair_pvalue": c.pair_pvalue,
                    "qvalue": c.qvalue,
                    "eg_stat": c.stat,
                    "weakest_stat": c.weakest_stat,
                    "selected": (c.leg_a, c.leg_b) in order,
                    "reject_reason": str(c.reject_reason) if c.reject_reason else "",
                }
            )
    sd = pd.DataFrame(rows)
    sd["sd_id"] = np.arange(len(sd))
    return sd


# --------------------------------------------------------------------------------------------
# Spread paths, features, outcomes (vectorised over the spread-days of one scan day)


def _rolling(x: np.ndarray, window: int, fn: str) -> np.ndarray:
    """Trailing-window statistic along axis 1, the window ending at (and including) each
    column; NaN until the window is full or when it holds a NaN."""
    out = np.full(x.shape, np.nan)
    if x.shape[1] < window:
        return out
    view = sliding_window_view(x, window, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if fn == "mean":
            out[:, window - 1 :] = view.mean(axis=2)
        else:
            out[:, window - 1 :] = view.std(axis=2, ddof=1)
    return out


def _lagged(x: np.ndarray, lag: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    out[:, lag:] = x[:, :-lag]
    return out


@dataclass(frozen=True, eq=False)
class DayPaths:
    """Per spread-day rows, candle columns c = 0..L-1 for candle indexes lo..lo+L-1."""

    lo: int
    pa: np.ndarray
    pb: np.ndarray
    spread: np.ndarray
    z: np.ndarray
    sigma: np.ndarray


def day_paths(
    values: np.ndarray, price: np.ndarray, group: pd.DataFrame, cfg: StudyConfig, hi: int
) -> DayPaths:
    """Spread and rolling z of each spread-day of `group` (same t0) over candles
    [t0 - back, hi), `hi` exclusive. Uses only the rows of `values`/`price` given."""
    t0 = int(group["t0"].iloc[0])
    lo = t0 - cfg.back_candles
    assert lo >= 0
    n_rows = values.shape[0]
    length = hi - lo
    a = group["a"].to_numpy()
    b = group["b"].to_numpy()

    def take(arr: np.ndarray, col: np.ndarray) -> np.ndarray:
        out = np.full((len(col), length), np.nan)
        avail = max(0, min(hi, n_rows) - lo)
        out[:, :avail] = arr[lo : lo + avail][:, col].T
        return out

    va, vb = take(values, a), take(values, b)
    beta = group["beta"].to_numpy()[:, None]
    intercept = group["intercept"].to_numpy()[:, None]
    spread = va - intercept - beta * vb
    # Shift by a past value (as statarb.stats.rolling does) to keep the moments' digits.
    ref = spread[:, :1]
    shifted = spread - ref
    mean = _rolling(shifted, cfg.z_window, "mean")
    sigma = _rolling(shifted, cfg.z_window, "std")
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (shifted - mean) / np.where(sigma > 0.0, sigma, np.nan)
    return DayPaths(lo=lo, pa=take(price, a), pb=take(price, b), spread=spread, z=z, sigma=sigma)


def day_features(
    paths: DayPaths,
    group: pd.DataFrame,
    funding_known: np.ndarray,
    open_time: pd.DatetimeIndex,
    cfg: StudyConfig,
) -> pd.DataFrame:
    """One row per (spread-day, candle of its validity day); candle-t features use columns
    <= t only."""
    t0 = int(group["t0"].iloc[0])
    n_day = 24 * int(pd.Timedelta(hours=1) / (open_time[1] - open_time[0]))
    cols = np.arange(t0 - paths.lo, t0 - paths.lo + n_day)
    z = paths.z
    spread = paths.spread
    pa, pb = paths.pa, paths.pb
    beta = group["beta"].to_numpy()[:, None]
    raw = cfg.price_space == "raw"
    scale = pa if raw else np.ones_like(pa)  # spread units -> return units of leg A notional
    ratio = beta * pb / pa if raw else np.broadcast_to(beta, pa.shape)

    dz = np.diff(z, axis=1, prepend=np.nan)
    dspread = np.diff(spread, axis=1, prepend=np.nan)
    z_vol = _rolling(dz, Z_VOL_WINDOW, "std")
    vol_s = _rolling(dspread, VOL_SHORT, "std")
    vol_l = _rolling(dspread, VOL_LONG, "std")
    sgn = np.sign(z)
    # candles since z last changed sign, capped
    since = np.full(z.shape, np.nan)
    count = np.zeros(len(z))
    for c in range(1, z.shape[1]):
        same = (sgn[:, c] == sgn[:, c - 1]) & np.isfinite(z[:, c - 1])
        count = np.where(same, np.minimum(count + 1, CROSS_CAP), 0.0)
        since[:, c] = np.where(np.isfinite(z[:, c]), count, np.nan)

    fa = funding_known[:, group["a"].to_numpy()]
    fb = funding_known[:, group["b"].to_numpy()]
    rows_t = paths.lo + cols
    fa_t = fa[rows_t].T if rows_t.max() < len(fa) else _take_rows(fa, rows_t).T
    fb_t = fb[rows_t].T if rows_t.max() < len(fb) else _take_rows(fb, rows_t).T

    def at(x: np.ndarray) -> np.ndarray:
        return x[:, cols]

    zt = at(z)
    sign_t = np.sign(zt)
    direction = -sign_t  # +1 = long spread (long A, short B) when z < 0
    sigma_rel = at(paths.sigma / scale)
    feats: dict[str, np.ndarray] = {
        "z": zt,
        "abs_z": np.abs(zt),
        **{f"dz_{lag}": sign_t * (zt - at(_lagged(z, lag))) for lag in DZ_LAGS},
        "z_vol_24": at(z_vol),
        "spread_sigma_rel": sigma_rel,
        "edge_rel": (np.abs(zt) - cfg.exit_z) * sigma_rel,
        "spread_vol_24": at(vol_s / scale),
        "spread_vol_168": at(vol_l / scale),
        "vol_regime": at(vol_s / vol_l),
        "notional_ratio": at(ratio),
        "since_cross": at(since),
        # per settlement, in units of leg A's notional, for this entry's direction
        "funding_carry": direction * (-fa_t + fb_t * at(ratio)),
    }
    n_sd = len(group)
    out = pd.DataFrame({k: v.ravel() for k, v in feats.items()})
    out["sd_id"] = np.repeat(group["sd_id"].to_numpy(), len(cols))
    out["k"] = np.tile(paths.lo + cols, n_sd)
    out["col"] = np.tile(cols, n_sd)
    out["row"] = np.repeat(np.arange(n_sd), len(cols))
    for name in ("half_life", "pair_pvalue", "qvalue", "eg_stat", "selected"):
        out[name] = np.repeat(group[name].to_numpy(float), len(cols))
    times = open_time[np.clip(out["k"].to_numpy(), 0, len(open_time) - 1)]
    out["hour"] = times.hour.to_numpy()
    out["hours_since_scan"] = (out["k"].to_numpy() - t0) * (
        (open_time[1] - open_time[0]) / pd.Timedelta(hours=1)
    )
    return out


def _take_rows(arr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.full((len(rows), arr.shape[1]), np.nan)
    ok = rows < len(arr)
    out[ok] = arr[rows[ok]]
    return out


def day_outcomes(
    paths: DayPaths,
    group: pd.DataFrame,
    settle_rate: np.ndarray,
    events: pd.DataFrame,
    cfg: StudyConfig,
) -> pd.DataFrame:
    """The trade entered at each event's close: exit offset, reason, gross / fee base /
    funding in units of leg A's entry notional (fees = fee rate x fee_base)."""
    h = cfg.horizon_candles
    row = events["row"].to_numpy()
    col = events["col"].to_numpy()
    n_cols = paths.z.shape[1]
    offsets = np.arange(1, h + 1)
    fwd = col[:, None] + offsets[None, :]
    inside = fwd < n_cols
    fwd_c = np.minimum(fwd, n_cols - 1)
    zf = np.where(inside, paths.z[row[:, None], fwd_c], np.nan)
    z0 = paths.z[row, col]
    u = np.sign(z0)[:, None] * zf  # > 0: still on the entry side
    hit_exit = u < cfg.exit_z
    hit_stop = u >= cfg.stop_z
    hit = hit_exit | hit_stop
    valid = np.isfinite(zf)
    first_hit = np.where(hit.any(axis=1), hit.argmax(axis=1), h)  # index into offsets
    # last valid forward candle (data end, or a gap): the trade is closed there
    n_valid = np.where(valid.all(axis=1), h, (~valid).argmax(axis=1))
    exit_off = np.minimum(first_hit + 1, np.maximum(n_valid, 1))
    reason = np.where(
        first_hit + 1 <= n_valid,
        np.where(hit_stop[np.arange(len(row)), np.minimum(first_hit, h - 1)], "stop", "exit"),
        np.where(n_valid == h, "time", "data_end"),
    )
    reason = np.where((first_hit == h) & (n_valid == h), "time", reason)
    exit_col = col + exit_off
    ok = (exit_col < n_cols) & (n_valid >= 1)
    exit_col = np.minimum(exit_col, n_cols - 1)

    pa, pb = paths.pa, paths.pb
    beta = group["beta"].to_numpy()[row]
    direction = -np.sign(z0)
    a0, b0 = pa[row, col], pb[row, col]
    a1, b1 = pa[row, exit_col], pb[row, exit_col]
    if cfg.price_space == "raw":
        gross = direction * (
            (paths.spread[row, exit_col] - paths.spread[row, col]) / a0
        )  # qty_A x Δspread / notional_A
        nb0, nb1 = beta * b0 / a0, beta * b1 / a0
    else:
        gross = direction * ((a1 / a0 - 1.0) - beta * (b1 / b0 - 1.0))
        nb0, nb1 = beta, beta * b1 / b0
    fee_base = 1.0 + nb0 + a1 / a0 + nb1
    # funding settled at the close of candles col+1 .. exit_col (held at those instants)
    a_idx = group["a"].to_numpy()[row]
    b_idx = group["b"].to_numpy()[row]
    funding = np.zeros(len(row))
    for off in range(1, h + 1):
        c = col + off
        live = ok & (c <= exit_col)
        if not live.any():
            continue
        k = paths.lo + np.minimum(c, n_cols - 1)
        k_ok = live & (k < len(settle_rate))
        k_safe = np.minimum(k, len(settle_rate) - 1)
        ra = np.where(k_ok, settle_rate[k_safe, a_idx], 0.0)
        rb = np.where(k_ok, settle_rate[k_safe, b_idx], 0.0)
        cc = np.minimum(c, n_cols - 1)
        na = pa[row, cc] / a0
        nb = beta * pb[row, cc] / (a0 if cfg.price_space == "raw" else b0)
        funding += np.where(k_ok, direction * (-ra * na + rb * nb), 0.0)
    out = pd.DataFrame(
        {
            "direction": direction,
            "exit_k": paths.lo + exit_col,
            "exit_reason": reason,
            "gross": np.where(ok, gross, np.nan),
            "fee_base": np.where(ok, fee_base, np.nan),
            "fee_base_entry": 2.0 * (1.0 + nb0),  # what the gate can know at entry
            "funding": np.where(ok, funding, np.nan),
        },
        index=events.index,
    )
    return out


def build_events(market: Market, sd: pd.DataFrame, cfg: StudyConfig) -> pd.DataFrame:
    values = space_values(market.price, cfg.price_space)
    n_day = 24 * int(pd.Timedelta(hours=1) / market.step)
    frames = []
    for _t0, day_group in sd.groupby("t0", sort=True):
        group = day_group.reset_index(drop=True)
        t0 = int(group["t0"].iloc[0])
        hi = t0 + n_day + cfg.horizon_candles + 1
        paths = day_paths(values, market.price, group, cfg, hi)
        feats = day_features(paths, group, market.funding_known, market.open_time, cfg)
        absz = feats["abs_z"].to_numpy()
        ev = feats[(absz > cfg.min_entry_z) & (absz < cfg.stop_z)].copy()
        if ev.empty:
            continue
        outc = day_outcomes(paths, group, market.settle_rate, ev, cfg)
        frames.append(pd.concat([ev, outc], axis=1))
    events = pd.concat(frames, ignore_index=True)
    events = events.merge(
        sd[["sd_id", "day", "a", "b", "beta", "weakest_stat"]], on="sd_id", how="left"
    )
    events["entry_time"] = market.open_time[events["k"].to_numpy()] + market.step  # its close
    # the label is known once the whole horizon has closed (purge uses this, not the exit)
    events["label_end"] = events["entry_time"] + cfg.horizon_candles * market.step
    events["pre_fee"] = events["gross"] + events["funding"]
    events = events[np.isfinite(events["pre_fee"])].reset_index(drop=True)
    return events


# --------------------------------------------------------------------------------------------
# Sanity checks: nothing after t


def check_causality(
    market: Market, sd: pd.DataFrame, events: pd.DataFrame, cfg: StudyConfig, n_checks: int
) -> dict[str, int]:
    """Recompute features on data truncated at t (and outcomes on data truncated at the
    horizon's end) for random events; they must be equal to the full-data values. Also
    compares the z with the project's `rolling_zscore`."""
    rng = np.random.default_rng(cfg.seed)
    values = space_values(market.price, cfg.price_space)
    n_day = 24 * int(pd.Timedelta(hours=1) / market.step)
    picks = rng.choice(len(events), size=min(n_checks, len(events)), replace=False)
    for i in picks:
        ev = events.iloc[i]
        group = sd[sd["sd_id"] == ev["sd_id"]].reset_index(drop=True)
        k = int(ev["k"])
        t0 = int(group["t0"].iloc[0])
        hi = t0 + n_day + cfg.horizon_candles + 1
        # features: prices up to candle k, funding settled up to k's close
        close_k = market.close_time[k]
        trunc_known = funding_known_matrix(
            tuple(r[r.index <= close_k] for r in market.rates), market.close_time[: k + 1]
        )
        paths_t = day_paths(values[: k + 1], market.price[: k + 1], group, cfg, hi)
        feats_t = day_features(paths_t, group, trunc_known, market.open_time, cfg)
        row_t = feats_t[feats_t["k"] == k].iloc[0]
        for name in FEATURES:
            x, y = float(ev[name]), float(row_t[name])
            assert (math.isnan(x) and math.isnan(y)) or x == y, (
                f"feature {name} at candle {k} differs on data truncated at t: {x} vs {y}"
            )
        # outcome: prices/funding up to the horizon's last candle only
        end = k + cfg.horizon_candles
        paths_h = day_paths(values[: end + 1], market.price[: end + 1], group, cfg, hi)
        feats_h = day_features(
            paths_h, group, market.funding_known[: end + 1], market.open_time, cfg
        )
        ev_h = feats_h[feats_h["k"] == k]
        out_h = day_outcomes(paths_h, group, market.settle_rate[: end + 1], ev_h, cfg).iloc[0]
        for name in ("gross", "funding", "fee_base", "exit_k"):
            assert float(out_h[name]) == float(ev[name]), f"label {name} uses data past t+H"
        # z equals the project's rolling z-score of the same spread
        lo = paths_h.lo
        a, b = int(group["a"].iloc[0]), int(group["b"].iloc[0])
        s = pd.Series(
            values[lo : k + 1, a]
            - group["intercept"].iloc[0]
            - group["beta"].iloc[0] * values[lo : k + 1, b]
        )
        ref = float(rolling_zscore(s, cfg.z_window).iloc[-1])
        assert abs(ref - float(ev["z"])) < 1e-6, f"z {ev['z']} != rolling_zscore {ref}"
    return {"events_checked": len(picks)}


# --------------------------------------------------------------------------------------------
# Model


def retrain_dates(cfg: StudyConfig) -> list[pd.Timestamp]:
    return list(
        pd.date_range(
            cfg.first_retrain,
            cfg.data_end,
            freq=f"{cfg.retrain_every_days}D",
            tz="UTC",
            inclusive="left",
        )
    )


def walk_forward_predict(
    events: pd.DataFrame, cfg: StudyConfig, hyper: dict[str, Any], until: pd.Timestamp
) -> tuple[pd.Series, list[dict]]:
    """Prediction of the pre-fee return for every event entered in [first retrain, until):
    each by the model trained at the last retrain date before it, on events whose label
    horizon ended before that date."""
    pred = pd.Series(np.nan, index=events.index)
    log = []
    dates = [d for d in retrain_dates(cfg) if d < until]
    x_all = events[list(cfg.model_features)].to_numpy(float)
    y_all = events["pre_fee"].to_numpy(float) * 1e4  # bps of leg A notional
    stride_ok = (events["k"].to_numpy() % cfg.train_stride) == 0
    for n, cut in enumerate(dates):
        nxt = dates[n + 1] if n + 1 < len(dates) else min(until, _utc(cfg.data_end))
        train = (events["label_end"] <= cut).to_numpy() & stride_ok
        target = ((events["entry_time"] > cut) & (events["entry_time"] <= nxt)).to_numpy()
        # the decision at a candle's close time `entry_time` uses the model of the last cut
        # before it
        if not target.any() or train.sum() < 200:
            continue
        assert events.loc[train, "label_end"].max() <= cut, "training label beyond the cut"
        assert events.loc[target, "entry_time"].min() > cut
        y = y_all[train]
        lo, hi = np.quantile(y, [0.01, 0.99])  # winsorise with training quantiles only
        model = lgb.LGBMRegressor(
            **hyper,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=1.0,
            n_jobs=1,
            random_state=cfg.seed,
            verbose=-1,
        )
        model.fit(x_all[train], np.clip(y, lo, hi))
        pred[target] = model.predict(x_all[target]) / 1e4
        log.append(
            {
                "cut": cut.isoformat(),
                "train_events": int(train.sum()),
                "predicted_events": int(target.sum()),
                "gain_importance": dict(
                    zip(
                        cfg.model_features,
                        model.booster_.feature_importance("gain").round(1).tolist(),
                        strict=True,
                    )
                ),
            }
        )
    return pred, log


def gate_pass(events: pd.DataFrame, pred: pd.Series, fee: float) -> pd.Series:
    """Predicted net > 0: predicted pre-fee return beats the fees known at entry."""
    return pred - fee * events["fee_base_entry"] > 0.0


def choose_hyper(events: pd.DataFrame, cfg: StudyConfig) -> tuple[dict[str, Any], list[dict]]:
    """On the fit months only: the grid point whose gate keeps the most realised taker net
    over all candidates' entries at the main entry z (labels ending before the fit end)."""
    fit_end = _utc(cfg.fit_end)
    scored = []
    for hyper in HYPER_GRID:
        pred, _ = walk_forward_predict(events, cfg, hyper, until=fit_end)
        use = pred.notna() & (events["label_end"] <= fit_end) & (events["abs_z"] > cfg.main_entry_z)
        fee = FEES["taker"]
        net = events["pre_fee"] - fee * events["fee_base"]
        passed = use & gate_pass(events, pred, fee)
        ic = pred[use].corr(events.loc[use, "pre_fee"], method="spearman")
        scored.append(
            {
                "hyper": hyper,
                "events": int(use.sum()),
                "passed": int(passed.sum()),
                "sum_net_passed_pct_of_notional": float(net[passed].sum() * 100),
                "sum_net_all_pct_of_notional": float(net[use].sum() * 100),
                "spearman_ic": float(ic),
            }
        )
    best = max(scored, key=lambda s: (s["sum_net_passed_pct_of_notional"], s["spearman_ic"]))
    return best["hyper"], scored


# --------------------------------------------------------------------------------------------
# Trade simulation


@dataclass(frozen=True)
class SimResult:
    spreads: int
    wins: int
    gross_pct: float
    fees_pct: float
    funding_pct: float
    net_pct: float
    sharpe: float | None
    max_dd_pct: float
    exit_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def win_pct(self) -> float | None:
        return 100.0 * self.wins / self.spreads if self.spreads else None


def simulate(
    events: pd.DataFrame,
    market: Market,
    cfg: StudyConfig,
    fee: float,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> SimResult:
    """Greedy in time: at each candle close, entries in scanner-strength order while a slot,
    the pair and both coins are free. A spread occupies its slot, pair and coins from its
    entry candle through its exit candle."""
    ev = events[(events["entry_time"] > start) & (events["entry_time"] <= end)]
    ev = ev.sort_values(["k", "weakest_stat"], kind="stable")
    open_pos: list[tuple[int, frozenset[int]]] = []
    taken = []
    for rec in ev.itertuples(index=False):
        open_pos = [p for p in open_pos if p[0] >= rec.k]
        if len(open_pos) >= cfg.max_open_spreads:
            continue
        coins = frozenset((rec.a, rec.b))
        if any(p[1] & coins for p in open_pos):  # same pair, or a coin already held
            continue
        open_pos.append((int(rec.exit_k), coins))
        taken.append(rec)
    return _account(taken, market, cfg, fee, start, end)


def _account(
    taken: list,
    market: Market,
    cfg: StudyConfig,
    fee: float,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> SimResult:
    notional = cfg.notional_leg_a_usdt
    close_time = market.open_time + market.step
    last_k = max([int(t.exit_k) for t in taken], default=0)
    k_start = int(np.searchsorted(close_time, start, side="right"))
    k_end = max(int(np.searchsorted(close_time, end, side="right")), last_k + 1)
    grid = np.zeros(k_end - k_start)  # MTM P&L change per candle (USDT)
    gross = fees = funding = 0.0
    wins = 0
    reasons: dict[str, int] = {}
    raw = cfg.price_space == "raw"
    for t in taken:
        k, x = int(t.k), int(t.exit_k)
        a0, b0 = market.price[k, t.a], market.price[k, t.b]
        pa = market.price[k : x + 1, t.a]
        pb = market.price[k : x + 1, t.b]
        if raw:
            path = t.direction * ((pa - a0) - t.beta * (pb - b0)) / a0
            nb = t.beta * pb / a0
        else:
            path = t.direction * ((pa / a0 - 1.0) - t.beta * (pb / b0 - 1.0))
            nb = t.beta * pb / b0
        ra = market.settle_rate[k : x + 1, t.a].copy()
        rb = market.settle_rate[k : x + 1, t.b].copy()
        ra[0] = rb[0] = 0.0  # a settlement at the entry instant is not paid
        fund = np.cumsum(t.direction * (-ra * pa / a0 + rb * nb))
        fee_in = fee * (1.0 + nb[0])
        fee_out = fee * (pa[-1] / a0 + nb[-1])
        mtm = path + fund - fee_in
        mtm[-1] -= fee_out
        assert abs(path[-1] - t.gross) < 1e-9 and abs(fund[-1] - t.funding) < 1e-9
        usd = mtm * notional
        steps = np.diff(np.concatenate([[0.0], usd]))
        grid[k - k_start : x + 1 - k_start] += steps
        g, f, fu = path[-1] * notional, (fee_in + fee_out) * notional, fund[-1] * notional
        gross, fees, funding = gross + g, fees + f, funding + fu
        wins += int(g - f + fu > 0.0)
        reasons[t.exit_reason] = reasons.get(t.exit_reason, 0) + 1
    equity = cfg.account_usdt + np.cumsum(grid)
    peak = np.maximum.accumulate(np.concatenate([[cfg.account_usdt], equity]))[1:]
    max_dd = float(np.max((peak - equity) / peak)) * 100 if len(equity) else 0.0
    # daily account returns, flat days included (equity at each UTC day's last close)
    times = close_time[k_start:k_end]
    eq = pd.Series(equity, index=times)
    daily_end = eq.groupby((times - pd.Timedelta(microseconds=1)).floor("D")).last()
    daily = daily_end.diff()
    daily.iloc[0] = daily_end.iloc[0] - cfg.account_usdt
    ret = daily / cfg.account_usdt
    sharpe = float(ret.mean() / ret.std(ddof=1) * math.sqrt(365)) if ret.std() > 0 else None
    acct = cfg.account_usdt / 100
    return SimResult(
        spreads=len(taken),
        wins=wins,
        gross_pct=gross / acct,
        fees_pct=fees / acct,
        funding_pct=funding / acct,
        net_pct=(gross - fees + funding) / acct,
        sharpe=sharpe,
        max_dd_pct=max_dd,
        exit_reasons=reasons,
    )


# --------------------------------------------------------------------------------------------
# Event-level statistics (many more events than trades: the gate's ranking power)


def event_stats(
    events: pd.DataFrame,
    pred: pd.Series,
    cfg: StudyConfig,
    fee: float,
    start: pd.Timestamp,
    end: pd.Timestamp,
    selected_only: bool,
) -> dict:
    use = (
        (events["entry_time"] > start)
        & (events["entry_time"] <= end)
        & (events["abs_z"] > cfg.main_entry_z)
        & pred.notna()
    )
    if selected_only:
        use &= events["selected"] > 0
    net = (events["pre_fee"] - fee * events["fee_base"])[use]
    passed = gate_pass(events, pred, fee)[use]
    out: dict[str, Any] = {"events": int(use.sum()), "passed": int(passed.sum())}
    if not use.any():
        return out
    out["mean_net_bps_all"] = float(net.mean() * 1e4)
    out["mean_net_bps_passed"] = float(net[passed].mean() * 1e4) if passed.any() else None
    out["mean_net_bps_refused"] = float(net[~passed].mean() * 1e4) if (~passed).any() else None
    out["spearman_ic"] = float(pred[use].corr(events.loc[use, "pre_fee"], method="spearman"))
    if use.sum() >= 500:  # calibration: realised net by prediction quintile
        bins = pd.qcut(pred[use], 5, labels=False, duplicates="drop")
        out["mean_net_bps_by_pred_quintile"] = [
            float(net[bins == q].mean() * 1e4) for q in sorted(bins.unique())
        ]
    # day-block bootstrap of (mean net of passed) - (mean net of all)
    if passed.sum() >= 5:
        days = events.loc[use, "day"].to_numpy()
        uniq = np.unique(days)
        rng = np.random.default_rng(cfg.seed)
        by_day = {d: np.flatnonzero(days == d) for d in uniq}
        net_v, pass_v = net.to_numpy(), passed.to_numpy()
        diffs = []
        for _ in range(1000):
            idx = np.concatenate([by_day[d] for d in rng.choice(uniq, size=len(uniq))])
            p = pass_v[idx]
            if p.any():
                diffs.append(net_v[idx][p].mean() - net_v[idx].mean())
        lo, hi = np.quantile(diffs, [0.05, 0.95])
        out["passed_minus_all_bps_90ci"] = [float(lo * 1e4), float(hi * 1e4)]
    return out


# --------------------------------------------------------------------------------------------
# Study


def run_space(market: Market, cfg: StudyConfig, n_checks: int) -> dict:
    tick = time.perf_counter()
    sd = scan_days(market, cfg)
    events = build_events(market, sd, cfg)
    checks = check_causality(market, sd, events, cfg, n_checks)
    hyper, grid = choose_hyper(events, cfg)
    pred, train_log = walk_forward_predict(events, cfg, hyper, until=_utc(cfg.data_end))
    periods = {
        "fit": (_utc(cfg.first_retrain), _utc(cfg.fit_end)),
        "validation": (_utc(cfg.fit_end), _utc(cfg.data_end)),
    }
    rows = []
    for period, (start, end) in periods.items():
        for fee_name, fee in FEES.items():
            for entry_z in cfg.entry_z_grid:
                base = events[events["abs_z"] > entry_z]
                gate = gate_pass(events, pred, fee) & pred.notna()
                for universe in ("selected", "all"):
                    uni = base if universe == "all" else base[base["selected"] > 0]
                    for gated in (False, True):
                        ev = uni[gate.loc[uni.index]] if gated else uni
                        res = simulate(ev, market, cfg, fee, start, end)
                        rows.append(
                            {
                                "space": cfg.price_space,
                                "period": period,
                                "fee": fee_name,
                                "entry_z": entry_z,
                                "universe": universe,
                                "gate": gated,
                                **asdict(res),
                                "win_pct": res.win_pct,
                            }
                        )
    seed_rows = []
    for seed in cfg.extra_seeds:
        pred_s, _ = walk_forward_predict(
            events, replace(cfg, seed=seed), hyper, until=_utc(cfg.data_end)
        )
        base = events[events["abs_z"] > cfg.main_entry_z]
        for period, (start, end) in periods.items():
            for fee_name, fee in FEES.items():
                gate = gate_pass(events, pred_s, fee) & pred_s.notna()
                for universe in ("selected", "all"):
                    uni = base if universe == "all" else base[base["selected"] > 0]
                    res = simulate(uni[gate.loc[uni.index]], market, cfg, fee, start, end)
                    seed_rows.append(
                        {
                            "seed": seed,
                            "period": period,
                            "fee": fee_name,
                            "entry_z": cfg.main_entry_z,
                            "universe": universe,
                            "spreads": res.spreads,
                            "net_pct": res.net_pct,
                            "sharpe": res.sharpe,
                        }
                    )
    ev_stats = {
        f"{period}/{fee_name}/{uni}": event_stats(
            events, pred, cfg, fee, *periods[period], selected_only=uni == "selected"
        )
        for period in periods
        for fee_name, fee in FEES.items()
        for uni in ("selected", "all")
    }
    importance = pd.DataFrame([t["gain_importance"] for t in train_log]).mean()
    importance = (importance / importance.sum()).sort_values(ascending=False)
    return {
        "space": cfg.price_space,
        "config": asdict(cfg),
        "seconds": time.perf_counter() - tick,
        "scan_days": int(sd["day_no"].nunique()),
        "spread_days": len(sd),
        "selected_spread_days": {
            p: int(sd[(sd["selected"]) & (sd["day"] >= s) & (sd["day"] < e)].shape[0])
            for p, (s, e) in periods.items()
        },
        "events": len(events),
        "causality_checks": checks,
        "hyper_grid": grid,
        "hyper_chosen": hyper,
        "retrains": len(train_log),
        "train_log": train_log,
        "feature_importance_gain_share": importance.round(4).to_dict(),
        "event_stats": ev_stats,
        "simulation": rows,
        "gate_seed_sensitivity": seed_rows,
    }


def _fmt(x: float | None, spec: str = "+.2f") -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def print_tables(report: dict, cfg: StudyConfig) -> None:
    print(
        f"\n=== {report['space']} space, {cfg.timeframe}: {report['scan_days']} daily scans, "
        f"{report['spread_days']} candidate spread-days (selected: "
        f"{report['selected_spread_days']}), {report['events']} entry events, "
        f"{report['retrains']} retrains, {report['seconds']:.0f} s ==="
    )
    print("hyperparameters, fit months only (sum of taker net of the events the gate passes):")
    for g in report["hyper_grid"]:
        print(
            f"  {g['hyper']}: passed {g['passed']}/{g['events']} events, sum net "
            f"{g['sum_net_passed_pct_of_notional']:+.0f} % of notional (all events "
            f"{g['sum_net_all_pct_of_notional']:+.0f} %), IC {g['spearman_ic']:+.3f}"
        )
    print(f"chosen: {report['hyper_chosen']}")
    if len(cfg.model_features) < len(FEATURES):
        print(f"ABLATION: model without {sorted(set(FEATURES) - set(cfg.model_features))}")
    head = (
        f"{'period':<10} {'fee':<5} {'z_in':>4} {'universe':<8} {'gate':<4} {'spreads':>7} "
        f"{'win%':>6} {'gross%':>7} {'fees%':>6} {'fund%':>6} {'net%':>7} {'Sharpe':>6} "
        f"{'maxDD%':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in report["simulation"]:
        print(
            f"{r['period']:<10} {r['fee']:<5} {r['entry_z']:>4.1f} {r['universe']:<8} "
            f"{'yes' if r['gate'] else 'no':<4} {r['spreads']:>7d} "
            f"{_fmt(r['win_pct'], '.0f'):>6} {r['gross_pct']:>+7.2f} {r['fees_pct']:>6.2f} "
            f"{r['funding_pct']:>+6.2f} {r['net_pct']:>+7.2f} {_fmt(r['sharpe']):>6} "
            f"{r['max_dd_pct']:>6.2f}"
        )
    print(f"\ngate with other LightGBM seeds (entry z {cfg.main_entry_z}; seed {cfg.seed} above):")
    for r in report["gate_seed_sensitivity"]:
        print(
            f"  seed {r['seed']:>3} {r['period']:<10} {r['fee']:<5} {r['universe']:<8} "
            f"spreads {r['spreads']:>4d} net {r['net_pct']:+7.2f} % Sharpe {_fmt(r['sharpe'])}"
        )
    print(f"\nevent level (|z| > {cfg.main_entry_z}, every entry candle, no slot limit):")
    for key, s in report["event_stats"].items():
        ci = s.get("passed_minus_all_bps_90ci")
        print(
            f"  {key:<26} events {s['events']:>6} passed {s['passed']:>6}  mean net bps: all "
            f"{_fmt(s.get('mean_net_bps_all'), '+.1f')}, passed "
            f"{_fmt(s.get('mean_net_bps_passed'), '+.1f')}, refused "
            f"{_fmt(s.get('mean_net_bps_refused'), '+.1f')}  IC "
            f"{_fmt(s.get('spearman_ic'), '+.3f')}"
            + (f"  passed-all 90% CI [{ci[0]:+.1f}, {ci[1]:+.1f}]" if ci else "")
        )
        if "mean_net_bps_by_pred_quintile" in s:
            quint = ", ".join(f"{x:+.0f}" for x in s["mean_net_bps_by_pred_quintile"])
            print(f"  {'':<26} mean net bps by prediction quintile (low -> high): {quint}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datadir", default="../shared/data/real-dev")
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--price-space", choices=("raw", "log", "both"), default="both")
    parser.add_argument("--lookback-candles", type=int, default=720)
    parser.add_argument("--z-window", type=int, default=50)
    parser.add_argument("--horizon-candles", type=int, default=48)
    parser.add_argument("--train-stride", type=int, default=1)
    parser.add_argument(
        "--drop-features",
        default="",
        help="comma-separated model features to leave out (ablation), e.g. qvalue,selected",
    )
    parser.add_argument("--checks", type=int, default=25, help="random causality checks")
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args()
    tick = time.perf_counter()
    market = load_market(args.datadir, args.timeframe)
    dropped = {f for f in args.drop_features.split(",") if f}
    if dropped - set(FEATURES):
        parser.error(f"unknown features {sorted(dropped - set(FEATURES))}")
    spaces = ("raw", "log") if args.price_space == "both" else (args.price_space,)
    reports = []
    for space in spaces:
        cfg = StudyConfig(
            timeframe=args.timeframe,
            price_space=space,
            lookback_candles=args.lookback_candles,
            z_window=args.z_window,
            horizon_candles=args.horizon_candles,
            train_stride=args.train_stride,
            model_features=tuple(f for f in FEATURES if f not in dropped),
        )
        report = run_space(market, cfg, args.checks)
        print_tables(report, cfg)
        reports.append(report)
    total = time.perf_counter() - tick
    print(f"\ntotal run time {total:.0f} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "generated_at": datetime.now(UTC).isoformat(),
            "datadir": args.datadir,
            "symbols": list(market.symbols),
            "seconds": total,
            "reports": reports,
        }
        args.out.write_text(json.dumps(payload, indent=1, default=str))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Market data from FreqTrade feather files, replayed on the exchange's clock.

The replay clock: every timestamp of the data is shifted by one ``offset_ms`` so that the data's
"cut" (its end minus ``live_hours``) lands at the exchange's first start. The offset is a whole
number of 8-hour funding periods, so funding stays at 00/08/16 UTC and every kline grid stays
aligned; the price for that is that the clock starts up to 8 h before the cut and those hours are
revealed live too. Everything after "now" is invisible: klines end with the in-progress candle
(partial, as Binance serves it), and the data's tail appears in real time as the wall clock moves.
After the data the market continues as a seeded random walk (``pricepath``).

A price shock (admin) multiplies a symbol's price from a given instant on; candles that straddle
it show the jump. The mark price equals the last price (mark files, when present, are used for
completed mark klines of an hour or more and for funding settlement).
"""

from __future__ import annotations

import calendar
import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from statarb.exchange import pricepath
from statarb.exchange.specs import SymbolSpec, spec_for

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
FUNDING_INTERVAL_MS = 8 * HOUR_MS
DEFAULT_FUNDING_RATE = 0.0001  # Binance's baseline (interest 0.01 % per 8 h) when no file exists
WEEK_ANCHOR_MS = 4 * DAY_MS  # 1970-01-05 00:00 UTC, a Monday: Binance's weekly klines open Monday
RANDOM_WALK_CHUNK = 1440

INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": 7 * DAY_MS,
}
MONTH_INTERVAL = "1M"
SUPPORTED_INTERVALS = (*INTERVAL_MS, MONTH_INTERVAL)

_FILE_RE = re.compile(r"^(?P<pair>[A-Z0-9]+_[A-Z0-9]+_[A-Z0-9]+)-(?P<tf>\d+[mhdwM])-(?P<kind>.+)$")


class MarketDataError(ValueError):
    """The datadir cannot serve a market (missing, unreadable or inconsistent files)."""


@dataclass(frozen=True)
class Bar:
    """OHLCV over one interval; ``close_ms`` is the interval's last millisecond."""

    open_ms: int
    close_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def quote_volume(self) -> float:
        return self.volume * (self.high + self.low + self.close) / 3.0


# ---- intervals -------------------------------------------------------------------------------


def bucket_start(t_ms: int, interval: str) -> int:
    """Open time of the ``interval`` kline that contains ``t_ms``."""
    if interval == MONTH_INTERVAL:
        moment = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
        return int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp() * 1000)
    step = INTERVAL_MS[interval]
    anchor = WEEK_ANCHOR_MS if interval == "1w" else 0
    return (t_ms - anchor) // step * step + anchor


def bucket_end(start_ms: int, interval: str) -> int:
    """Open time of the kline after the one opening at ``start_ms``."""
    if interval == MONTH_INTERVAL:
        moment = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
        days = calendar.monthrange(moment.year, moment.month)[1]
        return start_ms + days * DAY_MS
    return start_ms + INTERVAL_MS[interval]


def kline_opens(
    interval: str,
    *,
    first_ms: int,
    now_ms: int,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[int]:
    """Open times Binance would return: open ≥ startTime, open ≤ endTime, ≤ now, at most limit.

    Without startTime the newest ``limit`` klines (ending at endTime or now) are returned.
    """
    lo = bucket_start(first_ms, interval)
    hi = bucket_start(now_ms, interval)
    if end_ms is not None:
        hi = min(hi, bucket_start(end_ms, interval))
    if start_ms is not None:
        first = bucket_start(start_ms, interval)
        if first < start_ms:
            first = bucket_end(first, interval)
        lo = max(lo, first)
    if hi < lo:
        return []
    opens: list[int] = []
    if start_ms is not None:
        t = lo
        while t <= hi and len(opens) < limit:
            opens.append(t)
            t = bucket_end(t, interval)
        return opens
    if interval != MONTH_INTERVAL:
        step = INTERVAL_MS[interval]
        count = min(limit, (hi - lo) // step + 1)
        return [hi - step * k for k in range(count - 1, -1, -1)]
    t = hi
    while t >= lo and len(opens) < limit:
        opens.append(t)
        moment = datetime.fromtimestamp((t - 1) / 1000, tz=UTC)
        t = bucket_start(int(moment.timestamp() * 1000), interval)
    return opens[::-1]


# ---- one symbol ------------------------------------------------------------------------------


class SymbolTape:
    """One symbol's price history on the exchange clock: data candles, then the random walk."""

    def __init__(
        self,
        *,
        symbol: str,
        base: str,
        tf_ms: int,
        open_ms: np.ndarray,
        ohlcv: np.ndarray,
        seed: int,
    ) -> None:
        if len(open_ms) == 0:
            raise MarketDataError(f"{symbol}: no candles")
        self.symbol = symbol
        self.base = base
        self.tf_ms = tf_ms
        self._open = open_ms.astype(np.int64)
        self._o, self._h, self._l, self._c, self._v = (ohlcv[:, k].astype(float) for k in range(5))
        self._seed = seed
        self._data_len = len(self._open)
        self._chunks = 0
        self._sigma = pricepath.recent_log_volatility(self._c)
        tail_volume = self._v[-pricepath.VOL_LOOKBACK_CANDLES :]
        self._base_volume = float(np.median(tail_volume)) if len(tail_volume) else 1.0
        self._shock_t: list[int] = []
        self._shock_cum: list[float] = [1.0]  # cumulative factor after k shocks

    # -- extent --------------------------------------------------------------------------------
    @property
    def first_open_ms(self) -> int:
        return int(self._open[0])

    @property
    def data_end_ms(self) -> int:
        """End of the last candle that came from the data (the random walk starts here)."""
        return int(self._open[self._data_len - 1]) + self.tf_ms

    @property
    def last_data_close(self) -> float:
        return float(self._c[self._data_len - 1])

    def ensure(self, t_ms: int) -> None:
        """Extend the random walk so that a candle covers ``t_ms``."""
        while int(self._open[-1]) + self.tf_ms <= t_ms:
            start = int(self._open[-1]) + self.tf_ms
            o, h, low, c, v = pricepath.random_walk_candles(
                seed=self._seed,
                symbol=self.symbol,
                chunk_index=self._chunks,
                start_price=float(self._c[-1]),
                sigma=self._sigma,
                base_volume=self._base_volume,
                count=RANDOM_WALK_CHUNK,
            )
            opens = start + self.tf_ms * np.arange(RANDOM_WALK_CHUNK, dtype=np.int64)
            self._open = np.concatenate([self._open, opens])
            self._o = np.concatenate([self._o, o])
            self._h = np.concatenate([self._h, h])
            self._l = np.concatenate([self._l, low])
            self._c = np.concatenate([self._c, c])
            self._v = np.concatenate([self._v, v])
            self._chunks += 1

    # -- shocks --------------------------------------------------------------------------------
    def add_shock(self, t_ms: int, factor: float) -> None:
        """Multiply every price from ``t_ms`` on by ``factor`` (applied after earlier shocks)."""
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"shock factor must be a positive number, got {factor!r}")
        if self._shock_t and t_ms < self._shock_t[-1]:
            raise ValueError("shocks must be added in time order")
        self._shock_t.append(t_ms)
        self._shock_cum.append(self._shock_cum[-1] * factor)

    @property
    def shocks(self) -> list[tuple[int, float]]:
        return [
            (t, self._shock_cum[k + 1] / self._shock_cum[k]) for k, t in enumerate(self._shock_t)
        ]

    def clear_shocks(self) -> None:
        self._shock_t.clear()
        self._shock_cum[:] = [1.0]

    def _factor(self, t_ms: float, *, left: bool) -> float:
        k = bisect_left(self._shock_t, t_ms) if left else bisect_right(self._shock_t, t_ms)
        return self._shock_cum[k]

    def _factors(self, t: np.ndarray, left: np.ndarray) -> np.ndarray:
        if not self._shock_t:
            return np.ones(len(t))
        shock_t = np.asarray(self._shock_t, dtype=np.float64)
        cum = np.asarray(self._shock_cum)
        k = np.where(
            left,
            np.searchsorted(shock_t, t, side="left"),
            np.searchsorted(shock_t, t, side="right"),
        )
        return cum[k]

    # -- prices --------------------------------------------------------------------------------
    def _raw(self, t_ms: float, *, left: bool) -> float:
        self.ensure(int(t_ms))
        i = int(np.searchsorted(self._open, t_ms, side="left" if left else "right")) - 1
        if i < 0:
            return float(self._o[0])
        return pricepath.price_in_candle(
            t_ms,
            open_ms=int(self._open[i]),
            o=float(self._o[i]),
            h=float(self._h[i]),
            low=float(self._l[i]),
            c=float(self._c[i]),
            tf_ms=self.tf_ms,
        )

    def price_at(self, t_ms: int) -> float:
        """The traded price at ``t_ms`` (after any shock at exactly ``t_ms``)."""
        return self._raw(t_ms, left=False) * self._factor(t_ms, left=False)

    def price_before(self, t_ms: int) -> float:
        """The price just before ``t_ms`` (the left limit: a candle's close, a pre-shock price)."""
        return self._raw(t_ms, left=True) * self._factor(t_ms, left=True)

    def points(self, a_ms: int, b_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """The path on [a, b] as points joined by straight lines; a jump is two points at one time.

        Used to find when a level is first crossed (resting orders, liquidations).
        """
        self.ensure(b_ms)
        i0 = max(0, int(np.searchsorted(self._open, a_ms, side="right")) - 1)
        i1 = max(i0, int(np.searchsorted(self._open, b_ms, side="left")) - 1)
        sl = slice(i0, i1 + 1)
        times, prices = pricepath.candle_vertices(
            self._open[sl],
            o=self._o[sl],
            h=self._h[sl],
            low=self._l[sl],
            c=self._c[sl],
            tf_ms=self.tf_ms,
        )
        t = times.ravel()
        p = prices.ravel()
        left = np.zeros(times.shape, dtype=bool)
        left[:, 3] = True  # the close point is the left limit at the candle's end
        left = left.ravel()
        inside = (t > a_ms) & (t < b_ms)
        t, p, left = t[inside], p[inside], left[inside]
        p = p * self._factors(t, left)
        extra_t = [float(a_ms), float(b_ms)]
        extra_p = [self.price_at(a_ms), self.price_before(b_ms)]
        extra_left = [False, True]
        for shock_t in self._shock_t:
            if a_ms < shock_t < b_ms:
                extra_t += [float(shock_t), float(shock_t)]
                extra_p += [self.price_before(shock_t), self.price_at(shock_t)]
                extra_left += [True, False]
        t = np.concatenate([t, extra_t])
        p = np.concatenate([p, extra_p])
        left = np.concatenate([left, extra_left])
        order = np.lexsort((~left, t))  # at equal times the left limit comes first
        return t[order], p[order]

    def _volume(self, a_ms: int, b_ms: int) -> float:
        i0 = max(0, int(np.searchsorted(self._open, a_ms, side="right")) - 1)
        i1 = int(np.searchsorted(self._open, b_ms, side="left"))
        opens = self._open[i0:i1]
        overlap = np.clip(np.minimum(b_ms, opens + self.tf_ms) - np.maximum(a_ms, opens), 0, None)
        return float(np.sum(self._v[i0:i1] * overlap / self.tf_ms))

    def bar(self, a_ms: int, b_ms: int) -> Bar | None:
        """OHLCV over [a, b) (None before the data starts); partial candles count pro rata."""
        a_ms = max(a_ms, self.first_open_ms)
        if b_ms <= a_ms:
            return None
        self.ensure(b_ms)
        i_full = int(np.searchsorted(self._open, a_ms, side="left"))
        i_full_end = int(np.searchsorted(self._open + self.tf_ms, b_ms, side="right"))
        shocked = any(a_ms < s < b_ms for s in self._shock_t)
        if shocked or i_full >= i_full_end:
            _, p = self.points(a_ms, b_ms)
            volume = self._volume(a_ms, b_ms)
            return Bar(
                a_ms, b_ms - 1, float(p[0]), float(p.max()), float(p.min()), float(p[-1]), volume
            )
        factor = self._factor(a_ms, left=False)
        highs = [float(self._h[i_full:i_full_end].max()) * factor]
        lows = [float(self._l[i_full:i_full_end].min()) * factor]
        first_open = int(self._open[i_full])
        last_end = int(self._open[i_full_end - 1]) + self.tf_ms
        open_price = float(self._o[i_full]) * factor
        close_price = float(self._c[i_full_end - 1]) * factor
        if a_ms < first_open:
            _, p = self.points(a_ms, first_open)
            open_price = float(p[0])
            highs.append(float(p.max()))
            lows.append(float(p.min()))
        if last_end < b_ms:
            _, p = self.points(last_end, b_ms)
            close_price = float(p[-1])
            highs.append(float(p.max()))
            lows.append(float(p.min()))
        return Bar(
            a_ms,
            b_ms - 1,
            open_price,
            max(highs),
            min(lows),
            close_price,
            self._volume(a_ms, b_ms),
        )

    def _whole_bars(self, opens: list[int], interval: str, now_ms: int) -> dict[int, Bar]:
        """Fast path: completed klines made of whole, unshocked candles, aggregated at once.

        Klines it cannot vouch for (partial, gappy, misaligned, shocked) are left to ``bar``.
        """
        if not opens or interval == MONTH_INTERVAL:
            return {}
        step = INTERVAL_MS[interval]
        if step % self.tf_ms != 0:
            return {}
        first, last_end = opens[0], min(opens[-1] + step, now_ms)
        last_end = first + (last_end - first) // step * step  # only completed klines
        if last_end <= first or any(first <= s < last_end for s in self._shock_t):
            return {}
        self.ensure(last_end)
        i0 = int(np.searchsorted(self._open, first, side="left"))
        i1 = int(np.searchsorted(self._open, last_end, side="left"))
        if i1 <= i0:
            return {}
        opens_ms = self._open[i0:i1]
        ids = (opens_ms - first) // step
        uniq, starts, counts = np.unique(ids, return_index=True, return_counts=True)
        ends = starts + counts - 1
        highs = np.maximum.reduceat(self._h[i0:i1], starts)
        lows = np.minimum.reduceat(self._l[i0:i1], starts)
        vols = np.add.reduceat(self._v[i0:i1], starts)
        factor = self._factor(first, left=False)
        per_bucket = step // self.tf_ms
        wanted = set(opens)
        out: dict[int, Bar] = {}
        for k, bucket in enumerate(uniq):
            start = first + int(bucket) * step
            if counts[k] != per_bucket or int(opens_ms[starts[k]]) != start or start not in wanted:
                continue
            out[start] = Bar(
                start,
                start + step - 1,
                float(self._o[i0 + starts[k]]) * factor,
                float(highs[k]) * factor,
                float(lows[k]) * factor,
                float(self._c[i0 + ends[k]]) * factor,
                float(vols[k]),
            )
        return out

    def bars(self, opens: list[int], interval: str, now_ms: int) -> list[Bar]:
        """One bar per kline open time; the kline holding ``now_ms`` is partial."""
        whole = self._whole_bars(opens, interval, now_ms)
        out: list[Bar] = []
        for start in opens:
            end = bucket_end(start, interval)
            if start in whole:
                out.append(whole[start])
                continue
            if start >= self.first_open_ms and start >= min(end, now_ms):
                price = self.price_at(start)  # a kline opened this very millisecond
                out.append(Bar(start, end - 1, price, price, price, price, 0.0))
                continue
            bar = self.bar(start, min(end, now_ms))
            if bar is not None:
                out.append(Bar(start, end - 1, bar.open, bar.high, bar.low, bar.close, bar.volume))
        return out


# ---- the whole market ------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSeries:
    """Funding rates on the exchange clock."""

    t_ms: np.ndarray
    rate: np.ndarray

    def at_or_before(self, t_ms: int) -> float | None:
        if len(self.t_ms) == 0:
            return None
        i = int(np.searchsorted(self.t_ms, t_ms, side="right")) - 1
        return float(self.rate[max(i, 0)])


@dataclass(frozen=True)
class MarkCandles:
    """Hourly mark-price candles on the exchange clock."""

    open_ms: np.ndarray
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray

    def open_at(self, t_ms: int) -> float | None:
        i = int(np.searchsorted(self.open_ms, t_ms, side="left"))
        if i < len(self.open_ms) and int(self.open_ms[i]) == t_ms:
            return float(self.o[i])
        return None


class Market:
    """All symbols of a datadir on one replay clock."""

    def __init__(
        self,
        *,
        tapes: dict[str, SymbolTape],
        specs: dict[str, SymbolSpec],
        funding: dict[str, RateSeries],
        mark: dict[str, MarkCandles],
        offset_ms: int,
    ) -> None:
        self.tapes = tapes
        self.specs = specs
        self.funding = funding
        self.mark = mark
        self.offset_ms = offset_ms

    @property
    def symbols(self) -> list[str]:
        return sorted(self.tapes)

    def funding_rate_at(self, symbol: str, t_ms: int) -> float:
        """The rate settled at funding time ``t_ms``: the series' value at or before it."""
        series = self.funding.get(symbol)
        value = None if series is None else series.at_or_before(t_ms)
        return DEFAULT_FUNDING_RATE if value is None else value

    def settlement_mark_price(self, symbol: str, t_ms: int) -> float:
        """Mark price at a funding time: the mark file's hourly open there, else the last price."""
        candles = self.mark.get(symbol)
        value = None if candles is None else candles.open_at(t_ms)
        return self.tapes[symbol].price_at(t_ms) if value is None else value

    def mark_bars(self, symbol: str, opens: list[int], interval: str, now_ms: int) -> list[Bar]:
        """Mark-price klines: hourly mark candles where the file covers a completed kline."""
        trade_bars = self.tapes[symbol].bars(opens, interval, now_ms)
        candles = self.mark.get(symbol)
        if candles is None or interval == MONTH_INTERVAL or INTERVAL_MS[interval] < HOUR_MS:
            return trade_bars
        out: list[Bar] = []
        for bar in trade_bars:
            end = bar.close_ms + 1
            i0 = int(np.searchsorted(candles.open_ms, bar.open_ms, side="left"))
            i1 = int(np.searchsorted(candles.open_ms, end, side="left"))
            expected = (end - bar.open_ms) // HOUR_MS
            if end > now_ms or i1 - i0 != expected or expected == 0:
                out.append(bar)
                continue
            out.append(
                Bar(
                    bar.open_ms,
                    bar.close_ms,
                    float(candles.o[i0]),
                    float(candles.h[i0:i1].max()),
                    float(candles.low[i0:i1].min()),
                    float(candles.c[i1 - 1]),
                    0.0,
                )
            )
        return out


# ---- loading ---------------------------------------------------------------------------------


def _futures_dir(datadir: Path) -> Path:
    for candidate in (datadir / "binance" / "futures", datadir / "futures", datadir):
        if candidate.is_dir() and any(candidate.glob("*-futures.feather")):
            return candidate
    raise MarketDataError(
        f"no '*-<timeframe>-futures.feather' candle files under {datadir} "
        "(expected FreqTrade's layout <datadir>/binance/futures/BTC_USDT_USDT-1m-futures.feather)"
    )


def _tf_ms(tf: str) -> int | None:
    return INTERVAL_MS.get(tf)


def _read_frame(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_feather(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise MarketDataError(f"cannot read {path}: {exc}") from exc
    missing = [c for c in ("date", *columns) if c not in frame.columns]
    if missing:
        raise MarketDataError(f"{path}: missing columns {missing}")
    frame = frame.dropna(subset=list(columns)).sort_values("date")
    return frame.drop_duplicates(subset="date", keep="last")


def _dates_ms(frame: pd.DataFrame) -> np.ndarray:
    dates = pd.to_datetime(frame["date"], utc=True)
    return dates.dt.as_unit("ms").astype("int64").to_numpy()


def compute_offset_ms(data_end_ms: int, live_hours: float, start_ms: int) -> int:
    """Whole funding periods that move the data's cut (end − live_hours) to or after start."""
    cut_ms = data_end_ms - int(live_hours * HOUR_MS)
    return math.ceil((start_ms - cut_ms) / FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS


def load_market(
    datadir: str | Path,
    *,
    start_ms: int,
    live_hours: float = 0.0,
    seed: int = 0,
    offset_ms: int | None = None,
) -> Market:
    """Read every USDT-settled symbol under ``datadir`` (finest timeframe per symbol)."""
    if live_hours < 0:
        raise MarketDataError(f"live_hours must be ≥ 0, got {live_hours}")
    folder = _futures_dir(Path(datadir))
    candle_files: dict[str, tuple[int, Path]] = {}
    extra: dict[tuple[str, str], Path] = {}
    for path in sorted(folder.glob("*.feather")):
        match = _FILE_RE.match(path.stem)
        if match is None:
            continue
        pair, tf, kind = match["pair"], match["tf"], match["kind"]
        base, quote, settle = pair.split("_")
        if quote != "USDT" or settle != "USDT":
            continue
        if kind == "futures":
            step = _tf_ms(tf)
            if step is not None and (pair not in candle_files or step < candle_files[pair][0]):
                candle_files[pair] = (step, path)
        elif kind in ("mark", "funding_rate"):
            extra[(pair, kind)] = path
    if not candle_files:
        raise MarketDataError(f"no USDT-M candle files in {folder}")

    raw: dict[str, tuple[str, int, np.ndarray, np.ndarray]] = {}
    for pair, (step, path) in candle_files.items():
        frame = _read_frame(path, ("open", "high", "low", "close", "volume"))
        if frame.empty:
            raise MarketDataError(f"{path}: no candles")
        values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)
        if not np.all(np.isfinite(values)) or np.any(values[:, :4] <= 0):
            raise MarketDataError(f"{path}: prices must be finite and positive")
        base = pair.split("_")[0]
        raw[base + "USDT"] = (base, step, _dates_ms(frame), values)

    data_end = max(int(dates[-1]) + step for _, step, dates, _ in raw.values())
    data_start = min(int(dates[0]) for _, _, dates, _ in raw.values())
    span_hours = (data_end - data_start) / HOUR_MS
    if offset_ms is None and live_hours >= span_hours:
        raise MarketDataError(
            f"--live-hours {live_hours:g} leaves no history: the data spans {span_hours:.1f} h"
        )
    offset = (
        offset_ms if offset_ms is not None else compute_offset_ms(data_end, live_hours, start_ms)
    )

    tapes: dict[str, SymbolTape] = {}
    specs: dict[str, SymbolSpec] = {}
    funding: dict[str, RateSeries] = {}
    mark: dict[str, MarkCandles] = {}
    for symbol, (base, step, dates, values) in raw.items():
        tapes[symbol] = SymbolTape(
            symbol=symbol,
            base=base,
            tf_ms=step,
            open_ms=dates + offset,
            ohlcv=values,
            seed=seed,
        )
        # Binance fixes a contract's filters when it lists the symbol; derive them from the
        # first candle so no later price (the backtest's future) shapes the grid.
        specs[symbol] = spec_for(symbol, base, float(values[0, 0]))
        pair = f"{base}_USDT_USDT"
        if (pair, "funding_rate") in extra:
            path = extra[(pair, "funding_rate")]
            # FreqTrade 2026.9 stores [date, funding_rate]; older files keep the rate in "open"
            column = "funding_rate" if "funding_rate" in pd.read_feather(path).columns else "open"
            frame = _read_frame(path, (column,))
            funding[symbol] = RateSeries(
                _dates_ms(frame) + offset, frame[column].to_numpy(dtype=float)
            )
        if (pair, "mark") in extra:
            frame = _read_frame(extra[(pair, "mark")], ("open", "high", "low", "close"))
            mark[symbol] = MarkCandles(
                _dates_ms(frame) + offset,
                *(frame[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close")),
            )
    return Market(tapes=tapes, specs=specs, funding=funding, mark=mark, offset_ms=offset)

"""What a synthetic market is made of: coins, planted pairs and the model's knobs.

Every number a test or the scanner relies on is stated here with its unit, validated when the
spec is built, and recorded verbatim in the ground truth. An invalid spec fails at construction
with a message naming the field, never later as a wrong price.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

QUOTE = "USDT"
MINUTES_PER_DAY = 1440
MINUTES_PER_YEAR = 365 * MINUTES_PER_DAY
FUNDING_INTERVAL_HOURS = 8  # Binance USDT-M settles funding at 00:00, 08:00 and 16:00 UTC
MARK_TIMEFRAME = "1h"  # FreqTrade's binance `mark_ohlcv_timeframe` and `funding_fee_timeframe`

TIMEFRAME_MINUTES: dict[str, int] = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60}
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


class MarketSpecError(ValueError):
    """The market cannot be generated as specified; the message names the field or pair."""


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise MarketSpecError(f"{name} must be a positive finite number, got {value!r}")


def _non_negative(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise MarketSpecError(f"{name} must be a non-negative finite number, got {value!r}")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def futures_pair(coin: str) -> str:
    """FreqTrade's name of a Binance USDT-M perpetual: 'BTC' -> 'BTC/USDT:USDT'."""
    return f"{coin}/{QUOTE}:{QUOTE}"


def timeframe_minutes(timeframe: str) -> int:
    """Minutes per candle of a base timeframe this generator supports."""
    try:
        return TIMEFRAME_MINUTES[timeframe]
    except KeyError:
        raise MarketSpecError(
            f"timeframe {timeframe!r} is not supported; use one of {sorted(TIMEFRAME_MINUTES)}"
        ) from None


def any_timeframe_minutes(timeframe: str) -> int:
    """Minutes per candle of any FreqTrade-style timeframe ('5m', '4h', '1d'), for resampling."""
    units = {"m": 1, "h": 60, "d": 1440}
    number, unit = timeframe[:-1], timeframe[-1:]
    if not number.isdigit() or unit not in units or int(number) <= 0:
        raise MarketSpecError(f"timeframe {timeframe!r} is not a timeframe such as '5m' or '4h'")
    return int(number) * units[unit]


def stable_int(text: str) -> int:
    """A 64-bit integer from a string that is the same on every run and machine.

    Python's own `hash()` is salted per process, so it cannot seed a reproducible stream.
    """
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class CoinParams:
    """How one coin behaves when it is not derived from another (a random-walk coin or leg B)."""

    base_price: float  # USDT per coin at the start
    annual_vol: float  # annualised standard deviation of log returns (0.6 = 60 %)
    daily_notional_usdt: float  # typical traded notional per day, sets the volume level
    market_share: float  # share of return variance from the common market factor, in [0, 1)

    def __post_init__(self) -> None:
        _positive("base_price", self.base_price)
        _positive("annual_vol", self.annual_vol)
        _positive("daily_notional_usdt", self.daily_notional_usdt)
        if not 0.0 <= self.market_share < 1.0:
            raise MarketSpecError(f"market_share must be in [0, 1), got {self.market_share}")


# Realistic levels for liquid Binance USDT-M perpetuals (early 2026 orders of magnitude).
# Vol and market share are chosen so that the majors correlate ~0.8 and alts ~0.6-0.7 at 5m,
# as measured on real candles (bench/market_realism.py prints the comparison).
KNOWN_COINS: dict[str, CoinParams] = {
    "BTC": CoinParams(90_000.0, 0.40, 15e9, 0.85),
    "ETH": CoinParams(3_000.0, 0.55, 10e9, 0.85),
    "SOL": CoinParams(150.0, 0.65, 3e9, 0.75),
    "XRP": CoinParams(2.0, 0.65, 2e9, 0.70),
    "DOGE": CoinParams(0.2, 0.75, 1.5e9, 0.70),
    "BNB": CoinParams(700.0, 0.50, 8e8, 0.70),
    "ADA": CoinParams(0.6, 0.80, 6e8, 0.70),
    "AVAX": CoinParams(25.0, 0.85, 4e8, 0.70),
    "LINK": CoinParams(15.0, 0.80, 5e8, 0.70),
    "DOT": CoinParams(5.0, 0.80, 2.5e8, 0.65),
    "LTC": CoinParams(100.0, 0.70, 4e8, 0.65),
    "BCH": CoinParams(400.0, 0.70, 3e8, 0.60),
    "TRX": CoinParams(0.25, 0.50, 2e8, 0.45),
    "NEAR": CoinParams(3.0, 0.90, 2.5e8, 0.65),
    "ATOM": CoinParams(5.0, 0.85, 1.5e8, 0.60),
    "UNI": CoinParams(8.0, 0.90, 2e8, 0.60),
    "FIL": CoinParams(3.0, 0.90, 1.5e8, 0.60),
    "APT": CoinParams(6.0, 0.95, 2e8, 0.60),
    "ARB": CoinParams(0.5, 0.95, 2e8, 0.65),
    "OP": CoinParams(0.9, 0.95, 1.5e8, 0.65),
    "SUI": CoinParams(3.0, 1.00, 8e8, 0.60),
    "ETC": CoinParams(20.0, 0.80, 1.5e8, 0.60),
    "AAVE": CoinParams(250.0, 0.90, 3e8, 0.60),
    "INJ": CoinParams(15.0, 1.00, 1.2e8, 0.55),
    "XLM": CoinParams(0.3, 0.80, 1.5e8, 0.55),
    "HBAR": CoinParams(0.2, 0.90, 1.5e8, 0.55),
    "1000PEPE": CoinParams(0.01, 1.10, 6e8, 0.55),
    "WIF": CoinParams(0.8, 1.20, 3e8, 0.50),
    "TON": CoinParams(3.0, 0.70, 1e8, 0.45),
    "TIA": CoinParams(3.0, 1.10, 1.2e8, 0.55),
    "SEI": CoinParams(0.3, 1.10, 1.2e8, 0.55),
    "ICP": CoinParams(6.0, 0.95, 8e7, 0.55),
    "RENDER": CoinParams(4.0, 1.05, 1e8, 0.55),
    "ORDI": CoinParams(10.0, 1.10, 1e8, 0.50),
    "STX": CoinParams(1.0, 1.00, 6e7, 0.55),
    "IMX": CoinParams(0.8, 1.00, 5e7, 0.55),
    "ALGO": CoinParams(0.25, 0.90, 6e7, 0.55),
    "VET": CoinParams(0.03, 0.90, 5e7, 0.55),
    "SAND": CoinParams(0.3, 0.95, 6e7, 0.55),
    "MANA": CoinParams(0.3, 0.95, 4e7, 0.55),
    "AXS": CoinParams(3.0, 1.00, 5e7, 0.50),
    "GALA": CoinParams(0.02, 1.05, 8e7, 0.55),
    "CRV": CoinParams(0.6, 1.10, 1e8, 0.50),
    "LDO": CoinParams(1.2, 1.05, 8e7, 0.55),
    "ENA": CoinParams(0.5, 1.20, 3e8, 0.55),
    "WLD": CoinParams(1.0, 1.15, 2e8, 0.50),
    "JUP": CoinParams(0.5, 1.10, 8e7, 0.55),
    "ONDO": CoinParams(0.9, 1.10, 1.5e8, 0.50),
    "TAO": CoinParams(350.0, 1.10, 1.5e8, 0.50),
    "FET": CoinParams(0.7, 1.15, 1.5e8, 0.55),
    "RUNE": CoinParams(1.5, 1.10, 6e7, 0.50),
    "EGLD": CoinParams(15.0, 0.95, 3e7, 0.50),
    "1000SHIB": CoinParams(0.015, 0.90, 8e7, 0.60),
    "1000BONK": CoinParams(0.02, 1.20, 1e8, 0.50),
    "ENS": CoinParams(20.0, 1.00, 5e7, 0.50),
    "COMP": CoinParams(45.0, 1.00, 4e7, 0.50),
    "DYDX": CoinParams(0.8, 1.05, 4e7, 0.50),
    "APE": CoinParams(0.6, 1.05, 5e7, 0.50),
}


def coin_params_for(coin: str) -> CoinParams:
    """Built-in parameters of a coin; unknown names get a level derived from the name alone.

    Deriving it from the name (not the seed or the position in the list) keeps a coin's
    price level stable across seeds and universes.
    """
    if coin in KNOWN_COINS:
        return KNOWN_COINS[coin]
    u = stable_int(f"price-level:{coin}") / 2**64
    return CoinParams(
        base_price=float(10 ** (-1.5 + 3.5 * u)), annual_vol=0.9, daily_notional_usdt=5e7,
        market_share=0.55,
    )  # fmt: skip


@dataclass(frozen=True)
class GarchParams:
    """GARCH(1,1) with Student-t shocks, per candle of the base timeframe, unit variance.

    `h[t] = (1 - alpha - beta) + alpha * e[t-1]**2 + beta * h[t-1]`, `e[t] = sqrt(h[t]) * z[t]`,
    z Student-t with `t_dof` degrees of freedom scaled to unit variance.
    """

    alpha: float
    beta: float
    t_dof: float

    def __post_init__(self) -> None:
        if not (self.alpha >= 0 and self.beta >= 0 and self.alpha + self.beta < 1):
            raise MarketSpecError(
                f"GARCH needs alpha >= 0, beta >= 0 and alpha + beta < 1 (stationary variance), "
                f"got alpha={self.alpha}, beta={self.beta}"
            )
        if not self.t_dof > 4:
            raise MarketSpecError(
                f"GARCH t_dof must be > 4 (finite kurtosis of the shocks), got {self.t_dof}"
            )


# Calibrated per base timeframe against real Binance 5m/15m/1h candles (bench/market_realism.py):
# the reaction `alpha` grows and the per-candle persistence falls with the candle length, so the
# clustering measured in hours stays about the same whatever the base timeframe.
DEFAULT_GARCH: dict[str, GarchParams] = {
    "1m": GarchParams(alpha=0.05, beta=0.94, t_dof=6.0),
    "3m": GarchParams(alpha=0.07, beta=0.91, t_dof=6.0),
    "5m": GarchParams(alpha=0.08, beta=0.88, t_dof=6.0),
    "15m": GarchParams(alpha=0.10, beta=0.82, t_dof=6.0),
    "30m": GarchParams(alpha=0.11, beta=0.76, t_dof=6.0),
    "1h": GarchParams(alpha=0.12, beta=0.70, t_dof=6.0),
}


@dataclass(frozen=True)
class FundingParams:
    """Funding rate per 8-hour settlement, as a fraction of the position's notional.

    Positive: longs pay shorts. Each coin's rate is an AR(1) around its own mean; the coin means
    are spread around `mean_rate` by `coin_mean_sd`.
    """

    mean_rate: float = 1e-4
    sd_rate: float = 6e-5  # stationary standard deviation around the coin's mean
    autocorr: float = 0.5  # between consecutive settlements
    coin_mean_sd: float = 3e-5

    def __post_init__(self) -> None:
        if abs(self.mean_rate) > 0.003:
            raise MarketSpecError(f"funding mean_rate {self.mean_rate} is not a realistic rate")
        _non_negative("funding sd_rate", self.sd_rate)
        _non_negative("funding coin_mean_sd", self.coin_mean_sd)
        if not 0 <= self.autocorr < 1:
            raise MarketSpecError(f"funding autocorr must be in [0, 1), got {self.autocorr}")


@dataclass(frozen=True)
class PlantedPair:
    """A cointegrated pair: `price_a = intercept + hedge_ratio * price_b + residual`.

    The hedge ratio is in quantity terms on prices: one coin of A is hedged by `hedge_ratio`
    coins of B. The residual is an Ornstein-Uhlenbeck (AR(1)) process with the given half-life
    in candles of the base timeframe and a stationary standard deviation of
    `residual_sd_frac * price_a0` USDT, where `price_a0 = intercept + hedge_ratio * price_b0`
    is leg A's starting price. After `breaks_at` (a fraction of the series in (0, 1), or a UTC
    datetime inside it) the residual becomes a random walk with the same shocks: the pair
    stops being cointegrated. Leg A's own `base_price`, `annual_vol` and `market_share` are
    not used (its price follows from B); its `daily_notional_usdt` sets its volume.
    """

    leg_a: str
    leg_b: str
    hedge_ratio: float
    half_life_candles: float
    residual_sd_frac: float
    intercept: float = 0.0  # USDT
    breaks_at: float | datetime | None = None

    def __post_init__(self) -> None:
        where = f"planted pair {self.leg_a}/{self.leg_b}"
        if self.leg_a == self.leg_b:
            raise MarketSpecError(f"{where}: leg_a and leg_b must be different coins")
        _positive(f"{where}: hedge_ratio", self.hedge_ratio)
        if not (math.isfinite(self.half_life_candles) and self.half_life_candles >= 1):
            raise MarketSpecError(
                f"{where}: half_life_candles must be >= 1, got {self.half_life_candles}"
            )
        _positive(f"{where}: residual_sd_frac", self.residual_sd_frac)
        if self.residual_sd_frac > 0.2:
            raise MarketSpecError(
                f"{where}: residual_sd_frac {self.residual_sd_frac} (stationary sd as a fraction "
                "of leg A's price) above 0.2 would drive leg A's price to zero"
            )
        if not math.isfinite(self.intercept):
            raise MarketSpecError(f"{where}: intercept must be finite")
        if isinstance(self.breaks_at, datetime):
            if self.breaks_at.tzinfo is None:
                raise MarketSpecError(f"{where}: breaks_at datetime must be tz-aware (UTC)")
        elif self.breaks_at is not None and not 0 < self.breaks_at < 1:
            raise MarketSpecError(
                f"{where}: breaks_at as a fraction must be in (0, 1), got {self.breaks_at}"
            )

    @property
    def pair_id(self) -> str:
        return f"{self.leg_a}_{self.leg_b}"

    @property
    def ar1_phi(self) -> float:
        """Per-candle autoregressive coefficient whose half-life is `half_life_candles`."""
        return 0.5 ** (1.0 / self.half_life_candles)


@dataclass(frozen=True)
class MarketSpec:
    """Everything that determines a generated market; same spec, same bytes."""

    coins: tuple[str, ...]
    pairs: tuple[PlantedPair, ...] = ()
    # Opens the first candle. Off the hour, the 1h mark candles begin at the next whole hour
    # (a partial hour is dropped, never reported as a whole candle).
    start: datetime = DEFAULT_START
    days: float = 30.0
    timeframe: str = "1m"
    seed: int = 0
    # Overrides of the built-in coin table (KNOWN_COINS / coin_params_for).
    coin_params: Mapping[str, CoinParams] = field(default_factory=dict, hash=False)
    garch: GarchParams | None = None  # None: DEFAULT_GARCH of the timeframe
    # Slow market-wide volatility regime: log-vol AR(1) with this sd and half-life.
    regime_sd: float = 0.3
    regime_half_life_hours: float = 24.0
    # Intraday seasonality: vol peaks at 14:30 UTC (US open) by this relative amplitude.
    intraday_amplitude: float = 0.45
    weekend_vol_factor: float = 0.75
    # Jumps (liquidation cascades, news): market-wide and per coin, per day, sized in 1-hour
    # standard deviations of the component they hit; part of the annual vol, not on top of it.
    market_jumps_per_day: float = 1.0
    coin_jumps_per_day: float = 0.3
    jump_sd_hourly_sigmas: float = 1.5
    funding: FundingParams = field(default_factory=FundingParams)
    # Mark price = last price x (1 + basis); basis AR(1), fractions of the price.
    mark_basis_mean_frac: float = 3e-5
    mark_basis_sd_frac: float = 1e-4
    mark_basis_half_life_minutes: float = 5.0
    # log volume noise (sd) and its persistence per hour.
    volume_noise_sd: float = 0.6
    volume_noise_autocorr_1h: float = 0.5

    def __post_init__(self) -> None:
        # Accept lists from callers but store tuples so the spec stays immutable.
        object.__setattr__(self, "coins", tuple(self.coins))
        object.__setattr__(self, "pairs", tuple(self.pairs))
        object.__setattr__(self, "coin_params", dict(self.coin_params))
        self._validate()

    # ---- derived values -------------------------------------------------------------------
    @property
    def timeframe_minutes(self) -> int:
        return timeframe_minutes(self.timeframe)

    @property
    def n_candles(self) -> int:
        return round(self.days * MINUTES_PER_DAY / self.timeframe_minutes)

    @property
    def end(self) -> datetime:
        """Close time of the last candle (exclusive end of the data)."""
        return self.start + timedelta(minutes=self.n_candles * self.timeframe_minutes)

    @property
    def garch_params(self) -> GarchParams:
        return self.garch if self.garch is not None else DEFAULT_GARCH[self.timeframe]

    def params_of(self, coin: str) -> CoinParams:
        return self.coin_params.get(coin) or coin_params_for(coin)

    def leg_a_start_price(self, pair: PlantedPair) -> float:
        return pair.intercept + pair.hedge_ratio * self.params_of(pair.leg_b).base_price

    def break_index(self, pair: PlantedPair) -> int | None:
        """First candle whose close is on the random-walk residual, or None without a break."""
        if pair.breaks_at is None:
            return None
        if isinstance(pair.breaks_at, datetime):
            minutes = (pair.breaks_at - self.start).total_seconds() / 60
            return math.ceil(minutes / self.timeframe_minutes)
        return round(pair.breaks_at * self.n_candles)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record of the spec (datetimes as ISO 8601 UTC)."""
        out = asdict(self)
        out["start"] = _iso(self.start)
        out["garch"] = asdict(self.garch_params)
        out["coin_params"] = {c: asdict(self.params_of(c)) for c in self.coins}
        for pair in out["pairs"]:
            if isinstance(pair["breaks_at"], datetime):
                pair["breaks_at"] = _iso(pair["breaks_at"])
        return out

    # ---- validation -----------------------------------------------------------------------
    def _validate(self) -> None:
        minutes = timeframe_minutes(self.timeframe)
        if not self.coins:
            raise MarketSpecError("coins is empty: a market needs at least one coin")
        if len(set(self.coins)) != len(self.coins):
            dupes = sorted({c for c in self.coins if self.coins.count(c) > 1})
            raise MarketSpecError(f"coins listed twice: {dupes}")
        for coin in self.coins:
            if not coin or not coin.isalnum() or coin.upper() != coin:
                raise MarketSpecError(f"coin {coin!r} must be upper-case letters/digits ('BTC')")
        unknown = sorted(set(self.coin_params) - set(self.coins))
        if unknown:
            raise MarketSpecError(f"coin_params given for coins not in the market: {unknown}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise MarketSpecError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise MarketSpecError(f"start must be a UTC datetime, got {self.start!r}")
        if (
            self.start.second
            or self.start.microsecond
            or ((self.start.hour * 60 + self.start.minute) % minutes)
        ):
            raise MarketSpecError(
                f"start {self.start.isoformat()} must open a {self.timeframe} candle (UTC) so "
                "that the trade candles, the 1h mark candles and the 00/08/16 UTC funding "
                "times sit on one grid"
            )
        if not (math.isfinite(self.days) and self.days > 0):
            raise MarketSpecError(f"days must be positive, got {self.days}")
        exact = self.days * MINUTES_PER_DAY / minutes
        if abs(exact - round(exact)) > 1e-6 or (round(exact) * minutes) % 60:
            raise MarketSpecError(
                f"days={self.days} must cover a whole number of hours of {self.timeframe} candles"
            )
        if self.n_candles < 2:
            raise MarketSpecError(f"days={self.days} gives fewer than 2 candles")
        self._validate_pairs()
        for name in ("regime_sd", "intraday_amplitude", "market_jumps_per_day",
                     "coin_jumps_per_day", "jump_sd_hourly_sigmas", "mark_basis_sd_frac",
                     "volume_noise_sd"):  # fmt: skip
            _non_negative(name, getattr(self, name))
        _positive("regime_half_life_hours", self.regime_half_life_hours)
        _positive("mark_basis_half_life_minutes", self.mark_basis_half_life_minutes)
        _positive("weekend_vol_factor", self.weekend_vol_factor)
        if self.intraday_amplitude >= 1:
            raise MarketSpecError("intraday_amplitude must be < 1 (volatility stays positive)")
        if abs(self.mark_basis_mean_frac) > 0.01:
            raise MarketSpecError("mark_basis_mean_frac above 1 % is not a realistic basis")
        if not 0 <= self.volume_noise_autocorr_1h < 1:
            raise MarketSpecError("volume_noise_autocorr_1h must be in [0, 1)")
        for name in ("market_jumps_per_day", "coin_jumps_per_day"):
            if getattr(self, name) * minutes / MINUTES_PER_DAY > 0.5:
                raise MarketSpecError(
                    f"{name}={getattr(self, name)}: more than one jump per two {self.timeframe} "
                    "candles is not a jump process"
                )
            if self.jump_variance_share(getattr(self, name)) >= 0.9:
                raise MarketSpecError(
                    f"{name}={getattr(self, name)} with jump_sd_hourly_sigmas="
                    f"{self.jump_sd_hourly_sigmas}: jumps alone would exceed 90 % of the variance"
                )

    def jump_variance_share(self, jumps_per_day: float) -> float:
        """Share of a return component's variance that jumps at this rate carry."""
        return jumps_per_day / 24 * self.jump_sd_hourly_sigmas**2

    def _validate_pairs(self) -> None:
        coins = set(self.coins)
        used: dict[str, str] = {}
        n = self.n_candles
        for pair in self.pairs:
            for role, coin in (("leg_a", pair.leg_a), ("leg_b", pair.leg_b)):
                if coin not in coins:
                    raise MarketSpecError(
                        f"planted pair {pair.pair_id}: {role} {coin!r} is not in coins"
                    )
                if coin in used:
                    # A coin in two relations would make unplanted pairs cointegrated too
                    # (A1 = f(B), A2 = f(B) => A1 ~ A2), and the ground truth would lie.
                    raise MarketSpecError(
                        f"coin {coin} is in planted pairs {used[coin]} and {pair.pair_id}: "
                        "each coin may be in at most one planted pair"
                    )
                used[coin] = pair.pair_id
            price_a0 = self.leg_a_start_price(pair)
            if not price_a0 > 0:
                raise MarketSpecError(
                    f"planted pair {pair.pair_id}: leg A would start at intercept + hedge_ratio x "
                    f"price_b0 = {price_a0:.6g} USDT; it must be positive"
                )
            k = self.break_index(pair)
            if k is not None and not 0 < k < n:
                raise MarketSpecError(
                    f"planted pair {pair.pair_id}: breaks_at {pair.breaks_at} falls outside the "
                    f"series ({_iso(self.start)} .. {_iso(self.end)})"
                )
            if pair.half_life_candles > n:
                raise MarketSpecError(
                    f"planted pair {pair.pair_id}: half_life_candles {pair.half_life_candles} "
                    f"exceeds the series length ({n} candles); nothing would mean-revert"
                )

"""`pairs_config.json`: the one definition of the file the scanner writes and the bot trades.

A wrong hedge ratio breaks delta neutrality, so the file is validated, never trusted:
every problem is reported with the pair it belongs to and the field that is wrong.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from statarb.atomic import atomic_write_text
from statarb.stats.space import PriceSpace

DEFAULT_ENTRY_Z = 2.0
DEFAULT_EXIT_Z = 0.5
DEFAULT_STOP_Z = 4.0
DEFAULT_MEAN_REVERSION_WINDOW = 50
# Scan defaults, in candles so one config works at 1m, 5m and 1h (chosen on the development
# data's fit months; README "Choosing the defaults").
DEFAULT_SCAN_LOOKBACK_CANDLES = 720
DEFAULT_PRICE_SPACE: PriceSpace = "log"
DEFAULT_KEEP_PAIRS_SCANS = 1
DEFAULT_FDR_ALPHA = 0.05

# Reference sizes are rounded to the exchange's step, so leg B is allowed to differ from
# hedge_ratio x leg A by this relative amount before the file is called inconsistent.
SIZE_RATIO_TOLERANCE = 0.05

FUTURES_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}/USDT:USDT$")


class PairsConfigError(ValueError):
    """The pairs config cannot be used; the message names the pair and the field."""


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (UTC, e.g. '2026-02-01T20:00:00Z')")
    return value.astimezone(UTC)


FiniteFloat = Annotated[float, AfterValidator(_finite)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
FuturesSymbol = Annotated[str, Field(pattern=FUTURES_SYMBOL.pattern)]


class _Strict(BaseModel):
    # Unknown keys are rejected: a typo such as "stop_loss" must not silently fall back
    # to a default stop.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanWindow(_Strict):
    """The candles a scan used: `start <= candle open time < end`, UTC."""

    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> ScanWindow:
        if self.end <= self.start:
            raise ValueError("scan window end must be after its start")
        return self

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True when [start, end) shares any time with this window."""
        return self.start < end and start < self.end


class PairEntry(_Strict):
    """One cointegrated pair: `residual = A - intercept - hedge_ratio * B` in its price space.

    `price_space` "raw": A and B are prices; one unit of the spread is `1` leg_a against
    `hedge_ratio` leg_b (base-coin quantities), so the spread's P&L is the change of the residual.
    "log": A and B are log prices (coins of different size, price_A ∝ price_B^β); one unit is a
    notional N of leg_a against `hedge_ratio` × N of leg_b. The quantity ratio that holds this
    hedge is fixed at the scan's reference sizes (`quantity_ratio`); see docs/price_space.md.
    """

    pair_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]
    leg_a: FuturesSymbol
    leg_b: FuturesSymbol
    hedge_ratio: Annotated[FiniteFloat, Field(gt=0)]
    intercept: FiniteFloat = 0.0
    cointegration_stat: FiniteFloat
    pvalue: Annotated[float, Field(ge=0.0, le=1.0)]
    qvalue: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    half_life_candles: Annotated[FiniteFloat, Field(gt=0)] | None = None
    n_obs: Annotated[int, Field(ge=20)] | None = None
    # Per-pair overrides of the strategy's (hyperoptable) thresholds; None = use the strategy's.
    z_score_threshold: Annotated[FiniteFloat, Field(gt=0)] | None = None
    exit_z: Annotated[FiniteFloat, Field(ge=0)] | None = None
    stop_loss_z: Annotated[FiniteFloat, Field(gt=0)] | None = None
    entry_size_leg_a: Annotated[FiniteFloat, Field(gt=0)]
    entry_size_leg_b: Annotated[FiniteFloat, Field(gt=0)]
    mean_reversion_window: Annotated[int, Field(ge=10, le=10_000)] = DEFAULT_MEAN_REVERSION_WINDOW
    price_space: PriceSpace = "raw"
    last_updated: UtcDatetime

    @field_validator("leg_a", "leg_b", mode="before")
    @classmethod
    def _symbol_hint(cls, value: Any) -> Any:
        if isinstance(value, str) and not FUTURES_SYMBOL.match(value):
            raise ValueError(
                f"{value!r} is not a Binance USDT-M perpetual symbol such as 'BTC/USDT:USDT'"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PairEntry:
        if self.leg_a == self.leg_b:
            raise ValueError(f"leg_a and leg_b are the same symbol {self.leg_a}")
        exit_z, entry_z, stop_z = self.thresholds_or(
            DEFAULT_EXIT_Z, DEFAULT_ENTRY_Z, DEFAULT_STOP_Z
        )
        if not exit_z < entry_z < stop_z:
            raise ValueError(
                "thresholds must satisfy exit_z < z_score_threshold < stop_loss_z, got "
                f"{exit_z} / {entry_z} / {stop_z}"
            )
        if self.price_space == "log":
            return self  # reference sizes carry the notional hedge at the scan's prices
        expected_b = self.hedge_ratio * self.entry_size_leg_a
        if abs(self.entry_size_leg_b - expected_b) > SIZE_RATIO_TOLERANCE * expected_b:
            raise ValueError(
                f"entry_size_leg_b {self.entry_size_leg_b} is not hedge_ratio x "
                f"entry_size_leg_a = {expected_b:.6g}: the legs would not be delta-neutral"
            )
        return self

    def thresholds_or(
        self, exit_z: float, entry_z: float, stop_z: float
    ) -> tuple[float, float, float]:
        """(exit, entry, stop) with this pair's overrides applied over the given defaults."""
        return (
            self.exit_z if self.exit_z is not None else exit_z,
            self.z_score_threshold if self.z_score_threshold is not None else entry_z,
            self.stop_loss_z if self.stop_loss_z is not None else stop_z,
        )

    @property
    def coins(self) -> tuple[str, str]:
        return base_coin(self.leg_a), base_coin(self.leg_b)

    @property
    def quantity_ratio(self) -> float:
        """Leg B's base quantity per unit of leg A's: what sizing, hedging and recovery hold.

        Raw space: the hedge ratio itself. Log space: hedge_ratio × price_A / price_B at the
        scan's last closes, i.e. the reference sizes' ratio (equal notional exposure in the
        hedge ratio), fixed for every spread opened on this entry.
        """
        if self.price_space == "log":
            return self.entry_size_leg_b / self.entry_size_leg_a
        return self.hedge_ratio


class PairsConfig(_Strict):
    """A scan's result: the pairs to trade and the data window they were chosen on."""

    version: Literal[1] = 1
    generated_at: UtcDatetime | None = None
    timeframe: str | None = None
    # None only for hand-written files; a backtest then cannot tell in-sample selection.
    scan_window: ScanWindow | None = None
    pairs: list[PairEntry]

    @model_validator(mode="after")
    def _one_coin_per_spread(self) -> PairsConfig:
        ids = Counter(p.pair_id for p in self.pairs)
        dup_ids = sorted(i for i, n in ids.items() if n > 1)
        if dup_ids:
            raise ValueError(f"pair_id used more than once: {', '.join(dup_ids)}")
        # FreqTrade holds one trade per symbol: a coin in two spreads would net their legs.
        owners: dict[str, str] = {}
        for pair in self.pairs:
            for symbol in (pair.leg_a, pair.leg_b):
                if symbol in owners:
                    raise ValueError(
                        f"{symbol} is in two pairs ({owners[symbol]} and {pair.pair_id}); "
                        "a coin may be in one spread only"
                    )
                owners[symbol] = pair.pair_id
        return self

    @property
    def symbols(self) -> list[str]:
        """Every leg, in pair order (leg A then leg B)."""
        return [s for p in self.pairs for s in (p.leg_a, p.leg_b)]

    def by_id(self, pair_id: str) -> PairEntry:
        for pair in self.pairs:
            if pair.pair_id == pair_id:
                return pair
        raise KeyError(pair_id)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"


def base_coin(symbol: str) -> str:
    """'BTC/USDT:USDT' -> 'BTC'."""
    return symbol.split("/", 1)[0]


def _describe_location(raw: Any, loc: tuple[Any, ...]) -> str:
    """Turn pydantic's ('pairs', 0, 'hedge_ratio') into "pair PAIR_001 (#1): hedge_ratio"."""
    if len(loc) >= 2 and loc[0] == "pairs" and isinstance(loc[1], int):
        index = loc[1]
        pair_id = None
        if isinstance(raw, dict) and isinstance(raw.get("pairs"), list):
            items = raw["pairs"]
            if index < len(items) and isinstance(items[index], dict):
                pair_id = items[index].get("pair_id")
        label = f"pair {pair_id} (#{index + 1})" if pair_id else f"pair #{index + 1}"
        field = ".".join(str(part) for part in loc[2:])
        return f"{label}: {field}" if field else label
    return ".".join(str(part) for part in loc) or "file"


def parse_pairs_config(raw: Any, source: str = "pairs config") -> PairsConfig:
    """Validate already-decoded JSON. A bare list of pair entries is accepted too."""
    if isinstance(raw, list):
        raw = {"pairs": raw}
    if not isinstance(raw, dict):
        raise PairsConfigError(f"{source}: expected a JSON object with a 'pairs' list")
    try:
        return PairsConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{_describe_location(raw, tuple(err['loc']))}: {msg}")
        raise PairsConfigError(f"{source} is invalid:\n  - " + "\n  - ".join(problems)) from None


def load_pairs_config(path: str | os.PathLike[str]) -> PairsConfig:
    """Read and validate a pairs config; raise PairsConfigError with a readable reason."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PairsConfigError(f"{file}: file not found") from None
    except OSError as exc:
        raise PairsConfigError(f"{file}: cannot be read ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PairsConfigError(
            f"{file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_pairs_config(raw, source=str(file))


def write_pairs_config(config: PairsConfig, path: str | os.PathLike[str]) -> None:
    """Atomically replace `path`; a running bot never reads half a file."""
    # Round-trip through the validator so an invalid object can never be written.
    parse_pairs_config(json.loads(config.to_json()), source="pairs config to write")
    atomic_write_text(path, config.to_json())


def utc_now() -> datetime:
    return datetime.now(UTC)


def describe_pairs_change(old: PairsConfig, new: PairsConfig) -> list[str]:
    """One line per pair added, removed or re-estimated between two configs (for the log)."""
    before = {(p.leg_a, p.leg_b): p for p in old.pairs}
    after = {(p.leg_a, p.leg_b): p for p in new.pairs}
    lines = [
        f"pair added {p.pair_id} ({p.leg_a} ~ {p.hedge_ratio:.6g} x {p.leg_b}, p={p.pvalue:.2g})"
        for legs, p in after.items()
        if legs not in before
    ]
    lines += [f"pair removed {p.pair_id}" for legs, p in before.items() if legs not in after]
    lines += [
        f"pair re-estimated {p.pair_id}: hedge ratio {before[legs].hedge_ratio:.6g} -> "
        f"{p.hedge_ratio:.6g} (open spreads keep theirs)"
        for legs, p in after.items()
        if legs in before and before[legs].hedge_ratio != p.hedge_ratio
    ]
    return lines or ["pairs config reloaded: no change in pairs"]


class SchedulePeriod(_Strict):
    """One re-scan of a walk-forward run: its pairs trade on candles opened in [from, until)."""

    valid_from: UtcDatetime
    valid_until: UtcDatetime | None = None
    config: PairsConfig

    @model_validator(mode="after")
    def _causal(self) -> SchedulePeriod:
        window = self.config.scan_window
        if window is None:
            raise ValueError("a schedule period must record the scan window it was chosen on")
        if window.end > self.valid_from:
            raise ValueError(
                f"look-ahead: the scan used candles up to {window.end.isoformat()} but its pairs "
                f"trade from {self.valid_from.isoformat()}"
            )
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class PairsSchedule(_Strict):
    """Walk-forward pair selection: what production's daily re-scan would have chosen, when."""

    version: Literal[1] = 1
    kind: Literal["walk_forward"] = "walk_forward"
    generated_at: UtcDatetime | None = None
    timeframe: str | None = None
    periods: list[SchedulePeriod]

    @field_validator("periods")
    @classmethod
    def _ordered(cls, periods: list[SchedulePeriod]) -> list[SchedulePeriod]:
        if not periods:
            raise ValueError("a schedule needs at least one period")
        for prev, nxt in itertools.pairwise(periods):
            if nxt.valid_from <= prev.valid_from:
                raise ValueError("periods must be in increasing valid_from order")
            if prev.valid_until is not None and prev.valid_until > nxt.valid_from:
                raise ValueError(f"periods overlap at {nxt.valid_from.isoformat()}")
        return periods

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"


def load_schedule(path: str | os.PathLike[str]) -> PairsSchedule:
    file = Path(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PairsConfigError(f"{file}: file not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise PairsConfigError(f"{file}: cannot be read as JSON ({exc})") from None
    try:
        return PairsSchedule.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        ]
        raise PairsConfigError(f"{file} is invalid:\n  - " + "\n  - ".join(problems)) from None


def write_schedule(schedule: PairsSchedule, path: str | os.PathLike[str]) -> None:
    PairsSchedule.model_validate_json(schedule.to_json())
    atomic_write_text(path, schedule.to_json())

"""Which spread a coin belongs to at a given time: one pairs config, or a walk-forward schedule.

A fixed `pairs_config.json` is a schedule of one period that is valid forever. A walk-forward
schedule has one period per re-scan; a candle opened at `t` may only use the period whose
`valid_from <= t` (its scan saw candles before `valid_from` only), which keeps the choice of
pairs itself free of look-ahead.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from statarb.pairs_config import PairEntry, PairsConfig, PairsSchedule
from statarb.spread.client_ids import Leg

_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ActivePair:
    """A coin's spread during one period, seen from that coin."""

    entry: PairEntry
    role: Leg  # the coin is leg A or leg B of `entry`
    valid_from: datetime
    valid_until: datetime | None

    @property
    def symbol(self) -> str:
        return self.entry.leg_a if self.role is Leg.A else self.entry.leg_b

    @property
    def partner(self) -> str:
        return self.entry.leg_b if self.role is Leg.A else self.entry.leg_a


@dataclass(frozen=True)
class BookPeriod:
    valid_from: datetime
    valid_until: datetime | None
    config: PairsConfig


class SpreadBook:
    """Look-ups of pairs by coin and time; immutable once built."""

    def __init__(self, periods: list[BookPeriod]) -> None:
        if not periods:
            raise ValueError("a spread book needs at least one period")
        self._periods = periods
        self._starts = [p.valid_from for p in periods]

    @classmethod
    def from_config(cls, config: PairsConfig) -> SpreadBook:
        return cls([BookPeriod(_BEGINNING, None, config)])

    @classmethod
    def from_schedule(cls, schedule: PairsSchedule) -> SpreadBook:
        return cls([BookPeriod(p.valid_from, p.valid_until, p.config) for p in schedule.periods])

    def with_config(self, config: PairsConfig, valid_from: datetime) -> SpreadBook:
        """This book with `config` taking over at `valid_from` (a live re-scan); the earlier
        periods stay, so spreads opened under them are still found with their own parameters."""
        last = self._periods[-1]
        if valid_from <= last.valid_from:
            raise ValueError("a new pairs config must take over after the current one")
        closed = BookPeriod(last.valid_from, valid_from, last.config)
        return SpreadBook([*self._periods[:-1], closed, BookPeriod(valid_from, None, config)])

    @property
    def is_schedule(self) -> bool:
        return len(self._periods) > 1 or self._periods[0].valid_from != _BEGINNING

    @property
    def symbols(self) -> list[str]:
        """Every leg that appears in any period, in first-seen order."""
        seen: dict[str, None] = {}
        for period in self._periods:
            for symbol in period.config.symbols:
                seen.setdefault(symbol, None)
        return list(seen)

    @property
    def periods(self) -> list[BookPeriod]:
        return list(self._periods)

    @property
    def configs(self) -> list[PairsConfig]:
        """Every period's pairs config, oldest first."""
        return [p.config for p in self._periods]

    def entries_of(self, symbol: str) -> list[PairEntry]:
        """Every pair, in any period, that `symbol` is a leg of."""
        return [
            entry
            for period in self._periods
            for entry in period.config.pairs
            if symbol in (entry.leg_a, entry.leg_b)
        ]

    def config_at(self, at: datetime) -> PairsConfig | None:
        period = self._period_at(at)
        return period.config if period else None

    def _period_at(self, at: datetime) -> BookPeriod | None:
        index = bisect.bisect_right(self._starts, at) - 1
        if index < 0:
            return None
        period = self._periods[index]
        if period.valid_until is not None and at >= period.valid_until:
            return None
        return period

    def active(self, symbol: str, at: datetime) -> ActivePair | None:
        """The spread `symbol` may be entered in at time `at`, or None."""
        period = self._period_at(at)
        if period is None:
            return None
        return _active_in(period, symbol)

    def find(self, pair_id: str, at: datetime) -> PairEntry | None:
        """The pair named `pair_id` in the period valid at `at` (None if it was not chosen)."""
        config = self.config_at(at)
        if config is None:
            return None
        for entry in config.pairs:
            if entry.pair_id == pair_id:
                return entry
        return None

    def segments(self, symbol: str, dates: pd.Series) -> Iterator[tuple[np.ndarray, ActivePair]]:
        """(boolean mask over `dates`, active pair) for each period in which `symbol` trades."""
        values = pd.to_datetime(dates, utc=True)
        for period in self._periods:
            active = _active_in(period, symbol)
            if active is None:
                continue
            mask = (values >= pd.Timestamp(period.valid_from)).to_numpy()
            if period.valid_until is not None:
                mask = mask & (values < pd.Timestamp(period.valid_until)).to_numpy()
            if mask.any():
                yield mask, active


def _active_in(period: BookPeriod, symbol: str) -> ActivePair | None:
    for entry in period.config.pairs:
        if symbol in (entry.leg_a, entry.leg_b):
            role = Leg.A if symbol == entry.leg_a else Leg.B
            return ActivePair(entry, role, period.valid_from, period.valid_until)
    return None

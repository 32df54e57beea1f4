"""What a FreqTrade trade is, seen as one leg of a spread instance.

FreqTrade knows trades per symbol; a spread is two of them. Each leg carries a `LegTag` (stored
in FreqTrade's per-trade custom data, so it survives restarts) naming its spread instance: the
pair id and the open time of the signal candle. Grouping open trades by that key tells which
spreads are open, which are complete and which lost a leg.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from statarb.spread.client_ids import Leg
from statarb.spread.signals import LONG_SPREAD, SHORT_SPREAD, Thresholds


@dataclass(frozen=True)
class SpreadKey:
    pair_id: str
    opened_at: datetime  # when the spread was decided: signal candle open, or forced-entry second

    def __str__(self) -> str:
        return f"{self.pair_id}@{self.opened_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"


# The FreqTrade custom-data key a leg's LegTag is stored under (the strategy writes it; the
# daily check, the cost report and the paper comparison read it).
TAG_KEY = "spread"


@dataclass(frozen=True)
class LegTag:
    """A leg's membership in a spread instance; JSON-able for FreqTrade's custom data."""

    pair_id: str
    opened_at: datetime
    leg: Leg
    direction: int  # spread direction: +1 long spread (long A / short B), -1 short spread
    # Leg B's base quantity per unit of leg A's, as entered; it never changes while open. Raw
    # price space: the spread's β; log space: the pair's quantity_ratio (docs/price_space.md).
    hedge_ratio: float
    leg_a: str
    leg_b: str
    window: int  # z-score window (candles) of the pair at entry
    planned_qty: float  # base quantity this leg was sized to
    # The thresholds the spread was entered under: a re-scan or restart never changes how an
    # open spread is judged. None only in tags written before they were recorded.
    entry_z: float | None = None
    exit_z: float | None = None
    stop_z: float | None = None
    # The spread's definition the z is measured on: β in `price_space`. None (tags written
    # before log space existed): raw space, β = hedge_ratio.
    spread_beta: float | None = None
    price_space: str = "raw"

    @property
    def beta(self) -> float:
        """The spread's coefficient in its price space (what z is computed with)."""
        return self.hedge_ratio if self.spread_beta is None else self.spread_beta

    @property
    def key(self) -> SpreadKey:
        return SpreadKey(self.pair_id, self.opened_at)

    @property
    def partner(self) -> str:
        return self.leg_b if self.leg is Leg.A else self.leg_a

    def twin(self, planned_qty: float) -> LegTag:
        """The other leg's tag: this spread's ratio, β, window and entry thresholds, so both
        legs of one spread are judged alike (also after a re-scan changed the book's)."""
        return replace(self, leg=Leg.B if self.leg is Leg.A else Leg.A, planned_qty=planned_qty)

    def entered_thresholds(self) -> Thresholds | None:
        """The thresholds the spread was entered under; None in tags older than them."""
        if self.entry_z is None or self.exit_z is None or self.stop_z is None:
            return None
        return Thresholds(entry_z=self.entry_z, exit_z=self.exit_z, stop_z=self.stop_z)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["opened_at"] = self.opened_at.isoformat()
        data["leg"] = str(self.leg)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LegTag:
        values = dict(data)
        values["opened_at"] = datetime.fromisoformat(values["opened_at"]).astimezone(UTC)
        values["leg"] = Leg(values["leg"])
        return cls(**values)


def leg_is_short(leg: Leg, direction: int) -> bool:
    """Leg A is long in a long spread; leg B is always A's opposite."""
    if direction not in (LONG_SPREAD, SHORT_SPREAD):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    long_a = direction == LONG_SPREAD
    return (leg is Leg.A) != long_a


def spread_direction(leg: Leg, is_short: bool) -> int:
    """The spread direction implied by one leg's side."""
    a_is_long = (leg is Leg.A) != is_short
    return LONG_SPREAD if a_is_long else SHORT_SPREAD


def signal_candle_of(open_date: datetime, timeframe_minutes: int) -> datetime:
    """Open time of the candle whose close triggered an entry at `open_date`.

    Backtests fill at the next candle's open (exactly on a boundary); live fills a few seconds
    into it. Either way the signal candle is the one before the candle containing `open_date`.
    """
    stamp = open_date.astimezone(UTC)
    minutes = int(stamp.timestamp() // 60)
    floor = minutes - minutes % timeframe_minutes
    return datetime.fromtimestamp(floor * 60, tz=UTC) - timedelta(minutes=timeframe_minutes)


@dataclass(frozen=True)
class OpenLeg:
    """An open FreqTrade trade with its tag, in plain values."""

    trade_id: int
    symbol: str
    is_short: bool
    qty_base: float
    tag: LegTag


def group_by_spread(legs: Iterable[OpenLeg]) -> dict[SpreadKey, dict[Leg, OpenLeg]]:
    spreads: dict[SpreadKey, dict[Leg, OpenLeg]] = defaultdict(dict)
    for leg in legs:
        spreads[leg.tag.key][leg.tag.leg] = leg
    return dict(spreads)

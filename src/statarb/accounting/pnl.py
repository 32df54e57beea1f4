"""Spread-level P&L attribution: where each spread's money went.

FreqTrade reports single legs and folds fees and funding into one profit figure. A spread is two
legs, and the question a quant asks is whether the price move (gross) paid for the fees, the
funding and the slippage. Each spread record splits its two legs' money, in stake currency:

- `gross_profit`: the price moves of both legs at their fill prices (sells − buys);
- `fees`: every fill's notional × that fill's fee RATE (positive = paid). Rates, not FreqTrade's
  `fee_open_cost`: in futures that field is the rate × the MARGIN, not the notional;
- `funding`: FreqTrade's `funding_fees` of both legs (signed, positive = received);
- `net_profit = gross_profit − fees + funding` — what FreqTrade's leg profits add up to;
- `slippage`: the fill prices against the close of the candle the decision was taken on
  (positive = cost). It is already inside `gross_profit` (fills are what they are); it says how
  much of the gross the delay between signal and fill cost, so it is NOT subtracted again.

Pure: plain values in, frozen records out. Adapters turn FreqTrade's trade rows into `LegLedger`s
and candles into `SpreadMarks`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from statarb.accounting import performance
from statarb.spread.client_ids import Leg

# A closed leg's bought and sold quantities may differ by float noise only.
QTY_TOLERANCE = 1e-9


class AccountingError(ValueError):
    """The legs cannot be accounted as given; the message names the leg and the problem."""


@dataclass(frozen=True)
class Fill:
    """One (part-)filled order of a leg."""

    is_entry: bool
    qty_base: float  # > 0
    price: float
    fee_rate: float  # fraction of this fill's notional paid as fee
    filled_at: datetime | None = None
    maker: bool = False  # rested and was filled (maker fee) rather than crossing the book

    @property
    def notional_usdt(self) -> float:
        return self.qty_base * self.price

    @property
    def fee_usdt(self) -> float:
        return self.fee_rate * self.notional_usdt


@dataclass(frozen=True)
class LegLedger:
    """One FreqTrade trade (a leg of a spread) in plain values."""

    trade_id: int
    pair: str
    is_short: bool
    open_date: datetime
    close_date: datetime | None
    exit_reason: str | None
    fills: tuple[Fill, ...]
    funding_usdt: float  # FreqTrade's funding_fees: positive = received
    reported_profit_usdt: float | None = None  # FreqTrade's profit_abs, for the cross-check

    @property
    def is_closed(self) -> bool:
        bought = sum(f.qty_base for f in self.fills if f.is_entry)
        sold = sum(f.qty_base for f in self.fills if not f.is_entry)
        return self.close_date is not None and abs(bought - sold) <= QTY_TOLERANCE * max(
            1.0, bought
        )

    def _sign(self) -> int:
        """+1 when exits are sells (a long leg), −1 when exits are buys (a short leg)."""
        return -1 if self.is_short else 1

    @property
    def gross_usdt(self) -> float:
        exits = sum(f.notional_usdt for f in self.fills if not f.is_entry)
        entries = sum(f.notional_usdt for f in self.fills if f.is_entry)
        return self._sign() * (exits - entries)

    @property
    def fees_usdt(self) -> float:
        return sum(f.fee_usdt for f in self.fills)

    @property
    def net_usdt(self) -> float:
        return self.gross_usdt - self.fees_usdt + self.funding_usdt

    @property
    def entry_notional_usdt(self) -> float:
        return sum(f.notional_usdt for f in self.fills if f.is_entry)

    def slippage_usdt(self, entry_ref: float, exit_ref: float) -> float:
        """Fill prices against the decision candles' closes; positive = paid."""
        cost = 0.0
        for fill in self.fills:
            ref = entry_ref if fill.is_entry else exit_ref
            if not math.isfinite(ref):
                return math.nan
            buys = fill.is_entry != self.is_short  # long entries and short exits buy
            cost += (fill.price - ref) * fill.qty_base * (1 if buys else -1)
        return cost


@dataclass(frozen=True)
class SpreadIdentity:
    """What the spread was: its pair, legs, direction and entry hedge ratio."""

    pair_id: str
    opened_at: datetime  # the signal candle's open time (the LegTag's opened_at)
    leg_a: str
    leg_b: str
    direction: int  # +1 long spread, -1 short spread
    hedge_ratio: float
    window: int

    @property
    def spread_id(self) -> str:
        return f"{self.pair_id}@{self.opened_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"


@dataclass(frozen=True)
class SpreadMarks:
    """The candles the decisions were taken on: closes of both legs and z, entry and exit."""

    entry_close_a: float = math.nan
    entry_close_b: float = math.nan
    exit_close_a: float = math.nan
    exit_close_b: float = math.nan
    entry_z: float = math.nan
    exit_z: float = math.nan


@dataclass(frozen=True)
class SpreadRecord:
    spread_id: str
    pair_id: str
    pair_a: str
    pair_b: str
    direction: str  # "long" / "short" spread
    open_date: datetime
    close_date: datetime | None
    exit_reason: str
    hedge_ratio: float
    entry_z: float
    exit_z: float
    holding_minutes: float
    legs: int  # 2 for a complete spread; 1 when a leg never opened (twin missing)
    fills: int
    maker_fills: int
    notional_usdt: float  # gross entry notional, both legs
    gross_profit: float
    fees: float
    funding: float
    slippage: float
    net_profit: float
    freqtrade_profit: float | None  # sum of FreqTrade's leg profits, to cross-check net
    trade_ids: tuple[int, ...]

    @property
    def net_return(self) -> float:
        return self.net_profit / self.notional_usdt if self.notional_usdt else math.nan

    def to_json(self) -> dict[str, Any]:
        return {name: _jsonable(value) for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class LegFigures:
    """One leg's share of its spread's money, by the same arithmetic as the spread's record:
    a spread's legs add up to its gross, fees, funding and net."""

    trade_id: int
    spread_id: str
    leg: str  # "A" / "B"
    gross_profit_usdt: float
    fee_usdt: float
    funding_usdt: float  # FreqTrade's funding_fees: positive = received
    net_profit_usdt: float
    fills: int
    maker_fills: int

    def to_json(self) -> dict[str, Any]:
        return {name: _jsonable(value) for name, value in self.__dict__.items()}


def leg_figures(spread_id: str, leg: Leg, ledger: LegLedger) -> LegFigures:
    return LegFigures(
        trade_id=ledger.trade_id,
        spread_id=spread_id,
        leg=str(leg),
        gross_profit_usdt=ledger.gross_usdt,
        fee_usdt=ledger.fees_usdt,
        funding_usdt=ledger.funding_usdt,
        net_profit_usdt=ledger.net_usdt,
        fills=len(ledger.fills),
        maker_fills=sum(1 for f in ledger.fills if f.maker),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def account_spread(
    identity: SpreadIdentity, legs: Mapping[Leg, LegLedger], marks: SpreadMarks
) -> SpreadRecord:
    """One closed spread's money, split. Raises AccountingError for an open or unbalanced leg."""
    if not legs:
        raise AccountingError(f"{identity.spread_id}: no legs")
    for leg, ledger in legs.items():
        expected = identity.leg_a if leg is Leg.A else identity.leg_b
        if ledger.pair != expected:
            raise AccountingError(
                f"{identity.spread_id}: leg {leg} is {ledger.pair}, expected {expected}"
            )
        if not ledger.is_closed:
            raise AccountingError(
                f"{identity.spread_id}: leg {leg} ({ledger.pair}, trade {ledger.trade_id}) is "
                "still open or its bought and sold quantities differ"
            )
    refs = {
        Leg.A: (marks.entry_close_a, marks.exit_close_a),
        Leg.B: (marks.entry_close_b, marks.exit_close_b),
    }
    ordered = [legs[leg] for leg in (Leg.A, Leg.B) if leg in legs]
    gross = sum(ledger.gross_usdt for ledger in ordered)
    fees = sum(ledger.fees_usdt for ledger in ordered)
    funding = sum(ledger.funding_usdt for ledger in ordered)
    slippage = sum(legs[leg].slippage_usdt(*refs[leg]) for leg in legs)
    reported = [ledger.reported_profit_usdt for ledger in ordered]
    open_date = min(ledger.open_date for ledger in ordered)
    close_date = max(ledger.close_date for ledger in ordered if ledger.close_date is not None)
    reasons = list(dict.fromkeys(str(ledger.exit_reason) for ledger in ordered))
    return SpreadRecord(
        spread_id=identity.spread_id,
        pair_id=identity.pair_id,
        pair_a=identity.leg_a,
        pair_b=identity.leg_b,
        direction="long" if identity.direction == 1 else "short",
        open_date=open_date,
        close_date=close_date,
        exit_reason="|".join(reasons),
        hedge_ratio=identity.hedge_ratio,
        entry_z=marks.entry_z,
        exit_z=marks.exit_z,
        holding_minutes=(close_date - open_date).total_seconds() / 60.0,
        legs=len(ordered),
        fills=sum(len(ledger.fills) for ledger in ordered),
        maker_fills=sum(1 for ledger in ordered for f in ledger.fills if f.maker),
        notional_usdt=sum(ledger.entry_notional_usdt for ledger in ordered),
        gross_profit=gross,
        fees=fees,
        funding=funding,
        slippage=slippage,
        net_profit=gross - fees + funding,
        freqtrade_profit=None if None in reported else float(sum(reported)),  # type: ignore[arg-type]
        trade_ids=tuple(ledger.trade_id for ledger in ordered),
    )


# ------------------------------------------------------------------------------ summary
@dataclass(frozen=True)
class CostRow:
    """The split summed over a group of spreads (all, one pair, one exit reason)."""

    group: str
    spreads: int
    wins: int
    gross_profit: float
    fees: float
    funding: float
    slippage: float
    net_profit: float

    @property
    def win_rate(self) -> float:
        return self.wins / self.spreads if self.spreads else math.nan

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "win_rate": None if not self.spreads else self.win_rate}


@dataclass(frozen=True)
class CostSummary:
    total: CostRow
    by_pair: tuple[CostRow, ...]
    by_exit_reason: tuple[CostRow, ...]
    max_drawdown_usdt: float = math.nan  # of the account, spreads realised at their close
    max_drawdown_pct: float = math.nan  # of the peak balance

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total.to_json(),
            "by_pair": [r.to_json() for r in self.by_pair],
            "by_exit_reason": [r.to_json() for r in self.by_exit_reason],
            "max_drawdown_usdt": _jsonable(self.max_drawdown_usdt),
            "max_drawdown_pct": _jsonable(self.max_drawdown_pct),
        }


def cost_row(group: str, records: Iterable[SpreadRecord]) -> CostRow:
    rows = list(records)
    return CostRow(
        group=group,
        spreads=len(rows),
        wins=sum(1 for r in rows if r.net_profit > 0),
        gross_profit=sum(r.gross_profit for r in rows),
        fees=sum(r.fees for r in rows),
        funding=sum(r.funding for r in rows),
        slippage=sum(r.slippage for r in rows if math.isfinite(r.slippage)),
        net_profit=sum(r.net_profit for r in rows),
    )


def max_drawdown(
    records: Iterable[SpreadRecord], starting_balance_usdt: float
) -> tuple[float, float]:
    """Largest fall of the balance from its peak, each spread's net realised at its close.

    Returns (USDT, % of the peak); the one definition is `performance.max_drawdown`. Measured
    on spread nets, so a maker-first run's drawdown uses its maker-priced fees (FreqTrade's own
    figure charges every fill the same).
    """
    if not (math.isfinite(starting_balance_usdt) and starting_balance_usdt > 0):
        raise AccountingError(f"starting balance {starting_balance_usdt!r} must be positive")
    return performance.max_drawdown(realised_closes(records), starting_balance_usdt)


def realised_closes(records: Iterable[SpreadRecord]) -> list[tuple[datetime, float]]:
    """(close time, net) of every closed spread, in close order (ties by spread id): the
    equity events of `statarb.accounting.performance`."""
    closed = sorted(
        (r for r in records if r.close_date is not None), key=lambda r: (r.close_date, r.spread_id)
    )
    return [(r.close_date, r.net_profit) for r in closed]  # type: ignore[misc]


def summarise_costs(
    records: Iterable[SpreadRecord], starting_balance_usdt: float | None = None
) -> CostSummary:
    """Totals, per pair (A/B) and per exit reason; groups in order of net profit, worst first."""
    rows = list(records)
    drawdown = (
        max_drawdown(rows, starting_balance_usdt)
        if starting_balance_usdt is not None
        else (math.nan, math.nan)
    )

    def grouped(key: Any) -> tuple[CostRow, ...]:
        groups: dict[str, list[SpreadRecord]] = {}
        for record in rows:
            groups.setdefault(key(record), []).append(record)
        out = [cost_row(name, members) for name, members in groups.items()]
        return tuple(sorted(out, key=lambda r: (r.net_profit, r.group)))

    return CostSummary(
        total=cost_row("all", rows),
        by_pair=grouped(lambda r: f"{_coin(r.pair_a)}/{_coin(r.pair_b)}"),
        by_exit_reason=grouped(lambda r: r.exit_reason),
        max_drawdown_usdt=drawdown[0],
        max_drawdown_pct=drawdown[1],
    )


def _coin(symbol: str) -> str:
    return symbol.split("/", 1)[0]

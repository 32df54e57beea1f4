"""The futures account: one-way positions, isolated/cross margin, P&L, fees, funding, liquidation.

Bookkeeping follows Binance USDT-M:
- ``wallet_balance`` = deposits + realized P&L − commissions + funding (− liquidation clearance);
  it includes the isolated wallets, and the cross wallet is what is left.
- Opening (or adding to) an isolated position moves notional/leverage from the cross wallet into
  the position's isolated wallet; reducing it releases the same share back.
- Funding at 00/08/16 UTC: payment = −positionAmt × mark × rate (longs pay a positive rate); for
  an isolated position it also changes the isolated wallet.
- Liquidation price (one-way mode, Binance's formula):
  LP = (WB − TMM1 + UPNL1 + cum − side·Q·EP) / (Q·MMR − side·Q), with WB the isolated wallet
  (TMM1 = UPNL1 = 0) for isolated positions and the cross wallet for cross positions; MMR and cum
  come from the bracket of the position's notional at entry.
- An isolated liquidation closes the position at LP and the account loses exactly the isolated
  wallet (realized P&L, then an INSURANCE_CLEAR entry for what the insurance fund keeps).
All amounts are ``Decimal``; balances keep 8 decimals as Binance prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from statarb.exchange.specs import DEFAULT_LEVERAGE, DEFAULT_MARGIN_TYPE, SymbolSpec

D = Decimal
ZERO = D(0)
Q8 = D("0.00000001")

INCOME_TRANSFER = "TRANSFER"
INCOME_REALIZED_PNL = "REALIZED_PNL"
INCOME_FUNDING_FEE = "FUNDING_FEE"
INCOME_COMMISSION = "COMMISSION"
INCOME_INSURANCE_CLEAR = "INSURANCE_CLEAR"


def q8(value: Decimal) -> Decimal:
    return value.quantize(Q8)


@dataclass
class Position:
    """One symbol's one-way position; ``amt`` is signed (negative = short)."""

    symbol: str
    amt: Decimal = ZERO
    entry_price: Decimal = ZERO
    isolated_wallet: Decimal = ZERO
    update_time_ms: int = 0

    @property
    def side(self) -> int:
        return (self.amt > 0) - (self.amt < 0)


@dataclass
class SymbolSettings:
    leverage: int
    margin_type: str  # "ISOLATED" or "CROSSED", Binance's spelling

    @property
    def isolated(self) -> bool:
        return self.margin_type == "ISOLATED"


@dataclass(frozen=True)
class IncomeEntry:
    tran_id: int
    symbol: str
    income_type: str
    income: Decimal
    time_ms: int
    trade_id: str = ""
    info: str = ""


@dataclass(frozen=True)
class FillOutcome:
    realized_pnl: Decimal
    commission: Decimal


@dataclass
class Account:
    """Balances and positions; every method that moves money writes an income entry."""

    wallet_balance: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    settings: dict[str, SymbolSettings] = field(default_factory=dict)
    income: list[IncomeEntry] = field(default_factory=list)
    next_tran_id: int = 9_000_000_001
    dual_side_position: bool = False
    multi_assets_margin: bool = False
    update_time_ms: int = 0

    # -- settings ------------------------------------------------------------------------------
    def settings_for(self, spec: SymbolSpec) -> SymbolSettings:
        current = self.settings.get(spec.symbol)
        if current is None:
            current = SymbolSettings(min(DEFAULT_LEVERAGE, spec.max_leverage), DEFAULT_MARGIN_TYPE)
            self.settings[spec.symbol] = current
        return current

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = Position(symbol)
            self.positions[symbol] = pos
        return pos

    # -- ledger --------------------------------------------------------------------------------
    def _book(
        self, symbol: str, income_type: str, amount: Decimal, time_ms: int, trade_id: str = ""
    ) -> None:
        amount = q8(amount)
        if amount == 0 and income_type != INCOME_TRANSFER:
            return
        self.income.append(
            IncomeEntry(self.next_tran_id, symbol, income_type, amount, time_ms, trade_id)
        )
        self.next_tran_id += 1
        self.update_time_ms = time_ms

    def deposit(self, amount: Decimal, time_ms: int) -> None:
        self.wallet_balance = q8(self.wallet_balance + amount)
        self._book("", INCOME_TRANSFER, amount, time_ms)

    # -- fills ---------------------------------------------------------------------------------
    def apply_fill(
        self,
        spec: SymbolSpec,
        *,
        signed_qty: Decimal,
        price: Decimal,
        fee_rate: Decimal,
        time_ms: int,
        trade_id: int,
    ) -> FillOutcome:
        """Move the position by ``signed_qty`` at ``price``; returns realized P&L and fee."""
        settings = self.settings_for(spec)
        pos = self.position(spec.symbol)
        realized = ZERO
        qty = abs(signed_qty)
        fill_side = 1 if signed_qty > 0 else -1
        if pos.amt == 0 or pos.side == fill_side:
            self._increase(pos, settings, qty, price, fill_side)
        else:
            close_qty = min(qty, abs(pos.amt))
            realized = close_qty * (price - pos.entry_price) * pos.side
            if settings.isolated and pos.amt != 0:
                released = pos.isolated_wallet * close_qty / abs(pos.amt)
                pos.isolated_wallet = q8(pos.isolated_wallet - released)
            pos.amt += close_qty * fill_side
            if pos.amt == 0:
                pos.entry_price = ZERO
                pos.isolated_wallet = ZERO
            rest = qty - close_qty
            if rest > 0:
                self._increase(pos, settings, rest, price, fill_side)
        commission = q8(qty * price * fee_rate)
        self.wallet_balance = q8(self.wallet_balance + realized - commission)
        pos.update_time_ms = time_ms
        self._book(spec.symbol, INCOME_REALIZED_PNL, realized, time_ms, str(trade_id))
        self._book(spec.symbol, INCOME_COMMISSION, -commission, time_ms, str(trade_id))
        return FillOutcome(q8(realized), commission)

    @staticmethod
    def _increase(
        pos: Position, settings: SymbolSettings, qty: Decimal, price: Decimal, side: int
    ) -> None:
        old = abs(pos.amt)
        pos.entry_price = (old * pos.entry_price + qty * price) / (old + qty)
        pos.amt += qty * side
        if settings.isolated:
            pos.isolated_wallet = q8(pos.isolated_wallet + qty * price / settings.leverage)

    # -- funding -------------------------------------------------------------------------------
    def settle_funding(
        self, spec: SymbolSpec, *, rate: Decimal, mark: Decimal, time_ms: int
    ) -> Decimal:
        """Pay or receive funding on the symbol's position; returns the signed payment."""
        pos = self.positions.get(spec.symbol)
        if pos is None or pos.amt == 0:
            return ZERO
        payment = q8(-pos.amt * mark * rate)
        self.wallet_balance = q8(self.wallet_balance + payment)
        if self.settings_for(spec).isolated:
            pos.isolated_wallet = q8(pos.isolated_wallet + payment)
        self._book(spec.symbol, INCOME_FUNDING_FEE, payment, time_ms)
        return payment

    # -- valuation -----------------------------------------------------------------------------
    @staticmethod
    def unrealized(pos: Position, mark: Decimal) -> Decimal:
        return pos.amt * (mark - pos.entry_price)

    @staticmethod
    def maint_margin(spec: SymbolSpec, pos: Position, mark: Decimal) -> Decimal:
        notional = abs(pos.amt) * mark
        bracket = spec.bracket_for(notional)
        return max(ZERO, notional * bracket.maint_margin_ratio - bracket.cum_usdt)

    def isolated_wallets(self) -> Decimal:
        return sum(
            (
                p.isolated_wallet
                for s, p in self.positions.items()
                if p.amt != 0 and self.settings.get(s) and self.settings[s].isolated
            ),
            ZERO,
        )

    def cross_wallet(self) -> Decimal:
        return self.wallet_balance - self.isolated_wallets()

    def cross_positions(self) -> list[Position]:
        return [
            p
            for s, p in self.positions.items()
            if p.amt != 0 and not (self.settings.get(s) and self.settings[s].isolated)
        ]

    def liquidation_price(
        self, spec: SymbolSpec, marks: Mapping[str, Decimal], specs: Mapping[str, SymbolSpec]
    ) -> Decimal:
        """Binance's one-way liquidation price; 0 when the position cannot be liquidated."""
        pos = self.positions.get(spec.symbol)
        if pos is None or pos.amt == 0:
            return ZERO
        qty = abs(pos.amt)
        side = pos.side
        bracket = spec.bracket_for(qty * pos.entry_price)
        mmr, cum = bracket.maint_margin_ratio, bracket.cum_usdt
        if self.settings_for(spec).isolated:
            wallet, tmm_other, upnl_other = pos.isolated_wallet, ZERO, ZERO
        else:
            wallet = self.cross_wallet()
            others = [p for p in self.cross_positions() if p.symbol != spec.symbol]
            tmm_other = sum(
                (self.maint_margin(specs[p.symbol], p, marks[p.symbol]) for p in others), ZERO
            )
            upnl_other = sum((self.unrealized(p, marks[p.symbol]) for p in others), ZERO)
        denominator = qty * mmr - side * qty
        if denominator == 0:
            return ZERO
        price = (wallet - tmm_other + upnl_other + cum - side * qty * pos.entry_price) / denominator
        return price if price > 0 else ZERO

    def cross_margin_breached(
        self, marks: Mapping[str, Decimal], specs: Mapping[str, SymbolSpec]
    ) -> bool:
        """Cross margin balance at or below the cross maintenance margin."""
        positions = self.cross_positions()
        if not positions:
            return False
        balance = self.cross_wallet() + sum(
            (self.unrealized(p, marks[p.symbol]) for p in positions), ZERO
        )
        maint = sum(
            (self.maint_margin(specs[p.symbol], p, marks[p.symbol]) for p in positions), ZERO
        )
        return balance <= maint

    # -- liquidation ---------------------------------------------------------------------------
    def liquidate(
        self, spec: SymbolSpec, *, price: Decimal, time_ms: int, trade_id: int
    ) -> FillOutcome:
        """Close the whole position at ``price``; the account loses at most the position margin.

        Isolated: realized P&L at ``price`` capped at −isolated wallet, the rest of the isolated
        wallet goes to the insurance fund. Cross: realized P&L plus a clearance fee of
        ``liquidation_fee × notional``.
        """
        pos = self.position(spec.symbol)
        if pos.amt == 0:
            return FillOutcome(ZERO, ZERO)
        isolated = self.settings_for(spec).isolated
        realized = abs(pos.amt) * (price - pos.entry_price) * pos.side
        if isolated:
            realized = max(realized, -pos.isolated_wallet)
            clearance = pos.isolated_wallet + realized
        else:
            clearance = abs(pos.amt) * price * spec.liquidation_fee
        realized, clearance = q8(realized), q8(max(clearance, ZERO))
        self.wallet_balance = q8(self.wallet_balance + realized - clearance)
        pos.amt = ZERO
        pos.entry_price = ZERO
        pos.isolated_wallet = ZERO
        pos.update_time_ms = time_ms
        self._book(spec.symbol, INCOME_REALIZED_PNL, realized, time_ms, str(trade_id))
        self._book(spec.symbol, INCOME_INSURANCE_CLEAR, -clearance, time_ms)
        return FillOutcome(realized, ZERO)

    # -- margin checks -------------------------------------------------------------------------
    def increasing_qty(self, symbol: str, *, buy: bool, qty: Decimal) -> Decimal:
        """The part of an order that would add to (or open) a position."""
        pos = self.positions.get(symbol)
        amt = ZERO if pos is None else pos.amt
        if amt == 0 or (amt > 0) == buy:
            return qty
        return max(ZERO, qty - abs(amt))

    def available_balance(
        self,
        marks: Mapping[str, Decimal],
        specs: Mapping[str, SymbolSpec],
        open_order_margin: Decimal,
    ) -> Decimal:
        """Cross wallet + cross unrealized P&L − cross position margin − open-order margin."""
        cross = self.cross_positions()
        upnl = sum((self.unrealized(p, marks[p.symbol]) for p in cross), ZERO)
        position_im = sum(
            (
                abs(p.amt) * marks[p.symbol] / self.settings_for(specs[p.symbol]).leverage
                for p in cross
            ),
            ZERO,
        )
        return self.cross_wallet() + upnl - position_im - open_order_margin

"""Account bookkeeping: the exchange's numbers are what the bot and the recovery script check
their own against, so P&L, fees, margin, funding and liquidation must be Binance's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from statarb.exchange.accounts import Account, SymbolSettings
from statarb.exchange.specs import KNOWN_SPECS

D = Decimal

BTC = KNOWN_SPECS["BTCUSDT"]
ETH = KNOWN_SPECS["ETHUSDT"]


def account(balance: str = "10000", *, isolated: bool = True, leverage: int = 20) -> Account:
    acc = Account(wallet_balance=D(0), maker_fee=D("0.0002"), taker_fee=D("0.0005"))
    acc.deposit(D(balance), 0)
    margin_type = "ISOLATED" if isolated else "CROSSED"
    acc.settings["BTCUSDT"] = SymbolSettings(leverage, margin_type)
    acc.settings["ETHUSDT"] = SymbolSettings(leverage, margin_type)
    return acc


def fill(acc: Account, qty: str, price: str, spec=BTC, trade_id: int = 1):
    return acc.apply_fill(spec, signed_qty=D(qty), price=D(price), fee_rate=acc.taker_fee,
                          time_ms=1, trade_id=trade_id)  # fmt: skip


def test_round_trip_long_realizes_price_move_minus_both_fees():
    acc = account()
    fill(acc, "0.010", "60000")
    out = fill(acc, "-0.010", "61000")
    assert out.realized_pnl == D("10.00000000")
    fees = D("0.010") * 60000 * D("0.0005") + D("0.010") * 61000 * D("0.0005")
    assert acc.wallet_balance == D("10000") + 10 - fees
    assert acc.positions["BTCUSDT"].amt == 0


def test_short_profits_when_price_falls():
    acc = account()
    fill(acc, "-1", "3000", ETH)
    out = fill(acc, "1", "2900", ETH)
    assert out.realized_pnl == D("100.00000000")


def test_adding_to_a_position_averages_the_entry_price():
    acc = account()
    fill(acc, "0.010", "60000")
    fill(acc, "0.030", "62000")
    assert acc.positions["BTCUSDT"].entry_price == D("61500")


def test_isolated_margin_is_notional_over_leverage_and_is_released_pro_rata():
    acc = account(leverage=10)
    fill(acc, "0.100", "60000")
    pos = acc.positions["BTCUSDT"]
    assert pos.isolated_wallet == D("600.00000000")
    assert acc.cross_wallet() == acc.wallet_balance - 600
    fill(acc, "-0.025", "60000")
    assert pos.isolated_wallet == D("450.00000000")


def test_flipping_a_position_realizes_the_closed_part_and_reopens_at_the_fill_price():
    acc = account()
    fill(acc, "0.010", "60000")
    out = fill(acc, "-0.030", "60500")
    pos = acc.positions["BTCUSDT"]
    assert out.realized_pnl == D("5.00000000")
    assert pos.amt == D("-0.020")
    assert pos.entry_price == D("60500")
    assert pos.isolated_wallet == D("0.020") * 60500 / 20


def test_long_pays_funding_and_short_receives_it_when_the_rate_is_positive():
    acc = account()
    fill(acc, "0.100", "60000")
    fill(acc, "-2", "3000", ETH)
    before = acc.wallet_balance
    paid = acc.settle_funding(BTC, rate=D("0.0001"), mark=D("60000"), time_ms=2)
    got = acc.settle_funding(ETH, rate=D("0.0001"), mark=D("3000"), time_ms=2)
    assert paid == D("-0.60000000")
    assert got == D("0.60000000")
    assert acc.wallet_balance == before
    assert [e.income_type for e in acc.income[-2:]] == ["FUNDING_FEE", "FUNDING_FEE"]


def test_isolated_liquidation_price_matches_binances_formula():
    acc = account(leverage=20)
    fill(acc, "0.100", "60000")
    marks = {"BTCUSDT": D("60000"), "ETHUSDT": D("3000")}
    level = acc.liquidation_price(BTC, marks, KNOWN_SPECS)
    # long, bracket 1 (mmr 0.4 %, cum 0): LP = EP (1 - 1/L) / (1 - mmr)
    assert float(level) == pytest.approx(60000 * (1 - 1 / 20) / (1 - 0.004))
    acc2 = account(leverage=20)
    fill(acc2, "-0.100", "60000")
    level_short = acc2.liquidation_price(BTC, marks, KNOWN_SPECS)
    assert float(level_short) == pytest.approx(60000 * (1 + 1 / 20) / (1 + 0.004))


def test_liquidation_price_of_a_position_at_one_x_is_none():
    acc = account(leverage=1)
    fill(acc, "0.010", "60000")
    assert acc.liquidation_price(BTC, {"BTCUSDT": D(60000)}, KNOWN_SPECS) == 0


def test_isolated_liquidation_loses_exactly_the_isolated_margin():
    acc = account(leverage=20)
    fill(acc, "0.100", "60000")
    margin = acc.positions["BTCUSDT"].isolated_wallet
    before = acc.wallet_balance
    acc.liquidate(BTC, price=D("57300"), time_ms=3, trade_id=9)
    assert acc.wallet_balance == before - margin
    assert acc.positions["BTCUSDT"].amt == 0
    assert {e.income_type for e in acc.income[-2:]} == {"REALIZED_PNL", "INSURANCE_CLEAR"}


def test_cross_margin_breach_when_losses_eat_the_wallet():
    acc = account("1000", isolated=False, leverage=20)
    fill(acc, "0.300", "60000")  # 18 000 notional on 1 000
    assert not acc.cross_margin_breached({"BTCUSDT": D("60000")}, KNOWN_SPECS)
    assert acc.cross_margin_breached({"BTCUSDT": D("56800")}, KNOWN_SPECS)


def test_available_balance_excludes_isolated_margin_and_open_order_margin():
    acc = account(leverage=10)
    fill(acc, "0.100", "60000")
    fee = D("0.100") * 60000 * D("0.0005")
    available = acc.available_balance({"BTCUSDT": D("60000")}, KNOWN_SPECS, D("50"))
    assert available == D("10000") - fee - 600 - 50


def test_only_the_part_of_an_order_beyond_the_position_needs_margin():
    acc = account()
    fill(acc, "0.100", "60000")
    assert acc.increasing_qty("BTCUSDT", buy=False, qty=D("0.150")) == D("0.050")
    assert acc.increasing_qty("BTCUSDT", buy=True, qty=D("0.150")) == D("0.150")

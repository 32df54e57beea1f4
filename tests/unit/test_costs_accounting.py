"""Spread-level accounting: where each spread's money went, from FreqTrade's trade rows.

Protects against: fees taken from FreqTrade's `fee_open_cost` (rate x MARGIN in futures: 2x
leverage halves the fees a report shows), funding signs flipped, a short leg's P&L read as a
long's, slippage counted twice, and open or lopsided legs silently accounted as closed.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statarb.accounting.ledger import leg_from_trade_row, marks_from_closes
from statarb.accounting.pnl import (
    AccountingError,
    SpreadIdentity,
    SpreadMarks,
    account_spread,
    leg_figures,
    max_drawdown,
    summarise_costs,
)
from statarb.spread.client_ids import Leg

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
MS = 1000


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * MS)


def row(pair: str, is_short: bool, qty: float, open_rate: float, close_rate: float, *,
        fee: float = 0.0005, funding: float = 0.0, opened: datetime = T0 + timedelta(minutes=1),
        closed: datetime = T0 + timedelta(minutes=30), reason: str = "z_reverted",
        profit: float | None = None, leverage: float = 2.0) -> dict:  # fmt: skip
    """A FreqTrade backtest trade row (minified orders), as `load_backtest_data` gives it."""
    side_in, side_out = ("sell", "buy") if is_short else ("buy", "sell")
    return {
        "pair": pair,
        "is_short": is_short,
        "open_timestamp": ms(opened),
        "close_timestamp": ms(closed),
        "fee_open": fee,
        "fee_close": fee,
        # What FreqTrade stores for futures: rate x margin, not rate x notional.
        "fee_open_cost": fee * qty * open_rate / leverage,
        "funding_fees": funding,
        "profit_abs": profit,
        "exit_reason": reason,
        "leverage": leverage,
        "orders": [
            {"amount": qty, "safe_price": open_rate, "ft_order_side": side_in,
             "ft_is_entry": True, "order_filled_timestamp": ms(opened)},
            {"amount": qty, "safe_price": close_rate, "ft_order_side": side_out,
             "ft_is_entry": False, "order_filled_timestamp": ms(closed)},
        ],
    }  # fmt: skip


IDENTITY = SpreadIdentity(
    pair_id="SOL_ADA",
    opened_at=T0,
    leg_a="SOL/USDT:USDT",
    leg_b="ADA/USDT:USDT",
    direction=1,
    hedge_ratio=200.0,
    window=50,
)


def long_spread(funding_a: float = 0.0, funding_b: float = 0.0):
    leg_a = leg_from_trade_row(row("SOL/USDT:USDT", False, 5.0, 100.0, 101.0, funding=funding_a),
                               trade_id=1)  # fmt: skip
    leg_b = leg_from_trade_row(row("ADA/USDT:USDT", True, 1000.0, 0.5, 0.502, funding=funding_b),
                               trade_id=2)  # fmt: skip
    return {Leg.A: leg_a, Leg.B: leg_b}


def test_gross_is_both_legs_price_moves_with_the_short_leg_gaining_when_its_price_falls() -> None:
    record = account_spread(IDENTITY, long_spread(), SpreadMarks())
    # A long: 5 x (101 - 100) = +5; B short: 1000 x (0.5 - 0.502) = -2
    assert record.gross_profit == pytest.approx(3.0)
    assert record.legs == 2 and record.direction == "long"
    assert record.notional_usdt == pytest.approx(5 * 100 + 1000 * 0.5)


def test_fees_are_rates_times_fill_notional_not_freqtrades_margin_based_cost() -> None:
    record = account_spread(IDENTITY, long_spread(), SpreadMarks())
    notional = 5 * 100 + 5 * 101 + 1000 * 0.5 + 1000 * 0.502
    assert record.fees == pytest.approx(0.0005 * notional)
    rows = (row("SOL/USDT:USDT", False, 5.0, 100.0, 101.0),
            row("ADA/USDT:USDT", True, 1000.0, 0.5, 0.502))  # fmt: skip
    margin_based = sum(r["fee_open_cost"] for r in rows)
    assert record.fees > 3 * margin_based  # the open side alone, halved by leverage


def test_funding_keeps_freqtrades_sign_positive_received_and_net_adds_it() -> None:
    record = account_spread(IDENTITY, long_spread(funding_a=-0.4, funding_b=0.15), SpreadMarks())
    assert record.funding == pytest.approx(-0.25)
    assert record.net_profit == pytest.approx(record.gross_profit - record.fees - 0.25)


def test_slippage_is_fills_against_the_decision_closes_positive_when_paid() -> None:
    marks = SpreadMarks(entry_close_a=99.9, entry_close_b=0.5005, exit_close_a=101.2,
                        exit_close_b=0.5019)  # fmt: skip
    record = account_spread(IDENTITY, long_spread(), marks)
    # A long: bought 0.1 above, sold 0.2 below; B short: sold 0.0005 below, bought 0.0001 above.
    expected = 5 * 0.1 + 5 * 0.2 + 1000 * 0.0005 + 1000 * 0.0001
    assert record.slippage == pytest.approx(expected)
    assert record.net_profit == pytest.approx(record.gross_profit - record.fees)  # not twice


def test_a_fill_better_than_the_signal_close_is_negative_slippage() -> None:
    marks = SpreadMarks(entry_close_a=100.5, entry_close_b=0.5, exit_close_a=101.0,
                        exit_close_b=0.502)  # fmt: skip
    record = account_spread(IDENTITY, long_spread(), marks)
    assert record.slippage == pytest.approx(-5 * 0.5)


def test_unknown_decision_closes_give_unknown_slippage_not_zero() -> None:
    record = account_spread(IDENTITY, long_spread(), SpreadMarks())
    assert math.isnan(record.slippage)
    assert record.to_json()["slippage"] is None


def test_each_legs_figures_add_up_to_its_spreads_record_with_maker_priced_fills() -> None:
    legs = long_spread(funding_a=-0.4, funding_b=0.15)
    # Leg A's entry rested (maker fee), the rest crossed: FreqTrade's one rate no longer holds.
    a = legs[Leg.A]
    rested = dataclasses.replace(a.fills[0], fee_rate=0.0002, maker=True)
    legs[Leg.A] = dataclasses.replace(a, fills=(rested, *a.fills[1:]))
    record = account_spread(IDENTITY, legs, SpreadMarks())
    figures = [leg_figures(record.spread_id, leg, ledger) for leg, ledger in legs.items()]
    assert [f.leg for f in figures] == ["A", "B"]
    assert sum(f.net_profit_usdt for f in figures) == pytest.approx(record.net_profit, abs=1e-12)
    assert sum(f.fee_usdt for f in figures) == pytest.approx(record.fees, abs=1e-12)
    assert sum(f.funding_usdt for f in figures) == pytest.approx(record.funding)
    assert sum(f.maker_fills for f in figures) == record.maker_fills == 1
    assert figures[0].fee_usdt == pytest.approx(0.0002 * 5 * 100 + 0.0005 * 5 * 101)
    assert figures[0].to_json()["spread_id"] == record.spread_id


def test_an_open_leg_is_refused_not_accounted_as_closed() -> None:
    legs = long_spread()
    raw = row("ADA/USDT:USDT", True, 1000.0, 0.5, 0.502)
    raw["orders"] = raw["orders"][:1]
    raw["close_timestamp"] = None
    legs[Leg.B] = leg_from_trade_row(raw, trade_id=2)
    with pytest.raises(AccountingError, match="still open"):
        account_spread(IDENTITY, legs, SpreadMarks())


def test_a_leg_on_the_wrong_symbol_is_refused() -> None:
    legs = long_spread()
    legs[Leg.A], legs[Leg.B] = legs[Leg.B], legs[Leg.A]
    with pytest.raises(AccountingError, match="expected SOL/USDT:USDT"):
        account_spread(IDENTITY, legs, SpreadMarks())


def test_partial_fills_of_an_api_trade_count_what_filled_not_what_was_asked() -> None:
    raw = row("SOL/USDT:USDT", False, 5.0, 100.0, 101.0)
    raw["trade_id"] = 7
    raw["orders"] = [
        {**raw["orders"][0], "amount": 5.0, "filled": 3.0, "status": "canceled"},
        {**raw["orders"][0], "amount": 2.0, "filled": 2.0, "safe_price": 100.2},
        {**raw["orders"][1], "amount": 5.0, "filled": 5.0},
        {**raw["orders"][1], "amount": 1.0, "filled": 0.0, "status": "canceled"},
    ]
    leg = leg_from_trade_row(raw)
    assert leg.trade_id == 7 and leg.is_closed
    assert leg.gross_usdt == pytest.approx(5 * 101 - 3 * 100 - 2 * 100.2)


def test_a_one_legged_spread_twin_never_opened_is_still_accounted() -> None:
    only_a = {Leg.A: long_spread()[Leg.A]}
    record = account_spread(IDENTITY, only_a, SpreadMarks())
    assert record.legs == 1 and record.gross_profit == pytest.approx(5.0)


def test_summary_splits_totals_by_pair_and_exit_reason_worst_first() -> None:
    win = account_spread(IDENTITY, long_spread(), SpreadMarks())
    losing_rows = {
        Leg.A: leg_from_trade_row(row("SOL/USDT:USDT", False, 5.0, 100.0, 98.0, reason="z_stop"),
                                  trade_id=3),
        Leg.B: leg_from_trade_row(row("ADA/USDT:USDT", True, 1000.0, 0.5, 0.5, reason="z_stop"),
                                  trade_id=4),
    }  # fmt: skip
    loss = account_spread(IDENTITY, losing_rows, SpreadMarks())
    summary = summarise_costs([win, loss])
    assert summary.total.spreads == 2 and summary.total.wins == 1
    assert summary.total.net_profit == pytest.approx(win.net_profit + loss.net_profit)
    assert [r.group for r in summary.by_exit_reason] == ["z_stop", "z_reverted"]
    assert [r.group for r in summary.by_pair] == ["SOL/ADA"]


def test_mismatched_exit_reasons_are_both_named() -> None:
    legs = long_spread()
    raw = row("ADA/USDT:USDT", True, 1000.0, 0.5, 0.502, reason="twin_missing")
    legs[Leg.B] = leg_from_trade_row(raw, trade_id=2)
    assert account_spread(IDENTITY, legs, SpreadMarks()).exit_reason == "z_reverted|twin_missing"


def test_marks_use_the_spreads_own_hedge_ratio_and_window() -> None:
    rng = np.random.default_rng(3)
    close_b = 0.5 + np.cumsum(rng.normal(0, 0.001, 200))
    close_a = 200 * close_b + rng.normal(0, 0.3, 200)
    marks = marks_from_closes(close_a, close_b, identity=IDENTITY, entry_index=120,
                              exit_index=150)  # fmt: skip
    spread = close_a - 200 * close_b
    window = spread[71:121]
    assert marks.entry_z == pytest.approx((spread[120] - window.mean()) / window.std(ddof=1))
    assert marks.entry_close_a == close_a[120] and marks.exit_close_b == close_b[150]
    early = marks_from_closes(close_a, close_b, identity=IDENTITY, entry_index=10, exit_index=None)
    assert math.isnan(early.entry_z) and math.isnan(early.exit_z)


@given(
    qty=st.floats(0.001, 1e4),
    open_rate=st.floats(0.01, 1e5),
    move=st.floats(-0.3, 0.3),
    fee=st.floats(0, 0.001),
    funding=st.floats(-50, 50),
    is_short=st.booleans(),
)
def test_net_is_gross_minus_fees_plus_funding_and_matches_freqtrades_formula(
    qty: float, open_rate: float, move: float, fee: float, funding: float, is_short: bool
) -> None:
    close_rate = open_rate * (1 + move)
    # FreqTrade's futures profit (persistence/trade_model.py calculate_profit), written out.
    open_value = qty * open_rate * (1 - fee if is_short else 1 + fee)
    close_value = qty * close_rate * (1 + fee if is_short else 1 - fee)
    close_value += -funding if is_short else funding
    ft_profit = open_value - close_value if is_short else close_value - open_value
    pair = "ADA/USDT:USDT" if is_short else "SOL/USDT:USDT"
    leg = leg_from_trade_row(
        row(pair, is_short, qty, open_rate, close_rate, fee=fee, funding=funding), trade_id=1
    )
    role = Leg.B if is_short else Leg.A
    record = account_spread(IDENTITY, {role: leg}, SpreadMarks())
    assert record.net_profit == pytest.approx(
        record.gross_profit - record.fees + record.funding, abs=1e-9
    )
    assert record.net_profit == pytest.approx(ft_profit, rel=1e-9, abs=1e-7)


def test_max_drawdown_follows_the_balance_spread_by_spread_in_close_order() -> None:
    base = account_spread(IDENTITY, long_spread(), SpreadMarks())

    def with_net(net: float, minutes: int) -> object:
        return dataclasses.replace(
            base, net_profit=net, close_date=T0 + timedelta(minutes=minutes),
            spread_id=f"s{minutes}",
        )  # fmt: skip

    records = [with_net(50, 1), with_net(-30, 3), with_net(-40, 2), with_net(100, 4)]
    usdt, pct = max_drawdown(records, 1000.0)  # peak 1050, trough 980
    assert usdt == pytest.approx(70.0)
    assert pct == pytest.approx(100 * 70 / 1050)
    assert summarise_costs(records, 1000.0).max_drawdown_usdt == pytest.approx(70.0)
    with pytest.raises(AccountingError, match="starting balance"):
        max_drawdown(records, 0.0)

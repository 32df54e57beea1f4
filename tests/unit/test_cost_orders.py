"""Order types and prices: taker or maker-first, and the fee each fill should be expected to pay.

Protects against: a maker-first order priced at the opposite touch (a taker fill at a maker's
patience), a resting order FreqTrade cancels before it may cross (a leg filled, its twin
cancelled), a backtest that fills resting orders at the signal price for free, and a cost
check assuming a fee the exchange will not charge.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ccxt
import pytest

from statarb.costs.orders import (
    BINANCE_USDM_FEES,
    BacktestFill,
    FeeRates,
    backtest_leg_fill,
    crossing_price,
    exit_waits,
    expected_fee_rate,
    is_maker_first,
    limit_reached,
    maker_waited_out,
    order_mode_config,
    order_settings_problems,
    resting_price_backtest,
    through_touch,
)

REPO = Path(__file__).resolve().parents[2]


def maker_config(**changes: object) -> dict[str, object]:
    section = order_mode_config("maker_first")
    config: dict[str, object] = {
        "order_types": section["order_types"],
        "entry_pricing": {"price_side": "same"},
        "exit_pricing": {"price_side": "same"},
        "unfilledtimeout": {"entry": 60, "exit": 60, "exit_timeout_count": 1, "unit": "seconds"},
    }
    config.update(changes)
    return config


def test_maker_first_is_limit_orders_at_the_same_side_and_taker_is_market_at_the_other() -> None:
    maker, taker = order_mode_config("maker_first"), order_mode_config("taker")
    assert maker["price_side"] == "same" and taker["price_side"] == "other"
    assert is_maker_first(maker["order_types"]) and not is_maker_first(taker["order_types"])
    for section in (maker, taker):  # a person's or an emergency order never waits
        types = section["order_types"]
        assert {types[k] for k in ("emergency_exit", "force_entry", "force_exit")} == {"market"}
    with pytest.raises(ValueError, match="not one of"):
        order_mode_config("post_only")


def test_a_consistent_maker_first_config_has_no_problems() -> None:
    assert order_settings_problems(maker_config(), 20) == []
    assert order_settings_problems({"order_types": {"entry": "market"}}, 20) == []


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"entry_pricing": {"price_side": "other"}}, "entry_pricing.price_side"),
        ({"exit_pricing": {"price_side": "other"}}, "exit_pricing.price_side"),
        ({"unfilledtimeout": {"entry": 10, "exit": 60, "exit_timeout_count": 1,
                              "unit": "seconds"}}, "unfilledtimeout.entry"),
        ({"unfilledtimeout": {"entry": 60, "exit": 20, "exit_timeout_count": 1,
                              "unit": "seconds"}}, "unfilledtimeout.exit"),
        ({"unfilledtimeout": {"entry": 60, "exit": 60, "unit": "seconds"}},
         "exit_timeout_count"),
        ({"order_types": {**order_mode_config("maker_first")["order_types"], "exit": "market"}},
         "order_types.exit"),
    ],
)  # fmt: skip
def test_a_maker_first_config_that_would_cancel_before_crossing_is_refused_by_name(
    changes: dict[str, object], needle: str
) -> None:
    problems = order_settings_problems(maker_config(**changes), 20)
    assert any(needle in p for p in problems), problems


def test_a_backtest_must_keep_a_resting_order_past_one_candle() -> None:
    assert order_settings_problems(maker_config(), 20, backtest_candle_s=60)
    minutes = maker_config(unfilledtimeout={"entry": 3, "exit": 3, "unit": "minutes"})
    # exit_timeout_count is a live rule: a backtest re-prices at the next candle instead.
    assert order_settings_problems(minutes, 20, backtest_candle_s=60) == []


def test_a_backtest_resting_order_sits_one_tick_through_the_signal_close() -> None:
    assert resting_price_backtest(100.0, buy=True, tick=0.01) == pytest.approx(99.99)
    assert resting_price_backtest(100.0, buy=False, tick=0.01) == pytest.approx(100.01)
    with pytest.raises(ValueError, match="not a price"):
        resting_price_backtest(float("nan"), buy=True, tick=0.01)


def test_a_resting_price_is_the_grid_value_so_a_candle_touching_it_is_seen_to_fill() -> None:
    # 0.5834 - 0.0001 in floats is 0.58329999...: a candle whose low is 0.5833 would look as
    # if it missed the order FreqTrade fills (its price rounded to the grid).
    price = resting_price_backtest(0.5834, buy=True, tick=0.0001)
    assert price == 0.5833
    assert limit_reached(price, buy=True, low=0.5833, high=0.59)
    assert resting_price_backtest(0.011, buy=False, tick=0.0000001) == 0.0110001


def test_the_fill_rule_is_freqtrades_a_limit_fills_when_the_candle_reaches_it() -> None:
    assert limit_reached(99.99, buy=True, low=99.9, high=100.2)
    assert not limit_reached(99.99, buy=True, low=100.0, high=100.2)  # stayed above the bid
    assert limit_reached(101.0, buy=True, low=100.0, high=100.2)  # lowered to the high: fills
    assert limit_reached(100.01, buy=False, low=99.0, high=100.01)
    assert not limit_reached(100.01, buy=False, low=99.0, high=100.0)  # stayed below the ask


def test_a_backtest_never_leaves_a_leg_resting_while_its_twin_filled() -> None:
    # The money-losing case: at 1h candles one leg rested unfilled for an hour while its twin
    # filled, a naked directional hour the live bot (seconds of hedging) never allows.
    for entering in (True, False):
        assert backtest_leg_fill(True, True, entering=entering) is BacktestFill.REST
        assert backtest_leg_fill(True, False, entering=entering) is BacktestFill.REST
        assert backtest_leg_fill(False, True, entering=entering) is BacktestFill.CROSS


def test_a_backtest_entry_neither_leg_fills_opens_no_spread_and_such_an_exit_crosses_both() -> None:
    # Live: both maker entries are cancelled after the timeout (no spread); both exits go on
    # as FreqTrade's emergency exits at market.
    assert backtest_leg_fill(False, False, entering=True) is BacktestFill.NO_SPREAD
    assert backtest_leg_fill(False, False, entering=False) is BacktestFill.CROSS


def test_crossing_takes_the_opposite_touch_or_nothing() -> None:
    assert crossing_price(buy=True, best_bid=99.9, best_ask=100.1) == 100.1
    assert crossing_price(buy=False, best_bid=99.9, best_ask=100.1) == 99.9
    assert crossing_price(buy=True, best_bid=99.9, best_ask=None) is None


def test_an_urgent_order_crosses_past_the_touch_so_a_moving_book_cannot_leave_it_resting() -> None:
    # A lone leg's exit priced exactly at the bid read a moment ago rests as soon as the bid
    # ticks down; 10 bps past it, it still fills (at the book's prices), never worse than that.
    sell = crossing_price(buy=False, best_bid=100.0, best_ask=100.01, max_slippage_bps=10)
    buy = crossing_price(buy=True, best_bid=100.0, best_ask=100.01, max_slippage_bps=10)
    assert sell == pytest.approx(99.9)
    assert buy == pytest.approx(100.01 * 1.001)
    assert through_touch(100.0, buy=False, max_slippage_bps=0) == 100.0
    for bad in (-1.0, float("nan"), 10_000.0):
        with pytest.raises(ValueError, match="allowance"):
            through_touch(100.0, buy=True, max_slippage_bps=bad)


def test_only_a_reverted_spread_waits_at_the_touch_to_exit() -> None:
    assert exit_waits("z_reverted")
    for urgent in ("z_stop", "twin_missing", "twin_closed", "hedge_failed", "force_exit", None):
        assert not exit_waits(urgent)


def test_a_leg_whose_twin_already_closed_crosses_even_under_a_reverted_spreads_reason() -> None:
    # The follower carries its spread's reason (z_reverted) but is naked until it is out: a
    # resting exit would hold it unhedged for up to the maker timeout.
    assert not exit_waits("z_reverted", twin_closed=True)
    assert not exit_waits("z_stop", twin_closed=True)


def test_the_wait_is_measured_from_the_orders_placement() -> None:
    placed = datetime(2026, 1, 1, tzinfo=UTC)
    assert not maker_waited_out(placed, placed + timedelta(seconds=19), 20)
    assert maker_waited_out(placed, placed + timedelta(seconds=20), 20)


def test_the_expected_fee_is_maker_for_maker_first_else_the_configs_or_taker() -> None:
    rates = {"maker_rate": 0.0002, "taker_rate": 0.0005}
    assert expected_fee_rate(override=None, config_fee=None, maker_first=True, **rates) == 0.0002
    assert expected_fee_rate(override=None, config_fee=None, maker_first=False, **rates) == 0.0005
    assert expected_fee_rate(override=None, config_fee=0.0, maker_first=False, **rates) == 0.0
    assert expected_fee_rate(override=0.0001, config_fee=0.0, maker_first=True, **rates) == 0.0001
    with pytest.raises(ValueError, match="no fee rate known"):
        expected_fee_rate(override=None, config_fee=None, maker_rate=None, taker_rate=None,
                          maker_first=False)  # fmt: skip


def test_binance_fees_are_ccxts_regular_tier_and_validated() -> None:
    trading = ccxt.binance().fees["linear"]["trading"]
    assert (BINANCE_USDM_FEES.maker, BINANCE_USDM_FEES.taker) == (
        trading["maker"],
        trading["taker"],
    )
    with pytest.raises(ValueError, match="maker fee"):
        FeeRates(maker=-0.1, taker=0.0005)


def test_the_shipped_config_passes_the_order_settings_check() -> None:
    config = json.loads((REPO / "config.json").read_text())
    maker_timeout_s = config.get("statarb", {}).get("maker_timeout_s", 20)
    assert order_settings_problems(config, maker_timeout_s) == []

"""A spread that must leave while one of its maker legs is still entering, and a lone leg that
must cross at once — a live bot (`freqtrade trade`, dry_run false, maker-first orders with the
production maker timeout of 20 s) on the local exchange.

Protects against the naked leg CI caught in the operations test: leg B's maker entry filled,
the spread's z was already back inside its exit band, B was closed, and leg A's entry kept
resting at the touch. A then filled, alone, and its exit was a limit exactly at the touch read
a moment earlier; the book had moved, so the exit rested too — seconds of unhedged exposure and
a needless round trip. Now a spread that leaves cancels its legs' working entries, and an exit
that must fill now crosses the touch with a bounded allowance (`crossing_slippage_bps`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.live_bot import (
    HEDGE_SOL_ADA,
    LEG_A,
    LEG_B,
    ORDER_ENDPOINT,
    LiveBot,
    accepted_twice,
    dump,
    flat,
    lock_signal_entries,
    new_lines,
    signal_with_leg_a_held,
)
from support.maker_first import running_maker_first_bot

pytestmark = pytest.mark.bot

SOL, ADA = "SOLUSDT", "ADAUSDT"
MAKER_TIMEOUT_S = 20  # config.json's value: a resting maker order waits this long
HOLD_MS = 2500  # the exchange holds one order request this long before processing it
CROSSING_SLIPPAGE_BPS = 10.0  # the default allowance


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    with running_maker_first_bot(
        tmp_path_factory.mktemp("exit_while_entering"),
        maker_timeout_s=MAKER_TIMEOUT_S,
        order_timeout_s=40,
        signal_entries_locked=True,
    ) as running:
        yield running


def exchange_orders(bot: LiveBot, symbol: str) -> list[dict]:
    return bot.exchange.admin.orders(symbol)


def new_entries(bot: LiveBot, symbol: str, known: set[int]) -> list[dict]:
    """Entry orders on `symbol` the exchange did not hold before the scenario (a spread the
    generated market signalled at start-up left its own)."""
    return [
        o for o in exchange_orders(bot, symbol) if not o["reduceOnly"] and o["orderId"] not in known
    ]


def leg_b_entry_filled(bot: LiveBot, known: set[int]) -> bool:
    entries = new_entries(bot, ADA, known)
    return bool(entries) and float(entries[-1]["executedQty"]) > 0


def test_a_spread_that_leaves_while_leg_a_still_rests_cancels_it_and_never_holds_it_alone(
    bot: LiveBot,
) -> None:
    lock_signal_entries(bot)
    log_start = len(bot.log())
    orders_start = len(bot.order_log())
    known_b = {o["orderId"] for o in exchange_orders(bot, ADA)}
    # The next spread's leg A (a maker entry at the touch) is held by the exchange for a
    # moment; meanwhile leg A's price moves far away from it, so it rests — and the spread's z
    # goes through its mean (reverted) as soon as leg B is in.
    sent_a = signal_with_leg_a_held(bot, symbol=SOL, z=2.6, hold_ms=HOLD_MS, log_start=log_start)
    # +1: a short spread (A sold at the ask, B bought at the bid), -1: a long one.
    stretched = 1 if "side=short" in sent_a else -1
    bot.push_spread_z(-1.5 * stretched)
    bot.wait_for(
        lambda: new_entries(bot, ADA, known_b),
        30,
        "leg B's entry on the exchange",
    )
    # Leg B fills when its price comes to it (down to a buy, up to a sell); then z is set
    # again with B's new price: through the mean, past the spread's exit band.
    bot.exchange.admin.price_shock(ADA, factor=1 - 0.005 * stretched)
    bot.wait_for(lambda: leg_b_entry_filled(bot, known_b), 30, "leg B's entry to fill")
    bot.push_spread_z(-1.5 * stretched)
    bot.wait_for(
        lambda: (
            "spread is closing: cancelling this leg's working entry" in new_lines(bot, log_start)
        ),
        MAKER_TIMEOUT_S - 5,
        "leg A's working entry to be cancelled because its spread is leaving, well before "
        "its own maker timeout",
    )
    bot.wait_for(lambda: flat(bot), 120, "both sides flat")

    sol_orders = [o for o in bot.order_log()[orders_start:] if o["symbol"] == SOL]
    assert [o["reduceOnly"] for o in sol_orders] == [False], (
        f"leg A needed more than its one entry (a fill, a twin, an exit): {dump(sol_orders)}"
    )
    [order_a] = [
        o
        for o in exchange_orders(bot, SOL)
        if o["clientOrderId"] == sol_orders[0]["newClientOrderId"]
    ]
    assert order_a["status"] == "CANCELED" and float(order_a["executedQty"]) == 0, dump(order_a)
    log = new_lines(bot, log_start)
    assert "spread reverted" in log
    assert "opening the missing leg" not in log, "a twin was sent for a spread that was leaving"
    assert not accepted_twice(bot.order_log()[orders_start:])
    assert not bot.review_flag.is_raised(), bot.review_flag.status()


def test_a_lone_legs_exit_crosses_the_touch_even_when_the_book_moved_while_it_travelled(
    bot: LiveBot,
) -> None:
    lock_signal_entries(bot)
    bot.push_spread_z(-3.0)  # a long spread with room: it holds until leg B is closed
    assert bot.force_enter(LEG_A, "long").ok
    bot.wait_for(
        lambda: (
            {t["pair"] for t in bot.open_trades() if t["amount"]} == {LEG_A, LEG_B}
            and not bot.rows("select id from orders where ft_is_open = 1")
        ),
        90,
        "a forced spread with both legs filled",
    )
    log_start = len(bot.log())
    orders_start = len(bot.order_log())
    # Leg A's exit is held by the exchange for a moment, and the book moves against it by
    # half the allowance meanwhile: a limit exactly at the touch read before would miss.
    bot.exchange.admin.inject_fault(
        "latency", endpoint=ORDER_ENDPOINT, symbol=SOL, reduce_only=True, latency_ms=HOLD_MS
    )
    [trade_b] = [t for t in bot.open_trades() if t["pair"] == LEG_B]
    assert bot.call("POST", "forceexit", json={"tradeid": str(trade_b["id"])}).ok
    bot.wait_for(
        lambda: "twin closed first: following it out" in new_lines(bot, log_start),
        60,
        "leg A to follow its closed twin out",
    )
    bot.exchange.admin.price_shock(SOL, factor=1 - CROSSING_SLIPPAGE_BPS / 2 / 10_000)
    bot.wait_for(lambda: flat(bot), MAKER_TIMEOUT_S - 5, "leg A out before a maker timeout")

    exits = [o for o in bot.order_log()[orders_start:] if o["reduceOnly"] and o["symbol"] == SOL]
    accepted = [o for o in exits if o["outcome"] == "accepted"]
    assert len(accepted) == 1, f"leg A's exit needed more than one order: {dump(exits)}"
    [exit_order] = [
        o
        for o in exchange_orders(bot, SOL)
        if o["reduceOnly"] and o["clientOrderId"] == accepted[0]["newClientOrderId"]
    ]
    assert exit_order["status"] == "FILLED", dump(exit_order)
    fills = [t for t in bot.exchange.admin.trades() if t["orderId"] == exit_order["orderId"]]
    assert fills and all(not t["maker"] for t in fills), dump(fills)  # it crossed: a taker
    # The allowance bounds the price: the fills are never below the limit sent.
    assert all(float(t["price"]) >= float(exit_order["price"]) for t in fills), dump(fills)
    assert "maker order not filled" not in new_lines(bot, log_start)
    assert not accepted_twice(bot.order_log()[orders_start:])
    # One spread, one exit reason: leg A followed a person's force-exit of leg B.
    reasons = bot.rows(
        f"select pair, exit_reason from trades where id in ({trade_b['id']}, "
        f"(select max(id) from trades where pair = '{LEG_A}'))"
    )
    assert {r["exit_reason"] for r in reasons} == {"force_exit"}, reasons


def test_a_hedging_top_up_crosses_at_once_instead_of_resting_at_the_touch(bot: LiveBot) -> None:
    lock_signal_entries(bot)
    log_start = len(bot.log())
    # Leg A's (market) entry fills 70 %; the hedging plan re-orders the missing parts. With
    # maker-first entries those are limit orders — they must cross, not wait 20 s at the touch
    # while the spread is off its hedge ratio.
    bot.exchange.admin.inject_fault(
        "partial_fill", symbol=SOL, side="BUY", reduce_only=False, ratio=0.7, count=1
    )
    bot.push_spread_z(-3.0)
    assert bot.force_enter(LEG_A, "long").ok
    bot.wait_for(
        lambda: "re-ordering the missing part" in new_lines(bot, log_start),
        60,
        "the hedging plan's top-up",
    )
    bot.wait_for(
        lambda: " hedged qty_a=" in new_lines(bot, log_start),
        MAKER_TIMEOUT_S - 5,
        "the spread hedged before a maker timeout",
    )
    top_ups = [
        o
        for symbol in (SOL, ADA)
        for o in exchange_orders(bot, symbol)
        if "T" in o["clientOrderId"].rsplit("-", 1)[-1]
    ]
    assert top_ups, "no top-up order reached the exchange"
    for order in top_ups:
        assert order["status"] == "FILLED", dump(order)
        fills = [t for t in bot.exchange.admin.trades() if t["orderId"] == order["orderId"]]
        assert fills and all(not t["maker"] for t in fills), dump(fills)
    assert "maker order not filled" not in new_lines(bot, log_start)
    mine = bot.bot_positions()
    assert bot.exchange_positions() == pytest.approx(mine)
    assert abs(mine[LEG_B]) == pytest.approx(HEDGE_SOL_ADA * abs(mine[LEG_A]), rel=0.011), mine
    assert not accepted_twice(bot.order_log())

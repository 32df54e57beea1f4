"""A transient exchange glitch never stops the bot — a live bot (`freqtrade trade`, dry_run
false, maker-first orders) on the local exchange.

Protects against issue 16, found by a random probe: one garbage answer to the order-book
request for a coin whose maker entry was resting made FreqTrade's re-pricing of that order
(`replace_order`, at the next candle) raise `PricingError` outside every `except` of its loop,
and `freqtrade trade` exited holding four open trades — every exit and stop unwatched until a
person restarted it. Now a book answer that cannot price an order is a `TemporaryError`
FreqTrade retries, and a re-price that still fails keeps the order as it is for this loop,
says so in one `[EXECUTION]` line, and is tried again next loop.

The same resting maker entry also serves a person's force-exit of it (a cancel the strategy
did not make): its leg is opened again under a new client id, not handed the dead order back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from support.live_bot import (
    LEG_A,
    LEG_B,
    LiveBot,
    accepted_twice,
    assert_sides_agree,
    dump,
    flat,
    lock_signal_entries,
    new_lines,
    signal_with_leg_a_held,
)
from support.maker_first import running_maker_first_bot

pytestmark = pytest.mark.bot

SOL, ADA = "SOLUSDT", "ADAUSDT"
# A resting maker entry outlives the candle it was placed in, so FreqTrade re-prices it when
# the next candle closes (its replace_order path) before the strategy's maker timeout ends it.
MAKER_TIMEOUT_S = 90
ENTRY_Z, OPEN_Z, STOP_Z = 3.0, 7.0, 12.0  # room: moving leg A away from its order lowers z
DEPTH_ENDPOINT = "GET /fapi/v1/depth"
HOLD_MS = 2500  # the exchange holds leg A's entry request this long before processing it
AWAY = 0.01  # leg A's price moves 1 % away from its resting order: it stays unfilled
KEPT = "re-pricing failed: keeping the working order this loop"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    with running_maker_first_bot(
        tmp_path_factory.mktemp("exchange_glitches"),
        maker_timeout_s=MAKER_TIMEOUT_S,
        order_timeout_s=120,
        signal_entries_locked=True,
        pair_overrides={"z_score_threshold": ENTRY_Z, "stop_loss_z": STOP_Z},
    ) as running:
        yield running


def entries_on_exchange(bot: LiveBot, symbol: str) -> list[dict]:
    return [o for o in bot.exchange.admin.orders(symbol) if not o["reduceOnly"]]


def settled(bot: LiveBot) -> bool:
    """No order working in the bot, the bot holds what the exchange holds, and that is no
    position or a whole spread (a lone leg is still being completed by the hedging plan)."""
    if bot.rows("select id from orders where ft_is_open = 1"):
        return False
    held = bot.bot_positions()
    return bot.exchange_positions() == pytest.approx(held) and set(held) in (set(), {LEG_A, LEG_B})


def signal_with_leg_a_resting(bot: LiveBot, log_start: int) -> tuple[bool, dict]:
    """A signal spread whose leg A maker entry rests: priced at the touch, held by the exchange
    meanwhile its price moves away (down from a sell, up from a buy). Returns whether leg A
    sells, and the resting order."""
    sent_a = signal_with_leg_a_held(
        bot, symbol=SOL, z=OPEN_Z, hold_ms=HOLD_MS, log_start=log_start, band=(ENTRY_Z, STOP_Z)
    )
    sells = "side=short" in sent_a
    bot.exchange.admin.price_shock(SOL, factor=1 - AWAY if sells else 1 + AWAY)
    [resting] = bot.wait_for(
        lambda: [o for o in entries_on_exchange(bot, SOL) if o["status"] == "NEW"],
        30,
        "leg A's maker entry resting on the exchange",
    )
    return sells, resting


def test_garbage_book_answers_while_a_maker_entry_rests_keep_the_order_and_the_bot_running(
    bot: LiveBot,
) -> None:
    lock_signal_entries(bot)
    log_start = len(bot.log())
    orders_start = len(bot.order_log())
    _, resting = signal_with_leg_a_resting(bot, log_start)
    entries_before = [o["orderId"] for o in entries_on_exchange(bot, SOL)]
    # Garbage order-book answers for leg A's coin from just before the next candle closes
    # (FreqTrade re-prices the resting order then) for several loops.
    bot.run_loops(max(0, 52 - datetime.now(UTC).second))
    bot.exchange.admin.inject_fault("garbage", endpoint=DEPTH_ENDPOINT, symbol=SOL, count=-1)
    bot.wait_for(lambda: KEPT in new_lines(bot, log_start), 60, "the re-price to meet garbage")
    bot.run_loops(5)  # five more loops of garbage: the bot keeps going
    bot.exchange.admin.clear_faults()

    # The order stayed as it was through the glitch and is still managed after it: the maker
    # timeout ends it (or the market fills it); a lone leg B then gets its twin at market.
    assert [o["orderId"] for o in entries_on_exchange(bot, SOL)] == entries_before
    bot.wait_for(
        lambda: next(
            o["status"] != "NEW"
            for o in entries_on_exchange(bot, SOL)
            if o["orderId"] == resting["orderId"]
        ),
        MAKER_TIMEOUT_S + 30,
        "leg A's resting entry to be filled or cancelled by the bot",
    )
    bot.wait_for(lambda: settled(bot), 120, "flat or a whole spread, agreed, no order working")
    assert bot.alive()
    log = new_lines(bot, log_start)
    kept = [line for line in log.splitlines() if KEPT in line]
    assert kept and all("[EXECUTION] SOL_ADA" in line and LEG_A in line for line in kept), kept
    assert "Stopping trader" not in log and "Fatal exception" not in log
    assert not accepted_twice(bot.order_log()[orders_start:]), dump(bot.order_log()[orders_start:])
    assert_sides_agree(bot)
    held = bot.bot_positions()
    if held:  # the spread opened after all (leg A filled, or its twin came at market)
        assert (held[LEG_A] > 0) != (held[LEG_B] > 0), held
        bot.force_exit_all()
    bot.wait_for(lambda: flat(bot), 120, "flat after the scenario")


def test_a_person_force_exiting_a_resting_leg_gets_it_reopened_under_a_new_client_id(
    bot: LiveBot,
) -> None:
    """Leg B filled, leg A's maker entry rests; a person force-exits leg A (FreqTrade cancels
    the unfilled order and deletes its trade). Leg B is alone: the hedging plan must open leg A
    again, under a new client id. Before, the next send reused the dead order's id, the guard
    handed the cancelled order back five times without sending, and the plan flattened a
    spread it could have completed, with a review."""
    lock_signal_entries(bot)
    log_start = len(bot.log())
    orders_start = len(bot.order_log())
    sells, resting = signal_with_leg_a_resting(bot, log_start)
    # Leg B (the other side) fills when its price comes to it.
    bot.exchange.admin.price_shock(ADA, factor=1 - 0.005 if sells else 1 + 0.005)
    bot.wait_for(
        lambda: (
            [t for t in bot.open_trades() if t["pair"] == LEG_B and t["amount"]]
            and bot.exchange_positions().get(LEG_B)
        ),
        30,
        "leg B filled and recorded",
    )
    [trade_a] = [t for t in bot.open_trades() if t["pair"] == LEG_A]
    # FreqTrade cancels the unfilled entry and deletes the trade; its API then answers 502
    # "Failed to exit trade" (nothing was exited), so the deletion is what is checked.
    bot.call("POST", "forceexit", json={"tradeid": str(trade_a["id"])})
    bot.wait_for(
        lambda: trade_a["id"] not in {t["id"] for t in bot.open_trades()},
        30,
        "leg A's unfilled entry cancelled and its trade deleted",
    )
    held = bot.wait_for(
        lambda: (positions := bot.exchange_positions()).get(LEG_A) and positions,
        60,
        "leg A opened again by the hedging plan",
    )
    assert (held[LEG_A] > 0) != (held[LEG_B] > 0), held
    bot.wait_for(lambda: settled(bot), 60, "the spread whole, agreed, no order working")

    sent = [o for o in bot.order_log()[orders_start:] if o["symbol"] == SOL]
    accepted_ids = [o["newClientOrderId"] for o in sent if o.get("outcome") == "accepted"]
    assert len(accepted_ids) == 2 and len(set(accepted_ids)) == 2, dump(sent)
    [first] = [o for o in entries_on_exchange(bot, SOL) if o["orderId"] == resting["orderId"]]
    assert first["status"] == "CANCELED" and float(first["executedQty"]) == 0, dump(first)
    log = new_lines(bot, log_start)
    assert "opening the missing leg" in log
    assert "hedging failed" not in log and "flattening" not in log, log[-4000:]
    assert "unknown to the bot's database" not in log
    assert not accepted_twice(bot.order_log()[orders_start:])
    assert not bot.review_flag.is_raised(), bot.review_flag.status()
    bot.force_exit_all()
    bot.wait_for(lambda: flat(bot), 120, "flat after the scenario")

"""Live execution safety: `freqtrade trade` (dry_run false) against the local exchange, faults
injected on the exchange side, and the end state checked on BOTH sides.

Each scenario protects against a way the user loses money with two legs: a leg that fills only
partly, a twin that is refused, an order whose answer is lost (sent twice if retried blindly), a
rate-limit storm, a leg that cannot close, and a spread that breaks past its stop. After each:
the exchange's positions equal the bot's open trades, no intent reached the exchange twice,
every open spread is hedged or the manual-review flag is up, and the log tells the story.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from statarb.safety.log import parse_fields
from statarb.safety.review_flag import ManualReviewFlag
from support.live_bot import (
    HEDGE_SOL_ADA,
    LEG_A,
    LEG_B,
    LiveBot,
    accepted_twice,
    assert_sides_agree,
    running_live_bot,
    sides_agree,
)

pytestmark = pytest.mark.bot

STEP_A, STEP_B = 1.0, 1.0  # SOL and ADA lot steps on the local exchange (as on Binance)
OPEN_Z, STOP_Z = 6.0, 12.0


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    # One pair, and an entry threshold just under the stop: no signal of its own interferes;
    # every spread here is a forced one (the execution path is the same as for signals).
    # Within a 1m candle the local exchange walks each price through its low and high, which
    # swings a stretched spread's live z by a few units in seconds: the bands sit far apart
    # (open near 6, stop at 12) so only the moves a scenario makes can stop or close it.
    with running_live_bot(
        tmp_path_factory.mktemp("execution"),
        pair_ids=("SOL_ADA",),
        pair_overrides={"z_score_threshold": 11.95, "stop_loss_z": STOP_Z},
    ) as running:
        yield running


@pytest.fixture
def clean(bot: LiveBot) -> Iterator[LiveBot]:
    """Each scenario starts flat, unflagged and fault-free, and leaves it so."""
    bot.order_log_start = len(bot.exchange.admin.order_log())  # type: ignore[attr-defined]
    bot.log_start = len(bot.log())  # type: ignore[attr-defined]
    yield bot
    bot.exchange.admin.clear_faults()
    bot.undo_shocks()
    flag = review_flag(bot)
    if flag.is_raised():
        flag.acknowledge(by="test", note="scenario cleanup")
    if bot.open_trades():
        bot.force_exit_all()
    bot.wait_for(lambda: not bot.open_trades() and not bot.exchange_positions(), 90, "flat")
    bot.wait_for(lambda: not review_lock(bot), 30, "the review lock to lift")


def review_flag(bot: LiveBot) -> ManualReviewFlag:
    return ManualReviewFlag(bot.user_data / "state" / "manual_review.json")


def review_lock(bot: LiveBot) -> bool:
    locks = bot.call("GET", "locks").json().get("locks", [])
    return any(lock.get("reason") == "statarb manual review" for lock in locks)


def orders_since(bot: LiveBot) -> list[dict]:
    return bot.exchange.admin.order_log()[bot.order_log_start :]  # type: ignore[attr-defined]


def assert_no_intent_sent_twice(bot: LiveBot) -> None:
    accepted = [o for o in orders_since(bot) if o.get("outcome") == "accepted"]
    twice = accepted_twice(accepted)
    assert not twice, f"intents accepted more than once: {twice}"
    ids = [o["newClientOrderId"] for o in accepted]
    assert all(cid and cid.startswith("sa-") for cid in ids), ids


def assert_hedged_or_flagged(bot: LiveBot) -> None:
    positions = bot.bot_positions()
    qty_a, qty_b = abs(positions.get(LEG_A, 0.0)), abs(positions.get(LEG_B, 0.0))
    hedged = abs(qty_b - HEDGE_SOL_ADA * qty_a) <= max(STEP_B, 0.011 * HEDGE_SOL_ADA * qty_a)
    assert hedged or review_flag(bot).is_raised(), positions


def open_orders(bot: LiveBot) -> int:
    return len(bot.rows("select id from orders where ft_is_open = 1"))


def assert_end_state(bot: LiveBot) -> None:
    bot.wait_for(lambda: open_orders(bot) == 0 and sides_agree(bot), 20, "a settled state")
    assert_sides_agree(bot)
    assert_no_intent_sent_twice(bot)
    assert_hedged_or_flagged(bot)


def open_short_spread(bot: LiveBot) -> None:
    """Stretch the spread (z ≈ +6) and force a short spread: leg A short, twin B long."""
    bot.push_spread_z(OPEN_Z)
    answer = bot.force_enter(LEG_A, "short")
    assert answer.ok, answer.text


def planned_qty_a(bot: LiveBot) -> str:
    """Leg A's planned quantity, as this scenario's first send of it says: sized from the
    account's equity at that moment, which earlier scenarios' prices moved."""
    [first, *_] = bot.wait_for(
        lambda: lines(bot, "[EXECUTION]", "sending leg leg=A"), 30, "leg A's send"
    )
    return parse_fields(first)["qty"]


def lines(bot: LiveBot, category: str, text: str) -> list[str]:
    """This scenario's log lines (since the `clean` fixture started) of a category."""
    log = bot.log()[getattr(bot, "log_start", 0) :]
    return [line for line in log.splitlines() if category in line and text in line]


# --------------------------------------------------------------------------- scenarios
def test_a_forced_leg_gets_its_twin_in_the_hedge_ratio(clean: LiveBot) -> None:
    bot = clean
    open_short_spread(bot)
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 30, "the twin leg")
    positions = bot.bot_positions()
    assert positions[LEG_A] < 0 < positions[LEG_B]
    assert abs(positions[LEG_B]) == pytest.approx(HEDGE_SOL_ADA * abs(positions[LEG_A]), rel=0.011)
    assert_end_state(bot)
    assert lines(bot, "[EXECUTION]", "opening the missing leg")


def test_a_70_percent_fill_on_leg_a_is_hedged_then_completed(clean: LiveBot) -> None:
    bot = clean
    bot.exchange.admin.inject_fault("partial_fill", symbol=LEG_A, ratio=0.7, count=1)
    open_short_spread(bot)
    # A fills 70 %; the twin is sized on what A holds; then both legs are re-ordered to plan.
    bot.wait_for(
        lambda: lines(bot, "[EXECUTION]", "re-ordering the missing part"),
        60,
        "the top-up of both legs",
    )
    planned = planned_qty_a(bot)
    bot.wait_for(lambda: lines(bot, "[EXECUTION]", f"SOL_ADA hedged qty_a={planned} "), 60,
                 "hedged")  # fmt: skip
    positions = bot.bot_positions()
    assert abs(positions[LEG_A]) == float(planned), positions  # back to the planned size
    assert_end_state(bot)


def test_a_partly_filled_twin_brings_the_leg_ahead_down_at_once(clean: LiveBot) -> None:
    bot = clean
    bot.exchange.admin.inject_fault("partial_fill", symbol=LEG_B, ratio=0.7, count=1)
    open_short_spread(bot)
    # B fills 70 %: A is ahead and is reduced to match (reduce-only), then both are completed.
    bot.wait_for(
        lambda: lines(bot, "[EXECUTION]", "hedge: reducing the leg ahead"),
        60,
        "the reduction of leg A",
    )
    reduce_a = bot.wait_for(
        lambda: [o for o in orders_since(bot) if o["symbol"] == "SOLUSDT" and o["reduceOnly"]],
        20,
        "leg A's reduce-only order on the exchange",
    )
    planned = planned_qty_a(bot)
    assert reduce_a[0]["outcome"] == "accepted"
    assert 0 < float(reduce_a[0]["quantity"]) < float(planned), reduce_a  # down to B's 70 %
    bot.wait_for(lambda: lines(bot, "[EXECUTION]", f"SOL_ADA hedged qty_a={planned} "), 60,
                 "hedged")  # fmt: skip
    assert_end_state(bot)


def test_a_rejected_leg_b_is_retried_and_a_lone_leg_is_never_left_naked(clean: LiveBot) -> None:
    bot = clean
    # Refused twice: the third try of the twin goes through.
    bot.exchange.admin.inject_fault("reject", symbol=LEG_B, code=-2019, count=2)
    open_short_spread(bot)
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 45, "the twin after two refusals")
    assert_end_state(bot)
    refused = [
        o for o in orders_since(bot) if o["symbol"] == "ADAUSDT" and o["outcome"] == "rejected"
    ]
    assert len(refused) == 2
    assert not review_flag(bot).is_raised()


def test_a_leg_b_refused_every_time_flattens_leg_a_and_asks_for_review(clean: LiveBot) -> None:
    bot = clean
    bot.exchange.admin.inject_fault("reject", symbol=LEG_B, code=-2019, count=-1)
    open_short_spread(bot)
    bot.wait_for(lambda: lines(bot, "[SAFETY]", "hedging failed"), 60, "the give-up")
    bot.wait_for(lambda: not bot.open_trades(), 30, "leg A to be closed")
    assert not bot.exchange_positions()
    assert review_flag(bot).is_raised()
    bot.wait_for(lambda: review_lock(bot), 15, "the review lock in /api/v1/locks")
    tries = [o for o in orders_since(bot) if o["symbol"] == "ADAUSDT"]
    assert len(tries) == 6  # the first send and five retries, no more
    assert_end_state(bot)
    # While the review is pending, no new spread may open.
    bot.exchange.admin.clear_faults()
    assert not bot.force_enter(LEG_A, "short").ok
    assert not bot.open_trades()


def test_a_dropped_answer_is_found_on_the_exchange_not_sent_again(clean: LiveBot) -> None:
    bot = clean
    bot.exchange.admin.inject_fault("drop_response", symbol=LEG_A, mode="reset", count=1)
    open_short_spread(bot)
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 45, "both legs")
    sol_orders = [o for o in orders_since(bot) if o["symbol"] == "SOLUSDT"]
    assert len(sol_orders) == 1, sol_orders  # the ghost was adopted, not re-sent
    assert lines(bot, "[EXECUTION]", "ghost order found on the exchange")
    assert_end_state(bot)


def test_a_429_storm_during_entry_opens_both_legs_or_neither(clean: LiveBot) -> None:
    bot = clean
    # Storm on leg A's order: the forced entry fails cleanly, nothing is open anywhere.
    bot.exchange.admin.inject_fault(
        "http_error", status=429, symbol=LEG_A, endpoint="POST /fapi/v1/order", count=3
    )
    bot.push_spread_z(OPEN_Z)
    assert not bot.force_enter(LEG_A, "short").ok
    assert not bot.open_trades() and not bot.exchange_positions()
    bot.exchange.admin.clear_faults()
    # Storm on the twin: retried 2 s apart until it passes, then hedged.
    bot.exchange.admin.inject_fault(
        "http_error", status=429, symbol=LEG_B, endpoint="POST /fapi/v1/order", count=2
    )
    assert bot.force_enter(LEG_A, "short").ok
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 45, "the twin after the storm")
    assert_end_state(bot)


def test_a_leg_that_cannot_close_holds_its_twin_and_asks_for_review(clean: LiveBot) -> None:
    bot = clean
    open_short_spread(bot)
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 30, "both legs")
    bot.exchange.admin.inject_fault("reject", symbol=LEG_A, reduce_only=True, code=-2022, count=-1)
    bot.push_spread_z(-3.0)  # the spread reverts through zero: both legs want out
    bot.wait_for(lambda: lines(bot, "[SAFETY]", "could not close"), 90, "the retry budget")
    assert len(bot.open_trades()) == 2, "leg B must not be closed while leg A cannot close"
    assert lines(bot, "[SAFETY]", "not closing leg B while leg A cannot close")
    assert review_flag(bot).is_raised()
    assert_end_state(bot)
    a_exits = [o for o in orders_since(bot) if o["symbol"] == "SOLUSDT" and o["reduceOnly"]]
    assert len(a_exits) == 6  # the first try and five retries


def test_a_z_jump_past_the_stop_closes_both_legs_with_a_safety_alert(clean: LiveBot) -> None:
    bot = clean
    open_short_spread(bot)
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 30, "both legs")
    bot.push_spread_z(STOP_Z + 3.0)  # the spread breaks away past its stop
    bot.wait_for(lambda: not bot.open_trades(), 30, "the stop")
    assert not bot.exchange_positions()
    assert lines(bot, "[SAFETY]", "z stop")
    assert review_flag(bot).is_raised()
    assert_end_state(bot)

    # The pair stays loaded but may not open a spread: it says so once, with both reasons
    # (the stop's cool-down, the review flag), not on every loop or candle ...
    stopped = {"cooldown", "review"}
    bot.wait_for(
        lambda: any(stopped <= by for by, _ in block_changes(bot)),
        30,
        "the pair blocked by the stop's cool-down and the review flag",
    )
    bot.run_loops(5)
    [blocked] = [fields for by, fields in block_changes(bot) if stopped <= by]
    assert "z stop cool-down until" in blocked["reason"], blocked
    assert "manual review flag up" in blocked["reason"], blocked
    # ... and says when that lifts: the review acknowledged, the cool-down over.
    review_flag(bot).acknowledge(by="test", note="the stop was reviewed")
    bot.wait_for(lambda: not stopped & block_changes(bot)[-1][0], 150, "the stop's blocks to lift")
    standing = [by for by, _ in block_changes(bot)]
    assert all(a != b for a, b in itertools.pairwise(standing)), standing  # a line per change


def block_changes(bot: LiveBot) -> list[tuple[frozenset[str], dict[str, str]]]:
    """SOL_ADA's `entries blocked` / `entries unblocked` lines of this scenario: the blocks
    standing after each, and its fields."""
    changes = []
    for line in lines(bot, "[STRATEGY]", "SOL_ADA entries"):
        fields = parse_fields(line)
        by = fields["by"].split(",") if "entries blocked" in line else []
        changes.append((frozenset(by), fields))
    return changes


def test_every_order_of_the_run_carries_a_deterministic_id(bot: LiveBot) -> None:
    cids = [o["newClientOrderId"] for o in bot.exchange.admin.order_log()]
    assert cids and all(cid.startswith("sa-") for cid in cids)
    journal = Path(bot.user_data / "state" / "order_intents.json")
    assert journal.exists()

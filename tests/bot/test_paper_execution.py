"""Paper trading rehearses live: `freqtrade trade` with `dry_run: true` runs the live execution
path on FreqTrade's simulated orders, against the local exchange's real prices.

Protects against a paper run that looks safe while the live run would not be: a forced entry
that opens one leg only (the twin never follows in dry-run), a lone leg that nothing completes,
a z stop that never raises the manual review (so the review procedure is never rehearsed), two
legs of one spread leaving under different reasons, a paper review that locks the live bot,
and a dry run that sends a single order to the exchange.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from statarb.execution.journal import IntentStatus
from statarb.safety.review_flag import ManualReviewFlag
from support.live_bot import (
    HEDGE_SOL_ADA,
    LEG_A,
    LEG_B,
    REPO,
    LiveBot,
    lock_signal_entries,
    running_live_bot,
    unlock_signal_entries,
)

pytestmark = pytest.mark.bot

STOP_Z = 12.0
DEPTH_ENDPOINT = "GET /fapi/v1/depth"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    # Entry at the default |z| > 2; the stop far away (within a 1m candle the local exchange
    # walks each price through its low and high, swinging a stretched spread's live z by a
    # few units), so only the moves a scenario makes can stop it. The cost gate is not what
    # this module tests: every signal may open.
    with running_live_bot(
        tmp_path_factory.mktemp("paper_execution"),
        pair_ids=("SOL_ADA",),
        pair_overrides={"stop_loss_z": STOP_Z},
        statarb={"cost_gate": False},
        freqtrade={"dry_run": True},
    ) as running:
        assert running.dry_run
        yield running


@pytest.fixture
def clean(bot: LiveBot) -> Iterator[LiveBot]:
    """Each scenario starts flat and unflagged, with no fault armed, and leaves it so."""
    bot.log_start = len(bot.log())  # type: ignore[attr-defined]
    yield bot
    bot.exchange.admin.clear_faults()
    bot.undo_shocks()
    unlock_signal_entries(bot)
    if bot.review_flag.is_raised():
        bot.review_flag.acknowledge(by="test", note="scenario cleanup")
    if bot.open_trades():
        bot.force_exit_all()
    bot.wait_for(lambda: not bot.open_trades(), 90, "flat")
    bot.wait_for(lambda: not review_lock(bot), 30, "the review lock to lift")


def review_lock(bot: LiveBot) -> bool:
    locks = bot.call("GET", "locks").json().get("locks", [])
    return any(lock.get("reason") == "statarb manual review" for lock in locks)


def lines(bot: LiveBot, text: str) -> list[str]:
    """This scenario's log lines containing `text`."""
    log = bot.log()[getattr(bot, "log_start", 0) :]
    return [line for line in log.splitlines() if text in line]


def hedged_pair(bot: LiveBot) -> dict[str, float] | None:
    """Both legs open and filled, no order working: the signed quantities, else None."""
    trades = bot.open_trades()
    if len(trades) != 2 or any(not t["amount"] for t in trades):
        return None
    if bot.rows("select id from orders where ft_is_open = 1"):
        return None
    return bot.bot_positions()


def assert_hedged(positions: dict[str, float]) -> None:
    qty_a, qty_b = abs(positions[LEG_A]), abs(positions[LEG_B])
    assert qty_b == pytest.approx(HEDGE_SOL_ADA * qty_a, rel=0.011), positions
    assert (positions[LEG_A] > 0) != (positions[LEG_B] > 0), "both legs on one side"


def assert_nothing_sent(bot: LiveBot) -> None:
    """A dry run never sends an order to the exchange, whatever it rehearses."""
    assert bot.exchange.admin.order_log() == []
    assert bot.exchange_positions() == {}


# --------------------------------------------------------------------------- scenarios
def test_a_signal_spread_opens_both_legs_verified_and_leaves_under_one_reason(
    clean: LiveBot,
) -> None:
    bot = clean
    positions = bot.push_until(2.6, lambda: hedged_pair(bot), 150, "a signal spread with both legs")
    assert_hedged(positions)
    # The guard journaled both legs under their deterministic ids before the simulated send,
    # and the ghost check found each among FreqTrade's simulated orders 5 s later.
    entries = [r for r in bot.intents() if r.purpose == "E"]
    assert {r.symbol for r in entries} >= {LEG_A, LEG_B}
    assert all(r.client_order_id.startswith("sa-SOL_ADA-") for r in entries)
    bot.wait_for(
        lambda: all(r.status is IntentStatus.VERIFIED for r in bot.intents() if r.purpose == "E"),
        30,
        "the ghost check to verify both legs",
    )
    assert len(lines(bot, "order verified")) >= 2
    # The stretch is gone: the spread at its window's mean, inside the exit band.
    bot.push_until(0.0, lambda: not bot.open_trades(), 150, "both legs closed")
    closed = bot.rows("select pair, exit_reason from trades order by id desc limit 2")
    assert {t["pair"] for t in closed} == {LEG_A, LEG_B}
    assert len({t["exit_reason"] for t in closed}) == 1, closed  # the spread's one reason
    assert not lines(bot, "[SAFETY]") or all("dry-run:" in line for line in lines(bot, "[SAFETY]"))
    assert_nothing_sent(bot)


def test_a_forced_entry_gets_its_twin_from_the_hedging_plan(clean: LiveBot) -> None:
    bot = clean
    lock_signal_entries(bot)
    bot.push_spread_z(3.0)
    answer = bot.force_enter(LEG_A, "short")
    assert answer.ok, answer.text
    positions = bot.wait_for(lambda: hedged_pair(bot), 60, "the twin leg")
    assert positions[LEG_A] < 0 < positions[LEG_B]
    assert_hedged(positions)
    assert lines(bot, "opening the missing leg")
    twin = [r for r in bot.intents() if r.symbol == LEG_B and r.purpose == "E"]
    assert twin and twin[-1].client_order_id.startswith("sa-SOL_ADA-")
    assert_nothing_sent(bot)


def test_a_lone_leg_is_completed_by_the_hedging_plan(clean: LiveBot) -> None:
    """Leg B's book is unreadable when the signal enters (its simulated order cannot be
    priced): leg A opens alone. Once the book is back, the hedging plan opens B."""
    bot = clean
    bot.exchange.admin.inject_fault("garbage", endpoint=DEPTH_ENDPOINT, symbol=LEG_B, count=-1)
    bot.push_until(
        2.6,
        lambda: [t for t in bot.open_trades() if t["pair"] == LEG_A and t["amount"]],
        150,
        "leg A to open",
    )
    # Leg B refused AFTER leg A opened: a refusal logged before (B's signal while A was still
    # under FreqTrade's post-exit lock) says nothing about this spread's twin.
    since = len(bot.log())
    bot.wait_for(
        lambda: f"Unable to create trade for {LEG_B}" in bot.log()[since:],
        30,
        "leg B refused for want of a price, leg A open alone",
    )
    assert not [t for t in bot.open_trades() if t["pair"] == LEG_B]
    # The signal's own retry of leg B is locked out (FreqTrade's pair lock), so what completes
    # the spread is the hedging plan, which no lock binds.
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    locked = bot.call("POST", "locks", json=[{"pair": LEG_B, "until": until, "reason": "test"}])
    assert locked.ok, locked.text
    bot.exchange.admin.clear_faults()
    positions = bot.wait_for(lambda: hedged_pair(bot), 60, "the hedging plan to open leg B")
    assert_hedged(positions)
    assert lines(bot, "opening the missing leg")
    assert_nothing_sent(bot)


def test_a_z_stop_raises_the_paper_runs_own_review_and_locks_its_entries(clean: LiveBot) -> None:
    bot = clean
    lock_signal_entries(bot)
    bot.push_spread_z(3.0)
    assert bot.force_enter(LEG_A, "short").ok
    bot.wait_for(lambda: hedged_pair(bot), 60, "both legs")
    bot.push_spread_z(STOP_Z + 3.0)  # the spread breaks away past its stop
    bot.wait_for(lambda: not bot.open_trades(), 60, "the stop")
    assert lines(bot, "[SAFETY]") and lines(bot, "z stop")
    assert bot.review_flag.is_raised()
    assert bot.review_flag.path.name == "manual_review.dry_run.json"
    # The live bot's flag is another file: a paper review never locks real trading.
    assert not ManualReviewFlag(bot.user_data / "state" / "manual_review.json").is_raised()
    bot.wait_for(lambda: review_lock(bot), 30, "the review lock")
    # A person acknowledges it the way README says, on the paper run's config.
    ack = ["ack", "--config", str(bot.config_path), "--by", "test", "--note", "paper stop ok"]
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "review.py"), *ack],
        cwd=bot.folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "manual_review.dry_run.json" in done.stdout
    bot.wait_for(lambda: not review_lock(bot), 30, "the review lock to lift")
    assert_nothing_sent(bot)


def test_the_run_said_once_what_a_dry_run_cannot_rehearse(bot: LiveBot) -> None:
    said = [
        line
        for line in bot.log().splitlines()
        if "[SAFETY] - dry-run:" in line and " - statarb." in line  # not its rpc echo
    ]
    assert len(said) == 1, said
    assert "simulated (dry-run)" in bot.log()
    assert bot.journal_path.name == "order_intents.dry_run.json"
    assert not (bot.user_data / "state" / "order_intents.json").exists()

"""The crash drills of issue 6, with the real strategy.

Each drill: the local exchange + a real `freqtrade trade` with CointPairsStrategy (dry_run
false), the bot killed at a named moment; then `scripts/state_recovery.py` (the CLI the
container runs before the bot) and its report checked finding by finding; then FreqTrade
started again on the same config and DB, and the end state checked on both sides:
- nothing forgotten: the exchange holds exactly what the bot's open trades say (or what the
  report named, handled as the report said);
- no duplicate order: no client order id accepted twice by the exchange, and nothing that
  reached the exchange before the kill sent again after the restart.

The moment of the kill is placed with exchange faults: `latency` holds a request (a request
held longer than the recvWindow is refused by Binance when it finally arrives, -1021: it never
becomes an order), `drop_response` processes an order and loses its answer, `http_error` on
`GET /fapi/v1/order` keeps the guard's look-up by client id failing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from statarb.execution.journal import IntentRecord, IntentStatus
from statarb.spread.client_ids import Leg, Purpose
from support.live_bot import (
    HEDGE_ETH_XRP,
    HEDGE_SOL_ADA,
    LEG_A,
    LEG_B,
    OTHER_A,
    OTHER_B,
    LiveBot,
    accepted_twice,
    assert_sides_agree,
    live_market,
    sides_agree,
    start_live_bot,
)

pytestmark = pytest.mark.bot

SOL, ADA = "SOLUSDT", "ADAUSDT"
ORDER = "POST /fapi/v1/order"
# Held this long, a request is older than ccxt's recvWindow (10 s) when the exchange finally
# reads it: refused (-1021), it never becomes an order. Long enough to kill the bot inside it.
HOLD_MS = 15_000
# Inside a 1m candle the exchange walks each price through the candle's low and high, so the
# live z of a spread swings by a few units within seconds. A drill holds a spread through a
# kill and a restart (half a minute): it is opened at z = 6 with the stop at 12 (the entry
# threshold just under it: no signal of its own interferes; every spread here is a forced one,
# the same execution path as a signal's) and closed by pushing z to -3 (a short spread's exit
# side, where no stop lies).
QUIET = {"z_score_threshold": 11.9, "stop_loss_z": 12.0}
OPEN_Z, CLOSE_Z = 6.0, -3.0
# Drill (e) needs a SIGNAL spread (only those send both legs in one request): entries from
# |z| 2.5, the stop out of reach (the market may signal first, either way: both are fine).
SIGNALS = {"z_score_threshold": 2.5, "stop_loss_z": 12.0}


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return live_market(tmp_path_factory.mktemp("drill-market"))


@pytest.fixture
def launch(market: Path, tmp_path: Path) -> Iterator[Callable[..., LiveBot]]:
    """Start this drill's exchange and bot (one of each per drill); both end with the test."""
    started: list[LiveBot] = []

    def _launch(
        pair_ids: tuple[str, ...] = ("SOL_ADA",), thresholds: dict[str, float] = QUIET
    ) -> LiveBot:
        bot = start_live_bot(
            tmp_path / "bot", market=market, pair_ids=pair_ids, pair_overrides=thresholds
        )
        started.append(bot)
        return bot

    yield _launch
    for bot in started:
        bot.kill()
        bot.exchange.stop()


# --------------------------------------------------------------------------- helpers
def open_short_spread(
    bot: LiveBot,
    leg_a: str = LEG_A,
    leg_b: str = LEG_B,
    hedge_ratio: float = HEDGE_SOL_ADA,
) -> None:
    """Stretch the spread (z = OPEN_Z) and force leg A short; the strategy sends twin B long."""
    bot.push_spread_z(OPEN_Z, leg_a, leg_b, hedge_ratio)
    answer = bot.force_enter(leg_a, "short")
    assert answer.ok, answer.text


def fired(bot: LiveBot, kind: str, symbol: str) -> int:
    """How often a fault of `kind` has hit a request for `symbol` (the request arrived)."""
    return sum(
        1
        for f in bot.exchange.admin.faults()["fired"]
        if f["kind"] == kind and f["symbol"] == symbol
    )


def held_request_refused(bot: LiveBot) -> bool:
    """The request held past the recvWindow has reached the exchange's books: refused."""
    return any(o.get("code") == -1021 for o in bot.order_log())


def intents(bot: LiveBot, leg: Leg, purpose: Purpose) -> list[IntentRecord]:
    """The journal's intents of one leg and purpose, in the order they were written."""
    return [r for r in bot.intents() if r.leg == leg and r.purpose == purpose]


def outcomes(orders: list[dict[str, Any]]) -> list[tuple[str, str, bool, str, Any]]:
    """(symbol, client id, reduce-only, outcome, code) of each order request, in order."""
    return [
        (o["symbol"], o["newClientOrderId"], o["reduceOnly"], o["outcome"], o.get("code"))
        for o in orders
    ]


def accepted(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in orders if o.get("outcome") == "accepted"]


def finding_summary(report: dict[str, Any]) -> list[tuple[str, str, str, str | None, float]]:
    return [
        (f["kind"], f["symbol"], f["subject"], f["side"], f["amount"]) for f in report["findings"]
    ]


def assert_hedged(bot: LiveBot, leg_a: str, leg_b: str, hedge_ratio: float) -> None:
    positions = bot.bot_positions()
    qty_a, qty_b = positions[leg_a], positions[leg_b]
    assert qty_a < 0 < qty_b, positions  # a short spread: A short, B long
    assert qty_b == pytest.approx(hedge_ratio * -qty_a, rel=0.011), positions


def spread_of(bot: LiveBot) -> str:
    """The spread instance this drill opened, as the journal names it."""
    (entry_a,) = intents(bot, Leg.A, Purpose.ENTRY)
    return entry_a.spread


# --------------------------------------------------------------------------- (a)
def test_a_killed_after_leg_a_filled_before_leg_b_reached_the_exchange_twin_sent_once(
    launch: Callable[..., LiveBot],
) -> None:
    """Leg A filled; the twin's intent is journaled and its request is on the wire (held by
    the exchange) when the bot dies. The end state hit: FreqTrade's DB HAS leg A (it commits a
    trade as soon as its entry order answers, and the twin is only sent on the next loop).

    Decided behaviour: recovery reports the lone leg (ALERT); the restarted strategy opens the
    twin in the hedge ratio of what A holds - the review flag blocks new spreads, not the
    completion of an open one - after proving the journaled request never became an order.
    """
    bot = launch()
    bot.exchange.admin.inject_fault("latency", symbol=LEG_B, endpoint=ORDER, latency_ms=HOLD_MS)
    open_short_spread(bot)
    bot.wait_for(lambda: fired(bot, "latency", ADA), 30, "leg B's entry held on the wire")
    bot.kill()

    spread = spread_of(bot)
    (trade_a,) = bot.open_trades()
    qty_a = float(trade_a["amount"])
    assert trade_a["pair"] == LEG_A and trade_a["is_short"]
    assert bot.exchange_positions() == {LEG_A: -qty_a}
    (entry_b,) = intents(bot, Leg.B, Purpose.ENTRY)
    assert entry_b.status is IntentStatus.PENDING and entry_b.spread == spread
    (entry_a,) = accepted(bot.order_log())
    assert entry_a["symbol"] == SOL  # the twin's request is still held: not in the books

    result, report = bot.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "ALERT", report
    assert (report["orphaned_positions"], report["open_orders"]) == ([], 0)
    assert finding_summary(report) == [
        ("broken_spread", LEG_A, "leg A without twin", "SHORT", qty_a)
    ], report["findings"]
    (lone,) = report["findings"]
    assert lone["spread_id"] == spread and lone["details"]["twin_state"] == "absent"
    assert "the strategy opens it in the hedge ratio" in lone["recommendation"]
    assert report["manual_review_required"] and bot.review_flag.is_raised()

    bot.start()
    bot.wait_for(lambda: len(bot.open_trades()) == 2 and sides_agree(bot), 60, "the twin")
    # The held request reaches the exchange at last: refused there, older than recvWindow.
    bot.wait_for(lambda: held_request_refused(bot), HOLD_MS / 1000 + 30, "the held request")
    assert_sides_agree(bot)
    assert_hedged(bot, LEG_A, LEG_B, HEDGE_SOL_ADA)
    # The twin's last intent: attempt 0 again, or 1 if the ghost check settled 0 first.
    twin = intents(bot, Leg.B, Purpose.ENTRY)[-1]
    first, *twin_requests = outcomes(bot.order_log())
    assert first == (SOL, entry_a["newClientOrderId"], False, "accepted", None)
    assert sorted(twin_requests, key=lambda row: row[3]) == [
        (ADA, twin.client_order_id, False, "accepted", None),  # the twin, once
        (ADA, entry_b.client_order_id, False, "rejected", -1021),  # the held one, too old
    ]
    assert twin.status in (IntentStatus.ACKNOWLEDGED, IntentStatus.VERIFIED)
    assert "opening the missing leg" in bot.log(since_start=True)
    assert bot.review_flag.is_raised()  # a person still looks at what happened


# --------------------------------------------------------------------------- (b)
def test_b_killed_while_the_guard_polls_for_a_lost_answer_restart_adopts_the_order(
    launch: Callable[..., LiveBot],
) -> None:
    """The twin's entry reached the exchange and filled, its answer was lost, and every
    look-up by client id failed: the bot dies while its guard is still polling.

    Decided behaviour: recovery names the unrecorded fill, the orphan it left and the lone
    leg, and says the strategy adopts the orphan (so --flatten-orphans leaves it alone); the
    restarted strategy re-sends the twin's intent under the same client id, the guard finds
    the order on the exchange and FreqTrade records it: no order is sent at all.
    """
    bot = launch()
    admin = bot.exchange.admin
    admin.inject_fault("drop_response", symbol=LEG_B, endpoint=ORDER, mode="timeout",
                       hold_ms=60_000)  # fmt: skip
    admin.inject_fault("http_error", status=503, symbol=LEG_B, endpoint="GET /fapi/v1/order",
                       count=-1)  # fmt: skip
    open_short_spread(bot)
    bot.wait_for(lambda: fired(bot, "http_error", ADA) >= 2, 60, "the guard polling by id")
    bot.kill()
    admin.clear_faults()  # the exchange answers again; the bot is gone

    spread = spread_of(bot)
    (trade_a,) = bot.open_trades()
    qty_a = float(trade_a["amount"])
    qty_b = bot.exchange_positions()[LEG_B]
    assert bot.exchange_positions() == {LEG_A: -qty_a, LEG_B: qty_b}
    assert qty_b == pytest.approx(HEDGE_SOL_ADA * qty_a)
    (entry_b,) = intents(bot, Leg.B, Purpose.ENTRY)
    assert entry_b.status is IntentStatus.PENDING
    entry_a, sent_b = bot.order_log()
    assert (sent_b["symbol"], sent_b["newClientOrderId"]) == (ADA, entry_b.client_order_id)
    assert (sent_b["outcome"], sent_b["response"]) == ("accepted", "dropped_timeout")

    result, report = bot.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "ALERT", report
    assert finding_summary(report) == [
        ("orphaned_position", LEG_B, "position", "LONG", qty_b),
        ("fill_missing_from_db", LEG_B, f"order {sent_b['orderId']}", "BUY", qty_b),
        ("broken_spread", LEG_A, "leg A without twin", "SHORT", qty_a),
    ], report["findings"]
    orphan, missing_fill, lone = report["findings"]
    assert orphan["spread_id"] == missing_fill["spread_id"] == lone["spread_id"] == spread
    assert orphan["details"]["origin_client_order_id"] == entry_b.client_order_id
    assert orphan["details"]["adopted_at_start"] is True
    assert orphan["recommendation"].startswith("Adopted at start")
    assert lone["details"]["twin_state"] == "orphan"
    assert lone["details"]["twin_adopted_at_start"] is True
    # An operator who habitually adds --flatten-orphans does no harm: it is left alone.
    result, again = bot.recover("--flatten-orphans")
    assert result.returncode == 0, result.stderr
    assert [(a["symbol"], a["status"]) for a in again["actions"]] == [(LEG_B, "skipped")]
    assert len(bot.order_log()) == 2

    bot.start()
    bot.wait_for(lambda: len(bot.open_trades()) == 2 and sides_agree(bot), 60, "B adopted")
    bot.wait_for(lambda: "hedged qty_a" in bot.log(since_start=True), 30, "the hedged spread")
    bot.run_loops(3)
    assert outcomes(bot.order_log()) == [
        (SOL, entry_a["newClientOrderId"], False, "accepted", None),
        (ADA, entry_b.client_order_id, False, "accepted", None),
    ]  # nothing sent after the restart
    assert "order already on the exchange: not sent again" in bot.log(since_start=True)
    assert_sides_agree(bot)
    assert_hedged(bot, LEG_A, LEG_B, HEDGE_SOL_ADA)
    (trade_b,) = [t for t in bot.open_trades() if t["pair"] == LEG_B]
    recorded = bot.rows(f"select order_id from orders where ft_trade_id = {trade_b['id']}")
    assert recorded == [{"order_id": str(sent_b["orderId"])}]  # the very order that filled


def test_b_killed_while_a_forced_first_legs_answer_is_held_its_orphan_is_flattened_once(
    launch: Callable[..., LiveBot],
) -> None:
    """The same lost answer on leg A of a forced spread: it filled, nothing was recorded, and
    no leg of the spread is in the DB, so there is nothing to adopt it into.

    Decided behaviour: recovery names the orphan (from the bot's own entry of leg A) and asks
    for it to be flattened; --flatten-orphans closes it with one reduce-only order, and a
    second run sends nothing; the restarted bot sends nothing and holds nothing.
    """
    bot = launch()
    bot.exchange.admin.inject_fault("drop_response", symbol=LEG_A, endpoint=ORDER,
                                    mode="timeout", hold_ms=60_000)  # fmt: skip
    bot.push_spread_z(OPEN_Z)

    def force_enter() -> None:
        # The REST call blocks while FreqTrade waits for the answer; the bot dies under it.
        with contextlib.suppress(requests.RequestException):
            bot.force_enter(LEG_A, "short")

    forcing = threading.Thread(target=force_enter, daemon=True)
    forcing.start()
    bot.wait_for(lambda: fired(bot, "drop_response", SOL), 30, "leg A's answer held")
    bot.kill()
    forcing.join(timeout=35)

    qty_a = -bot.exchange_positions()[LEG_A]
    assert bot.exchange_positions() == {LEG_A: -qty_a} and qty_a > 0
    assert bot.open_trades() == []
    (entry_a,) = intents(bot, Leg.A, Purpose.ENTRY)
    assert entry_a.status is IntentStatus.PENDING
    (sent_a,) = bot.order_log()
    assert sent_a["newClientOrderId"] == entry_a.client_order_id

    result, report = bot.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "ALERT", report
    assert finding_summary(report) == [
        ("orphaned_position", LEG_A, "position", "SHORT", qty_a),
        ("fill_missing_from_db", LEG_A, f"order {sent_a['orderId']}", "SELL", qty_a),
    ], report["findings"]
    (orphan,) = report["orphaned_positions"]
    assert entry_a.client_order_id in orphan["recommendation"]
    assert "--flatten-orphans" in orphan["recommendation"]
    assert report["findings"][0]["details"]["adopted_at_start"] is False

    # What the report asks for, twice (a restart loop runs recovery again): one close only.
    for run in range(2):
        result, again = bot.recover("--flatten-orphans")
        assert result.returncode == 0, result.stderr
        if run == 0:
            assert [(a["symbol"], a["status"]) for a in again["actions"]] == [(LEG_A, "sent")]
    assert not bot.exchange_positions()
    closes = bot.order_log()[1:]
    assert [(o["symbol"], o["side"], o["reduceOnly"], o["outcome"]) for o in closes] == [
        (SOL, "BUY", True, "accepted")
    ]

    mark = len(bot.order_log())
    bot.start()
    bot.run_loops(5)
    assert bot.order_log()[mark:] == []  # nothing sent at start
    assert bot.open_trades() == [] and not bot.exchange_positions()
    assert "order filled on the exchange but unknown to the bot's database" in bot.log(
        since_start=True
    )  # the journal's intent, settled by the ghost check: known, not re-sent
    assert bot.review_flag.is_raised()


# --------------------------------------------------------------------------- (c)
def test_c_killed_halfway_through_closing_restart_closes_the_other_leg_only(
    launch: Callable[..., LiveBot],
) -> None:
    """Leg A's exit filled (FreqTrade closed its trade), leg B's exit request is held on the
    wire when the bot dies.

    Decided behaviour: recovery reports leg B alone with a twin CLOSED moments ago (the spread
    was exiting); the restarted strategy closes B under A's exit reason (one reason per
    spread) and never opens leg A again. (Before the fix, the hedging plan, which forgets an
    exit on restart, saw a lone leg and re-opened leg A: a second entry of a spread being
    closed.)
    """
    bot = launch()
    open_short_spread(bot)
    bot.wait_for(lambda: len(bot.open_trades()) == 2 and sides_agree(bot), 30, "both legs")
    spread = spread_of(bot)
    bot.exchange.admin.inject_fault("latency", symbol=LEG_B, endpoint=ORDER, reduce_only=True,
                                    latency_ms=HOLD_MS)  # fmt: skip
    bot.push_spread_z(CLOSE_Z)  # the spread reverts through zero: both legs close, A first
    bot.wait_for(lambda: fired(bot, "latency", ADA), 30, "leg B's exit held on the wire")
    bot.kill()

    qty_b = bot.exchange_positions()[LEG_B]
    assert bot.exchange_positions() == {LEG_B: qty_b}  # A closed, B not
    (trade_b,) = bot.open_trades()
    assert trade_b["pair"] == LEG_B and float(trade_b["amount"]) == qty_b
    (trade_a,) = bot.rows("select id, exit_reason from trades where is_open = 0")
    (exit_b,) = intents(bot, Leg.B, Purpose.EXIT)
    assert exit_b.status is IntentStatus.PENDING
    before_kill = outcomes(bot.order_log())
    assert [(row[0], row[2]) for row in before_kill] == [(SOL, False), (ADA, False), (SOL, True)]

    result, report = bot.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "ALERT", report
    assert finding_summary(report) == [
        ("broken_spread", LEG_B, "leg B without twin", "LONG", qty_b)
    ], report["findings"]
    (lone,) = report["findings"]
    assert lone["spread_id"] == spread
    assert lone["details"]["twin_state"] == "closed"
    assert lone["details"]["twin_trade_id"] == trade_a["id"]
    assert "following its twin out" in lone["recommendation"]

    bot.start()
    bot.wait_for(lambda: not bot.open_trades() and not bot.exchange_positions(), 60, "flat")
    bot.wait_for(lambda: held_request_refused(bot), HOLD_MS / 1000 + 30, "the held request")
    after = outcomes(bot.order_log())[len(before_kill) :]
    last_exit_b = intents(bot, Leg.B, Purpose.EXIT)[-1]
    assert sorted(after, key=lambda row: row[3]) == [
        (ADA, last_exit_b.client_order_id, True, "accepted", None),  # B's exit, once
        (ADA, exit_b.client_order_id, True, "rejected", -1021),  # the held one, too old
    ]  # and no order for leg A: it is not re-opened
    assert not intents(bot, Leg.A, Purpose.ENTRY)[1:]
    exits = bot.rows("select pair, exit_reason from trades order by id")
    assert exits == [
        {"pair": LEG_A, "exit_reason": trade_a["exit_reason"]},
        {"pair": LEG_B, "exit_reason": trade_a["exit_reason"]},  # the spread's one reason
    ]
    assert not accepted_twice(bot.order_log())


# --------------------------------------------------------------------------- (d)
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_d_stopped_with_two_spreads_open_recovers_clean_and_manages_both(
    launch: Callable[..., LiveBot], stop: str
) -> None:
    """Two complete spreads open; the bot stopped as `docker stop` does (SIGTERM: FreqTrade
    shuts down cleanly) or killed between loops (SIGKILL). Nothing is out of place, so recovery
    says SUCCESS; the restarted bot sends no order at start and still manages both spreads:
    when they revert, it closes all four legs, each once."""
    bot = launch(pair_ids=("SOL_ADA", "ETH_XRP"))
    open_short_spread(bot)
    bot.wait_for(lambda: len(bot.open_trades()) == 2 and sides_agree(bot), 30, "SOL_ADA")
    open_short_spread(bot, OTHER_A, OTHER_B, HEDGE_ETH_XRP)
    bot.wait_for(lambda: len(bot.open_trades()) == 4 and sides_agree(bot), 30, "ETH_XRP")
    bot.wait_for(lambda: bot.log(since_start=True).count("hedged qty_a") == 2, 30, "hedged")
    if stop == "SIGTERM":
        bot.stop(signal.SIGTERM)
        assert "Cleaning up modules" in bot.log(since_start=True)  # FreqTrade's own shutdown
    else:
        bot.kill()
    positions = bot.exchange_positions()
    assert len(positions) == 4 and positions == bot.bot_positions()

    result, report = bot.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "SUCCESS", report["findings"]
    assert (report["findings"], report["orphaned_positions"], report["open_orders"]) == (
        [],
        [],
        0,
    )
    assert report["database"]["open_trades"] == 4 and report["recent_trades"] == 4
    assert not report["manual_review_required"] and not bot.review_flag.is_raised()

    mark = len(bot.order_log())
    bot.start()
    bot.wait_for(lambda: bot.log(since_start=True).count("hedged qty_a") == 2, 30, "managed")
    bot.run_loops(3)
    assert bot.order_log()[mark:] == []  # no order at start
    assert_sides_agree(bot)
    bot.push_spread_z(CLOSE_Z)
    bot.push_spread_z(CLOSE_Z, OTHER_A, OTHER_B, HEDGE_ETH_XRP)
    bot.wait_for(lambda: not bot.open_trades() and not bot.exchange_positions(), 60, "flat")
    closes = bot.order_log()[mark:]
    assert sorted(o["symbol"] for o in closes) == sorted(["SOLUSDT", ADA, "ETHUSDT", "XRPUSDT"])
    assert all(o["reduceOnly"] and o["outcome"] == "accepted" for o in closes), closes
    assert not accepted_twice(bot.order_log())


# --------------------------------------------------------------------------- (e)
def test_e_killed_after_both_legs_left_in_one_request_before_leg_b_was_recorded(
    launch: Callable[..., LiveBot],
) -> None:
    """A signal spread's two legs leave in one batchOrders request (docs/design.md, "Both legs
    in one request"); both filled. FreqTrade recorded leg A and was recording leg B — its own
    turn, whose guard asks the exchange for the order by client id — when the bot died.

    Decided behaviour, as for a twin whose answer was lost (drill b): recovery names leg B as
    an orphan the strategy adopts and leg A as a lone leg; the restarted strategy records leg
    B under the same client id: no order is sent again.
    """
    bot = launch(thresholds=SIGNALS)
    bot.exchange.admin.inject_fault("latency", symbol=LEG_B, endpoint="GET /fapi/v1/order",
                                    latency_ms=HOLD_MS)  # fmt: skip
    # A candle's close can sit well off the pushed z (prices walk through the candle's range):
    # pushed far past the entry band, and again if a candle closed without a signal.
    for _ in range(3):
        bot.push_spread_z(4.5)
        with contextlib.suppress(AssertionError):
            bot.wait_for(lambda: fired(bot, "latency", ADA), 75, "leg B's own turn asking")
        if fired(bot, "latency", ADA):
            break
    assert fired(bot, "latency", ADA), "no signal spread in three candles"
    bot.kill()

    spread = spread_of(bot)
    (trade_a,) = bot.open_trades()
    sign_a = -1.0 if trade_a["is_short"] else 1.0
    qty_a = sign_a * float(trade_a["amount"])
    qty_b = bot.exchange_positions()[LEG_B]
    assert trade_a["pair"] == LEG_A and qty_b * qty_a < 0
    assert bot.exchange_positions() == {LEG_A: qty_a, LEG_B: qty_b}
    sent_a, sent_b = bot.order_log()
    assert {sent_a["endpoint"], sent_b["endpoint"]} == {"POST /fapi/v1/batchOrders"}
    (entry_b,) = intents(bot, Leg.B, Purpose.ENTRY)
    assert sent_b["newClientOrderId"] == entry_b.client_order_id
    assert entry_b.status is IntentStatus.ACKNOWLEDGED and entry_b.spread == spread

    result, report = bot.recover()
    assert result.returncode == 0, result.stderr
    assert report["recovery_status"] == "ALERT", report
    kinds = {(f["kind"], f["symbol"]) for f in report["findings"]}
    assert {("orphaned_position", LEG_B), ("broken_spread", LEG_A)} <= kinds, report["findings"]
    (orphan,) = [f for f in report["findings"] if f["kind"] == "orphaned_position"]
    assert orphan["details"]["origin_client_order_id"] == entry_b.client_order_id
    assert orphan["details"]["adopted_at_start"] is True

    bot.start()
    bot.wait_for(lambda: len(bot.open_trades()) == 2 and sides_agree(bot), 60, "B recorded")
    bot.wait_for(lambda: "hedged qty_a" in bot.log(since_start=True), 30, "the hedged spread")
    bot.run_loops(3)
    assert [(o["symbol"], o["newClientOrderId"]) for o in bot.order_log()] == [
        (SOL, sent_a["newClientOrderId"]),
        (ADA, entry_b.client_order_id),
    ]  # nothing sent after the restart
    assert_sides_agree(bot)
    positions = bot.bot_positions()
    assert positions[LEG_B] == pytest.approx(-HEDGE_SOL_ADA * positions[LEG_A], rel=0.011)
    (trade_b,) = [t for t in bot.open_trades() if t["pair"] == LEG_B]
    recorded = bot.rows(f"select order_id from orders where ft_trade_id = {trade_b['id']}")
    assert recorded == [{"order_id": str(sent_b["orderId"])}]  # the very order that filled

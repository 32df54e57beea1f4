"""The order guard: one intent, at most one order on the exchange — through timeouts, dropped
answers, refusals and restarts."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statarb.execution.guard import OrderGuard, UnresolvedOrderError
from statarb.execution.journal import IntentJournal, IntentRecord, IntentStatus

CID = "sa-SOL_ADA-abc-AE0"


class FakeTimeoutError(Exception):
    """What ccxt raises when the answer never came (RequestTimeout / NetworkError)."""


class RefusedError(Exception):
    pass


@dataclass
class FakeExchange:
    """Binance as the guard sees it: orders by client id, and a request that may vanish."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    sends: int = 0
    query_fails: int = 0  # the next N look-ups fail (e.g. a 429 storm)

    def fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        if self.query_fails:
            self.query_fails -= 1
            raise FakeTimeoutError("query timed out")
        return self.orders.get(client_order_id)

    def accept(self, cid: str) -> dict[str, Any]:
        assert cid not in self.orders, "the same intent reached the exchange twice"
        self.sends += 1
        order = {"id": str(1000 + len(self.orders)), "clientOrderId": cid, "status": "closed",
                 "filled": 1.0}  # fmt: skip
        self.orders[cid] = order
        return order


@dataclass
class Clock:
    now: int = 1_000_000

    def ms(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


def intent(cid: str = CID) -> IntentRecord:
    return IntentRecord(
        client_order_id=cid, symbol="SOL/USDT:USDT", side="buy", qty_base=1.0,
        reduce_only=False, purpose="E", spread="SOL_ADA@x", leg="A", attempt=0,
        created_ms=1_000_000,
    )  # fmt: skip


def guard(tmp_path: Path, exchange: FakeExchange, clock: Clock) -> OrderGuard:
    return OrderGuard(IntentJournal(tmp_path / "intents.json"), exchange, clock.ms, clock.sleep)


def test_a_new_intent_is_sent_once_and_journaled_before_it_goes(tmp_path: Path) -> None:
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)
    seen_in_journal = []

    def send(cid: str) -> dict[str, Any]:
        seen_in_journal.append(IntentJournal(tmp_path / "intents.json").get(cid) is not None)
        return exchange.accept(cid)

    order = g.place(intent(), send)
    assert order["id"] and exchange.sends == 1
    assert seen_in_journal == [True], "the intent must be on disk before the request"
    assert g.journal.get(CID).status is IntentStatus.ACKNOWLEDGED


def test_a_dropped_answer_whose_order_exists_is_adopted_not_resent(tmp_path: Path) -> None:
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)

    def send(cid: str) -> dict[str, Any]:
        exchange.accept(cid)  # the exchange took it ...
        raise FakeTimeoutError("read timeout")  # ... but the answer was lost

    order = g.place(intent(), send)
    assert order["clientOrderId"] == CID and exchange.sends == 1
    assert g.journal.get(CID).status is IntentStatus.ACKNOWLEDGED


def test_a_request_that_never_arrived_is_declared_absent_only_after_recv_window(
    tmp_path: Path,
) -> None:
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)
    start = clock.now

    def lost(cid: str) -> dict[str, Any]:
        raise FakeTimeoutError("connect timeout")

    with pytest.raises(FakeTimeoutError):
        g.place(intent(), lost)
    assert clock.now - start >= g.settle_ms
    assert g.journal.get(CID).status is IntentStatus.NOT_PLACED
    # The same intent may now go out: it provably never reached the book.
    g.place(intent(), exchange.accept)
    assert exchange.sends == 1


def test_a_refusal_is_recorded_and_raised_without_waiting(tmp_path: Path) -> None:
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)

    def refuse(cid: str) -> dict[str, Any]:
        raise RefusedError('binance {"code":-2019,"msg":"Margin is insufficient."}')

    start = clock.now
    with pytest.raises(RefusedError):
        g.place(intent(), refuse)
    assert clock.now == start
    assert g.journal.get(CID).status is IntentStatus.REJECTED


def test_a_duplicate_client_id_answer_returns_the_order_already_there(tmp_path: Path) -> None:
    exchange, clock = FakeExchange(), Clock()
    exchange.accept(CID)
    g = guard(tmp_path, exchange, clock)

    def duplicate(cid: str) -> dict[str, Any]:
        raise RefusedError('binance {"code":-4116,"msg":"ClientOrderId is duplicated."}')

    assert g.place(intent(), duplicate)["clientOrderId"] == CID
    assert exchange.sends == 1


def test_after_a_crash_a_pending_intent_found_on_the_exchange_is_not_sent_again(
    tmp_path: Path,
) -> None:
    exchange, clock = FakeExchange(), Clock()
    IntentJournal(tmp_path / "intents.json").record(intent())  # written, then the bot died
    exchange.accept(CID)  # ... after the request reached the exchange
    g = guard(tmp_path, exchange, clock)  # the restarted bot
    order = g.place(intent(), exchange.accept)
    assert order["clientOrderId"] == CID and exchange.sends == 1


def test_after_a_crash_a_pending_intent_absent_from_the_exchange_is_sent(tmp_path: Path) -> None:
    exchange, clock = FakeExchange(), Clock()
    IntentJournal(tmp_path / "intents.json").record(intent())  # the bot died before sending
    clock.now += 60_000
    g = guard(tmp_path, exchange, clock)
    g.place(intent(), exchange.accept)
    assert exchange.sends == 1


def test_an_unreachable_exchange_leaves_the_intent_pending_and_sends_nothing_more(
    tmp_path: Path,
) -> None:
    exchange, clock = FakeExchange(query_fails=10_000), Clock()
    g = guard(tmp_path, exchange, clock)

    def lost(cid: str) -> dict[str, Any]:
        raise FakeTimeoutError("read timeout")

    with pytest.raises(UnresolvedOrderError):
        g.place(intent(), lost)
    assert g.journal.get(CID).status is IntentStatus.PENDING
    with pytest.raises(UnresolvedOrderError):
        g.place(intent(), exchange.accept)  # a retry must not fire blindly
    assert exchange.sends == 0


@settings(max_examples=200, deadline=None)
@given(
    script=st.lists(
        st.sampled_from(["ok", "lost", "taken_then_lost", "refused", "queries_fail"]),
        min_size=1,
        max_size=6,
    )
)
def test_any_sequence_of_failures_and_retries_places_an_intent_at_most_once(
    tmp_path_factory: pytest.TempPathFactory, script: list[str]
) -> None:
    tmp = tmp_path_factory.mktemp("guard")
    exchange, clock = FakeExchange(), Clock()
    for step in script:
        g = guard(tmp, exchange, clock)  # each retry may be a new process after a crash

        def send(cid: str, step: str = step) -> dict[str, Any]:
            if step == "ok":
                return exchange.accept(cid)
            if step == "taken_then_lost":
                exchange.accept(cid)
                raise FakeTimeoutError("answer lost")
            if step == "refused":
                raise RefusedError('{"code":-2019,"msg":"Margin is insufficient."}')
            if step == "queries_fail":
                exchange.query_fails = 100
            raise FakeTimeoutError("request lost")

        with contextlib.suppress(FakeTimeoutError, RefusedError, UnresolvedOrderError):
            g.place(intent(), send)
        exchange.query_fails = 0
        clock.now += 1_000
    assert exchange.sends <= 1


# ---------------------------------------------------------------- both legs in one request
TWIN = "sa-SOL_ADA-abc-BE0"
MARGIN_REFUSED = 'binance {"code":-2019,"msg":"Margin is insufficient."}'


def twin_intent() -> IntentRecord:
    return IntentRecord(
        client_order_id=TWIN, symbol="ADA/USDT:USDT", side="sell", qty_base=180.0,
        reduce_only=False, purpose="E", spread="SOL_ADA@x", leg="B", attempt=0,
        created_ms=1_000_000,
    )  # fmt: skip


def test_both_legs_go_in_one_request_journaled_first_and_the_twin_is_handed_back_not_resent(
    tmp_path: Path,
) -> None:
    """The leg gap is unhedged exposure: both legs leave in one request. The twin's own send
    (FreqTrade's next leg, a second later) must get the order already placed, never a second
    one — that would double the hedge leg."""
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)
    on_disk: list[tuple[bool, bool]] = []

    def send_both(first: str, second: str) -> list[dict[str, Any] | Exception]:
        journal = IntentJournal(tmp_path / "intents.json")
        on_disk.append((journal.get(first) is not None, journal.get(second) is not None))
        return [exchange.accept(first), exchange.accept(second)]

    order = g.place_pair(intent(), twin_intent(), send_both, exchange.accept)
    assert order["clientOrderId"] == CID and exchange.sends == 2
    assert on_disk == [(True, True)], "both intents must be on disk before the request"
    assert g.journal.get(TWIN).status is IntentStatus.ACKNOWLEDGED
    twin = g.place(twin_intent(), exchange.accept)  # FreqTrade's own send of leg B
    assert twin["clientOrderId"] == TWIN and exchange.sends == 2


def test_a_twin_refused_inside_the_batch_is_sent_once_by_its_own_turn(tmp_path: Path) -> None:
    """Binance answers each order of a batch on its own: leg A placed, leg B refused. B's
    own send must then go out (under the same id), once — not be taken for placed."""
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)

    def send_both(first: str, second: str) -> list[dict[str, Any] | Exception]:
        return [exchange.accept(first), RefusedError(MARGIN_REFUSED)]

    g.place_pair(intent(), twin_intent(), send_both, exchange.accept)
    assert g.journal.get(TWIN).status is IntentStatus.REJECTED
    g.place(twin_intent(), exchange.accept)
    assert TWIN in exchange.orders and exchange.sends == 2


def test_a_first_leg_refused_inside_the_batch_raises_and_keeps_the_placed_twin(
    tmp_path: Path,
) -> None:
    """Leg A refused, leg B placed: FreqTrade must see leg A's refusal (no trade for it), and
    the journal must know B is on the book (the hedging plan completes or flattens it)."""
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)

    def send_both(first: str, second: str) -> list[dict[str, Any] | Exception]:
        return [RefusedError(MARGIN_REFUSED), exchange.accept(second)]

    with pytest.raises(RefusedError):
        g.place_pair(intent(), twin_intent(), send_both, exchange.accept)
    assert g.journal.get(CID).status is IntentStatus.REJECTED
    assert g.journal.get(TWIN).status is IntentStatus.ACKNOWLEDGED


def test_a_lost_batch_answer_adopts_both_legs_from_the_exchange_and_resends_neither(
    tmp_path: Path,
) -> None:
    """The batch reached the exchange, its answer did not: leg A is found by client id; leg B
    stays pending and its own send finds it too. Neither goes out twice."""
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)

    def send_both(first: str, second: str) -> list[dict[str, Any] | Exception]:
        exchange.accept(first)
        exchange.accept(second)
        raise FakeTimeoutError("read timeout")

    assert g.place_pair(intent(), twin_intent(), send_both, exchange.accept)["clientOrderId"] == CID
    assert g.journal.get(TWIN).status is IntentStatus.PENDING
    assert g.place(twin_intent(), exchange.accept)["clientOrderId"] == TWIN
    assert exchange.sends == 2


def test_a_batch_that_never_arrived_lets_each_leg_go_once_after_recv_window(
    tmp_path: Path,
) -> None:
    """No answer and nothing on the book: leg A is declared not placed only after recvWindow;
    leg B's own send waits the same proof, then goes out once."""
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)

    def lost(first: str, second: str) -> list[dict[str, Any] | Exception]:
        raise FakeTimeoutError("connect timeout")

    with pytest.raises(FakeTimeoutError):
        g.place_pair(intent(), twin_intent(), lost, exchange.accept)
    assert g.journal.get(CID).status is IntentStatus.NOT_PLACED
    g.place(twin_intent(), exchange.accept)
    assert exchange.sends == 1 and TWIN in exchange.orders


def test_a_leg_with_history_is_not_batched_but_placed_by_the_usual_rules(tmp_path: Path) -> None:
    """A retry after a crash (the twin's intent already journaled) must not resend the twin
    inside a new batch: the first leg goes alone, through `place`."""
    exchange, clock = FakeExchange(), Clock()
    g = guard(tmp_path, exchange, clock)
    g.journal.record(twin_intent())
    exchange.accept(TWIN)

    def send_both(first: str, second: str) -> list[dict[str, Any] | Exception]:
        raise AssertionError("a batch with a leg already sent")

    g.place_pair(intent(), twin_intent(), send_both, exchange.accept)
    assert exchange.sends == 2 and CID in exchange.orders

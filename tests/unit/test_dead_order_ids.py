"""A dead order's client id is never handed to the next send of its leg, and a leg sent with
its partner is not called a stranger while its own turn may still come.

Protects against what a live-bot test caught: a person's force-exit cancelled leg A's working
entry (nothing filled), so FreqTrade forgot the order while the intent journal still held it
as verified. When the hedging plan then sent the missing leg A, it got the same client id; the
guard found the cancelled order under that id and handed it back instead of sending — five
times — and the plan flattened a spread it could have completed. The spread's other leg sat
unhedged all the while.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import statarb.live.execution as live_execution
from statarb.execution.journal import IntentJournal, IntentStatus
from statarb.live.execution import LiveExecution, dead_unfilled
from statarb.spread.client_ids import Purpose
from support.spread_legs import SOL_ADA_A, SOL_ADA_B, Clock

SPREAD, LEG_A = str(SOL_ADA_A.key), str(SOL_ADA_A.leg)


class ExchangeOrders:
    """The exchange's answer to "which order has this client id" (the execution port)."""

    def __init__(self) -> None:
        self.by_client_id: dict[str, dict[str, Any]] = {}
        self.unreadable = False
        self.asked = 0

    def fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        self.asked += 1
        if self.unreadable:
            raise ConnectionError("exchange unreadable")
        return self.by_client_id.get(client_order_id)

    def positions(self, symbols: list[str]) -> list[dict[str, Any]]:
        return []


def execution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known: set[str] | None = None
) -> tuple[LiveExecution, ExchangeOrders, list[str], Clock]:
    clock = Clock()
    monkeypatch.setattr(live_execution, "now_ms", clock)
    exchange, reviews = ExchangeOrders(), []
    live = LiveExecution(
        journal=IntentJournal(tmp_path / "intents.json"),
        port=exchange,
        recv_window_ms=5_000,
        notify=lambda line: None,
        raise_review=lambda message, spread: reviews.append(message),
        order_known=lambda order_id: order_id in (known or set()),
    )
    return live, exchange, reviews, clock


def placed_leg_a(live: LiveExecution, clock: Clock, status: IntentStatus) -> str:
    """Leg A's entry, journalled and answered by the exchange as order ex-1."""
    record = live.announce(tag=SOL_ADA_A, symbol=SOL_ADA_A.leg_a, side="sell",
                           reduce_only=False, purpose=Purpose.ENTRY, qty_base=10.0)  # fmt: skip
    live.journal.record(record)
    live.journal.update(record.client_order_id, status=status, now_ms=clock.ms,
                        exchange_order_id="ex-1", filled_qty=0.0)  # fmt: skip
    return record.client_order_id


def order(client_id: str, status: str, filled: float) -> dict[str, Any]:
    return {"id": "ex-1", "clientOrderId": client_id, "status": status, "filled": filled}


def test_an_entry_cancelled_by_someone_else_with_nothing_filled_is_not_handed_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, exchange, reviews, clock = execution(tmp_path, monkeypatch)
    first = placed_leg_a(live, clock, IntentStatus.VERIFIED)
    exchange.by_client_id[first] = order(first, "canceled", 0.0)  # a REST force-exit's cancel
    assert live.next_attempt(SPREAD, LEG_A, str(Purpose.ENTRY)) == 1
    record = live.journal.get(first)
    assert record is not None and record.status is IntentStatus.CANCELLED
    assert reviews == []


def test_an_order_still_working_or_filled_keeps_its_id_so_it_is_never_sent_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, exchange, _, clock = execution(tmp_path, monkeypatch)
    first = placed_leg_a(live, clock, IntentStatus.ACKNOWLEDGED)
    for status, filled in (("open", 0.0), ("closed", 10.0), ("canceled", 4.0)):
        exchange.by_client_id[first] = order(first, status, filled)
        assert live.next_attempt(SPREAD, LEG_A, str(Purpose.ENTRY)) == 0, status


def test_an_order_the_exchange_cannot_be_asked_about_keeps_its_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, exchange, _, clock = execution(tmp_path, monkeypatch)
    placed_leg_a(live, clock, IntentStatus.VERIFIED)
    exchange.unreadable = True
    assert live.next_attempt(SPREAD, LEG_A, str(Purpose.ENTRY)) == 0


def test_an_order_freqtrade_knows_is_settled_without_asking_the_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, exchange, _, clock = execution(tmp_path, monkeypatch, known={"ex-1"})
    placed_leg_a(live, clock, IntentStatus.VERIFIED)
    assert live.next_attempt(SPREAD, LEG_A, str(Purpose.ENTRY)) == 1
    assert exchange.asked == 0


def test_the_ghost_check_settles_an_order_found_cancelled_unfilled_as_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, exchange, reviews, clock = execution(tmp_path, monkeypatch)
    first = placed_leg_a(live, clock, IntentStatus.ACKNOWLEDGED)
    exchange.by_client_id[first] = order(first, "expired", 0.0)
    clock.ms += live_execution.GHOST_CHECK_AFTER_MS
    live.check_ghosts()
    record = live.journal.get(first)
    assert record is not None and record.status is IntentStatus.CANCELLED
    assert reviews == []
    asked = exchange.asked
    assert live.next_attempt(SPREAD, LEG_A, str(Purpose.ENTRY)) == 1
    assert exchange.asked == asked  # settled already: no second question


def test_a_fill_unknown_to_the_database_raises_the_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, exchange, reviews, clock = execution(tmp_path, monkeypatch)
    first = placed_leg_a(live, clock, IntentStatus.ACKNOWLEDGED)
    exchange.by_client_id[first] = order(first, "closed", 10.0)
    clock.ms += live_execution.GHOST_CHECK_AFTER_MS
    live.check_ghosts()
    assert reviews == ["order filled on the exchange but unknown to the bot's database"]


def test_a_leg_sent_with_its_partner_filled_before_its_own_turn_is_left_to_be_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, exchange, reviews, clock = execution(tmp_path, monkeypatch)
    companion = live.companion(tag=SOL_ADA_B, symbol=SOL_ADA_B.leg_b, side="buy",
                               qty_base=1_800.0, order_type="market", price=None,
                               leverage=2.0)  # fmt: skip
    cid = companion.record.client_order_id
    live.journal.record(companion.record)
    live.journal.update(cid, status=IntentStatus.ACKNOWLEDGED, now_ms=clock.ms,
                        exchange_order_id="ex-2")  # fmt: skip
    exchange.by_client_id[cid] = {"id": "ex-2", "status": "closed", "filled": 1_800.0}
    clock.ms += live_execution.GHOST_CHECK_AFTER_MS
    live.check_ghosts()
    assert reviews == []  # the left-behind path records it, or raises the review itself
    clock.ms += 10_000
    [(tag, record)] = live.companions_left_behind(10_000)
    assert tag == SOL_ADA_B and record.client_order_id == cid


@pytest.mark.parametrize(
    ("status", "filled", "dead"),
    [("canceled", 0.0, True), ("expired", 0, True), ("rejected", None, True),
     ("canceled", 1.0, False), ("open", 0.0, False), ("closed", 5.0, False), (None, 0.0, False)],
)  # fmt: skip
def test_only_an_order_that_can_never_fill_and_filled_nothing_is_dead(
    status: str | None, filled: float | None, dead: bool
) -> None:
    assert dead_unfilled({"status": status, "filled": filled}) is dead

"""A leg placed with its partner in one request is always recorded, even when its own
FreqTrade turn never comes.

Protects against what a live-bot test caught: both legs of a spread left in one batch, then
the second leg's pair was locked before FreqTrade's own turn for it (a person's lock, the
review flag, an entry check refusing it). The order rested on the exchange unknown to
FreqTrade, filled later, and the exchange held 3,600 ADA where the bot knew of 1,800.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import statarb.live.execution as live_execution
from statarb.execution.journal import IntentStatus
from statarb.live.execution import LiveExecution, exchange_execution
from statarb.spread.client_ids import Purpose
from support.spread_legs import SOL_ADA_B, Clock, NoOrdersApi

TAG_B = SOL_ADA_B
GRACE_MS = 10_000


def placed_companion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known: set[str]
) -> tuple[LiveExecution, Clock]:
    clock = Clock()
    monkeypatch.setattr(live_execution, "now_ms", clock)
    live = exchange_execution(
        NoOrdersApi(),
        journal_path=tmp_path / "intents.json",
        notify=lambda line: None,
        raise_review=lambda message, spread: None,
        order_known=lambda order_id: order_id in known,
    )
    companion = live.companion(tag=TAG_B, symbol=TAG_B.leg_b, side="buy", qty_base=1_800.0,
                               order_type="limit", price=0.5, leverage=2.0)  # fmt: skip
    # What the guard's batch does: journal first, then the exchange's answer.
    live.journal.record(companion.record)
    live.journal.update(companion.record.client_order_id, status=IntentStatus.ACKNOWLEDGED,
                        now_ms=clock.ms, exchange_order_id="ex-2")  # fmt: skip
    return live, clock


def test_a_placed_companion_whose_own_turn_never_came_is_handed_over_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, clock = placed_companion(tmp_path, monkeypatch, known=set())
    assert live.companions_left_behind(GRACE_MS) == []  # its own turn may still come
    clock.ms += GRACE_MS
    [(tag, record)] = live.companions_left_behind(GRACE_MS)
    assert tag == TAG_B and record.exchange_order_id == "ex-2" and record.qty_base == 1_800.0
    companion = live.companion_of(TAG_B)
    assert companion is not None and companion.price == 0.5 and companion.leverage == 2.0
    # Recording it goes through the leg's own announce: same client id, nothing sent again.
    again = live.announce(tag=TAG_B, symbol=TAG_B.leg_b, side="buy", reduce_only=False,
                          purpose=Purpose.ENTRY, qty_base=1_800.0)  # fmt: skip
    assert again.client_order_id == record.client_order_id
    assert live.companions_left_behind(GRACE_MS) == []


def test_a_companion_freqtrade_already_recorded_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, clock = placed_companion(tmp_path, monkeypatch, known={"ex-2"})
    clock.ms += GRACE_MS
    assert live.companions_left_behind(GRACE_MS) == []


def test_a_refused_companion_is_not_recorded_as_a_trade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, clock = placed_companion(tmp_path, monkeypatch, known=set())
    record = live.companion_of(TAG_B)
    assert record is not None
    live.journal.update(record.record.client_order_id, status=IntentStatus.REJECTED,
                        now_ms=clock.ms)  # fmt: skip
    clock.ms += GRACE_MS
    assert live.companions_left_behind(GRACE_MS) == []

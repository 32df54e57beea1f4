"""Exit judging and entry-block reasons of the FreqTrade adapter (statarb.ft.exits, .blocks),
without FreqTrade: the host strategy is a plain object with what the parts read."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from statarb.ft.blocks import retest_failure, review_block, stop_lock_reason
from statarb.ft.exits import ExitDesk
from statarb.pairs_config import parse_pairs_config
from statarb.spread.book import SpreadBook
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag
from statarb.spread.signals import ExitReason, Thresholds

SOL, ADA = "SOL/USDT:USDT", "ADA/USDT:USDT"
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def rescanned_book(exit_z: float) -> SpreadBook:
    entry = {
        "pair_id": "SOL_ADA",
        "leg_a": SOL,
        "leg_b": ADA,
        "hedge_ratio": 180.0,
        "cointegration_stat": -4.0,
        "pvalue": 0.001,
        "entry_size_leg_a": 1.0,
        "entry_size_leg_b": 180.0,
        "exit_z": exit_z,
        "last_updated": "2026-01-05T00:00:00Z",
    }
    return SpreadBook.from_config(parse_pairs_config({"pairs": [entry]}))


def host(book: SpreadBook) -> Any:
    """The strategy as the exit desk sees it: defaults 2.0 / 0.5 / 4.0, no live execution."""

    def thresholds_for(entry: Any) -> Thresholds:
        exit_z, entry_z, stop_z = entry.thresholds_or(0.5, 2.0, 4.0)
        return Thresholds(entry_z=entry_z, exit_z=exit_z, stop_z=stop_z)

    return SimpleNamespace(
        book=book,
        settings=SimpleNamespace(require_turn=False, stop_cooldown_candles=5),
        live=None,
        tf_minutes=1,
        default_thresholds=lambda: Thresholds(entry_z=2.0, exit_z=0.5, stop_z=4.0),
        thresholds_for=thresholds_for,
    )


def leg_a_tag(**thresholds: float) -> LegTag:
    return LegTag(
        pair_id="SOL_ADA",
        opened_at=T0,
        leg=Leg.A,
        direction=1,
        hedge_ratio=180.0,
        leg_a=SOL,
        leg_b=ADA,
        window=30,
        planned_qty=2.0,
        **thresholds,  # type: ignore[arg-type]
    )


def test_a_twin_opened_by_the_hedging_plan_is_judged_with_its_partners_thresholds() -> None:
    """Protects against the two legs of one spread leaving at different moments: a re-scan
    tightened the pair's exit band to 0.1 after the spread was entered under 0.5; the twin the
    hedging plan opened later must still close when its partner does (z -0.3 is inside 0.5),
    not hold on alone as a naked leg under the new book's 0.1."""
    desk = ExitDesk(host(rescanned_book(exit_z=0.1)))
    entered = leg_a_tag(entry_z=2.0, exit_z=0.5, stop_z=4.0)
    twin = entered.twin(360.0)
    assert twin.leg is Leg.B
    for tag in (entered, twin):
        assert desk.judge(tag, -0.3, -0.4, T0) == str(ExitReason.REVERTED)


def test_a_tag_older_than_recorded_thresholds_is_judged_by_the_books() -> None:
    """Protects against a leg opened before tags recorded thresholds never being judged."""
    desk = ExitDesk(host(rescanned_book(exit_z=0.1)))
    assert desk.judge(leg_a_tag(), -0.3, -0.4, T0) is None  # outside the book's 0.1 band
    assert desk.judge(leg_a_tag(), -0.05, -0.4, T0) == str(ExitReason.REVERTED)


def test_block_reasons_say_what_stops_entries() -> None:
    """Protects against a blocked pair logged without a reason a person can act on."""
    assert review_block(False) is None
    assert "manual review" in str(review_block(True))
    no_verdict = retest_failure({"coint_pvalue": math.nan}, 500, 0.05)
    assert "no verdict yet" in no_verdict and "500 candles" in no_verdict
    failed = retest_failure({"coint_pvalue": 0.2}, 500, 0.05)
    assert "p=0.200 > 0.05" in failed
    assert stop_lock_reason("SOL_ADA") == "z stop on SOL_ADA"

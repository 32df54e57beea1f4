"""Client order ids: one intent, one id — across processes and restarts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statarb.spread.client_ids import Leg, OrderIntent, Purpose, parse_client_order_id

OPENED = datetime(2026, 2, 1, 20, 0, tzinfo=UTC)


def test_the_same_intent_gives_the_same_id_so_a_resend_after_a_crash_is_recognised() -> None:
    first = OrderIntent("PAIR_001", OPENED, Leg.A, Purpose.ENTRY)
    again = OrderIntent("PAIR_001", OPENED, Leg.A, Purpose.ENTRY)
    assert first.client_order_id == again.client_order_id


def test_every_part_of_the_intent_changes_the_id() -> None:
    base = OrderIntent("PAIR_001", OPENED, Leg.A, Purpose.ENTRY)
    variants = [
        OrderIntent("PAIR_002", OPENED, Leg.A, Purpose.ENTRY),
        OrderIntent("PAIR_001", OPENED + timedelta(seconds=1), Leg.A, Purpose.ENTRY),
        OrderIntent("PAIR_001", OPENED, Leg.B, Purpose.ENTRY),
        OrderIntent("PAIR_001", OPENED, Leg.A, Purpose.EXIT),
        base.next_attempt(),
    ]
    ids = {v.client_order_id for v in variants} | {base.client_order_id}
    assert len(ids) == len(variants) + 1


@given(
    pair=st.from_regex(r"[A-Za-z0-9_]{1,32}", fullmatch=True),
    seconds=st.integers(0, 4_000_000_000),
    leg=st.sampled_from(list(Leg)),
    purpose=st.sampled_from(list(Purpose)),
    attempt=st.integers(0, 99),
)
def test_ids_are_valid_for_binance_and_parse_back(
    pair: str, seconds: int, leg: Leg, purpose: Purpose, attempt: int
) -> None:
    opened = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    intent = OrderIntent(pair, opened, leg, purpose, attempt)
    cid = intent.client_order_id
    assert re.fullmatch(r"[\.A-Z\:/a-z0-9_-]{1,36}", cid)
    parsed = parse_client_order_id(cid)
    assert parsed is not None
    assert parsed["spread_opened_at"] == opened
    assert (parsed["leg"], parsed["purpose"], parsed["attempt"]) == (leg, purpose, attempt)


def test_foreign_ids_are_not_mistaken_for_ours() -> None:
    assert parse_client_order_id("x-xcKtGhcu1b2c3d4e5f6g7h8i9") is None
    assert parse_client_order_id("") is None


def test_naive_times_are_refused_because_local_time_zones_broke_the_original() -> None:
    with pytest.raises(ValueError, match="UTC"):
        OrderIntent("PAIR_001", datetime(2026, 2, 1, 20, 0), Leg.A, Purpose.ENTRY)  # noqa: DTZ001

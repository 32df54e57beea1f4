"""The chaos soak's schedule: replayable from its seed, and it holds what the soak promises."""

from __future__ import annotations

from collections import Counter

from statarb.exchange.faults import KINDS, parse_fault
from statarb.soak.schedule import KILL_MOMENTS, ORDER, PairLegs, build_schedule

PAIRS = (
    PairLegs("SOL_ADA", "SOL/USDT:USDT", "ADA/USDT:USDT", 180.0),
    PairLegs("ETH_XRP", "ETH/USDT:USDT", "XRP/USDT:USDT", 1400.0),
)


def schedule(seed: int, minutes: float = 60, kills: int = 20) -> list:
    return build_schedule(seed=seed, minutes=minutes, kills=kills, pairs=PAIRS)


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert [e.to_json() for e in schedule(7)] == [e.to_json() for e in schedule(7)]
    assert [e.to_json() for e in schedule(7)] != [e.to_json() for e in schedule(8)]


def test_an_hour_holds_the_kills_asked_for_and_at_least_200_faults_in_time_order() -> None:
    events = schedule(3)
    kinds = Counter(e.kind for e in events)
    assert kinds["kill"] == 20
    assert sum(n for kind, n in kinds.items() if kind != "kill") >= 200
    assert [e.at_s for e in events] == sorted(e.at_s for e in events)
    assert {e.params["moment"] for e in events if e.kind == "kill"} == set(KILL_MOMENTS)
    assert {e.params["signal"] for e in events if e.kind == "kill"} == {"SIGKILL", "SIGTERM"}


def test_every_exchange_fault_is_one_the_admin_api_accepts() -> None:
    faults = [e for e in schedule(11) if e.kind in KINDS]
    assert {e.kind for e in faults} == set(KINDS)
    for event in faults:
        parse_fault({"kind": event.kind, **event.params}, 1)  # raises on a bad scope


def test_the_last_half_minute_is_quiet_so_the_end_state_can_settle() -> None:
    assert max(e.at_s for e in schedule(5, minutes=3, kills=2)) <= 150


def test_a_storm_on_order_placement_alone_is_a_few_requests_not_an_outage() -> None:
    storms = [e for e in schedule(13) if e.kind == "http_error" and e.params.get("endpoint")]
    on_orders = [e for e in storms if e.params["endpoint"] == ORDER]
    assert on_orders and all(e.params["count"] <= 3 for e in on_orders)

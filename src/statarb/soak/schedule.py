"""The soak's seeded schedule: what goes wrong, and when.

One `random.Random(seed)` draws every event up front, so a run can be replayed exactly (same
seed, same minutes, same kills: the same list) and a violation's seed names its schedule.
Events are plain data (kind + JSON-able params); the adapter carries them out.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ORDER = "orders"  # one order or a batch carrying one (statarb.exchange.faults.ANY_ORDER)
# Endpoints a storm or a garbage body may hit besides order placement: what the bot reads to
# know its positions, orders and prices.
READ_ENDPOINTS = (
    "GET /fapi/v2/positionRisk",
    "GET /fapi/v1/openOrders",
    "GET /fapi/v1/order",
    "GET /fapi/v1/ticker/bookTicker",
    "GET /fapi/v2/balance",
)
STORM_STATUSES = (429, 418, 503, 500)
REJECT_CODES = (-2019, -2010, -1001, -4131)
FAULT_WEIGHTS = {
    "partial_fill": 3,
    "reject": 2,
    "drop_response": 2,
    "http_error": 3,
    "latency": 2,
    "garbage": 1,
    "exchange_cancel": 2,
    "price_shock": 4,
}
# Kill moments: "any" is wherever the schedule falls; the others are placed by the adapter
# with faults (a held leg B request, a partial fill then a held re-send, a held exit).
KILL_MOMENTS = ("any", "between_legs", "mid_hedge", "mid_exit")
BANDS = ("entry", "exit", "stop")


@dataclass(frozen=True)
class PairLegs:
    """A planted pair as the soak steers it: its legs and hedge ratio."""

    pair_id: str
    leg_a: str
    leg_b: str
    hedge_ratio: float

    @property
    def legs(self) -> tuple[str, str]:
        return (self.leg_a, self.leg_b)


@dataclass(frozen=True)
class SoakEvent:
    """One scheduled event: `kind` is a fault kind of the exchange's admin API, or
    "exchange_cancel", "price_shock", "kill"; `params` says how (JSON-able)."""

    at_s: float
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"at_s": round(self.at_s, 3), "kind": self.kind, "params": dict(self.params)}


@dataclass(frozen=True)
class Bands:
    """The z levels a price shock aims at: past entry, back inside exit, past the stop."""

    entry_z: float = 2.6
    exit_z: float = 0.0
    stop_z: float = 5.0

    def target(self, band: str, sign: int) -> float:
        level = {"entry": self.entry_z, "exit": self.exit_z, "stop": self.stop_z}[band]
        return sign * level


def build_schedule(
    *,
    seed: int,
    minutes: float,
    kills: int,
    pairs: Sequence[PairLegs],
    faults_per_minute: float = 4.0,
    warmup_s: float = 20.0,
    cooldown_s: float = 30.0,
    bands: Bands = Bands(),
) -> list[SoakEvent]:
    """Every event of a soak of `minutes`, in time order; the last `cooldown_s` are quiet so
    the end state settles before the final checks."""
    rng = random.Random(seed)
    start, end = warmup_s, max(warmup_s + 1.0, minutes * 60.0 - cooldown_s)
    events: list[SoakEvent] = []
    count = max(1, round(faults_per_minute * minutes))
    kinds = list(FAULT_WEIGHTS)
    weights = [FAULT_WEIGHTS[k] for k in kinds]
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        events.append(SoakEvent(rng.uniform(start, end), kind, _params(rng, kind, pairs, bands)))
    # Kills evenly spread (each one costs a recovery and a restart), jittered inside its slot.
    slot = (end - start) / max(kills, 1)
    for index in range(kills):
        at = start + slot * index + rng.uniform(0.2, 0.8) * slot
        moment = rng.choice(KILL_MOMENTS)
        events.append(
            SoakEvent(
                at,
                "kill",
                {
                    "signal": rng.choices(("SIGKILL", "SIGTERM"), (7, 3))[0],
                    "moment": moment,
                    "pair_id": rng.choice(pairs).pair_id,
                    "sign": rng.choice((-1, 1)),
                    "entry_z": bands.entry_z,
                    "exit_z": bands.exit_z,
                },
            )
        )
    return sorted(events, key=lambda e: e.at_s)


def _params(
    rng: random.Random, kind: str, pairs: Sequence[PairLegs], bands: Bands
) -> dict[str, Any]:
    pair = rng.choice(pairs)
    symbol = rng.choice(pair.legs)
    if kind == "price_shock":
        band = rng.choice(BANDS)
        return {"pair_id": pair.pair_id, "band": band, "z": bands.target(band, rng.choice((-1, 1)))}
    if kind == "exchange_cancel":
        return {"symbol": symbol}
    if kind == "partial_fill":
        return {"symbol": symbol, "endpoint": ORDER, "ratio": round(rng.uniform(0.2, 0.8), 2)}
    if kind == "reject":
        return {"symbol": symbol, "endpoint": ORDER, "code": rng.choice(REJECT_CODES)}
    if kind == "drop_response":
        if rng.random() < 0.5:
            return {"symbol": symbol, "endpoint": ORDER, "mode": "reset"}
        return {
            "symbol": symbol,
            "endpoint": ORDER,
            "mode": "timeout",
            "hold_ms": rng.randint(11_000, 20_000),
        }
    if kind == "http_error":
        status = rng.choice(STORM_STATUSES)
        scope: dict[str, Any] = {"status": status, "count": rng.randint(3, 12)}
        if status == 503 and rng.random() < 0.3:
            return {**scope, "endpoint": ORDER, "symbol": symbol, "after": True, "count": 1}
        endpoint = rng.choice((ORDER, *READ_ENDPOINTS, None))
        if endpoint == ORDER:
            # Counted in requests, a storm on order placement alone lasts as long as the bot
            # takes to send that many orders (minutes on a quiet market: an outage, not a
            # storm); a storm on reads or on everything passes in seconds.
            scope["count"] = rng.randint(1, 3)
        return {**scope, **({"endpoint": endpoint} if endpoint else {})}
    if kind == "latency":
        endpoint = rng.choice((ORDER, *READ_ENDPOINTS))
        return {
            "endpoint": endpoint,
            "latency_ms": rng.randint(300, 6_000),
            "count": rng.randint(1, 5),
        }
    if kind == "garbage":
        endpoint = rng.choice((ORDER, *READ_ENDPOINTS))
        return {"endpoint": endpoint, "count": rng.randint(1, 3)}
    raise ValueError(f"no parameters for fault kind {kind!r}")

"""Dynamic hedging: given what each leg really holds, the next order that keeps the spread neutral.

Legs do not fill as one. The rules (docs/design.md §2.4, issue 5), decided from CONFIRMED fills:

1. An order still working on either leg: wait for it.
2. A leg without its twin (the twin was refused, failed or never sent): open the twin at
   once, in the hedge ratio of what the lone leg holds, retrying every `retry_wait` up to
   `max_retries` times; then close the lone leg (FLATTEN) — a naked leveraged leg is exactly
   the risk the strategy exists to avoid — and ask for a manual review.
   A twin that was open and has been CLOSED is not missing: the spread is on its way out
   (e.g. a bot killed between the two exits). The lone leg follows it (its exit rule closes
   it); opening a new twin would re-enter a spread that is being closed.
3. The legs out of ratio (e.g. A filled 70 %, B 100 %): bring the leg that is ahead DOWN to
   match at once (reduce-only), so the spread is hedged again without waiting for a fill.
   If the reduction keeps failing (`max_retries`), close both legs and ask for review.
4. Hedged but short of the planned size: after `retry_wait`, re-order the missing part of both
   legs together, in the ratio, up to `max_retries` rounds. When the rounds run out (or the
   missing part is below the exchange's minimum order), keep the smaller hedged spread.

Pure: quantities in base coins, times in epoch milliseconds; no exchange, no FreqTrade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from statarb.spread.client_ids import Leg

MAX_RETRIES = 5  # docs/design.md §2.4, §2.6: at most 5 retries of an order, then manual review
RETRY_WAIT_MS = 2_000  # docs/design.md §2.4: wait 2 s for a fill before the next hedging order


class HedgeKind(StrEnum):
    WAIT = "wait"
    HEDGED = "hedged"
    HEDGED_REDUCED = "hedged_reduced"  # hedged, smaller than planned, no more top-ups
    REDUCE = "reduce"  # reduce-only order on `leg`
    TOP_UP = "top_up"  # add to both legs (qty_a, qty_b)
    OPEN_TWIN = "open_twin"  # open the missing `leg`
    FLATTEN = "flatten"  # close every leg that is open; manual review
    FOLLOW_EXIT = "follow_exit"  # the twin was closed: the lone leg exits too, no new twin


@dataclass(frozen=True)
class LegState:
    qty_base: float  # confirmed filled quantity held; 0 when the leg has no trade
    has_open_order: bool
    qty_step: float
    price: float
    min_notional_usdt: float = 0.0

    @property
    def exists(self) -> bool:
        return self.qty_base > 0


@dataclass(frozen=True)
class HedgeInputs:
    hedge_ratio: float
    planned_qty_a: float
    planned_qty_b: float
    leg_a: LegState
    leg_b: LegState
    twin_retries: int  # re-sends of the missing leg's entry so far (the first send excluded)
    twin_attempted: bool  # the missing leg's entry was sent at least once
    reduce_attempts: int
    top_up_rounds: int
    last_action_ms: int | None  # when the last order of this spread was sent
    now_ms: int
    twin_closed: bool = False  # the missing leg's trade was open and has been closed


@dataclass(frozen=True)
class HedgeAction:
    kind: HedgeKind
    reason: str
    leg: Leg | None = None
    qty_a: float = 0.0
    qty_b: float = 0.0

    def qty_for(self, leg: Leg) -> float:
        return self.qty_a if leg is Leg.A else self.qty_b


def hedge_error_qty_b(hedge_ratio: float, qty_a: float, qty_b: float) -> float:
    """Leg B held beyond (+) or short of (−) the hedge ratio, in B's base coin."""
    return qty_b - hedge_ratio * qty_a


def ratio_tolerance_b(
    hedge_ratio: float, qty_a: float, qty_step_b: float, tolerance: float
) -> float:
    """How far leg B may sit off β·A and still count as hedged: `tolerance` of it, at least
    one lot of B."""
    return max(qty_step_b, tolerance * hedge_ratio * qty_a)


def plan_hedge(
    inputs: HedgeInputs,
    *,
    tolerance: float = 0.01,
    retry_wait_ms: int = RETRY_WAIT_MS,
    max_retries: int = MAX_RETRIES,
) -> HedgeAction:
    a, b, beta = inputs.leg_a, inputs.leg_b, inputs.hedge_ratio
    if a.has_open_order or b.has_open_order:
        return HedgeAction(HedgeKind.WAIT, "an order is still working")
    waited = inputs.last_action_ms is None or inputs.now_ms - inputs.last_action_ms >= retry_wait_ms
    if not a.exists and not b.exists:
        return HedgeAction(HedgeKind.HEDGED, "no position")
    if a.exists != b.exists:
        return _lone_leg(inputs, waited, max_retries)

    error_b = hedge_error_qty_b(beta, a.qty_base, b.qty_base)
    if abs(error_b) > ratio_tolerance_b(beta, a.qty_base, b.qty_step, tolerance):
        if inputs.reduce_attempts >= max_retries:
            return HedgeAction(
                HedgeKind.FLATTEN,
                f"legs still out of ratio after {inputs.reduce_attempts} reductions "
                f"(B off by {error_b:+.6g})",
            )
        if error_b > 0:  # B is ahead: bring it down to β·A
            qty = _floor_step(error_b, b.qty_step)
            return HedgeAction(HedgeKind.REDUCE, f"B ahead by {error_b:.6g}", Leg.B, qty_b=qty)
        excess_a = a.qty_base - b.qty_base / beta
        qty = _floor_step(excess_a, a.qty_step)
        return HedgeAction(HedgeKind.REDUCE, f"A ahead by {excess_a:.6g}", Leg.A, qty_a=qty)

    missing_a = inputs.planned_qty_a - a.qty_base
    if missing_a < a.qty_step * 0.999:
        return HedgeAction(HedgeKind.HEDGED, "legs in ratio at the planned size")
    add_a = _floor_step(missing_a, a.qty_step)
    add_b = max(0.0, _round_step(beta * (a.qty_base + add_a), b.qty_step) - b.qty_base)
    too_small = add_a * a.price < a.min_notional_usdt or (0 < add_b * b.price < b.min_notional_usdt)
    if inputs.top_up_rounds >= max_retries or too_small:
        why = "below the exchange minimum" if too_small else f"{max_retries} top-ups done"
        return HedgeAction(
            HedgeKind.HEDGED_REDUCED,
            f"hedged at {a.qty_base:g} of {inputs.planned_qty_a:g} ({why})",
        )
    if not waited:
        return HedgeAction(HedgeKind.WAIT, "waiting before re-ordering the rest")
    return HedgeAction(
        HedgeKind.TOP_UP, f"re-order the missing {add_a:g} A / {add_b:g} B", qty_a=add_a,
        qty_b=add_b,
    )  # fmt: skip


def _lone_leg(inputs: HedgeInputs, waited: bool, max_retries: int) -> HedgeAction:
    a, b, beta = inputs.leg_a, inputs.leg_b, inputs.hedge_ratio
    missing = Leg.B if a.exists else Leg.A
    if inputs.twin_closed:
        return HedgeAction(
            HedgeKind.FOLLOW_EXIT,
            f"leg {missing} was closed: the spread is exiting, the lone leg follows it out",
        )
    if inputs.twin_retries >= max_retries:
        return HedgeAction(
            HedgeKind.FLATTEN,
            f"leg {missing} could not be opened after {inputs.twin_retries} retries: "
            "closing the lone leg",
        )
    # The first try of the twin is not a retry: no reason to wait (a lone leg is naked).
    if inputs.twin_attempted and not waited:
        return HedgeAction(HedgeKind.WAIT, f"leg {missing} missing: waiting to retry")
    if missing is Leg.B:
        qty = _round_step(beta * a.qty_base, b.qty_step)
        return HedgeAction(HedgeKind.OPEN_TWIN, "open missing leg B", Leg.B, qty_b=qty)
    qty = _round_step(b.qty_base / beta, a.qty_step)
    return HedgeAction(HedgeKind.OPEN_TWIN, "open missing leg A", Leg.A, qty_a=qty)


def hedging_budget_ms(
    maker_timeout_s: float, *, max_retries: int = MAX_RETRIES, retry_wait_ms: int = RETRY_WAIT_MS
) -> int:
    """How long a spread may be unhedged before a person must know (docs/design.md, "The
    hedging budget"): a maker leg rests up to its timeout, then every retry waits its turn."""
    return int(max_retries * retry_wait_ms + maker_timeout_s * 1000)


def legs_hedged(
    hedge_ratio: float, qty_a: float, qty_b: float, qty_step_b: float, tolerance: float = 0.01
) -> bool:
    """Both legs flat, or both held in the hedge ratio (the planner's own tolerance)."""
    if qty_a <= 0 and qty_b <= 0:
        return True
    if qty_a <= 0 or qty_b <= 0:
        return False
    error_b = hedge_error_qty_b(hedge_ratio, qty_a, qty_b)
    return abs(error_b) <= ratio_tolerance_b(hedge_ratio, qty_a, qty_step_b, tolerance)


def unhedged_for_ms(
    *, hedged: bool, first_order_ms: int, last_hedged_ms: int | None, now_ms: int
) -> int | None:
    """How long a spread has been unhedged; None while it is hedged.

    Counted from the last moment it is known to have been hedged: the last check that saw it
    hedged, or else its first leg's order (no leg is alone before its order was sent). Never
    later than the truth, so a person is told no later than the budget promises.
    """
    if hedged:
        return None
    since = max(first_order_ms, last_hedged_ms or 0)
    return max(0, now_ms - since)


def _floor_step(qty: float, step: float) -> float:
    steps = max(1, math.floor(qty / step + 1e-9))
    return round(steps * step, 12)


def _round_step(qty: float, step: float) -> float:
    return round(round(qty / step) * step, 12)

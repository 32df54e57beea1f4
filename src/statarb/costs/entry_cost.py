"""Does a spread's expected reversion pay for its round trip? Decided before any order is sent.

Everything is a return on the spread's GROSS notional (|leg A| + |leg B|), per unit of the
spread (1 coin of A against β coins of B), so the answer does not depend on the account size:

- expected reversion: the spread moves from its z back to the exit band. In USDT per unit that
  is `σ × (|z| − exit_z)`, σ being the spread's standard deviation over its z window (the very
  σ that turns USDT into z). With the FreqAI gate on, the model's predicted reversion (in z
  units, over its label horizon) replaces `|z| − exit_z`.
- round-trip cost: four fills (both legs in, both legs out) at the fee rate, i.e. 2 × fee on
  gross notional; expected slippage per fill likewise; expected funding over the expected
  holding time (long pays a positive rate, short receives it; signed, positive = paid).
- the holding time: an Ornstein-Uhlenbeck spread halves its distance to the mean every
  half-life, so it needs `half_life × log2(|z| / exit_z)` candles to reach the exit band.

A spread opens only when `expected ≥ margin × cost`. The margin (≥ 1) is the safety factor for
estimates that are themselves noisy; it is hyperoptable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FUNDING_INTERVAL_HOURS = 8.0  # Binance USDT-M settles funding every 8 h
# A zero exit band would make the expected holding time infinite; the holding time is
# estimated to this |z| at least (funding over it is all that depends on it).
MIN_TARGET_Z = 0.25
DEFAULT_COST_MARGIN = 1.5
DEFAULT_SLIPPAGE_BPS = 1.0


class CostInputError(ValueError):
    """A cost parameter is out of range; the message names it."""


@dataclass(frozen=True)
class CostParams:
    """How costs are estimated: the fee rate per fill, expected slippage, the margin."""

    fee_rate: float  # per fill, as a fraction of the fill's notional (0.0005 = 5 bps)
    slippage_bps: float = DEFAULT_SLIPPAGE_BPS  # expected per fill, bps of the fill's notional
    margin: float = DEFAULT_COST_MARGIN  # expected reversion must be >= margin × cost

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fee_rate) and 0 <= self.fee_rate < 0.01):
            raise CostInputError(f"fee_rate {self.fee_rate!r} must be in [0, 0.01) per fill")
        if not (math.isfinite(self.slippage_bps) and 0 <= self.slippage_bps <= 100):
            raise CostInputError(f"slippage_bps {self.slippage_bps!r} must be in [0, 100]")
        if not (math.isfinite(self.margin) and 0 < self.margin <= 100):
            raise CostInputError(f"margin {self.margin!r} must be in (0, 100]")


@dataclass(frozen=True)
class EntryCostInputs:
    """One spread at its signal candle, in plain numbers."""

    z: float
    exit_z: float
    direction: int  # +1 long spread (long A, short B), -1 short spread
    hedge_ratio: float
    price_a: float
    price_b: float
    spread_sd_usdt: float  # σ of A − β·B (USDT per coin of A) over the z window
    half_life_candles: float
    timeframe_minutes: int
    funding_rate_a: float = math.nan  # latest per-interval rate; NaN = unknown (0 assumed)
    funding_rate_b: float = math.nan
    predicted_reversion_z: float | None = None  # the model's (z units); None = volatility


@dataclass(frozen=True)
class CostView:
    """What the cost check needs beyond the entry decision's own z, prices and model.

    `problem` names an input the adapter could not get (e.g. no fee rate): the entry is then
    refused with it, never let through unchecked.
    """

    params: CostParams | None
    spread_sd_usdt: float
    half_life_candles: float
    timeframe_minutes: int
    funding_rate_a: float = math.nan
    funding_rate_b: float = math.nan
    problem: str | None = None


@dataclass(frozen=True)
class EntryCostVerdict:
    ok: bool
    reason: str
    source: Literal["volatility", "model", "none"]
    expected_return: float = math.nan  # on gross notional
    fee_return: float = math.nan
    slippage_return: float = math.nan
    funding_return: float = math.nan  # signed, positive = paid
    holding_hours: float = math.nan

    @property
    def cost_return(self) -> float:
        return self.fee_return + self.slippage_return + self.funding_return


def expected_holding_candles(z: float, exit_z: float, half_life_candles: float) -> float:
    """Candles an OU spread needs to decay from |z| to the exit band (at least one)."""
    target = max(exit_z, MIN_TARGET_Z)
    if abs(z) <= target:
        return 1.0
    return max(1.0, half_life_candles * math.log2(abs(z) / target))


def spread_sd_usdt(close_a: npt.ArrayLike, close_b: npt.ArrayLike, hedge_ratio: float) -> float:
    """σ (ddof=1) of `A − β·B` over the given closes; NaN when fewer than 2 finite points."""
    a = np.asarray(close_a, dtype=float)
    b = np.asarray(close_b, dtype=float)
    if a.shape != b.shape:
        raise CostInputError(f"leg closes differ in length: {a.shape} vs {b.shape}")
    spread = a - hedge_ratio * b
    spread = spread[np.isfinite(spread)]
    if spread.size < 2:
        return math.nan
    return float(spread.std(ddof=1))


def judge_entry_cost(inputs: EntryCostInputs, params: CostParams) -> EntryCostVerdict:
    """Approve the spread when its expected reversion pays `margin ×` its round-trip cost."""
    x = inputs
    if x.direction not in (1, -1):
        raise CostInputError(f"direction must be +1 or -1, got {x.direction}")
    for name, value in (("price_a", x.price_a), ("price_b", x.price_b),
                        ("hedge_ratio", x.hedge_ratio)):  # fmt: skip
        if not (math.isfinite(value) and value > 0):
            return EntryCostVerdict(False, f"cost check impossible: {name}={value!r}", "none")
    if not (math.isfinite(x.spread_sd_usdt) and x.spread_sd_usdt > 0):
        return EntryCostVerdict(
            False, "cost check impossible: spread volatility unavailable (flat or missing)", "none"
        )
    if not (math.isfinite(x.half_life_candles) and x.half_life_candles > 0):
        return EntryCostVerdict(
            False, f"cost check impossible: half-life {x.half_life_candles!r} candles", "none"
        )
    if x.predicted_reversion_z is not None:
        if not math.isfinite(x.predicted_reversion_z):
            return EntryCostVerdict(False, "cost check impossible: no model prediction", "model")
        source: Literal["volatility", "model"] = "model"
        reversion_z = x.predicted_reversion_z
    else:
        source = "volatility"
        reversion_z = abs(x.z) - x.exit_z
    notional_a = x.price_a
    notional_b = x.hedge_ratio * x.price_b
    gross = notional_a + notional_b
    expected = x.spread_sd_usdt * reversion_z / gross
    fees = 2 * params.fee_rate  # 4 fills: (fee·nA + fee·nB) in, the same out, over gross
    slippage = 2 * params.slippage_bps / 1e4
    hold_candles = expected_holding_candles(x.z, x.exit_z, x.half_life_candles)
    hold_hours = hold_candles * x.timeframe_minutes / 60.0
    # One leg's rate without the other's would be half a hedge: both or neither.
    funding_known = math.isfinite(x.funding_rate_a) and math.isfinite(x.funding_rate_b)
    rate_a, rate_b = (x.funding_rate_a, x.funding_rate_b) if funding_known else (0.0, 0.0)
    # Long A / short B in a long spread: A pays its rate, B receives its rate.
    per_interval = x.direction * (rate_a * notional_a - rate_b * notional_b) / gross
    funding = per_interval * hold_hours / FUNDING_INTERVAL_HOURS
    cost = fees + slippage + funding
    ok = expected >= params.margin * cost
    detail = (
        f"fees {fees:.3%} = 4 fills at {params.fee_rate:.4%}, "
        f"funding {funding:+.4%} over ~{hold_hours:.1f} h"
        f"{'' if funding_known else ' (rates unknown, 0 assumed)'}, "
        f"slippage {slippage:.3%}; {source}"
    )
    relation = ">=" if ok else "<"
    reason = (
        f"expected reversion {expected:.3%} {relation} {params.margin:.2f} x round-trip cost "
        f"{cost:.3%} ({detail})"
    )
    return EntryCostVerdict(ok, reason, source, expected, fees, slippage, funding, hold_hours)

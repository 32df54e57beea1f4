"""Spread entry and exit rules on the z-score, and the model gate. Pure, vectorised where it pays.

Direction convention: `+1` is a LONG spread (long leg A, short leg B, opened when z is very
negative: A is cheap against B); `-1` is a SHORT spread (short A, long B, opened when z is very
positive). `direction * z` is then negative while the spread is stretched against us and rises
towards zero as it reverts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

LONG_SPREAD = 1
SHORT_SPREAD = -1


class ExitReason(StrEnum):
    REVERTED = "z_reverted"
    STOP = "z_stop"
    TWIN_MISSING = "twin_missing"
    TWIN_CLOSED = "twin_closed"  # a follower whose spread's own reason is unknown


def follower_exit_reason(spread_reason: str | None, twin_exit_reason: str | None) -> str:
    """The exit reason of a leg whose twin has already closed: the spread's, not its own.

    Both legs of a spread leave for one reason, so FreqTrade's reports (and the cost split per
    exit reason) group them: the reason this process decided or confirmed the spread's exit
    with; else the one its closed twin carries (after a restart, or a twin closed by hand or by
    the exchange); `twin_closed` only when neither is known. Which leg followed which is the
    log's business, not the reason's.
    """
    return spread_reason or twin_exit_reason or str(ExitReason.TWIN_CLOSED)


@dataclass(frozen=True)
class Thresholds:
    """Entry above `entry_z`, exit inside `exit_z`, stop at `stop_z` (all |z|, in std units)."""

    entry_z: float = 2.0
    exit_z: float = 0.5
    stop_z: float = 4.0

    def __post_init__(self) -> None:
        if not 0 <= self.exit_z < self.entry_z < self.stop_z:
            raise ValueError(
                "thresholds must satisfy 0 <= exit_z < entry_z < stop_z, got "
                f"{self.exit_z} / {self.entry_z} / {self.stop_z}"
            )


def entry_direction(z: npt.ArrayLike, thresholds: Thresholds) -> npt.NDArray[np.int8]:
    """+1 (long spread), -1 (short spread) or 0 per candle.

    A z already at or beyond the stop is not entered: the position would be stopped at once.
    NaN z (warm-up, missing candles) never enters.
    """
    z_arr = np.asarray(z, dtype=float)
    out = np.zeros(z_arr.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        out[(z_arr < -thresholds.entry_z) & (z_arr > -thresholds.stop_z)] = LONG_SPREAD
        out[(z_arr > thresholds.entry_z) & (z_arr < thresholds.stop_z)] = SHORT_SPREAD
    return out


def spread_reversion(direction: int, z_from: float, z_to: float) -> float:
    """How far (in z units) the spread moved in the position's favour: the model's target."""
    return direction * (z_to - z_from)


def exit_reason(
    *,
    direction: int,
    z_now: float,
    z_prev: float | None,
    thresholds: Thresholds,
    require_turn: bool = True,
) -> ExitReason | None:
    """Why an open spread should close now, or None to hold.

    - STOP when the spread has stretched further against the position to |z| >= stop_z.
    - REVERTED once z is back inside the exit band and its move towards (and through) zero has
      stalled ("turned"), or once it has overshot through the band to the other side, so a
      spread that keeps reverting is not cut short and one that overshoots is not held forever.
    A NaN z never triggers REVERTED (missing data is not a reversion) but cannot hide a STOP
    either: the caller treats a missing z as "cannot judge" and keeps the position managed.
    """
    if direction not in (LONG_SPREAD, SHORT_SPREAD):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    if not math.isfinite(z_now):
        return None
    signed = direction * z_now
    if signed <= -thresholds.stop_z:
        return ExitReason.STOP
    if signed < -thresholds.exit_z:
        return None
    if not require_turn or signed >= thresholds.exit_z:
        return ExitReason.REVERTED
    if z_prev is None or not math.isfinite(z_prev):
        return ExitReason.REVERTED
    turned = direction * (z_now - z_prev) <= 0
    return ExitReason.REVERTED if turned else None


@dataclass(frozen=True)
class ModelView:
    """FreqAI's answer for one candle: predicted reversion (z units) and its distribution."""

    predicted_reversion: float
    label_mean: float
    label_std: float
    do_predict: int

    @property
    def confidence(self) -> float:
        """Prediction in standard scores of the label distribution (0 when undefined)."""
        if not (math.isfinite(self.label_std) and self.label_std > 0):
            return 0.0
        return (self.predicted_reversion - self.label_mean) / self.label_std


def model_agrees(view: ModelView, *, min_reversion: float, min_confidence: float) -> bool:
    """True when the model expects the spread to revert, is confident, and is not an outlier.

    `do_predict == 1` is FreqAI's "inputs look like training data and the model is fresh";
    0 (outlier / no model) and 2 (expired model) never agree.
    """
    if view.do_predict != 1 or not math.isfinite(view.predicted_reversion):
        return False
    return view.predicted_reversion >= min_reversion and view.confidence >= min_confidence

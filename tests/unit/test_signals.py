"""Entry/exit rules on z: the spread is entered stretched, closed reverted, stopped when broken."""

from __future__ import annotations

import math

import numpy as np
import pytest

from statarb.spread.signals import (
    LONG_SPREAD,
    SHORT_SPREAD,
    ExitReason,
    ModelView,
    Thresholds,
    entry_direction,
    exit_reason,
    follower_exit_reason,
    model_agrees,
    spread_reversion,
)

T = Thresholds()


def test_entries_follow_the_spec_thresholds_and_never_enter_beyond_the_stop() -> None:
    z = [-4.5, -3.0, -2.01, -2.0, 0.0, 2.0, 2.5, 3.99, 4.0, math.nan]
    assert entry_direction(z, T).tolist() == [0, 1, 1, 0, 0, 0, -1, -1, 0, 0]


def test_entry_rule_is_not_fooled_by_operator_precedence() -> None:
    # docs/design.md §6.11: a mixed &/| entry rule fired on a quarter of all candles. On a
    # standard normal z the rule must fire on about P(2 < |z| < 4) = 4.55 % of candles.
    z = np.random.default_rng(7).standard_normal(200_000)
    fired = np.mean(entry_direction(z, T) != 0)
    assert 0.04 < fired < 0.051


def test_long_spread_stops_when_it_stretches_to_minus_four() -> None:
    assert (
        exit_reason(direction=LONG_SPREAD, z_now=-4.0, z_prev=-3.5, thresholds=T) is ExitReason.STOP
    )
    assert (
        exit_reason(direction=SHORT_SPREAD, z_now=4.2, z_prev=3.5, thresholds=T) is ExitReason.STOP
    )
    # A long spread at z=+4 is a large win, not a stop; it is closed by the overshoot rule.
    assert (
        exit_reason(direction=LONG_SPREAD, z_now=4.1, z_prev=0.2, thresholds=T)
        is ExitReason.REVERTED
    )


def test_reverted_spread_closes_when_inside_the_band_and_turning() -> None:
    # Still reverting towards zero inside the band: hold for the rest of the move.
    assert exit_reason(direction=LONG_SPREAD, z_now=-0.3, z_prev=-0.6, thresholds=T) is None
    # Turned: the favourable move stalled.
    assert (
        exit_reason(direction=LONG_SPREAD, z_now=-0.35, z_prev=-0.3, thresholds=T)
        is ExitReason.REVERTED
    )
    # Overshot through the band: close even while still moving.
    assert (
        exit_reason(direction=LONG_SPREAD, z_now=0.6, z_prev=0.1, thresholds=T)
        is ExitReason.REVERTED
    )
    # Outside the band: hold.
    assert exit_reason(direction=SHORT_SPREAD, z_now=1.2, z_prev=1.5, thresholds=T) is None
    # Without the turn rule the band alone closes.
    assert (
        exit_reason(
            direction=LONG_SPREAD, z_now=-0.3, z_prev=-0.6, thresholds=T, require_turn=False
        )
        is ExitReason.REVERTED
    )


def test_missing_z_is_never_taken_for_a_reversion() -> None:
    assert exit_reason(direction=LONG_SPREAD, z_now=math.nan, z_prev=-0.1, thresholds=T) is None


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="exit_z < entry_z < stop_z"):
        Thresholds(entry_z=2.0, exit_z=0.5, stop_z=1.5)


def test_reversion_is_measured_in_the_positions_favour() -> None:
    assert spread_reversion(LONG_SPREAD, -2.5, -1.0) == pytest.approx(1.5)
    assert spread_reversion(SHORT_SPREAD, 2.5, 3.0) == pytest.approx(-0.5)


def test_model_gate_requires_agreement_confidence_and_an_inlier() -> None:
    good = ModelView(predicted_reversion=0.8, label_mean=0.1, label_std=0.5, do_predict=1)
    assert good.confidence == pytest.approx(1.4)
    assert model_agrees(good, min_reversion=0.2, min_confidence=1.0)
    assert not model_agrees(good, min_reversion=1.0, min_confidence=0.0)
    assert not model_agrees(good, min_reversion=0.2, min_confidence=2.0)
    for do_predict in (0, 2, -1):
        outlier = ModelView(0.8, 0.1, 0.5, do_predict)
        assert not model_agrees(outlier, min_reversion=0.0, min_confidence=-10)
    nan = ModelView(math.nan, 0.1, 0.5, 1)
    assert not model_agrees(nan, min_reversion=-10, min_confidence=-10)


def test_a_leg_that_follows_its_closed_twin_leaves_under_the_spreads_reason() -> None:
    # Reports group trades by exit reason: a spread that reverted is two z_reverted legs, never
    # z_reverted + twin_closed (the follower's cost would be filed under another reason).
    assert follower_exit_reason("z_reverted", "z_reverted") == "z_reverted"
    # The reason this process decided the spread's exit with wins over what the twin's trade
    # ended up carrying (its maker exit timed out and went as FreqTrade's emergency exit).
    assert follower_exit_reason("z_reverted", "emergency_exit") == "z_reverted"
    # After a restart (nothing decided in this process) or a twin closed by hand: the twin's.
    assert follower_exit_reason(None, "z_stop") == "z_stop"
    assert follower_exit_reason(None, "force_exit") == "force_exit"
    assert follower_exit_reason(None, None) == ExitReason.TWIN_CLOSED == "twin_closed"

"""Which spread a coin trades in, and which spread a trade belongs to: no look-ahead, no mix-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from statarb.pairs_config import PairsConfigError, PairsSchedule, parse_pairs_config
from statarb.spread.book import SpreadBook
from statarb.spread.client_ids import Leg
from statarb.spread.features import open_spread_z
from statarb.spread.history import CandleCache, aligned_closes, common_closes
from statarb.spread.legs import (
    LegTag,
    OpenLeg,
    group_by_spread,
    leg_is_short,
    signal_candle_of,
    spread_direction,
)
from statarb.spread.signals import Thresholds

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(pair_id: str, a: str, b: str, beta: float = 2.0) -> dict[str, object]:
    return {
        "pair_id": pair_id,
        "leg_a": f"{a}/USDT:USDT",
        "leg_b": f"{b}/USDT:USDT",
        "hedge_ratio": beta,
        "cointegration_stat": -4.0,
        "pvalue": 0.001,
        "entry_size_leg_a": 1.0,
        "entry_size_leg_b": beta,
        "last_updated": "2026-01-01T00:00:00Z",
    }


def config(start: datetime, end: datetime, *entries: dict[str, object]) -> dict[str, object]:
    return {
        "scan_window": {"start": start.isoformat(), "end": end.isoformat()},
        "pairs": list(entries),
    }


def schedule() -> PairsSchedule:
    day = timedelta(days=1)
    return PairsSchedule.model_validate(
        {
            "periods": [
                {
                    "valid_from": (T0 + day).isoformat(),
                    "valid_until": (T0 + 2 * day).isoformat(),
                    "config": config(T0, T0 + day, entry("BTC_ETH", "BTC", "ETH", 20.0)),
                },
                {
                    "valid_from": (T0 + 2 * day).isoformat(),
                    "config": config(T0 + day, T0 + 2 * day, entry("ETH_SOL", "ETH", "SOL", 15.0)),
                },
            ]
        }
    )


def test_a_static_config_is_valid_at_all_times() -> None:
    book = SpreadBook.from_config(parse_pairs_config([entry("P1", "BTC", "ETH")]))
    active = book.active("ETH/USDT:USDT", T0)
    assert active is not None
    assert (active.role, active.partner) == (Leg.B, "BTC/USDT:USDT")
    assert book.active("SOL/USDT:USDT", T0) is None
    assert not book.is_schedule


def test_a_schedule_only_offers_pairs_from_scans_that_ended_before_the_candle() -> None:
    book = SpreadBook.from_schedule(schedule())
    assert book.active("BTC/USDT:USDT", T0 + timedelta(hours=23)) is None  # before any scan
    first = book.active("ETH/USDT:USDT", T0 + timedelta(days=1, hours=5))
    assert first is not None and first.entry.pair_id == "BTC_ETH" and first.role is Leg.B
    second = book.active("ETH/USDT:USDT", T0 + timedelta(days=2, minutes=1))
    assert second is not None and second.entry.pair_id == "ETH_SOL" and second.role is Leg.A
    assert book.active("BTC/USDT:USDT", T0 + timedelta(days=2)) is None  # dropped by re-scan
    assert book.symbols == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


def test_a_schedule_period_chosen_on_its_own_trading_days_is_refused() -> None:
    day = timedelta(days=1)
    with pytest.raises(ValueError, match="look-ahead"):
        PairsSchedule.model_validate(
            {
                "periods": [
                    {
                        "valid_from": (T0 + day).isoformat(),
                        "config": config(T0, T0 + 2 * day, entry("P", "BTC", "ETH")),
                    }
                ]
            }
        )
    assert PairsConfigError  # imported for the message type used by loaders


def test_segments_split_a_coins_candles_by_period() -> None:
    book = SpreadBook.from_schedule(schedule())
    dates = pd.Series(pd.date_range(T0, periods=72, freq="1h", tz="UTC"))
    segments = list(book.segments("ETH/USDT:USDT", dates))
    assert [s[1].entry.pair_id for s in segments] == ["BTC_ETH", "ETH_SOL"]
    assert segments[0][0].sum() == 24 and segments[1][0].sum() == 24
    assert not (segments[0][0] & segments[1][0]).any()


def test_signal_candle_is_the_one_before_the_fill_in_backtests_and_live() -> None:
    backtest_fill = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)  # next candle's open
    live_fill = datetime(2026, 1, 1, 12, 5, 3, 250_000, tzinfo=UTC)  # a few seconds in
    expected = datetime(2026, 1, 1, 12, 4, tzinfo=UTC)
    assert signal_candle_of(backtest_fill, 1) == expected
    assert signal_candle_of(live_fill, 1) == expected
    assert signal_candle_of(datetime(2026, 1, 1, 12, 7, tzinfo=UTC), 5) == datetime(
        2026, 1, 1, 12, 0, tzinfo=UTC
    )


def test_leg_sides_are_opposite_and_round_trip_to_the_spread_direction() -> None:
    for direction in (1, -1):
        assert leg_is_short(Leg.A, direction) != leg_is_short(Leg.B, direction)
        for leg in Leg:
            assert spread_direction(leg, leg_is_short(leg, direction)) == direction
    assert not leg_is_short(Leg.A, 1)  # long spread = long A


def test_tags_round_trip_through_json_and_group_legs_by_spread() -> None:
    tag_a = LegTag("P1", T0, Leg.A, 1, 16.67, "BTC/USDT:USDT", "ETH/USDT:USDT", 50, 0.5)
    tag_b = LegTag("P1", T0, Leg.B, 1, 16.67, "BTC/USDT:USDT", "ETH/USDT:USDT", 50, 8.335)
    other = LegTag("P2", T0, Leg.A, -1, 1.0, "SOL/USDT:USDT", "XRP/USDT:USDT", 50, 1.0)
    assert LegTag.from_json(tag_a.to_json()) == tag_a
    groups = group_by_spread(
        [
            OpenLeg(1, "BTC/USDT:USDT", False, 0.5, tag_a),
            OpenLeg(2, "ETH/USDT:USDT", True, 8.335, tag_b),
            OpenLeg(3, "SOL/USDT:USDT", True, 1.0, other),
        ]
    )
    assert {str(k): sorted(v) for k, v in groups.items()} == {
        "P1@2026-01-01T00:00:00Z": [Leg.A, Leg.B],
        "P2@2026-01-01T00:00:00Z": [Leg.A],
    }


def test_candle_cache_never_returns_a_candle_that_had_not_closed() -> None:
    dates = pd.Series(pd.date_range(T0, periods=10, freq="1min", tz="UTC"))
    closes = pd.Series(np.arange(10, dtype=float))
    history = CandleCache(dates, {"close": closes}, timeframe_minutes=1)
    # At 00:05:00 the candle opened 00:04 has just closed; the one opened 00:05 has not.
    _, values = history.closed_before(T0 + timedelta(minutes=5), 3)
    assert values.tolist() == [2.0, 3.0, 4.0]
    _, values = history.closed_before(T0 + timedelta(minutes=5, seconds=59), 3)
    assert values.tolist() == [2.0, 3.0, 4.0]
    _, values = history.closed_before(T0, 3)
    assert values.size == 0
    assert history.row_at(T0 + timedelta(minutes=4)) == {"close": 4.0}
    assert history.row_at(T0 + timedelta(minutes=4, seconds=1)) is None
    assert history.row_at(T0 + timedelta(minutes=10)) is None


def test_aligned_closes_keep_only_common_candles() -> None:
    a = (np.array([1, 2, 3]), np.array([10.0, 20.0, 30.0]))
    b = (np.array([2, 3, 4]), np.array([200.0, 300.0, 400.0]))
    close_a, close_b = aligned_closes(a, b)
    assert close_a.tolist() == [20.0, 30.0] and close_b.tolist() == [200.0, 300.0]


def test_a_leg_refreshed_a_candle_ahead_of_its_twin_still_gives_a_full_window() -> None:
    """At a candle's close FreqTrade refreshes one leg before the other. Asked for exactly the
    window, the two legs would share one candle less, the z would be NaN for that loop, and a
    forced entry at that instant was refused ("missing candles")."""
    window = 5
    dates = pd.Series(pd.date_range(T0, periods=20, freq="1min", tz="UTC"))
    leg_a = CandleCache(dates, {"close": pd.Series(np.arange(20.0))}, timeframe_minutes=1)
    leg_b = CandleCache(dates[:-1], {"close": pd.Series(np.arange(19.0) * 2)}, timeframe_minutes=1)
    now = T0 + timedelta(minutes=20)  # leg A has the candle that just closed, leg B not yet
    close_a, close_b = common_closes(leg_a, leg_b, now, window + 1)
    assert close_a.tolist() == [13.0, 14.0, 15.0, 16.0, 17.0, 18.0]  # the common tail only
    assert close_b.tolist() == [26.0, 28.0, 30.0, 32.0, 34.0, 36.0]
    z_now, z_prev = open_spread_z(close_a, close_b, hedge_ratio=0.25, window=window)
    assert np.isfinite(z_now) and np.isfinite(z_prev)


def test_a_twin_opened_after_a_rescan_is_judged_with_its_partners_thresholds() -> None:
    """The hedging plan opens leg B of a spread entered under (2.0, 0.5, 4.0) after a re-scan
    moved the pair to (2.5, 1.0, 3.0): judged by the book's, the twin would stop at 3.0 while
    its partner holds to 4.0, and one spread's two legs would leave apart."""
    leg_a = LegTag(
        pair_id="SOL_ADA",
        opened_at=datetime(2026, 1, 5, 12, tzinfo=UTC),
        leg=Leg.A,
        direction=-1,
        hedge_ratio=180.0,
        leg_a="SOL/USDT:USDT",
        leg_b="ADA/USDT:USDT",
        window=50,
        planned_qty=10.0,
        entry_z=2.0,
        exit_z=0.5,
        stop_z=4.0,
        spread_beta=180.0,
    )
    twin = leg_a.twin(1_800.0)
    assert twin.leg is Leg.B and twin.planned_qty == 1_800.0 and twin.key == leg_a.key
    assert (twin.hedge_ratio, twin.beta, twin.window) == (180.0, 180.0, 50)
    entered = Thresholds(entry_z=2.0, exit_z=0.5, stop_z=4.0)
    assert twin.entered_thresholds() == leg_a.entered_thresholds() == entered
    # ... also once FreqTrade stored it and a restart read it back.
    assert LegTag.from_json(twin.to_json()).entered_thresholds() == entered
    # Only a tag written before thresholds were recorded falls back to the book's.
    old = LegTag.from_json({**leg_a.to_json(), "entry_z": None, "exit_z": None, "stop_z": None})
    assert old.entered_thresholds() is None

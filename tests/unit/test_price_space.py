"""Price space: a power-law pair is found in log space, traded delta-neutral by notional, and its
z is measured on the spread the scanner tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from stats_sim import ar1, frame, log_random_walks
from test_pairs_config import spec_entry

from statarb.pairs_config import PairEntry, PairsConfig
from statarb.selection.keep import keep_window, merge_recent
from statarb.selection.scanner import ScanParams, scan_pairs
from statarb.spread.client_ids import Leg
from statarb.spread.features import open_spread_z, tag_spread_z
from statarb.spread.legs import LegTag
from statarb.stats.space import spread_values

BETA = 1.3  # price_A ∝ price_B^1.3: coins of different size


def power_law_market(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """SOL = e^c · ETH^1.3 · e^OU (log-cointegrated, slope ≠ 1) among independent walks."""
    rng = np.random.default_rng(seed)
    walks = log_random_walks(n, [3_000.0, 2.0, 0.3, 15.0, 7.0], rng, vol=0.01)
    eth = walks[:, 0]
    resid = ar1(n, 2.0 ** (-1.0 / 8.0), 0.01, rng)
    sol = np.exp(np.log(150.0) + BETA * (np.log(eth) - np.log(3_000.0)) + resid)
    columns = {"SOL/USDT:USDT": sol, "ETH/USDT:USDT": eth}
    for name, column in zip(("XRP", "DOGE", "LINK", "DOT"), walks[:, 1:].T, strict=True):
        columns[f"{name}/USDT:USDT"] = column
    return columns, resid


def test_a_power_law_pair_is_found_in_log_space_with_its_exponent() -> None:
    # Missing it (raw space) leaves the edge on the table; a wrong β would size the wrong hedge.
    columns, _ = power_law_market(1_500, seed=3)
    closes = frame(columns)
    result = scan_pairs(closes, as_of=None, lookback=1_500, params=ScanParams(price_space="log"))
    chosen = {(c.leg_a, c.leg_b): c for c in result.selected}
    pair = ("ETH/USDT:USDT", "SOL/USDT:USDT")
    assert pair in chosen or pair[::-1] in chosen
    config = result.to_pairs_config()
    entry = config.pairs[0]
    assert entry.price_space == "log"
    beta = entry.hedge_ratio if entry.leg_a == "SOL/USDT:USDT" else 1.0 / entry.hedge_ratio
    assert beta == pytest.approx(BETA, rel=0.05)


def test_log_space_legs_hold_the_hedge_ratio_by_notional() -> None:
    # In log space one unit of the spread is notional N of A against β·N of B: the quantity
    # ratio comes from the reference sizes at the scan's closes, never β itself (which would be
    # off by the price ratio and leave most of leg A unhedged).
    columns, _ = power_law_market(1_500, seed=3)
    result = scan_pairs(
        frame(columns), as_of=None, lookback=1_500, params=ScanParams(price_space="log")
    )
    entry = result.to_pairs_config().pairs[0]
    price_a, price_b = result.last_close[entry.leg_a], result.last_close[entry.leg_b]
    notional_a = entry.entry_size_leg_a * price_a
    notional_b = entry.entry_size_leg_b * price_b
    assert notional_b == pytest.approx(entry.hedge_ratio * notional_a, rel=1e-9)
    assert entry.quantity_ratio == pytest.approx(entry.hedge_ratio * price_a / price_b, rel=1e-9)


def test_raw_entries_keep_the_hedge_ratio_as_their_quantity_ratio() -> None:
    entry = PairEntry.model_validate(spec_entry())
    assert entry.price_space == "raw"
    assert entry.quantity_ratio == entry.hedge_ratio


def test_an_open_log_spread_is_judged_on_log_prices() -> None:
    # The z the position is closed on must be the z it was opened on: same space, same β.
    rng = np.random.default_rng(5)
    b = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, 200)))
    a = np.exp(0.2 + 1.3 * np.log(b) + ar1(200, 0.8, 0.01, rng))
    z_log, _ = open_spread_z(a, b, hedge_ratio=1.3, window=50, price_space="log")
    spread = spread_values(a, b, beta=1.3, price_space="log")[-50:]
    assert z_log == pytest.approx((spread[-1] - spread.mean()) / spread.std(ddof=1))
    z_raw, _ = open_spread_z(a, b, hedge_ratio=1.3, window=50)
    assert z_raw != pytest.approx(z_log)


def test_the_live_five_second_z_of_a_log_spread_is_the_z_it_was_entered_on() -> None:
    """The live z (the 5-second stop check, live exits, the monitor) was computed on raw
    prices with the legs' quantity ratio: for a log-space pair a different spread than the
    one entered, so a z stop could fire on nothing, or never. One z for an open spread."""
    rng = np.random.default_rng(5)
    b = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, 200)))
    a = np.exp(0.2 + 1.3 * np.log(b) + ar1(200, 0.8, 0.01, rng))
    tag = LegTag(
        pair_id="A_B", opened_at=datetime(2026, 1, 5, tzinfo=UTC), leg=Leg.A, direction=1,
        hedge_ratio=1.3 * a[-1] / b[-1], leg_a="A/USDT:USDT", leg_b="B/USDT:USDT", window=50,
        planned_qty=1.0, spread_beta=1.3, price_space="log",
    )  # fmt: skip
    live_a, live_b = a[-1] * 1.01, b[-1]
    z_live, z_last = tag_spread_z(tag, a, b, live_price_a=live_a, live_price_b=live_b)
    window = spread_values(a, b, beta=1.3, price_space="log")[-50:]
    live = np.log(live_a) - 1.3 * np.log(live_b)
    assert z_live == pytest.approx((live - window.mean()) / window.std(ddof=1))
    assert z_last == open_spread_z(a, b, hedge_ratio=1.3, window=50, price_space="log")[0]
    raw_qty_ratio, _ = open_spread_z(a, b, hedge_ratio=tag.hedge_ratio, window=50,
                                     live_price_a=live_a, live_price_b=live_b)  # fmt: skip
    assert raw_qty_ratio != pytest.approx(z_live)


def test_tags_written_before_log_space_read_as_raw() -> None:
    # A restart with legs opened by an older version must judge them exactly as before.
    old = {
        "pair_id": "BTC_ETH", "opened_at": "2026-01-01T00:00:00+00:00", "leg": "A",
        "direction": 1, "hedge_ratio": 16.0, "leg_a": "BTC/USDT:USDT",
        "leg_b": "ETH/USDT:USDT", "window": 50, "planned_qty": 0.1,
    }  # fmt: skip
    tag = LegTag.from_json(old)
    assert (tag.price_space, tag.beta) == ("raw", 16.0)


def _config(end: datetime, *entries: dict[str, object]) -> PairsConfig:
    return PairsConfig.model_validate(
        {
            "scan_window": {"start": end - timedelta(days=30), "end": end},
            "pairs": [spec_entry(**e, last_updated=end) for e in entries],
        }
    )


def test_a_kept_pair_stays_for_its_scans_and_never_shares_a_coin() -> None:
    day = datetime(2026, 1, 10, tzinfo=UTC)
    yesterday = _config(day - timedelta(days=1), {"pair_id": "BTC_ETH"})
    older = _config(
        day - timedelta(days=3),
        {"pair_id": "SOL_XRP", "leg_a": "SOL/USDT:USDT", "leg_b": "XRP/USDT:USDT"},
    )
    today = _config(
        day, {"pair_id": "BTC_DOGE", "leg_a": "BTC/USDT:USDT", "leg_b": "DOGE/USDT:USDT"}
    )
    earlier = [*yesterday.pairs, *older.pairs]
    merged = merge_recent(today, earlier, now=day, keep_for=timedelta(days=2, seconds=1))
    # BTC_ETH shares BTC with today's pair; SOL_XRP is 3 days old (> 2 days kept).
    assert [p.pair_id for p in merged.pairs] == ["BTC_DOGE"]
    merged = merge_recent(today, earlier, now=day, keep_for=timedelta(days=3, seconds=1))
    assert [p.pair_id for p in merged.pairs] == ["BTC_DOGE", "SOL_XRP"]
    assert merged.scan_window is not None and merged.scan_window.start < today.scan_window.start
    assert merge_recent(today, earlier, now=day, keep_for=timedelta(0)) == today


def test_the_keep_window_is_one_definition_for_backtests_and_production() -> None:
    day = timedelta(hours=24)
    assert keep_window(1, day) == timedelta(0)  # today's scan only
    # Pairs from the last 2 daily scans before today, with an hour of slack for a late re-scan.
    assert keep_window(3, day) == timedelta(days=2, hours=1)

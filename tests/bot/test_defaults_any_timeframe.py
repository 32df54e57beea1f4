"""The shipped defaults trade at any timeframe: a 1h walk-forward backtest with no setting but the
data, the timeframe and the results folder finds the planted pairs and trades them as whole
spreads.

Protects against defaults in days that fit one timeframe only (a 7-day scan window is 168 candles
at 1h: the scanner saw too little and the bot opened nothing), and against the power-law pairs
that a raw-price scan misses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from statarb.backtest.offline import OfflineRequest, OfflineResult, run_offline_backtest
from statarb.market import MarketSpec, PlantedPair, generate_market
from statarb.market.store import write_market

pytestmark = pytest.mark.bot


def spec() -> MarketSpec:
    return MarketSpec(
        coins=("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LINK"),
        pairs=(
            PlantedPair(
                "SOL", "ADA", hedge_ratio=180.0, half_life_candles=6, residual_sd_frac=0.004
            ),
            PlantedPair(
                "ETH", "XRP", hedge_ratio=1400.0, half_life_candles=8, residual_sd_frac=0.004
            ),
        ),
        start=datetime(2026, 1, 1, tzinfo=UTC),
        days=75,
        timeframe="1h",
        seed=5,
    )


@pytest.fixture(scope="module")
def hourly(tmp_path_factory: pytest.TempPathFactory) -> OfflineResult:
    market = tmp_path_factory.mktemp("market_1h")
    write_market(generate_market(spec()), market)
    # FreqAI off only to keep the suite short: the model gate ships off, so entries are the same.
    return run_offline_backtest(
        OfflineRequest(
            datadir=market,
            timeframe="1h",
            results=tmp_path_factory.mktemp("bt_1h"),
            freqai=False,
            echo=False,
        )
    )


def test_a_1h_backtest_on_the_defaults_trades_the_planted_pairs(hourly: OfflineResult) -> None:
    assert hourly.selection.mode == "walk_forward"
    traded = {s.pair_id for s in hourly.spreads}
    assert traded & {"SOL_ADA", "ETH_XRP"}, f"no planted pair traded (traded: {traded})"
    assert len(hourly.spreads) >= 5


def test_every_1h_spread_is_two_legs_opened_and_closed_on_the_same_candle(
    hourly: OfflineResult,
) -> None:
    assert all(s.legs == 2 for s in hourly.spreads), "a lone leg: an unhedged directional bet"
    trades = json.loads(Path(hourly.trades_path).read_text())
    by_spread: dict[str, list[dict]] = {}
    for leg in trades:
        by_spread.setdefault(leg["spread_id"], []).append(leg)
    for spread_id, legs in by_spread.items():
        assert len(legs) == 2, spread_id
        assert legs[0]["open_date"] == legs[1]["open_date"], f"{spread_id} opened apart"
        assert legs[0]["close_date"] == legs[1]["close_date"], f"{spread_id} closed apart"

"""The whole pipeline is causal: pairs chosen, signals, model, trades (issue 9).

Two walk-forward backtests run on the same market, except that in the second every candle from
time T on is replaced by a different market. If anything before T — the pair scans, the z-score,
the FreqAI model, the entry decisions — peeked past T, the two runs would differ before T.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from statarb.backtest.offline import OfflineRequest, OfflineResult, run_offline_backtest
from statarb.market import MarketSpec, PlantedPair, generate_market
from statarb.market.generator import GeneratedMarket
from statarb.market.store import write_market
from statarb.pairs_config import load_schedule

pytestmark = pytest.mark.bot

START = datetime(2026, 3, 1, tzinfo=UTC)
CUT = START + timedelta(days=4, hours=6)  # T: mid-way through the third traded day


def spec(seed: int) -> MarketSpec:
    return MarketSpec(
        coins=("BTC", "ETH", "SOL", "XRP", "ADA"),
        pairs=(
            PlantedPair(
                "SOL", "ADA", hedge_ratio=180.0, half_life_candles=15, residual_sd_frac=0.004
            ),
        ),
        start=START,
        days=6,
        timeframe="1m",
        seed=seed,
    )


def splice(before: GeneratedMarket, after: GeneratedMarket) -> GeneratedMarket:
    """`before`'s candles up to T, `after`'s from T on (futures, mark and funding alike)."""
    cut = pd.Timestamp(CUT)

    def join(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return {
            pair: pd.concat(
                [a[pair][a[pair]["date"] < cut], b[pair][b[pair]["date"] >= cut]], ignore_index=True
            )
            for pair in a
        }

    return dataclasses.replace(
        before,
        candles=join(before.candles, after.candles),
        mark_candles=join(before.mark_candles, after.mark_candles),
        funding_rates=join(before.funding_rates, after.funding_rates),
    )


def backtest(market: GeneratedMarket, folder: Path) -> OfflineResult:
    write_market(market, folder / "market")
    return run_offline_backtest(
        OfflineRequest(
            datadir=folder / "market",
            timeframe="1m",
            results=folder / "results",
            lookback_days=2,
            train_days=2,
            echo=False,
        )
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[OfflineResult, OfflineResult]:
    original = generate_market(spec(seed=31))
    other = generate_market(spec(seed=77))
    first = backtest(original, tmp_path_factory.mktemp("original"))
    second = backtest(splice(original, other), tmp_path_factory.mktemp("spliced"))
    return first, second


def opened_before_cut(result: OfflineResult) -> list[tuple]:
    trades = json.loads(result.trades_path.read_text())
    keys = ("pair", "is_short", "open_date", "amount", "open_rate", "enter_tag")
    return sorted(
        tuple(t[k] for k in keys) for t in trades if datetime.fromisoformat(t["open_date"]) < CUT
    )


def test_trades_opened_before_t_are_identical_when_the_future_changes(
    runs: tuple[OfflineResult, OfflineResult],
) -> None:
    first, second = runs
    before = opened_before_cut(first)
    assert len(before) >= 6, "the test needs trades before T to mean anything"
    assert before == opened_before_cut(second)


def test_the_pairs_schedule_before_t_is_identical_when_the_future_changes(
    runs: tuple[OfflineResult, OfflineResult],
) -> None:
    first, second = (load_schedule(r.selection.path).periods for r in runs)
    compared = [(a, b) for a, b in zip(first, second, strict=True) if a.valid_from <= CUT]
    assert compared
    for a, b in compared:
        assert a == b

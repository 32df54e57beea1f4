"""A backtest must say loudly when its pairs were chosen on the candles it trades (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from statarb.backtest.offline import BacktestSetupError, OfflineRequest, plan_range, select_pairs
from statarb.pairs_config import parse_pairs_config, write_pairs_config

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CLOSES = pd.DataFrame(
    {"SOL/USDT:USDT": 100.0, "ADA/USDT:USDT": 0.5},
    index=pd.date_range(T0, periods=10 * 24 * 12, freq="5min", tz="UTC"),
)


def pairs_file(tmp_path: Path, window: tuple[datetime, datetime] | None) -> Path:
    raw: dict[str, object] = {
        "pairs": [
            {
                "pair_id": "SOL_ADA",
                "leg_a": "SOL/USDT:USDT",
                "leg_b": "ADA/USDT:USDT",
                "hedge_ratio": 180.0,
                "cointegration_stat": -5.0,
                "pvalue": 0.001,
                "entry_size_leg_a": 1.0,
                "entry_size_leg_b": 180.0,
                "last_updated": "2026-01-01T00:00:00Z",
            }
        ]
    }
    if window:
        raw["scan_window"] = {"start": window[0].isoformat(), "end": window[1].isoformat()}
    path = tmp_path / "pairs.json"
    write_pairs_config(parse_pairs_config(raw), path)
    return path


def request(tmp_path: Path, config: Path) -> OfflineRequest:
    return OfflineRequest(datadir=tmp_path, timeframe="5m", results=tmp_path, pairs_config=config)


def test_pairs_chosen_on_the_backtested_candles_are_flagged_in_sample(tmp_path: Path) -> None:
    start, end = T0 + timedelta(days=3), T0 + timedelta(days=10)
    config = pairs_file(tmp_path, (T0, T0 + timedelta(days=10)))
    selection = select_pairs(request(tmp_path, config), CLOSES, start, end, tmp_path)
    assert selection.mode == "fixed" and selection.in_sample
    assert selection.warning and "IN-SAMPLE SELECTION" in selection.warning


def test_pairs_chosen_before_the_backtest_are_out_of_sample(tmp_path: Path) -> None:
    start, end = T0 + timedelta(days=3), T0 + timedelta(days=10)
    config = pairs_file(tmp_path, (T0, start))
    selection = select_pairs(request(tmp_path, config), CLOSES, start, end, tmp_path)
    assert not selection.in_sample and selection.warning is None


def test_a_config_without_its_scan_window_cannot_be_trusted(tmp_path: Path) -> None:
    start, end = T0 + timedelta(days=3), T0 + timedelta(days=10)
    selection = select_pairs(
        request(tmp_path, pairs_file(tmp_path, None)), CLOSES, start, end, tmp_path
    )
    assert selection.in_sample and "IN-SAMPLE" in (selection.warning or "")


def test_a_backtest_without_history_for_its_first_scan_says_what_is_missing() -> None:
    with pytest.raises(BacktestSetupError, match="needs 7 days of candles before it"):
        plan_range(CLOSES, timeframe="5m", timerange="20260103-", history_days=7)
    start, end = plan_range(CLOSES, timeframe="5m", timerange=None, history_days=7)
    assert start == T0 + timedelta(days=7)
    assert end == CLOSES.index[-1] + pd.Timedelta(minutes=5)

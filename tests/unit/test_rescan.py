"""The daily re-scan: scans only closed candles, replaces the pairs file atomically, and keeps
the old file when it cannot scan."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from statarb.market import MarketSpec, PlantedPair, generate_market
from statarb.market.store import write_market
from statarb.pairs_config import load_pairs_config
from statarb.selection.rescan import rescan_once
from statarb.selection.window import ScanInputError

START = datetime(2026, 1, 1, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = MarketSpec(
        coins=("BTC", "ETH", "SOL", "ADA"),
        pairs=(PlantedPair("SOL", "ADA", 180.0, half_life_candles=4, residual_sd_frac=0.004),),
        start=START,
        days=3,
        timeframe="5m",
        seed=4,
    )
    folder = tmp_path_factory.mktemp("market")
    write_market(generate_market(spec), folder)
    return folder


UNIVERSE = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "ADA/USDT:USDT"]


def test_a_rescan_writes_the_planted_pair_chosen_on_closed_candles_only(
    market: Path, tmp_path: Path
) -> None:
    now = START + timedelta(days=2, minutes=7, seconds=30)
    outcome = rescan_once(
        datadir=market,
        timeframe="5m",
        universe=UNIVERSE,
        lookback=timedelta(days=1),
        output=tmp_path / "pairs_config.json",
        now=now,
    )
    config = load_pairs_config(tmp_path / "pairs_config.json")
    assert [p.pair_id for p in config.pairs] == ["SOL_ADA"]
    # The candle opened 00:05 closes at 00:10, after `now`: the scan must end before it.
    assert config.scan_window is not None
    assert config.scan_window.end == START + timedelta(days=2, minutes=5)
    assert outcome.scanned_at == config.scan_window.end


def test_a_failed_rescan_keeps_the_old_pairs_file(market: Path, tmp_path: Path) -> None:
    output = tmp_path / "pairs_config.json"
    rescan_once(
        datadir=market,
        timeframe="5m",
        universe=UNIVERSE,
        lookback=timedelta(days=1),
        output=output,
        now=START + timedelta(days=2),
    )
    before = output.read_bytes()
    with pytest.raises(ScanInputError):  # far too little history for the lookback
        rescan_once(
            datadir=market,
            timeframe="5m",
            universe=UNIVERSE,
            lookback=timedelta(days=1),
            output=output,
            now=START + timedelta(hours=1),
        )
    assert output.read_bytes() == before


def test_the_cli_reports_a_failed_scan_and_exits_nonzero_leaving_the_file(
    market: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        '{"timeframe": "5m", "exchange": {"name": "binance", "pair_whitelist": '
        '["SOL/USDT:USDT", "ADA/USDT:USDT"]}}'
    )
    output = tmp_path / "pairs_config.json"
    output.write_text("keep me")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "rescan.py"),
            "--config",
            str(config),
            "--output",
            str(output),
            "--datadir",
            str(market),
            "--lookback-days",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[SAFETY]" in done.stdout and "the old pairs file stays" in done.stdout
    assert output.read_text() == "keep me"

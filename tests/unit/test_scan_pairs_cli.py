"""scripts/scan_pairs.py: from a FreqTrade data folder to a validated pairs_config.json."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType
from stats_sim import ar1, log_random_walks

from statarb.pairs_config import load_pairs_config

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "scan_pairs.py"


def load_script():
    spec = importlib.util.spec_from_file_location("scan_pairs_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cli():
    return load_script()


@pytest.fixture
def datadir(tmp_path: Path) -> Path:
    """45 days of 1h candles: BTC/ETH cointegrated, SOL, XRP and DOGE random walks."""
    rng = np.random.default_rng(12)
    n = 45 * 24
    walks = log_random_walks(n, [3_000.0, 150.0, 2.0, 0.3], rng)
    closes = {
        "BTC/USDT:USDT": 500.0 + walks[:, 0] * 20.0 + ar1(n, 0.85, 20.0, rng),
        "ETH/USDT:USDT": walks[:, 0],
        "SOL/USDT:USDT": walks[:, 1],
        "XRP/USDT:USDT": walks[:, 2],
        "DOGE/USDT:USDT": walks[:, 3],
    }
    index = pd.date_range("2026-01-01", periods=n, freq="1h", tz="UTC")
    (tmp_path / "binance").mkdir()
    handler = get_datahandler(tmp_path / "binance", "feather")
    for pair, close in closes.items():
        frame = pd.DataFrame(
            {"date": index, "open": close, "high": close, "low": close, "close": close}
        ).assign(volume=1.0)
        handler.ohlcv_store(pair, "1h", frame, CandleType.FUTURES)
    return tmp_path


def test_a_scan_writes_the_planted_pair_and_a_plot(
    cli, datadir: Path, tmp_path: Path, capsys
) -> None:
    output, plot = tmp_path / "out" / "pairs_config.json", tmp_path / "scan.png"
    rc = cli.main(
        [
            "--datadir",
            str(datadir),
            "--timeframe",
            "1h",
            "--output",
            str(output),
            "--plot",
            str(plot),
            "--price-space",
            "raw",  # the fixture plants a relation between prices
        ]
    )
    assert rc == 0
    config = load_pairs_config(output)
    assert [(p.leg_a, p.leg_b) for p in config.pairs] == [("BTC/USDT:USDT", "ETH/USDT:USDT")]
    assert config.pairs[0].hedge_ratio == pytest.approx(20.0, rel=0.02)
    assert config.timeframe == "1h" and config.pairs[0].n_obs == 30 * 24  # default 30 days
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "BTC/USDT:USDT" in out and "fdr_not_significant" in out
    assert "wrote 1 pair(s)" in out


def test_as_of_pairs_and_options_are_honoured(cli, datadir: Path, tmp_path: Path) -> None:
    output = tmp_path / "pairs_config.json"
    args = [
        "--datadir", str(datadir / "binance"), "--timeframe", "1h", "--output", str(output),
        "--pairs", "BTC", "ETH", "SOL", "--as-of", "2026-01-20T00:00Z",
        "--lookback-days", "10", "--max-pairs", "1", "--fdr-alpha", "0.01",
        "--price-space", "raw",
    ]  # fmt: skip
    assert cli.main(args) == 0
    config = json.loads(output.read_text())
    assert config["scan_window"] == {"start": "2026-01-10T00:00:00Z", "end": "2026-01-20T00:00:00Z"}
    assert config["pairs"][0]["n_obs"] == 240


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--as-of", "2026-01-20T00:00"], "needs a time zone"),
        (["--as-of", "yesterday"], "not an ISO date-time"),
        (["--pairs", "BTC", "NOPE"], "NOPE/USDT:USDT"),
        (["--fdr-alpha", "2"], "fdr_alpha"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(cli, datadir, tmp_path, capsys, extra, message):
    output = tmp_path / "pairs_config.json"
    base = ["--datadir", str(datadir), "--timeframe", "1h", "--output", str(output)]
    assert cli.main(base + extra) == 2
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_a_folder_without_candles_exits_2(cli, tmp_path: Path, capsys) -> None:
    rc = cli.main(
        ["--datadir", str(tmp_path), "--timeframe", "1h", "--output", str(tmp_path / "x.json")]
    )
    assert rc == 2
    assert "no futures candles found" in capsys.readouterr().err

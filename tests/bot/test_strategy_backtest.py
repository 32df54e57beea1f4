"""The strategy in real `freqtrade backtesting` with FreqAI, on a generated market.

Protects against: a spread whose legs open on different candles or in the same direction (a
naked directional bet), legs sized off the hedge ratio, legs that do not close together, and
look-ahead anywhere (indicators, the model, the choice of pairs) — checked with FreqTrade's own
lookahead-analysis and recursive-analysis.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from statarb.atomic import atomic_write_json
from statarb.backtest.config import backtest_config, load_base_config
from statarb.backtest.offline import OfflineRequest, OfflineResult, run_offline_backtest
from statarb.backtest.results import load_trades
from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import RunningExchange, start_local_exchange
from statarb.market import MarketSpec, PlantedPair, generate_market
from statarb.market.store import write_market
from statarb.pairs_config import load_schedule
from statarb.spread.book import SpreadBook
from statarb.spread.legs import signal_candle_of

pytestmark = pytest.mark.bot

REPO = Path(__file__).resolve().parents[2]
STRATEGY_PATH = REPO / "user_data" / "strategies"
START = datetime(2026, 1, 1, tzinfo=UTC)
BREAK = START + timedelta(days=3, hours=12)
FREQAI_OUTPUTS = {"&-spread_reversion", "&-spread_reversion_mean", "&-spread_reversion_std",
                  "do_predict"}  # fmt: skip


def spec() -> MarketSpec:
    return MarketSpec(
        coins=("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA"),
        pairs=(
            PlantedPair(
                "SOL", "ADA", hedge_ratio=180.0, half_life_candles=15, residual_sd_frac=0.004
            ),
            PlantedPair(
                "ETH",
                "XRP",
                hedge_ratio=1400.0,
                half_life_candles=20,
                residual_sd_frac=0.004,
                breaks_at=BREAK,  # stops reverting mid-run: the re-scans must drop it
            ),
        ),
        start=START,
        days=6,
        timeframe="1m",
        seed=21,
    )


@pytest.fixture(scope="module")
def market_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("market")
    write_market(generate_market(spec()), folder)
    return folder


@pytest.fixture(scope="module")
def walk_forward(market_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> OfflineResult:
    results = tmp_path_factory.mktemp("walk_forward")
    return run_offline_backtest(
        OfflineRequest(
            datadir=market_dir,
            timeframe="1m",
            results=results,
            lookback_days=2,
            train_days=2,
            echo=False,
        )
    )


def test_the_walk_forward_backtest_trades_spreads(walk_forward: OfflineResult) -> None:
    assert walk_forward.summary is not None
    assert walk_forward.selection.mode == "walk_forward" and not walk_forward.selection.in_sample
    assert walk_forward.summary.spreads >= 10, "the planted pairs should trade"
    assert walk_forward.summary.trades == 2 * walk_forward.summary.spreads


def test_every_spread_is_two_opposite_legs_in_the_hedge_ratio_opened_and_closed_together(
    walk_forward: OfflineResult,
) -> None:
    trades = pd.DataFrame(json.loads(walk_forward.trades_path.read_text()))
    book = SpreadBook.from_schedule(load_schedule(walk_forward.selection.path))
    for (tag, open_date), legs in trades.groupby(["enter_tag", "open_date"]):
        assert len(legs) == 2, f"{tag} {open_date}: {len(legs)} leg(s) — a naked leg"
        opened = datetime.fromisoformat(open_date)
        entry = book.find(tag, signal_candle_of(opened, 1))
        assert entry is not None, f"{tag} traded on {open_date} without being in the schedule"
        leg_a = legs[legs["pair"] == entry.leg_a].iloc[0]
        leg_b = legs[legs["pair"] == entry.leg_b].iloc[0]
        assert leg_a["is_short"] != leg_b["is_short"], f"{tag} {open_date}: same direction"
        # The quantity ratio the pair holds: β itself in raw space, β × price_A / price_B at
        # the scan in log space (docs/price_space.md).
        ratio = leg_b["amount"] / leg_a["amount"]
        assert ratio == pytest.approx(entry.quantity_ratio, rel=0.011), (
            f"{tag} {open_date}: {leg_b['amount']} / {leg_a['amount']} is off the quantity "
            f"ratio {entry.quantity_ratio} ({entry.price_space} space, β {entry.hedge_ratio})"
        )
        # Maker-first orders (config.json's default) rest at the touch; a leg the candle does
        # not reach crosses on the same candle when its twin fills: never a candle alone.
        assert leg_a["close_date"] == leg_b["close_date"], f"{tag} {open_date}: closed apart"
        assert leg_a["exit_reason"] == leg_b["exit_reason"]
    for (tag, open_date), legs in load_trades(walk_forward.results_dir).groupby(
        ["enter_tag", "open_date"]
    ):
        entry_fills = [
            sorted({o["order_filled_timestamp"] for o in orders if o["ft_is_entry"]})
            for orders in legs["orders"]
        ]
        assert entry_fills[0] == entry_fills[1], f"{tag} {open_date}: legs filled apart"


def test_a_pair_that_breaks_is_dropped_by_a_rescan_and_takes_no_spread_after(
    walk_forward: OfflineResult,
) -> None:
    schedule = load_schedule(walk_forward.selection.path)
    chosen = {p.valid_from: {e.pair_id for e in p.config.pairs} for p in schedule.periods}
    assert any("ETH_XRP" in ids for when, ids in chosen.items() if when <= BREAK)
    dropped = min(
        (when for when, ids in chosen.items() if when > BREAK and "ETH_XRP" not in ids),
        default=None,
    )
    assert dropped is not None, f"ETH_XRP never dropped after its break: {chosen}"
    trades = pd.DataFrame(json.loads(walk_forward.trades_path.read_text()))
    eth_xrp = trades[trades["enter_tag"] == "ETH_XRP"]
    opened = pd.to_datetime(eth_xrp["open_date"])
    for when, ids in chosen.items():
        if "ETH_XRP" in ids:
            continue
        period_end = min(
            (w for w in chosen if w > when), default=pd.Timestamp.max.tz_localize("UTC")
        )
        inside = (opened >= pd.Timestamp(when)) & (opened < pd.Timestamp(period_end))
        assert not inside.any(), f"ETH_XRP opened while dropped ({when})"
    # A spread open when its pair was dropped still left by the z rules, never orphaned.
    assert set(eth_xrp["exit_reason"]) <= {"z_reverted", "z_stop", "force_exit"}


def test_trades_json_has_the_documented_fields(walk_forward: OfflineResult) -> None:
    records = json.loads(walk_forward.trades_path.read_text())
    needed = {"pair", "is_short", "open_date", "close_date", "amount", "open_rate",
              "close_rate", "enter_tag", "exit_reason", "spread_id", "leg", "gross_profit_usdt",
              "fee_usdt", "funding_usdt", "net_profit_usdt", "freqtrade_profit_abs"}  # fmt: skip
    assert records and needed <= set(records[0])
    summary = json.loads((walk_forward.trades_path.parent / "summary.json").read_text())
    assert summary["selection"]["mode"] == "walk_forward"
    assert summary["result"]["spreads"] == walk_forward.summary.spreads


# --------------------------------------------------------------------------- bias analyses
@pytest.fixture(scope="module")
def exchange(
    market_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningExchange]:
    running = start_local_exchange(
        market_dir, log_path=tmp_path_factory.mktemp("exchange") / "exchange.log"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def analysis_config(
    walk_forward: OfflineResult, exchange: RunningExchange, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("analysis")
    user_data = folder / "user_data"
    for sub in ("backtest_results", "strategies", "models"):
        (user_data / sub).mkdir(parents=True, exist_ok=True)
    config = backtest_config(
        load_base_config(),
        exchange_section=freqtrade_exchange_config(exchange.url),
        whitelist=walk_forward.selection.book.symbols,
        timeframe="1m",
        user_data_dir=user_data,
        pairs_schedule=walk_forward.selection.path,
        train_days=2,
    )
    path = folder / "config.json"
    atomic_write_json(path, config)
    return path


# FreqTrade's bias analyses get up to 900 s (their subprocess timeout) on top of the set-up.
ANALYSIS_TIMEOUT = pytest.mark.timeout(1800)


def analysis(command: str, config: Path, timerange: str, *extra: str,
             runner: list[str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    user_data = config.parent / "user_data"
    args = [
        command,
        "--config", str(config),
        "--userdir", str(user_data),
        "--strategy", "CointPairsStrategy",
        "--strategy-path", str(STRATEGY_PATH),
        "--datadir", str(json.loads(config.read_text())["_datadir"]),
        "--timerange", timerange,
        "--freqaimodel", "LightGBMRegressor",
        *extra,
    ]  # fmt: skip
    return subprocess.run(
        [*(runner or [sys.executable, "-m", "freqtrade"]), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "COLUMNS": "250"},  # rich wraps tables at 80 columns otherwise
    )


@pytest.fixture(scope="module")
def analysis_setup(analysis_config: Path, market_dir: Path) -> Path:
    config = json.loads(analysis_config.read_text())
    config["_datadir"] = str(market_dir / "binance")
    atomic_write_json(analysis_config, config)
    return analysis_config


@ANALYSIS_TIMEOUT
def test_lookahead_analysis_finds_no_biased_entry_or_exit(analysis_setup: Path) -> None:
    probe_out = analysis_setup.parent / "probe.jsonl"
    csv = analysis_setup.parent / "lookahead.csv"
    day = START + timedelta(days=3)
    timerange = f"{day:%Y%m%d}-{day + timedelta(days=1):%Y%m%d}"
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("analysis_probe.py")),
         "lookahead-analysis", "--config", str(analysis_setup),
         "--userdir", str(analysis_setup.parent / "user_data"),
         "--strategy", "CointPairsStrategy", "--strategy-path", str(STRATEGY_PATH),
         "--datadir", json.loads(analysis_setup.read_text())["_datadir"],
         "--timerange", timerange, "--freqaimodel", "LightGBMRegressor",
         "--minimum-trade-amount", "4", "--targeted-trade-amount", "6",
         "--lookahead-analysis-exportfilename", str(csv)],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "STATARB_PROBE_OUT": str(probe_out), "COLUMNS": "250"},
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert csv.exists(), output[-3000:]
    result = pd.read_csv(csv)
    row = result.iloc[0]
    assert int(row["total_signals"]) >= 4, output[-3000:]
    assert int(row["biased_entry_signals"]) == 0, output[-3000:]
    assert int(row["biased_exit_signals"]) == 0, output[-3000:]
    # The only indicator differences are FreqAI's own outputs on the very last candle of each
    # cut backtest, which FreqAI leaves unpredicted (its backtest window end is exclusive) and
    # which no decision uses; FreqTrade's report says &-columns "can be ignored".
    biased = {c.strip() for c in str(row.get("biased_indicators", "")).split(",") if c.strip()}
    biased.discard("nan")
    assert biased <= FREQAI_OUTPUTS, biased
    for line in probe_out.read_text().splitlines():
        record = json.loads(line)
        assert set(record["columns"]) <= FREQAI_OUTPUTS, record
        assert record["rows"] in ([], [record["cut_len"] - 1]), record


@ANALYSIS_TIMEOUT
def test_recursive_analysis_finds_indicators_independent_of_the_startup_length(
    analysis_setup: Path,
) -> None:
    day = START + timedelta(days=3)
    timerange = f"{day:%Y%m%d}-{day + timedelta(days=1):%Y%m%d}"
    done = analysis("recursive-analysis", analysis_setup, timerange)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    if "No variance on indicator(s) found" not in output:
        # Otherwise a table "│ spread_z │ 0.000% │ ... │": float noise only, never a real drift.
        assert "Recursive Analysis" in output, output[-3000:]
        table = output.split("Recursive Analysis", 1)[1]
        rows = [line for line in table.splitlines() if line.startswith("│")]
        values = [float(v) for row in rows for v in re.findall(r"(-?\d+\.\d+)%", row)]
        assert values and all(abs(v) < 0.001 for v in values), "\n".join(rows)
    flagged = set(re.findall(r"found lookahead in indicator (\S+)", output))
    assert flagged <= FREQAI_OUTPUTS, flagged


# --------------------------------------------------------------------------- bad pairs config
def entry(pair_id: str, leg_a: str, leg_b: str, hedge_ratio: float = 180.0) -> dict[str, object]:
    return {
        "pair_id": pair_id,
        "leg_a": leg_a,
        "leg_b": leg_b,
        "hedge_ratio": hedge_ratio,
        "cointegration_stat": -5.0,
        "pvalue": 0.001,
        "entry_size_leg_a": 1.0,
        "entry_size_leg_b": abs(hedge_ratio) or 1.0,
        "last_updated": "2026-01-03T00:00:00Z",
    }


SOL, ADA, XRP, ETH = "SOL/USDT:USDT", "ADA/USDT:USDT", "XRP/USDT:USDT", "ETH/USDT:USDT"
GOOD = entry("SOL_ADA", SOL, ADA)
MISSING_FIELD = {k: v for k, v in GOOD.items() if k != "hedge_ratio"}


@pytest.mark.parametrize(
    ("pairs", "whitelist", "needle"),
    [
        ([MISSING_FIELD], [SOL, ADA], "SOL_ADA (#1): hedge_ratio: Field required"),
        ([entry("SOL_ADA", SOL, ADA, -2.0)], [SOL, ADA], "hedge_ratio: Input should be greater"),
        (
            [entry("FOO_ADA", "FOO/USDT:USDT", ADA)],
            ["FOO/USDT:USDT", ADA],
            "does not list: FOO/USDT:USDT",
        ),
        ([GOOD, entry("XRP_ADA", XRP, ADA, 3.0)], [SOL, ADA, XRP], "ADA/USDT:USDT is in two pairs"),
    ],
    ids=["missing-field", "negative-hedge-ratio", "unknown-symbol", "coin-in-two-pairs"],
)
def test_a_bad_pairs_config_stops_the_bot_at_start_naming_the_problem(
    pairs: list[dict[str, object]],
    whitelist: list[str],
    needle: str,
    exchange: RunningExchange,
    tmp_path: Path,
) -> None:
    pairs_file = tmp_path / "pairs_config.json"
    pairs_file.write_text(json.dumps({"pairs": pairs}))
    user_data = tmp_path / "user_data"
    (user_data / "logs").mkdir(parents=True)
    config = backtest_config(
        load_base_config(),
        exchange_section=freqtrade_exchange_config(exchange.url),
        whitelist=whitelist,
        timeframe="1m",
        user_data_dir=user_data,
        pairs_config=pairs_file,
        freqai=False,
    )
    config_path = tmp_path / "config.json"
    atomic_write_json(config_path, config)
    done = subprocess.run(
        [sys.executable, "-m", "freqtrade", "trade", "--config", str(config_path),
         "--userdir", str(user_data), "--strategy", "CointPairsStrategy",
         "--strategy-path", str(STRATEGY_PATH)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "250"},
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-2000:]
    assert needle in output, output[-2000:]
    assert "Traceback" not in output, "a clear message, not a traceback"

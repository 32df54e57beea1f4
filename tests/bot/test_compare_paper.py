"""Backtest vs paper on a real dry-run: `scripts/paper.py` on the local exchange trades one
signal spread (its z pushed through the entry band and back) and one spread a person forced
(its z pushed between the exit and entry bands first: a forced spread inside the exit band is
refused); its candles are downloaded from the running exchange, and the comparison backtests
the same pairs over the paper run's own period.

What it protects: a comparison that counts a forced entry as the strategy's, sums an open
spread's unknown result, reads the wrong period or lets a backtest spread be claimed twice
would tell a person that paper confirms the backtest when it does not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from statarb.backtest.compare_paper import compare_paper_run
from statarb.backtest.paper_compare import BOTH, PAPER_ONLY
from support.live_bot import (
    HEDGE_ETH_XRP,
    HEDGE_SOL_ADA,
    LEG_A,
    LEG_B,
    OTHER_A,
    OTHER_B,
    bot_environment,
    live_market,
    pairs_config,
)
from support.paper_run import PaperRun

pytestmark = pytest.mark.bot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> PaperRun:
    folder = tmp_path_factory.mktemp("paper")
    market = live_market(folder / "market", days=3)
    pairs = pairs_config(
        folder / "pairs_config.json", window_end=datetime.now(UTC) - timedelta(minutes=2)
    )
    run = PaperRun(folder, market, pairs)
    try:
        run.start([LEG_A, LEG_B, OTHER_A, OTHER_B])
        run.push_spread_z(LEG_A, LEG_B, HEDGE_SOL_ADA, -3.2)
        run.wait_for(lambda: _entered(run, LEG_A), 240, "the pushed SOL_ADA spread's entry")
        run.push_spread_z(OTHER_A, OTHER_B, HEDGE_ETH_XRP, 1.5)
        forced = run.call("POST", "forceenter", json={"pair": OTHER_A, "side": "short"})
        assert forced.ok, forced.text
        run.wait_for(lambda: _entered(run, OTHER_B), 120, "the forced spread's twin")
        run.push_spread_z(LEG_A, LEG_B, HEDGE_SOL_ADA, 0.0)
        run.wait_for(lambda: not _holds(run, LEG_A), 300, "the SOL_ADA spread's exit")
        run.download_candles(folder / "candles")
    finally:
        run.stop()
    return run


def _holds(run: PaperRun, pair: str) -> bool:
    return any(t["pair"] == pair for t in run.open_trades())


def _entered(run: PaperRun, pair: str) -> bool:
    return any(t["pair"] == pair and float(t.get("amount") or 0) > 0 for t in run.open_trades())


def test_the_paper_run_is_compared_with_the_backtest_of_its_own_period(
    paper_run: PaperRun,
) -> None:
    comparison = compare_paper_run(
        paper_run.db_path,
        paper_run.pairs,
        paper_run.folder / "candles",
        paper_config=paper_run.config_path,
        results_dir=paper_run.folder / "compare",
    )
    text = comparison.table()
    print(text)
    papers = [m.paper for m in comparison.matches if m.paper is not None]
    # each paper spread once: the signal spread and the forced one
    assert sorted((p.pair_id, p.forced) for p in papers) == [
        ("ETH_XRP", True),
        ("SOL_ADA", False),
    ], text
    signal = next(p for p in papers if p.pair_id == "SOL_ADA")
    forced = next(p for p in papers if p.forced)
    # the period is the paper run's: first entry .. last exit, or now while a spread is open
    assert comparison.period.start == signal.entry_at
    assert comparison.period.open_end == forced.is_open
    assert signal.net_usdt is not None and signal.exit_at is not None
    # the backtest ran on the period's candles, to the minute, not whole days
    assert comparison.backtest_range is not None
    start, end = comparison.backtest_range
    assert timedelta(0) <= signal.entry_at - start <= timedelta(minutes=5), text
    assert end <= comparison.period.end + timedelta(minutes=2), text
    assert comparison.covered is not None and comparison.covered[0] == signal.entry_at
    # a forced entry is named, never matched
    row = next(m for m in comparison.matches if m.paper is forced)
    assert row.status == PAPER_ONLY and row.reasons[0].startswith("forced entry"), text
    if forced.is_open:  # an open spread has no net, and says so
        assert forced.net_usdt is None
        assert any(r.startswith("open at the end") for r in row.reasons), text
    # the signal spread: in both runs, or its reasons say why not
    signal_row = next(m for m in comparison.matches if m.paper is signal)
    assert signal_row.status == BOTH or signal_row.reasons, text
    # backtest spreads counted are inside the period (the rest are listed as not counted)
    slack = timedelta(minutes=comparison.tolerance_candles)
    for m in comparison.matches:
        if m.backtest is not None:
            assert comparison.period.start - slack <= m.backtest.entry_at <= comparison.period.end
    totals = comparison.totals()
    assert totals["paper_net_usdt"] == pytest.approx(signal.net_usdt + (forced.net_usdt or 0.0))


def test_the_script_prints_the_table_and_writes_the_json(paper_run: PaperRun) -> None:
    out = paper_run.folder / "match.json"
    result = subprocess.run(
        [
            sys.executable, str(REPO / "scripts" / "compare_paper.py"),
            "--db", str(paper_run.db_path),
            "--paper-config", str(paper_run.config_path),
            "--datadir", str(paper_run.folder / "candles"),
            "--results", str(paper_run.folder / "compare-cli"),
            "--out", str(out),
        ],
        capture_output=True, text=True, env=bot_environment(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "both cover:" in result.stdout and "paper only" in result.stdout
    data = json.loads(out.read_text())
    assert data["totals"]["paper_spreads"] == 2
    assert data["totals"]["paper_forced"] == 1
    assert data["both_cover"] is not None

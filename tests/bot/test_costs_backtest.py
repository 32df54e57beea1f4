"""Costs first, in real `freqtrade backtesting` runs on generated markets (issue 10).

Protects against: a spread report whose money does not add up to FreqTrade's (fees, funding or
a leg lost in the join), spreads opened that are too quiet to pay four fees, and maker-first
orders that leave a leg alone or are charged the wrong fee.

One market per residual width (same seed), three backtests without FreqAI (the cost split does
not depend on the model; each run takes seconds).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest

from statarb.accounting.performance import performance
from statarb.backtest.offline import OfflineRequest, OfflineResult, run_offline_backtest
from statarb.backtest.results import load_trades
from statarb.costs.orders import BINANCE_USDM_FEES
from statarb.market import MarketSpec, PlantedPair, generate_market
from statarb.market.store import write_market
from statarb.safety.log import parse_fields

pytestmark = pytest.mark.bot

START = datetime(2026, 1, 1, tzinfo=UTC)
REQUIRED = {"spread_id", "pair_a", "pair_b", "open_date", "close_date", "exit_reason",
            "gross_profit", "fees", "funding", "slippage", "net_profit"}  # fmt: skip


def market(residual_sd_frac: float) -> MarketSpec:
    """SOL/ADA planted with the given residual width; everything else identical (same seed)."""
    return MarketSpec(
        coins=("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA"),
        pairs=(PlantedPair("SOL", "ADA", 180.0, 15, residual_sd_frac),),
        start=START,
        days=4,
        timeframe="1m",
        seed=21,
    )


def backtest(folder: Path, residual_sd_frac: float, order_mode: str) -> OfflineResult:
    data = folder / "market"
    write_market(generate_market(market(residual_sd_frac)), data)
    return run_offline_backtest(
        OfflineRequest(
            datadir=data,
            timeframe="1m",
            results=folder / "out",
            lookback_days=2,
            freqai=False,
            order_mode=order_mode,
            echo=False,
        )
    )


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> OfflineResult:
    return backtest(tmp_path_factory.mktemp("wide"), 0.004, "taker")


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> OfflineResult:
    return backtest(tmp_path_factory.mktemp("quiet"), 0.0005, "taker")


@pytest.fixture(scope="module")
def maker(tmp_path_factory: pytest.TempPathFactory) -> OfflineResult:
    return backtest(tmp_path_factory.mktemp("maker"), 0.004, "maker_first")


def spreads_of(result: OfflineResult) -> list[dict]:
    assert result.spreads_path is not None
    return json.loads(result.spreads_path.read_text())


def trades_of(result: OfflineResult) -> list[dict]:
    return json.loads(result.trades_path.read_text())


def strategy_lines(result: OfflineResult, needle: str) -> list[str]:
    """The backtest's `[STRATEGY]` lines containing `needle`, each unwrapped first (the console
    wraps long lines at its width, which differs between a terminal and a test worker)."""
    text = (result.trades_path.parent / "logs" / "backtesting.log").read_text()
    lines = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    joined = (" ".join(line.split()) for line in lines)
    return [line for line in joined if "[STRATEGY]" in line and needle in line]


# ------------------------------------------------------------------------------ accounting
def test_every_spread_nets_gross_minus_fees_plus_funding(wide: OfflineResult) -> None:
    spreads = spreads_of(wide)
    assert len(spreads) >= 10, "the wide planted pair should trade"
    for s in spreads:
        assert set(s) >= REQUIRED, set(s)
        assert s["net_profit"] == pytest.approx(
            s["gross_profit"] - s["fees"] + s["funding"], abs=1e-6
        ), s["spread_id"]
        assert s["legs"] == 2 and s["fees"] > 0, s["spread_id"]


def test_the_spreads_add_up_to_freqtrades_leg_profits(wide: OfflineResult) -> None:
    spreads, trades = spreads_of(wide), trades_of(wide)
    total_net = sum(s["net_profit"] for s in spreads)
    assert total_net == pytest.approx(sum(t["freqtrade_profit_abs"] for t in trades), abs=0.01)
    # Spread by spread too: no leg is double-counted or lost in the join.
    for s in spreads:
        assert s["net_profit"] == pytest.approx(s["freqtrade_profit"], abs=1e-6), s["spread_id"]
    assert sum(s["legs"] for s in spreads) == len(trades)
    summary = json.loads((wide.trades_path.parent / "summary.json").read_text())
    assert summary["costs"]["total"]["net_profit"] == pytest.approx(total_net)


def test_fees_are_four_fills_at_freqtrades_rate_on_notional_not_on_margin(
    wide: OfflineResult,
) -> None:
    trades = pd.DataFrame(trades_of(wide))
    notional = (trades["amount"] * (trades["open_rate"] + trades["close_rate"])).sum()
    fee_rate = trades["freqtrade_fee_open"].iloc[0]
    assert sum(s["fees"] for s in spreads_of(wide)) == pytest.approx(fee_rate * notional, rel=1e-9)
    margin_based = (fee_rate * trades["stake_amount"]).sum()  # FreqTrade's fee_open_cost
    assert sum(s["fees"] for s in spreads_of(wide)) > 3 * margin_based


def test_the_summary_table_splits_costs_by_pair_and_exit_reason(wide: OfflineResult) -> None:
    costs = wide.costs
    assert costs is not None
    assert [r.group for r in costs.by_pair] == ["SOL/ADA"]
    reasons = Counter(s["exit_reason"] for s in spreads_of(wide))
    assert {r.group: r.spreads for r in costs.by_exit_reason} == dict(reasons)
    assert costs.total.fees == pytest.approx(sum(r.fees for r in costs.by_exit_reason))


def test_the_summary_sharpe_is_daily_equity_returns_over_every_day_of_the_range(
    maker: OfflineResult,
) -> None:
    spreads = spreads_of(maker)
    summary = json.loads((maker.trades_path.parent / "summary.json").read_text())
    closes = [(datetime.fromisoformat(s["close_date"]), s["net_profit"]) for s in spreads]
    balance = summary["result"]["starting_balance_usdt"]
    figures = performance(closes, start=maker.start, end=maker.end, starting_balance_usdt=balance)
    assert summary["result"]["days"] == figures.days == (maker.end - maker.start).days
    assert summary["result"]["sharpe"] == pytest.approx(figures.sharpe)
    assert summary["result"]["max_drawdown_pct"] == pytest.approx(figures.max_drawdown_pct)


# ------------------------------------------------------------------------------ cost gate
def test_a_pair_too_quiet_to_pay_four_fees_opens_no_spread_and_the_log_names_the_cost(
    quiet: OfflineResult,
) -> None:
    traded_pairs = {p.pair_id for period in quiet.selection.book.periods
                    for p in period.config.pairs}  # fmt: skip
    assert "SOL_ADA" in traded_pairs, "the quiet pair must still be selected: refused by cost"
    assert spreads_of(quiet) == [] and trades_of(quiet) == []
    # The pair is blocked by its costs: said once when a run of refused signals starts (with
    # the numbers) and once when it ends, not once per refused candle.
    changes = strategy_lines(quiet, "SOL_ADA entries")
    blocked = [parse_fields(line) for line in changes if "entries blocked" in line]
    by_cost = [f["reason"] for f in blocked if "cost" in f["by"].split(",")]
    assert by_cost, "signals must have fired and been refused"
    assert by_cost[0].startswith("too small to pay its costs")
    assert "round-trip cost" in by_cost[0] and "fees 0.100% = 4 fills at 0.0500%" in by_cost[0]
    states = [
        frozenset(parse_fields(line)["by"].split(",")) if "entries blocked" in line else frozenset()
        for line in changes
    ]
    assert all(a != b for a, b in pairwise(states)), changes
    refused = strategy_lines(quiet, "SOL_ADA entry refused")
    assert not [line for line in refused if "too small to pay its costs" in line], refused[:3]


def test_the_same_pair_with_a_wider_spread_trades(wide: OfflineResult) -> None:
    assert {s["pair_a"] for s in spreads_of(wide)} == {"SOL/USDT:USDT"}
    approved = strategy_lines(wide, "SOL_ADA entry approved")
    assert approved and "expected reversion" in parse_fields(approved[0])["reason"]


# ------------------------------------------------------------------------------ maker-first
def test_maker_first_charges_the_maker_fee_on_fills_that_rested_and_taker_on_crossings(
    maker: OfflineResult,
) -> None:
    spreads = spreads_of(maker)
    assert spreads, "maker-first should trade the wide pair too"
    fills = sum(s["fills"] for s in spreads)
    rested = sum(s["maker_fills"] for s in spreads)
    assert 0 < rested < fills, "some orders rest and fill, some cross after the timeout"
    # FreqTrade charged the taker fee on every fill; the accounting charges maker where rested.
    freqtrade_net = sum(t["freqtrade_profit_abs"] for t in trades_of(maker))
    ours = sum(s["net_profit"] for s in spreads)
    assert ours > freqtrade_net
    summary = json.loads((maker.trades_path.parent / "summary.json").read_text())
    assert summary["order_mode"] == "maker_first"
    # One headline: the spreads' net, not FreqTrade's all-taker figure.
    assert summary["result"]["net_profit_usdt"] == pytest.approx(ours)
    assert summary["fees"] == {"basis": "maker/taker by fill", "maker": BINANCE_USDM_FEES.maker,
                               "taker": BINANCE_USDM_FEES.taker,
                               "freqtrade_charged": BINANCE_USDM_FEES.taker}  # fmt: skip


def test_trades_json_adds_up_to_spreads_json_to_the_cent_with_fills_priced_by_role(
    maker: OfflineResult,
) -> None:
    # FreqTrade's profit_abs charges the taker fee on rested fills; the legs' own figures must
    # be the spreads' money, or the two files tell two different nets.
    spreads, trades = spreads_of(maker), trades_of(maker)
    assert sum(t["net_profit_usdt"] for t in trades) == pytest.approx(
        sum(s["net_profit"] for s in spreads), abs=0.01
    )
    by_spread: dict[str, list[dict]] = {}
    for t in trades:
        by_spread.setdefault(t["spread_id"], []).append(t)
    assert set(by_spread) == {s["spread_id"] for s in spreads}
    for s in spreads:
        legs = by_spread[s["spread_id"]]
        for ours, theirs in (("net_profit_usdt", "net_profit"), ("fee_usdt", "fees"),
                             ("funding_usdt", "funding"), ("gross_profit_usdt", "gross_profit"),
                             ("maker_fills", "maker_fills")):  # fmt: skip
            total = sum(t[ours] for t in legs)
            assert total == pytest.approx(s[theirs], abs=1e-6), f"{s['spread_id']} {ours}"
        for t in legs:
            assert t["net_profit_usdt"] == pytest.approx(
                t["gross_profit_usdt"] - t["fee_usdt"] + t["funding_usdt"], abs=1e-9
            )
    assert any(t["net_profit_usdt"] != pytest.approx(t["freqtrade_profit_abs"]) for t in trades)


def fill_moments(orders: list[dict]) -> tuple[list[int], list[int]]:
    """(entry fill times, exit fill times) of one leg's FreqTrade orders, epoch ms."""
    entries = sorted({o["order_filled_timestamp"] for o in orders if o["ft_is_entry"]})
    exits = sorted({o["order_filled_timestamp"] for o in orders if not o["ft_is_entry"]})
    return entries, exits


def test_both_legs_of_every_maker_first_spread_fill_on_the_same_candle_in_and_out(
    maker: OfflineResult,
) -> None:
    # The money-losing case: a maker leg the candle did not reach used to rest a whole candle
    # while its twin had filled, a naked leg the live bot never allows beyond seconds.
    trades = load_trades(maker.results_dir)  # FreqTrade's own rows, with their orders
    for (tag, opened), legs in trades.groupby(["enter_tag", "open_date"]):
        assert len(legs) == 2, f"{tag} {opened}: a leg without its twin"
        assert legs["is_short"].nunique() == 2
        first, second = (fill_moments(orders) for orders in legs["orders"])
        assert first[0] == second[0], f"{tag} {opened}: legs opened on different candles"
        assert first[1] == second[1], f"{tag} {opened}: legs closed on different candles"
        assert legs["exit_reason"].nunique() == 1, legs[["pair", "exit_reason"]]
    assert "twin_missing" not in set(trades["exit_reason"])
    # The case exists: one leg rested (maker) while its twin, not reached, crossed (taker).
    assert any(s["maker_fills"] % 2 for s in spreads_of(maker))
    # ... and no order was left to cross a candle late.
    log = (maker.trades_path.parent / "logs" / "backtesting.log").read_text()
    assert "maker order not filled: crossing the book" not in " ".join(log.split())  # unwrapped

"""Generated markets land where FreqTrade 2026.9 looks for them, in the columns it expects."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import freqtrade.exchange as ft_exchange
import numpy as np
import pandas as pd
import pytest
from freqtrade.data.history import get_datahandler, load_pair_history
from freqtrade.enums import CandleType
from freqtrade.exchange import Binance, Exchange

from statarb.market import MarketSpec, PlantedPair, default_spec, generate_market
from statarb.market.spec import MARK_TIMEFRAME
from statarb.market.store import (
    GROUND_TRUTH_FILE,
    MarketStoreError,
    read_ground_truth,
    write_market,
)
from statarb.market.universe import DEFAULT_UNIVERSE

REPO = Path(__file__).resolve().parents[2]
SPEC = MarketSpec(
    coins=("BTC", "ETH", "SOL", "XRP"),
    pairs=(PlantedPair("ETH", "SOL", 18.0, 60, 0.003, intercept=300.0, breaks_at=0.75),),
    days=2,
    seed=5,
)


@pytest.fixture(scope="module")
def market():
    return generate_market(SPEC)


@pytest.fixture(scope="module")
def written(market, tmp_path_factory):
    out = tmp_path_factory.mktemp("market")
    return out, write_market(market, out, extra_timeframes=["5m", "1h"])


def test_files_use_freqtrades_futures_layout_and_names(written):
    out, result = written
    futures = out / "binance" / "futures"
    assert result.datadir == out / "binance"
    for stem in ("BTC_USDT_USDT", "ETH_USDT_USDT", "SOL_USDT_USDT", "XRP_USDT_USDT"):
        for suffix in ("1m-futures", "5m-futures", "1h-futures", "1h-mark", "1h-funding_rate"):
            assert (futures / f"{stem}-{suffix}.feather").is_file(), (stem, suffix)
    assert len(result.files) == 4 * 5
    assert result.ground_truth_path == out / GROUND_TRUTH_FILE


def test_candles_load_back_unchanged_with_freqtrades_data_handler(market, written):
    _, result = written
    handler = get_datahandler(result.datadir, "feather")
    for pair, frame in market.candles.items():
        loaded = handler.ohlcv_load(pair, "1m", CandleType.FUTURES)
        assert list(loaded.columns) == ["date", "open", "high", "low", "close", "volume"]
        pd.testing.assert_frame_equal(loaded, frame, check_exact=True)


def test_mark_and_funding_load_as_freqtrade_expects(market, written):
    _, result = written
    handler = get_datahandler(result.datadir, "feather")
    for pair in market.pairs:
        mark = handler.ohlcv_load(pair, MARK_TIMEFRAME, CandleType.MARK)
        assert list(mark.columns) == ["date", "open", "high", "low", "close", "volume"]
        assert len(mark) == 48
        funding = handler.ohlcv_load(
            pair, MARK_TIMEFRAME, CandleType.FUNDING_RATE, fill_missing=False
        )
        # 2026.9 stores `date, funding_rate`; the loader adds the legacy `open` alias.
        assert {"date", "funding_rate"} <= set(funding.columns)
        np.testing.assert_array_equal(
            funding["funding_rate"], market.funding_rates[pair]["funding_rate"]
        )
        assert len(funding) == 6


def test_funding_fees_can_be_computed_from_the_files_like_a_futures_backtest(market, written):
    # FreqTrade merges funding and mark on the settlement timestamps; an empty merge would mean
    # a backtest that silently charges no funding at all.
    _, result = written
    handler = get_datahandler(result.datadir, "feather")
    pair = "BTC/USDT:USDT"
    funding = handler.ohlcv_load(pair, "1h", CandleType.FUNDING_RATE, fill_missing=False)
    mark = handler.ohlcv_load(pair, "1h", CandleType.MARK)
    combined = Exchange.combine_funding_and_mark(funding, mark)
    assert len(combined) == len(market.funding_rates[pair])
    expected = (combined["open_fund"] * combined["open_mark"]).to_numpy()
    np.testing.assert_allclose(combined["_ff_fee_per_unit"], expected)


def test_load_pair_history_reads_the_generated_futures_candles(written):
    _, result = written
    frame = load_pair_history(
        "SOL/USDT:USDT", "5m", result.datadir, data_format="feather",
        candle_type=CandleType.FUTURES,
    )  # fmt: skip
    assert len(frame) == 2 * 288
    assert str(frame["date"].dt.tz) == "UTC"


def test_extra_timeframes_are_resampled_from_the_base_candles(market, written):
    _, result = written
    handler = get_datahandler(result.datadir, "feather")
    hourly = handler.ohlcv_load("ETH/USDT:USDT", "1h", CandleType.FUTURES)
    base = market.candles["ETH/USDT:USDT"]
    assert len(hourly) == 48
    assert hourly["open"].iloc[3] == base["open"].iloc[180]
    assert hourly["close"].iloc[3] == base["close"].iloc[239]
    assert hourly["high"].iloc[3] == base["high"].iloc[180:240].max()
    assert hourly["volume"].iloc[3] == pytest.approx(base["volume"].iloc[180:240].sum())


def test_mark_and_funding_timeframes_are_the_ones_freqtrade_binance_reads():
    # Backtesting loads funding and mark at these timeframes; a mismatch loses all funding.
    ft_has = {**Exchange._ft_has_default, **Binance._ft_has_futures}
    assert ft_has["mark_ohlcv_timeframe"] == MARK_TIMEFRAME
    assert ft_has["funding_fee_timeframe"] == MARK_TIMEFRAME
    assert ft_has["mark_ohlcv_price"] == CandleType.MARK.value


def test_default_universe_symbols_all_have_binance_leverage_tiers():
    # FreqTrade refuses to backtest a futures pair missing from its bundled tier file.
    tiers_file = Path(ft_exchange.__file__).parent / "binance_leverage_tiers.json"
    tiers = json.loads(tiers_file.read_text())
    missing = [c for c in DEFAULT_UNIVERSE if f"{c}/USDT:USDT" not in tiers]
    assert not missing
    assert len(DEFAULT_UNIVERSE) >= 50


def test_ground_truth_records_the_planted_pairs_break_and_spec(market, written):
    out, _ = written
    truth = read_ground_truth(out)
    assert truth["seed"] == 5
    assert truth["timeframe"] == "1m"
    assert truth["random_walk_coins"] == ["BTC", "XRP"]
    (planted,) = truth["planted_pairs"]
    assert planted["pair_a"] == "ETH/USDT:USDT"
    assert planted["pair_b"] == "SOL/USDT:USDT"
    assert planted["hedge_ratio"] == 18.0
    assert planted["intercept"] == 300.0
    assert planted["half_life_candles"] == 60
    assert planted["break_index"] == 2160
    assert planted["break_date"] == "2026-01-02T12:00:00Z"
    assert truth["spec"]["coins"] == ["BTC", "ETH", "SOL", "XRP"]
    assert truth["spec"]["garch"] == {"alpha": 0.05, "beta": 0.94, "t_dof": 6.0}
    assert truth["trade_timeframes"] == ["1m", "5m", "1h"]
    assert len(truth["files"]) == 20
    assert truth["coins"][1]["role"] == "leg_a"


def test_same_seed_writes_byte_identical_files(market, written, tmp_path):
    out, first = written
    second = write_market(generate_market(SPEC), tmp_path, extra_timeframes=["5m", "1h"])
    for a, b in zip(first.files, second.files, strict=True):
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes(), a.name
    assert (out / GROUND_TRUTH_FILE).read_bytes() == (tmp_path / GROUND_TRUTH_FILE).read_bytes()


def test_candle_files_of_another_market_are_refused_so_they_cannot_join_the_scan(market, tmp_path):
    other = generate_market(MarketSpec(coins=("DOGE",), days=1, seed=1))
    write_market(other, tmp_path)
    with pytest.raises(MarketStoreError, match=r"DOGE_USDT_USDT-1m-futures\.feather"):
        write_market(market, tmp_path)
    result = write_market(market, tmp_path, clean=True)
    names = {p.name for p in (tmp_path / "binance" / "futures").iterdir()}
    assert names == {p.name for p in result.files}


def test_extra_timeframe_that_is_not_a_multiple_of_the_base_is_refused(tmp_path):
    m = generate_market(MarketSpec(coins=("BTC",), days=1, timeframe="5m"))
    with pytest.raises(ValueError, match="multiple"):
        write_market(m, tmp_path, extra_timeframes=["7m"])
    with pytest.raises(ValueError, match="multiple"):
        write_market(m, tmp_path, extra_timeframes=["1m"])
    assert not (tmp_path / "binance" / "futures").exists() or not any(
        (tmp_path / "binance" / "futures").iterdir()
    )


def test_missing_ground_truth_is_reported_not_guessed(tmp_path):
    with pytest.raises(MarketStoreError, match="no complete generated market"):
        read_ground_truth(tmp_path)


def test_cli_writes_the_market_and_prints_what_it_wrote(tmp_path, capsys):
    cli = runpy.run_path(str(REPO / "scripts" / "generate_market.py"), run_name="cli")
    code = cli["main"](
        ["--out", str(tmp_path), "--days", "1", "--timeframe", "5m", "--seed", "3",
         "--coins", "6", "--pairs", "2", "--start", "2026-03-01", "--extra-timeframes", "1h"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    truth = read_ground_truth(tmp_path)
    assert truth["start"] == "2026-03-01T00:00:00Z"
    assert len(truth["planted_pairs"]) == 2
    for planted in truth["planted_pairs"]:
        assert planted["pair_a"] in printed and planted["pair_b"] in printed
    assert "ground truth" in printed
    assert len(list((tmp_path / "binance" / "futures").glob("*.feather"))) == 6 * 4
    # Same seed, same spec -> the CLI reproduces the in-memory generator exactly.
    spec = default_spec(days=1, timeframe="5m", seed=3, n_coins=6, n_pairs=2,
                        start=pd.Timestamp("2026-03-01", tz="UTC").to_pydatetime())  # fmt: skip
    expected = generate_market(spec).candles["BTC/USDT:USDT"]
    loaded = get_datahandler(tmp_path / "binance", "feather").ohlcv_load(
        "BTC/USDT:USDT", "5m", CandleType.FUTURES
    )
    pd.testing.assert_frame_equal(loaded, expected, check_exact=True)


def test_cli_reports_a_bad_request_without_a_traceback(tmp_path, capsys):
    cli = runpy.run_path(str(REPO / "scripts" / "generate_market.py"), run_name="cli")
    code = cli["main"](["--out", str(tmp_path), "--coins", "4", "--pairs", "3"])
    assert code == 2
    assert "n_pairs=3 needs 6 distinct coins" in capsys.readouterr().err

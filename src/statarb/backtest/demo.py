"""The main job on a fresh machine: market → local exchange → download-data → pairs → backtest.

With no network and no data it generates a crypto-like futures market with planted pairs,
serves it from the local Binance exchange, downloads it with `freqtrade download-data` like a
user would download Binance, then runs the walk-forward FreqAI backtest on what was downloaded.
With real candles already in `user_data/data` (e.g. downloaded from Binance), it backtests
those instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from statarb.atomic import atomic_write_json
from statarb.backtest.config import backtest_config, load_base_config
from statarb.backtest.offline import OfflineRequest, OfflineResult, run_offline_backtest
from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import start_local_exchange
from statarb.market import default_spec, generate_market
from statarb.market.candles import CandleDataError, available_pairs
from statarb.market.store import write_market
from statarb.runner.processes import REPO_ROOT, run_freqtrade


@dataclass(frozen=True)
class DemoSettings:
    output: Path = REPO_ROOT / "demo_output"
    user_data_candles: Path = REPO_ROOT / "user_data" / "data"
    timeframe: str = "1m"
    days: int = 10
    coins: int = 8
    pairs: int = 3
    seed: int = 7
    lookback_days: float = 3.0
    train_days: float = 2.0
    echo_freqtrade: bool = False


def real_candles_available(settings: DemoSettings) -> bool:
    try:
        return len(available_pairs(settings.user_data_candles, settings.timeframe)) >= 2
    except CandleDataError:
        return False


def run_demo(settings: DemoSettings, console: Console) -> OfflineResult:
    out = settings.output
    if real_candles_available(settings):
        console.rule("[bold]Using your candles in user_data/data")
        datadir = settings.user_data_candles
    else:
        datadir = _generated_and_downloaded(settings, console)
    console.rule("[bold]Walk-forward FreqAI backtest")
    console.print(
        f"re-scanning pairs daily on the trailing {settings.lookback_days:g} days, FreqAI "
        f"trained on the trailing {settings.train_days:g} days, freqtrade backtesting ..."
    )
    return run_offline_backtest(
        OfflineRequest(
            datadir=datadir,
            timeframe=settings.timeframe,
            results=out / "results",
            lookback_days=settings.lookback_days,
            train_days=settings.train_days,
            echo=settings.echo_freqtrade,
        )
    )


def _generated_and_downloaded(settings: DemoSettings, console: Console) -> Path:
    out = settings.output
    console.rule("[bold]1. Synthetic futures market")
    spec = default_spec(
        days=settings.days,
        timeframe=settings.timeframe,
        seed=settings.seed,
        n_coins=settings.coins,
        n_pairs=settings.pairs,
    )
    market = generate_market(spec)
    written = write_market(market, out / "market", clean=True)
    console.print(
        f"{len(spec.coins)} coins x {spec.n_candles} {spec.timeframe} candles; planted pairs "
        "(the scanner is not told): "
        + ", ".join(f"{t.leg_a} ~ {t.hedge_ratio:.4g} x {t.leg_b}" for t in market.planted)
    )
    console.print(f"ground truth: {written.ground_truth_path}")

    console.rule("[bold]2. Local Binance exchange + freqtrade download-data")
    user_data = out / "user_data"
    download_dir = user_data / "data" / "binance"
    download_dir.mkdir(parents=True, exist_ok=True)
    exchange = start_local_exchange(out / "market", log_path=out / "logs" / "exchange.log")
    try:
        console.print(f"local exchange on {exchange.url} (Binance REST protocol, signed requests)")
        config = backtest_config(
            load_base_config(),
            exchange_section=freqtrade_exchange_config(exchange.url),
            whitelist=list(market.candles),
            timeframe=settings.timeframe,
            user_data_dir=user_data,
            freqai=False,
        )
        config_path = out / "config.download.json"
        atomic_write_json(config_path, config)
        run_freqtrade(
            [
                "download-data",
                "--config",
                str(config_path),
                "--userdir",
                str(user_data),
                "--datadir",
                str(download_dir),
                "--timeframes",
                settings.timeframe,
                "--days",
                str(settings.days + 1),
                "--trading-mode",
                "futures",
                "--erase",
            ],
            log_path=out / "logs" / "download-data.log",
            echo=settings.echo_freqtrade,
        )
    finally:
        exchange.stop()
    pairs = available_pairs(download_dir, settings.timeframe)
    console.print(f"downloaded {len(pairs)} pairs into {download_dir}")
    return download_dir

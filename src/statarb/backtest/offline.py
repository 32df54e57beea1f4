"""An honest offline backtest on any candles: local exchange, walk-forward pairs, FreqAI.

1. Read the candles (FreqTrade's layout) and decide the range: the first scan and FreqAI's
   first training window need history before the backtest starts.
2. Pairs: with no pairs config, re-scan on the production schedule (default every 24 h), each
   scan on its trailing lookback only (walk-forward). A fixed config is allowed, but if the data
   it was chosen on overlaps the backtest, the results say "IN-SAMPLE SELECTION" loudly.
3. Start the local exchange on the same candles (FreqTrade loads markets even to backtest) and
   run `freqtrade backtesting` with the production config, overridden only where offline needs.
4. Write FreqTrade's own result files, `trades.json`, `spreads.json` (each spread's money split
   into gross, fees, funding and slippage), `summary.json` (net, Sharpe and drawdown from the
   spreads' money, `statarb.accounting.performance`), the schedule, a plot.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from statarb.accounting.pnl import CostSummary, SpreadRecord, summarise_costs
from statarb.atomic import atomic_write_json
from statarb.backtest.config import DEFAULT_BASE_CONFIG, backtest_config, load_base_config
from statarb.backtest.results import (
    BacktestSummary,
    freqtrade_run,
    load_trades,
    summarise,
    trade_records,
)
from statarb.backtest.spreads import backtest_accounts
from statarb.costs.orders import BINANCE_USDM_FEES, FeeRates, is_maker_first
from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import start_local_exchange
from statarb.market.candles import available_pairs, load_closes, resolve_exchange_dir
from statarb.pairs_config import (
    DEFAULT_MEAN_REVERSION_WINDOW,
    PairsConfig,
    PairsSchedule,
    load_pairs_config,
    load_schedule,
    write_pairs_config,
    write_schedule,
)
from statarb.runner.processes import REPO_ROOT, run_freqtrade
from statarb.selection.scanner import ScanParams
from statarb.selection.schedule import build_schedule
from statarb.settings import StrategySettings, parse_settings, startup_candles
from statarb.spread.book import SpreadBook

# How summary.json's "result" was measured (README, "Figures").
FIGURES = (
    "the spreads' money (spreads.json): net = gross - fees + funding, fills priced by role; "
    "equity = starting balance + each spread's net at its close; Sharpe = mean / sd of the "
    "equity's daily returns over every UTC day of the range (flat days are 0 %) x sqrt(365); "
    "max drawdown = largest fall from the equity's peak. FreqTrade's own figures (one fee on "
    "every fill, its own Sharpe) are in its result files only."
)

TIMEFRAME_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240}


class BacktestSetupError(ValueError):
    """The backtest cannot start as asked; the message says what to change."""


@dataclass(frozen=True)
class OfflineRequest:
    datadir: Path
    timeframe: str
    results: Path
    timerange: str | None = None
    pairs_config: Path | None = None
    # A fixed schedule instead (its periods say from when each pairs file trades): e.g. the
    # paper comparison's pairs file from the paper run's first candle only.
    pairs_schedule: Path | None = None
    pairs: tuple[str, ...] = ()
    base_config: Path = DEFAULT_BASE_CONFIG
    # The scan window: candles (None: the base config's statarb.scan_lookback_candles), or a
    # time span in days when `lookback_days` is given.
    lookback_candles: int | None = None
    lookback_days: float | None = None
    price_space: str | None = None  # None: the base config's statarb.price_space
    # Walk-forward only: entry threshold written into each scanned pair (None: the strategy's).
    entry_z: float | None = None
    keep_pairs_scans: int | None = None  # None: the base config's statarb.keep_pairs_scans
    fdr_alpha: float | None = None  # None: the base config's statarb.fdr_alpha
    rescan_every_hours: float = 24.0
    train_days: float | None = None
    freqai: bool = True
    max_pairs: int = 10
    wallet_usdt: float = 10_000.0
    fee: float | None = None
    order_mode: str | None = None  # "taker" / "maker_first"; None = as the base config says
    # Maker-first only: the exchange's maker fee (default Binance's regular tier); `fee` is
    # then the taker fee, which FreqTrade charges on every fill of its own figures.
    maker_fee: float | None = None
    statarb_overrides: dict[str, Any] = field(default_factory=dict)
    freqtrade_overrides: dict[str, Any] = field(default_factory=dict)
    echo: bool = True


@dataclass(frozen=True)
class Selection:
    mode: str  # "walk_forward" or "fixed"
    in_sample: bool
    warning: str | None
    scans: int
    scan_seconds: float
    book: SpreadBook
    path: Path


@dataclass(frozen=True)
class OfflineResult:
    summary: BacktestSummary | None
    selection: Selection
    start: datetime
    end: datetime
    results_dir: Path
    trades_path: Path
    freqtrade_seconds: float
    closes: pd.DataFrame
    message: str | None = None
    spreads: tuple[SpreadRecord, ...] = ()
    costs: CostSummary | None = None
    spreads_path: Path | None = None
    order_mode: str = "taker"
    fee_rates: FeeRates | None = None  # maker-first: fills re-priced by role at these rates
    # FreqTrade's own sum of leg profits (one fee on every fill): a cross-check, not a result.
    freqtrade_net_usdt: float | None = None


def parse_timerange(text: str) -> tuple[datetime | None, datetime | None]:
    """FreqTrade's `YYYYMMDD-YYYYMMDD` (either side optional), UTC."""
    if "-" not in text:
        raise BacktestSetupError(f"timerange {text!r} must look like 20260105-20260120")
    left, right = text.split("-", 1)

    def one(part: str) -> datetime | None:
        if not part:
            return None
        try:
            if part.isdigit() and len(part) == 8:
                return datetime.strptime(part, "%Y%m%d").replace(tzinfo=UTC)
            return datetime.fromtimestamp(int(part), tz=UTC)
        except ValueError:
            raise BacktestSetupError(f"timerange part {part!r} is not YYYYMMDD") from None

    return one(left), one(right)


def _ceil_day(moment: pd.Timestamp) -> datetime:
    floor = moment.floor("D")
    return (floor if floor == moment else floor + pd.Timedelta(days=1)).to_pydatetime()


def plan_range(
    closes: pd.DataFrame,
    *,
    timeframe: str,
    timerange: str | None,
    history_days: float,
) -> tuple[datetime, datetime]:
    """[start, end) of the backtest; refuses a start without enough history before it."""
    first, last = closes.index.min(), closes.index.max()
    tf = pd.Timedelta(minutes=TIMEFRAME_MINUTES[timeframe])
    data_end = (last + tf).to_pydatetime()
    earliest = _ceil_day(first + pd.Timedelta(days=history_days))
    start, end = parse_timerange(timerange) if timerange else (None, None)
    start = start or earliest
    end = min(end or data_end, data_end)
    if pd.Timestamp(start) - pd.Timedelta(days=history_days) < first:
        raise BacktestSetupError(
            f"the backtest starting {start:%Y-%m-%d %H:%M} UTC needs {history_days:g} days of "
            f"candles before it (pair scan lookback and FreqAI training), but the data starts "
            f"{first:%Y-%m-%d %H:%M}: start at {earliest:%Y-%m-%d} or later, or add earlier data"
        )
    if end <= start:
        raise BacktestSetupError(
            f"nothing to backtest: the range {start:%Y-%m-%d} .. {end:%Y-%m-%d} is empty "
            f"(data {first:%Y-%m-%d} .. {last:%Y-%m-%d})"
        )
    return start, end


@dataclass(frozen=True)
class ScanPlan:
    """What the walk-forward scans use: the window (candles or a span), the price space, how
    long a chosen pair is kept and the FDR level."""

    lookback: int | timedelta
    price_space: str
    history_days: float  # how much data the first scan needs before the backtest starts
    keep_scans: int
    fdr_alpha: float


def scan_plan(request: OfflineRequest, settings: StrategySettings) -> ScanPlan:
    """The request's scan settings, falling back to the base config's `statarb` section."""
    minutes = TIMEFRAME_MINUTES[request.timeframe]
    if request.lookback_days is not None:
        lookback: int | timedelta = timedelta(days=request.lookback_days)
        days = request.lookback_days
    else:
        lookback = request.lookback_candles or settings.scan_lookback_candles
        days = lookback * minutes / 1_440
    return ScanPlan(
        lookback,
        request.price_space or settings.price_space,
        days,
        request.keep_pairs_scans or settings.keep_pairs_scans,
        request.fdr_alpha or settings.fdr_alpha,
    )


def train_days_for(request: OfflineRequest, settings: StrategySettings) -> float:
    """FreqAI's training window in days: --train-days, else statarb.model_train_candles."""
    if request.train_days is not None:
        return request.train_days
    return settings.model_train_candles * TIMEFRAME_MINUTES[request.timeframe] / 1_440


def select_pairs(
    request: OfflineRequest,
    closes: pd.DataFrame,
    start: datetime,
    end: datetime,
    out: Path,
    plan: ScanPlan | None = None,
) -> Selection:
    if request.pairs_schedule is not None:
        given = load_schedule(request.pairs_schedule)
        path = out / "pairs_schedule.json"
        write_schedule(given, path)
        book = SpreadBook.from_schedule(given)
        return Selection("walk_forward", False, None, 0, 0.0, book, path)
    if request.pairs_config is not None:
        config: PairsConfig = load_pairs_config(request.pairs_config)
        window = config.scan_window
        if window is None:
            warning = (
                f"{request.pairs_config} does not record the data window it was chosen on: "
                "the selection may be IN-SAMPLE and the results may be worthless"
            )
            in_sample = True
        elif window.overlaps(start, end):
            warning = (
                f"IN-SAMPLE SELECTION: {request.pairs_config} was chosen on candles "
                f"{window.start:%Y-%m-%d %H:%M} .. {window.end:%Y-%m-%d %H:%M} UTC, which overlap "
                f"the backtest {start:%Y-%m-%d} .. {end:%Y-%m-%d}. The pairs were picked because "
                "they reverted in this very period: do not size money on these figures."
            )
            in_sample = True
        else:
            warning, in_sample = None, False
        path = out / "pairs_config.json"
        write_pairs_config(config, path)
        return Selection("fixed", in_sample, warning, 0, 0.0, SpreadBook.from_config(config), path)
    plan = plan or scan_plan(request, parse_settings(load_base_config(request.base_config)))
    params = ScanParams(
        max_pairs=request.max_pairs,
        price_space=plan.price_space,
        entry_z=request.entry_z,
        fdr_alpha=plan.fdr_alpha,
    )
    run = build_schedule(
        closes,
        start=start,
        end=end,
        every=timedelta(hours=request.rescan_every_hours),
        lookback=plan.lookback,
        keep_scans=plan.keep_scans,
        params=params,
        timeframe=request.timeframe,
    )
    schedule: PairsSchedule = run.schedule
    path = out / "pairs_schedule.json"
    write_schedule(schedule, path)
    return Selection(
        "walk_forward",
        False,
        None,
        run.scans,
        run.scan_seconds,
        SpreadBook.from_schedule(schedule),
        path,
    )


def run_offline_backtest(request: OfflineRequest) -> OfflineResult:
    out = request.results.resolve()
    out.mkdir(parents=True, exist_ok=True)
    exchange_dir = resolve_exchange_dir(request.datadir)
    if request.timeframe not in TIMEFRAME_MINUTES:
        raise BacktestSetupError(f"timeframe {request.timeframe!r} is not supported")
    universe = list(request.pairs) or available_pairs(exchange_dir, request.timeframe)
    if len(universe) < 2:
        raise BacktestSetupError(
            f"{exchange_dir}: found {len(universe)} coin(s) with {request.timeframe} futures "
            "candles; a spread needs at least two"
        )
    base = load_base_config(request.base_config)
    settings = parse_settings(base)
    plan = scan_plan(request, settings)
    train_days = train_days_for(request, settings)
    # FreqTrade loads the strategy's startup candles before the range, and FreqAI its training
    # window before those.
    startup_days = (
        startup_candles(settings, DEFAULT_MEAN_REVERSION_WINDOW)
        * TIMEFRAME_MINUTES[request.timeframe]
        / 1_440
    )
    history_days = max(
        plan.history_days, startup_days + (math.ceil(train_days) if request.freqai else 0.0)
    )
    closes = load_closes(exchange_dir, universe, request.timeframe)
    start, end = plan_range(
        closes, timeframe=request.timeframe, timerange=request.timerange, history_days=history_days
    )
    selection = select_pairs(request, closes, start, end, out, plan)
    whitelist = selection.book.symbols
    trades_path = out / "trades.json"
    user_data = out / "user_data"
    results_dir = user_data / "backtest_results"
    if not whitelist:
        atomic_write_json(trades_path, [])
        atomic_write_json(out / "spreads.json", [])
        return OfflineResult(
            None, selection, start, end, results_dir, trades_path, 0.0, closes,
            "no pair passed the scan anywhere in the range: nothing to trade",
        )  # fmt: skip
    order_mode = request.order_mode or (
        "maker_first" if is_maker_first(base.get("order_types", {})) else "taker"
    )
    rates, fee, statarb_overrides = _fee_plan(request, order_mode)
    for folder in ("backtest_results", "strategies"):
        (user_data / folder).mkdir(parents=True, exist_ok=True)
    for old in results_dir.glob("backtest-result-*"):
        old.unlink()
    exchange = start_local_exchange(exchange_dir.parent, log_path=out / "logs" / "exchange.log")
    try:
        config = backtest_config(
            base,
            exchange_section=freqtrade_exchange_config(exchange.url),
            whitelist=whitelist,
            timeframe=request.timeframe,
            user_data_dir=user_data,
            pairs_config=selection.path if selection.mode == "fixed" else None,
            pairs_schedule=selection.path if selection.mode == "walk_forward" else None,
            freqai=request.freqai,
            train_days=train_days,
            identifier_seed=f"{selection.path.read_text()}|{start}|{end}",
            wallet_usdt=request.wallet_usdt,
            fee=fee,
            statarb_overrides=statarb_overrides,
            freqtrade_overrides=request.freqtrade_overrides,
            order_mode=order_mode,
        )
        config_path = out / "config.backtest.json"
        atomic_write_json(config_path, config)
        timerange = f"{int(start.timestamp())}-{int(end.timestamp())}"
        args = [
            "backtesting",
            "--config", str(config_path),
            "--userdir", str(user_data),
            "--datadir", str(exchange_dir),
            "--strategy", "CointPairsStrategy",
            "--strategy-path", str(REPO_ROOT / "user_data" / "strategies"),
            "--timerange", timerange,
            "--cache", "none",
            "--export", "trades",
        ]  # fmt: skip
        if request.freqai:
            args += ["--freqaimodel", str(config.get("freqaimodel", "LightGBMRegressor"))]
        tick = time.perf_counter()
        run_freqtrade(args, log_path=out / "logs" / "backtesting.log", echo=request.echo)
        freqtrade_seconds = time.perf_counter() - tick
    finally:
        exchange.stop()
    trades = load_trades(results_dir)
    maker_taker = None
    if rates is not None:
        opens = load_closes(exchange_dir, universe, request.timeframe, field="open")
        maker_taker = (rates, opens)
    accounts = backtest_accounts(
        trades, selection.book, closes, TIMEFRAME_MINUTES[request.timeframe],
        maker_taker=maker_taker,
    )  # fmt: skip
    spreads = accounts.spreads
    atomic_write_json(trades_path, trade_records(trades, accounts.legs))
    strategy_name, balance = freqtrade_run(results_dir)
    balance = balance or request.wallet_usdt
    summary = summarise(
        strategy_name, trades, spreads, start=start, end=end, starting_balance_usdt=balance
    )
    costs = summarise_costs(spreads, balance)
    spreads_path = out / "spreads.json"
    atomic_write_json(spreads_path, [record.to_json() for record in spreads])
    atomic_write_json(
        out / "summary.json",
        {
            "range": {"start": start.isoformat(), "end": end.isoformat()},
            "timeframe": request.timeframe,
            "selection": {
                "mode": selection.mode,
                "in_sample": selection.in_sample,
                "warning": selection.warning,
                "scans": selection.scans,
                "scan_seconds": round(selection.scan_seconds, 3),
                "file": str(selection.path),
            },
            "freqai": request.freqai,
            "order_mode": order_mode,
            "fees": _fee_json(rates, fee),
            "freqtrade_seconds": round(freqtrade_seconds, 1),
            "result": {"figures": FIGURES, **summary.to_json()},
            "costs": costs.to_json(),
            "freqtrade_results": str(results_dir),
        },
    )
    freqtrade_net = float(trades["profit_abs"].sum()) if len(trades) else 0.0
    return OfflineResult(
        summary, selection, start, end, results_dir, trades_path, freqtrade_seconds, closes,
        spreads=spreads, costs=costs, spreads_path=spreads_path, order_mode=order_mode,
        fee_rates=rates, freqtrade_net_usdt=freqtrade_net,
    )  # fmt: skip


def _fee_plan(
    request: OfflineRequest, order_mode: str
) -> tuple[FeeRates | None, float | None, dict[str, Any]]:
    """(rates to re-price fills by role, FreqTrade's fee, statarb overrides) of a run.

    Taker: FreqTrade's own fee (`--fee`, else the exchange's) on every fill. Maker-first:
    FreqTrade charges the taker fee on every fill (its figures are the all-taker worst case);
    the spread accounting charges the maker fee on fills that rested, and the cost gate
    assumes the maker fee.
    """
    overrides = dict(request.statarb_overrides)
    if order_mode != "maker_first":
        if request.maker_fee is not None:
            raise BacktestSetupError("--maker-fee only applies to --order-mode maker_first")
        return None, request.fee, overrides
    rates = FeeRates(
        maker=BINANCE_USDM_FEES.maker if request.maker_fee is None else request.maker_fee,
        taker=BINANCE_USDM_FEES.taker if request.fee is None else request.fee,
    )
    overrides.setdefault("fee_rate", rates.maker)
    return rates, rates.taker, overrides


def _fee_json(rates: FeeRates | None, freqtrade_fee: float | None) -> dict[str, Any]:
    if rates is None:
        return {"basis": "freqtrade", "freqtrade_charged": freqtrade_fee}
    return {
        "basis": "maker/taker by fill",
        "maker": rates.maker,
        "taker": rates.taker,
        "freqtrade_charged": freqtrade_fee,
    }


def schedule_rows(book: SpreadBook) -> list[dict[str, Any]]:
    """One row per re-scan: when it took effect, the window it saw and what it chose."""
    rows = []
    for period in book.periods:
        window = period.config.scan_window
        rows.append(
            {
                "valid_from": period.valid_from,
                "scan_window": (
                    f"{window.start:%m-%d %H:%M} .. {window.end:%m-%d %H:%M}" if window else "?"
                ),
                "pairs": [
                    f"{p.pair_id} β={p.hedge_ratio:.4g} p={p.pvalue:.1e}"
                    for p in period.config.pairs
                ],
            }
        )
    return rows

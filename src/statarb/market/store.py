"""Write a generated market into a FreqTrade datadir with FreqTrade's own data handler.

Layout (what `freqtrade backtesting --datadir DIR/binance` and the local exchange read),
in DIR/binance/futures/:
    BTC_USDT_USDT-1m-futures.feather       trade candles (base timeframe)
    BTC_USDT_USDT-5m-futures.feather       optional, resampled from the base
    BTC_USDT_USDT-1h-mark.feather          mark price (binance `mark_ohlcv_timeframe`)
    BTC_USDT_USDT-1h-funding_rate.feather  funding (binance `funding_fee_timeframe`)
and DIR/ground_truth.json: planted pairs, coins, spec, seed.

Using FreqTrade's handler (not our own feather writer) guarantees the column set and file names
FreqTrade 2026.9 expects, e.g. funding rates as `date, funding_rate` rather than legacy OHLCV.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType

from statarb.atomic import atomic_write_json
from statarb.market.generator import GeneratedMarket, resample_ohlcv
from statarb.market.spec import (
    MARK_TIMEFRAME,
    MarketSpecError,
    any_timeframe_minutes,
    timeframe_minutes,
)

EXCHANGE_DIR = "binance"
DATA_FORMAT = "feather"
GROUND_TRUTH_FILE = "ground_truth.json"
_CANDLE_SUFFIXES = ("-futures.feather", "-mark.feather", "-funding_rate.feather")


class MarketStoreError(RuntimeError):
    """The market cannot be written where asked; the message says what is in the way."""


@dataclass(frozen=True)
class WrittenMarket:
    """Where a market went: the FreqTrade datadir, every candle file, the ground truth."""

    datadir: Path  # pass as `--datadir` to freqtrade
    files: tuple[Path, ...]
    ground_truth_path: Path
    timeframes: tuple[str, ...]  # trade-candle timeframes written, base first


def write_market(
    market: GeneratedMarket,
    out_dir: str | Path,
    extra_timeframes: Sequence[str] = (),
    *,
    clean: bool = False,
) -> WrittenMarket:
    """Store every coin's candles, mark prices and funding rates, then the ground truth.

    Candle files of other coins already in the folder would silently join the scanner's
    universe, so they are an error unless `clean=True` removes them. The ground truth is
    written last (atomically): its presence means the whole market is on disk.
    """
    out = Path(out_dir)
    spec = market.spec
    timeframes = _timeframes(spec.timeframe, extra_timeframes)
    datadir = out / EXCHANGE_DIR
    handler = get_datahandler(datadir, DATA_FORMAT)
    planned: list[tuple[str, str, CandleType, Any]] = []
    for pair, candles in market.candles.items():
        planned.append((pair, spec.timeframe, CandleType.FUTURES, candles))
        planned.extend(
            (pair, tf, CandleType.FUTURES, lambda c=candles, tf=tf: resample_ohlcv(c, tf))
            for tf in timeframes[1:]
        )
        planned.append((pair, MARK_TIMEFRAME, CandleType.MARK, market.mark_candles[pair]))
        planned.append((pair, MARK_TIMEFRAME, CandleType.FUNDING_RATE, market.funding_rates[pair]))
    # FreqTrade's own naming (a classmethod of its handler), so the files are where it looks.
    targets = [
        handler._pair_data_filename(datadir, pair, tf, candle_type)
        for pair, tf, candle_type, _ in planned
    ]
    _clear_stale(datadir / "futures", set(targets), clean)

    # FreqTrade's handler creates only the last folder level itself.
    (datadir / "futures").mkdir(parents=True, exist_ok=True)
    truth_path = out / GROUND_TRUTH_FILE
    truth_path.unlink(missing_ok=True)  # never leave an old truth beside new candles
    for pair, tf, candle_type, data in planned:
        frame = data() if callable(data) else data
        handler.ohlcv_store(pair, tf, frame, candle_type)

    truth = market.ground_truth()
    truth["datadir"] = str(datadir.relative_to(out))
    truth["data_format"] = DATA_FORMAT
    truth["trade_timeframes"] = list(timeframes)
    truth["mark_timeframe"] = MARK_TIMEFRAME
    truth["files"] = [str(p.relative_to(out)) for p in targets]
    atomic_write_json(truth_path, truth)
    return WrittenMarket(datadir, tuple(targets), truth_path, timeframes)


def read_ground_truth(out_dir: str | Path) -> dict[str, Any]:
    """The ground truth a `write_market` call left in `out_dir`."""
    path = Path(out_dir) / GROUND_TRUTH_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MarketStoreError(
            f"{path} not found: no complete generated market in {out_dir}"
        ) from None


def _timeframes(base: str, extra: Sequence[str]) -> tuple[str, ...]:
    base_min = timeframe_minutes(base)
    out = [base]
    for tf in extra:
        if tf in out:
            continue
        # Validated before anything is written: it must resample from the base.
        minutes = any_timeframe_minutes(tf)
        if minutes <= base_min or minutes % base_min:
            raise MarketSpecError(
                f"extra timeframe {tf} must be a longer multiple of the base timeframe {base}"
            )
        out.append(tf)
    return tuple(out)


def _clear_stale(futures_dir: Path, keep: set[Path], clean: bool) -> None:
    if not futures_dir.is_dir():
        return
    stale = sorted(
        p for p in futures_dir.iterdir() if p.name.endswith(_CANDLE_SUFFIXES) and p not in keep
    )
    if not stale:
        return
    if not clean:
        names = ", ".join(p.name for p in stale[:5]) + (" ..." if len(stale) > 5 else "")
        raise MarketStoreError(
            f"{futures_dir} already holds {len(stale)} candle file(s) of another market "
            f"({names}); they would join the scanned universe. Use an empty folder or clean=True."
        )
    for path in stale:
        path.unlink()

"""The strategy's start-up checks, as plain functions of the config and the pairs.

Each check returns the reason the bot must not trade as configured (None: fine); `prepare` runs
them in order and the strategy turns a refusal into FreqTrade's refusal to start. The checks
need no FreqTrade, so each rule is tested on plain dictionaries
(tests/unit/test_startup_checks.py); `prepare` reads FreqTrade's run mode and timeframe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freqtrade.enums.runmode import NON_UTIL_MODES
from freqtrade.exchange import timeframe_to_minutes

from statarb.costs.orders import order_settings_problems
from statarb.ft.trades import LIVE_MODES
from statarb.pairs_config import (
    DEFAULT_MEAN_REVERSION_WINDOW,
    PairsConfigError,
    load_pairs_config,
    load_schedule,
)
from statarb.safety.log import Category, log
from statarb.safety.review_flag import ManualReviewFlag
from statarb.settings import SettingsError, StrategySettings, parse_settings, startup_candles
from statarb.spread.book import SpreadBook
from statarb.spread.features import RetestParams

logger = logging.getLogger(__name__)


class StartupRefusedError(ValueError):
    """The bot must not trade as configured; the message says why and what to change."""


@dataclass(frozen=True)
class Startup:
    """What the strategy trades with, checked: its settings, its pairs, its candle needs."""

    settings: StrategySettings
    book: SpreadBook
    timeframe_minutes: int
    analysis_run: bool  # lookahead-/recursive-analysis (FreqTrade's util run modes)
    startup_candle_count: int
    retest: RetestParams
    review_flag_path: Path


def prepare(
    config: dict[str, Any], order_types: Mapping[str, Any], *, default_timeframe: str
) -> Startup:
    """Every start-up check, in order; the first refusal raises `StartupRefusedError`.

    `analysis_run`: lookahead-/recursive-analysis (FreqTrade's util run modes), which replay
    one pair at a time: there the whitelist is grown by each leg's partners, in place (FreqTrade
    builds its pairlist from this config after loading the strategy), so the replay trades what
    a real backtest trades; real runs must list every leg themselves.
    """
    runmode = config.get("runmode")
    timeframe = config.get("timeframe", default_timeframe)
    timeframe_minutes = timeframe_to_minutes(timeframe)
    analysis_run = runmode not in NON_UTIL_MODES
    live_run = runmode in LIVE_MODES
    try:
        settings = parse_settings(config)
    except SettingsError as exc:
        raise StartupRefusedError(str(exc)) from None
    candle_s = None if live_run else 60.0 * timeframe_minutes
    orders = config.get("order_types", order_types)
    refusal = order_settings_refusal(config, orders, settings, backtest_candle_s=candle_s)
    if refusal and not analysis_run:
        raise StartupRefusedError(refusal)
    book = load_book(settings)
    whitelist = config.get("exchange", {}).get("pair_whitelist")
    if analysis_run and whitelist:
        whitelist[:] = with_partners(book, whitelist)
    elif not analysis_run and (refusal := whitelist_refusal(book, config)):
        raise StartupRefusedError(refusal)
    windows = [e.mean_reversion_window for s in book.symbols for e in book.entries_of(s)]
    # Pairs chosen by a later re-scan may use the default window; keep room for it.
    longest = max([*windows, DEFAULT_MEAN_REVERSION_WINDOW])
    if refusal := timeframe_refusal(book, timeframe):
        raise StartupRefusedError(refusal)
    user_data = Path(config.get("user_data_dir", "user_data"))
    return Startup(
        settings=settings,
        book=book,
        timeframe_minutes=timeframe_minutes,
        analysis_run=analysis_run,
        startup_candle_count=startup_candles(settings, longest),
        retest=RetestParams(
            window=settings.retest_window,
            every=settings.retest_every,
            max_pvalue=settings.retest_max_pvalue,
        ),
        review_flag_path=settings.review_flag_path(user_data, dry_run=bool(config.get("dry_run"))),
    )


def log_review_flag(flag: ManualReviewFlag) -> None:
    """Said at start while the manual-review flag is up."""
    if flag.is_raised():
        reasons = flag.status().summary
        log(
            logger,
            Category.SAFETY,
            None,
            "manual review flag is up: no new spreads",
            reasons=reasons,
        )


def log_loaded_pairs(book: SpreadBook) -> None:
    """One [STRATEGY] line per pair of the newest config, and the schedule's size if any."""
    for config in book.configs[-1:]:
        for pair in config.pairs:
            log(
                logger,
                Category.STRATEGY,
                pair.pair_id,
                "pair loaded",
                leg_a=pair.leg_a,
                leg_b=pair.leg_b,
                hedge_ratio=pair.hedge_ratio,
                price_space=pair.price_space,
                pvalue=pair.pvalue,
            )
    if book.is_schedule:
        log(
            logger,
            Category.STRATEGY,
            None,
            "walk-forward schedule loaded",
            periods=len(book.configs),
            coins=len(book.symbols),
        )


def load_book(settings: StrategySettings) -> SpreadBook:
    """The pairs to trade: the walk-forward schedule (backtests) or the pairs file."""
    try:
        if settings.pairs_schedule:
            return SpreadBook.from_schedule(load_schedule(settings.pairs_schedule))
        return SpreadBook.from_config(load_pairs_config(settings.pairs_config))
    except PairsConfigError as exc:
        raise StartupRefusedError(f"[SAFETY] cannot trade: {exc}") from None


def order_settings_refusal(
    config: Mapping[str, Any],
    order_types: Mapping[str, Any],
    settings: StrategySettings,
    *,
    backtest_candle_s: float | None,
) -> str | None:
    """Maker-first orders need FreqTrade's timeouts and pricing to match (statarb.costs)."""
    problems = order_settings_problems(
        {**config, "order_types": order_types},
        settings.maker_timeout_s,
        backtest_candle_s=backtest_candle_s,
    )
    return "[SAFETY] order settings: " + "; ".join(problems) if problems else None


def timeframe_refusal(book: SpreadBook, timeframe: str) -> str | None:
    """Windows and half-lives are counted in candles: a scan on 5m candles traded on 1m
    candles would judge every spread on a window five times too short."""
    scanned = {c.timeframe for c in book.configs if c.timeframe}
    if scanned - {timeframe}:
        return (
            f"[SAFETY] the pairs were chosen on {', '.join(sorted(scanned))} candles but the "
            f"bot trades {timeframe} candles: re-scan on {timeframe} candles"
        )
    return None


def whitelist_refusal(book: SpreadBook, config: Mapping[str, Any]) -> str | None:
    """Both legs of every spread must be tradeable, and FreqAI must see every partner."""
    whitelist = set(config.get("exchange", {}).get("pair_whitelist", []))
    missing = [s for s in book.symbols if s not in whitelist]
    if missing:
        return (
            "[SAFETY] pairs config legs are not in exchange.pair_whitelist: "
            + ", ".join(missing)
            + " (the whitelist must hold every leg so both legs of a spread can trade)"
        )
    freqai = config.get("freqai", {})
    if freqai.get("enabled"):
        corr = set(freqai.get("feature_parameters", {}).get("include_corr_pairlist", []))
        missing_corr = [s for s in book.symbols if s not in corr]
        if missing_corr:
            return (
                "freqai.feature_parameters.include_corr_pairlist must hold every leg "
                "(the model's spread features need the partner's candles); missing: "
                + ", ".join(missing_corr)
            )
    return None


def with_partners(book: SpreadBook, whitelist: list[str]) -> list[str]:
    """The whitelist grown by every leg's partners, transitively: a bias analysis replays one
    pair at a time, but a spread only exists with both legs (a partner's other pairs can keep
    it busy too)."""
    grown = list(whitelist)
    added = True
    while added:
        added = False
        for symbol in list(grown):
            for entry in book.entries_of(symbol):
                for leg in (entry.leg_a, entry.leg_b):
                    if leg not in grown:
                        grown.append(leg)
                        added = True
    return grown


def unknown_symbols_refusal(
    book: SpreadBook, market: Callable[[str], Mapping[str, Any] | None]
) -> str | None:
    """Every leg must be a market the exchange lists."""
    unknown = [s for s in book.symbols if market(s) is None]
    if unknown:
        return "[SAFETY] pairs config names symbols the exchange does not list: " + ", ".join(
            unknown
        )
    return None

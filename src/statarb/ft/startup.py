"""The strategy's start-up checks, as plain functions of the config and the pairs.

Each returns the reason the bot must not trade as configured (None: fine); the strategy turns
a reason into FreqTrade's refusal to start. Kept apart from FreqTrade so that each rule is
tested on plain dictionaries (tests/unit/test_startup_checks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from statarb.costs.orders import order_settings_problems
from statarb.pairs_config import PairsConfigError, load_pairs_config, load_schedule
from statarb.settings import StrategySettings
from statarb.spread.book import SpreadBook


class StartupRefusedError(ValueError):
    """The bot must not trade as configured; the message says why and what to change."""


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

"""The strategy refuses to start when the configuration would trade a spread wrongly.

Protects against a bot that starts anyway with: a leg FreqTrade may not trade (the spread's
twin could never be opened), a model that cannot see the partner's candles, pairs chosen on
another timeframe (every window in candles off by that factor), a leg the exchange does not
list, or a pairs file that cannot be read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from statarb.ft.startup import (
    StartupRefusedError,
    load_book,
    timeframe_refusal,
    unknown_symbols_refusal,
    whitelist_refusal,
    with_partners,
)
from statarb.pairs_config import PairEntry, PairsConfig, ScanWindow, write_pairs_config
from statarb.settings import parse_settings
from statarb.spread.book import SpreadBook

SOL, ADA, ETH, XRP = (f"{c}/USDT:USDT" for c in ("SOL", "ADA", "ETH", "XRP"))
END = datetime(2026, 1, 5, tzinfo=UTC)


def entry(pair_id: str, leg_a: str, leg_b: str) -> PairEntry:
    return PairEntry(
        pair_id=pair_id,
        leg_a=leg_a,
        leg_b=leg_b,
        hedge_ratio=2.0,
        cointegration_stat=-5.0,
        pvalue=1e-4,
        entry_size_leg_a=1.0,
        entry_size_leg_b=2.0,
        last_updated=END,
    )


def book(*entries: PairEntry, timeframe: str = "1m") -> SpreadBook:
    window = ScanWindow(start=END - timedelta(days=2), end=END)
    return SpreadBook.from_config(
        PairsConfig(generated_at=END, timeframe=timeframe, scan_window=window, pairs=list(entries))
    )


def config(whitelist: list[str], **extra: Any) -> dict[str, Any]:
    return {"exchange": {"pair_whitelist": whitelist}, **extra}


def test_a_leg_missing_from_the_whitelist_is_refused_by_name() -> None:
    pairs = book(entry("SOL_ADA", SOL, ADA))
    assert whitelist_refusal(pairs, config([SOL, ADA])) is None
    refusal = whitelist_refusal(pairs, config([SOL]))
    assert refusal is not None and ADA in refusal and "[SAFETY]" in refusal


def test_freqai_must_see_every_leg_as_a_corr_pair() -> None:
    pairs = book(entry("SOL_ADA", SOL, ADA))
    freqai = {"enabled": True, "feature_parameters": {"include_corr_pairlist": [SOL]}}
    refusal = whitelist_refusal(pairs, config([SOL, ADA], freqai=freqai))
    assert refusal is not None and "include_corr_pairlist" in refusal and ADA in refusal
    assert whitelist_refusal(pairs, config([SOL, ADA], freqai={"enabled": False})) is None


def test_pairs_chosen_on_another_timeframe_are_refused() -> None:
    pairs = book(entry("SOL_ADA", SOL, ADA), timeframe="5m")
    assert timeframe_refusal(pairs, "5m") is None
    refusal = timeframe_refusal(pairs, "1m")
    assert refusal is not None and "re-scan on 1m candles" in refusal


def test_a_leg_the_exchange_does_not_list_is_refused() -> None:
    pairs = book(entry("SOL_ADA", SOL, ADA))
    listed = {SOL: {"symbol": SOL}}
    refusal = unknown_symbols_refusal(pairs, listed.get)
    assert refusal is not None and ADA in refusal and SOL not in refusal


def test_an_analysis_replay_of_one_leg_gets_its_partner_and_nothing_else() -> None:
    pairs = book(entry("SOL_ADA", SOL, ADA), entry("ETH_XRP", ETH, XRP))
    assert with_partners(pairs, [SOL]) == [SOL, ADA]
    assert with_partners(pairs, [XRP]) == [XRP, ETH]


def test_an_unreadable_pairs_file_is_a_refusal_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "pairs_config.json"
    path.write_text("{ not json")
    settings = parse_settings({"statarb": {"pairs_config": str(path)}})
    with pytest.raises(StartupRefusedError, match=r"\[SAFETY\] cannot trade"):
        load_book(settings)
    window = ScanWindow(start=END - timedelta(days=2), end=END)
    good = PairsConfig(
        generated_at=END, timeframe="1m", scan_window=window, pairs=[entry("SOL_ADA", SOL, ADA)]
    )
    write_pairs_config(good, path)
    assert load_book(settings).symbols == [SOL, ADA]

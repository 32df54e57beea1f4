"""Production's daily re-scan replaces pairs_config.json under a running bot (issue 9).

Protects against: a re-scan that orphans or re-sizes an open spread, new pairs that never trade
until a restart, and a broken replacement file that silently empties the bot's pairs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from support.live_bot import (
    LEG_A,
    LEG_B,
    OTHER_A,
    OTHER_B,
    LiveBot,
    pairs_config,
    running_live_bot,
)

pytestmark = pytest.mark.bot

QUIET = {"z_score_threshold": 3.95, "stop_loss_z": 4.0}  # no signal of its own interferes


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    with running_live_bot(
        tmp_path_factory.mktemp("reload"),
        pair_ids=("SOL_ADA",),
        pair_overrides=QUIET,
        whitelist=[LEG_A, LEG_B, OTHER_A, OTHER_B],
    ) as running:
        yield running


def replace_pairs(bot: LiveBot, pair_ids: tuple[str, ...]) -> None:
    """What the daily re-scan does: write a new file beside it and rename it over the old."""
    path = bot.folder / "pairs_config.json"
    before = path.stat().st_mtime_ns
    # As the daily job does: the scan saw candles up to a moment ago.
    window_end = datetime.now(UTC) - timedelta(minutes=2)
    pairs_config(path, window_end=window_end, pair_ids=pair_ids, overrides=QUIET)
    if path.stat().st_mtime_ns == before:  # same-second rewrite on a coarse clock
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def new_lines(bot: LiveBot, start: int, text: str) -> list[str]:
    return [line for line in bot.log()[start:].splitlines() if text in line]


# Every line a reload logs starts with one of these (one line per pair changed, or one line
# for no change).
RELOAD_LINES = ("pair added", "pair removed", "pair re-estimated", "pairs config reloaded")


def start_from(bot: LiveBot, pair_ids: tuple[str, ...]) -> None:
    """The state a test starts from, whatever ran before it on the module's bot: flat, prices
    as generated, and a pairs config of `pair_ids` loaded (a reload the bot has logged)."""
    if bot.open_trades():
        bot.force_exit_all()
        bot.wait_for(lambda: not bot.open_trades(), 60, "flat")
    bot.undo_shocks()
    mark = len(bot.log())
    replace_pairs(bot, pair_ids)
    bot.wait_for(
        lambda: any(new_lines(bot, mark, line) for line in RELOAD_LINES),
        20,
        f"the reload of {', '.join(pair_ids)}",
    )


def test_a_replaced_pairs_config_trades_new_pairs_and_keeps_the_open_spread(bot: LiveBot) -> None:
    start_from(bot, ("SOL_ADA",))
    bot.push_spread_z(2.6)
    assert bot.force_enter(LEG_A, "short").ok
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 30, "the SOL_ADA spread")
    held = bot.bot_positions()
    mark = len(bot.log())

    replace_pairs(bot, ("ETH_XRP",))  # SOL_ADA dropped, ETH_XRP chosen
    bot.wait_for(lambda: new_lines(bot, mark, "pair added ETH_XRP"), 20, "the reload")
    assert new_lines(bot, mark, "[STRATEGY]") and new_lines(bot, mark, "pair removed SOL_ADA")
    # The open spread is neither closed nor re-sized by the re-scan ...
    assert bot.bot_positions() == held
    # ... a new pair trades at once ...
    bot.push_spread_z(2.6, leg_a=OTHER_A, leg_b=OTHER_B, hedge_ratio=1400.0)
    answer = bot.force_enter(OTHER_A, "short")
    assert answer.ok, answer.text
    bot.wait_for(lambda: len(bot.open_trades()) == 4, 30, "the ETH_XRP spread")
    # ... and neither a dropped pair nor an open leg takes more: a REST force-entry on an open
    # leg would be a FreqTrade position adjustment that breaks the hedge.
    assert not bot.force_enter(LEG_A, "short").ok
    assert bot.bot_positions()[LEG_A] == held[LEG_A]

    # The dropped spread still exits by its own rules when it reverts, both legs under the
    # spread's one reason (leg A's market exit fills at once; leg B follows it out).
    bot.push_until(
        -1.0,
        lambda: not {LEG_A, LEG_B} & set(bot.bot_positions()),
        60,
        "SOL_ADA to close normally",
    )
    closed = bot.rows(f"select pair, exit_reason from trades where pair in ('{LEG_A}', '{LEG_B}')")
    assert {row["pair"] for row in closed} == {LEG_A, LEG_B}
    assert {row["exit_reason"] for row in closed} == {"z_reverted"}, closed
    assert bot.exchange_positions() == bot.bot_positions()


def test_an_invalid_replacement_is_rejected_and_the_old_pairs_stay(bot: LiveBot) -> None:
    start_from(bot, ("ETH_XRP",))
    mark = len(bot.log())
    path = bot.folder / "pairs_config.json"
    good = path.read_text()
    broken = json.loads(good)
    broken["pairs"][0]["hedge_ratio"] = -5.0
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(broken))
    os.replace(tmp, path)
    bot.wait_for(lambda: new_lines(bot, mark, "new pairs config rejected"), 20, "the rejection")
    assert new_lines(bot, mark, "[SAFETY]")
    assert "hedge_ratio" in "\n".join(new_lines(bot, mark, "rejected"))
    # The loaded pairs still trade: ETH_XRP is still the active pair.
    bot.push_spread_z(2.6, leg_a=OTHER_A, leg_b=OTHER_B, hedge_ratio=1400.0)
    assert bot.force_enter(OTHER_A, "short").ok
    bot.wait_for(lambda: len(bot.open_trades()) == 2, 30, "ETH_XRP again")

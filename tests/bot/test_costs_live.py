"""Maker-first orders in a live bot (`freqtrade trade`, dry_run false, local exchange), and the
live spreads' money split through the REST API (`daily_check.py --costs`).

Protects against: a maker leg resting while the monitor cries `[SAFETY]` (a false alarm every
spread), a leg left without its twin when a maker order times out, an order sent twice under
one client id, and a live cost report that does not add up to FreqTrade's own profits.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from statarb.ops import daily_check
from statarb.ops.api import PASSWORD_VAR, USERNAME_VAR
from support.live_bot import HEDGE_SOL_ADA, LEG_A, LEG_B, LiveBot
from support.maker_first import running_maker_first_bot

pytestmark = pytest.mark.bot

SYMBOL = {LEG_A: "SOLUSDT", LEG_B: "ADAUSDT"}
MAKER_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    with running_maker_first_bot(
        tmp_path_factory.mktemp("maker_live"), maker_timeout_s=MAKER_TIMEOUT_S, order_timeout_s=30
    ) as running:
        yield running


def entry_orders(bot: LiveBot, since: int = 0) -> list[dict]:
    return [o for o in bot.exchange.admin.order_log()[since:] if not o["reduceOnly"]]


def settled(bot: LiveBot) -> bool:
    """Both legs filled, no order working, and the database caught up with the exchange."""
    trades = bot.open_trades()
    if len(trades) != 2 or any(not t["amount"] for t in trades):
        return False
    if bot.rows("select id from orders where ft_is_open = 1"):
        return False
    exchange, mine = bot.exchange_positions(), bot.bot_positions()
    return set(exchange) == set(mine) == {LEG_A, LEG_B} and all(
        abs(exchange[s] - mine[s]) < 1e-9 for s in mine
    )


def open_signalled_spread(bot: LiveBot, attempts: int = 4) -> None:
    """Stretch the spread past its entry band until a signalled spread has both legs filled.

    Both maker legs may rest unfilled past the 3 s maker timeout and be cancelled: correct (no
    spread, nothing naked), but that candle's signal is then spent; the spread is stretched
    again for the next candle (a busy CI machine makes this likelier).
    """
    for attempt in range(attempts):
        if not bot.open_trades():
            bot.push_spread_z(2.6)
        try:
            bot.wait_for(lambda: settled(bot), 75, "a spread with both legs filled")
            return
        except AssertionError:
            if not bot.alive() or attempt == attempts - 1:
                raise


def assert_hedged_and_agreed(bot: LiveBot) -> None:
    exchange, mine = bot.exchange_positions(), bot.bot_positions()
    assert exchange == pytest.approx(mine), (exchange, mine)
    qty_a, qty_b = abs(mine[LEG_A]), abs(mine[LEG_B])
    assert qty_b == pytest.approx(HEDGE_SOL_ADA * qty_a, rel=0.011), mine
    assert (mine[LEG_A] > 0) != (mine[LEG_B] > 0), "both legs on one side"


def flatten(bot: LiveBot) -> None:
    if bot.open_trades():
        bot.force_exit_all()
    bot.wait_for(lambda: not bot.open_trades() and not bot.exchange_positions(), 90, "flat")


def test_a_signalled_spread_rests_at_the_touch_and_ends_hedged_without_false_alarms(
    bot: LiveBot,
) -> None:
    # Every order since the bot started: the generated market may already signal at start-up,
    # before this test could stretch the spread itself.
    start = 0
    open_signalled_spread(bot)
    assert_hedged_and_agreed(bot)
    orders = entry_orders(bot, start)
    assert {o["symbol"] for o in orders} == {"SOLUSDT", "ADAUSDT"}
    first = {}
    for order in orders:
        first.setdefault(order["symbol"], order)
    assert {o["type"] for o in first.values()} == {"LIMIT"}, first  # maker-first, not market
    accepted = Counter(o["newClientOrderId"] for o in orders if o["outcome"] == "accepted")
    assert all(n == 1 for n in accepted.values()), accepted  # a re-price is a new id
    assert all(cid.startswith("sa-") for cid in accepted), accepted
    # A maker leg left unfilled past maker_timeout_s is cancelled; if its twin filled, the
    # hedging plan opens it again at market, under a new client order id.
    log = bot.log()
    if "opening the missing leg" in log:
        assert any(o["type"] == "MARKET" and o["outcome"] == "accepted" for o in orders), orders
    assert "maker order not filled in time" in log or all(o["type"] == "LIMIT" for o in orders), (
        "a market order without a maker order timing out first"
    )
    # While a maker leg rested, the 5-second monitor must not have raised a [SAFETY] alarm.
    alarms = [line for line in bot.log().splitlines() if "[SAFETY]" in line and "monitor" in line]
    assert not alarms, alarms


def test_a_reverted_spread_leaves_with_maker_exits_or_crosses_and_ends_flat(bot: LiveBot) -> None:
    if not settled(bot):
        open_signalled_spread(bot)
    start = len(bot.exchange.admin.order_log())
    log_start = len(bot.log())
    # The stretch is gone: the live spread sits at its window's mean (z ≈ 0), inside the exit
    # band — set, not merely un-shocked: the market's own z may be near the entry band.
    bot.push_until(
        0.0,
        lambda: not bot.open_trades() and not bot.exchange_positions(),
        240,
        "both legs closed",
    )
    exits = [o for o in bot.exchange.admin.order_log()[start:] if o["reduceOnly"]]
    accepted = [o for o in exits if o["outcome"] == "accepted"]
    assert {o["symbol"] for o in accepted} == {"SOLUSDT", "ADAUSDT"}
    assert accepted[0]["type"] == "LIMIT", exits  # a reverted spread waits at the touch first
    ids = Counter(o["newClientOrderId"] for o in accepted)
    assert all(n == 1 for n in ids.values()), ids
    # Every exit, FreqTrade's emergency exit after a maker timeout too, carries the spread's
    # own deterministic id (sa-<pair>-...), not the seam's fallback for unregistered orders.
    assert all(cid.startswith("sa-SOL_ADA-") for cid in ids), ids
    reasons = {t["exit_reason"] for t in bot.rows("select exit_reason from trades")}
    assert reasons & {"z_reverted", "emergency_exit"}, reasons
    new_log = bot.log()[log_start:]
    alarms = [line for line in new_log.splitlines() if "[SAFETY]" in line]
    assert not alarms, alarms


def test_the_daily_checks_cost_report_adds_up_to_freqtrades_profits(
    bot: LiveBot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    flatten(bot)
    monkeypatch.setenv(USERNAME_VAR, bot.username)
    monkeypatch.setenv(PASSWORD_VAR, bot.password)
    code = daily_check.main(["--costs", "--json", "--api-url", bot.api.removesuffix("/api/v1")])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    spreads = report["spreads"]
    assert spreads and not report["skipped"], report
    closed = bot.rows("select close_profit_abs from trades where is_open = 0")
    assert sum(s["net_profit"] for s in spreads) == pytest.approx(
        sum(t["close_profit_abs"] for t in closed), abs=0.01
    )
    for s in spreads:
        assert s["legs"] == 2 and s["fees"] > 0, s
        assert s["net_profit"] == pytest.approx(s["gross_profit"] - s["fees"] + s["funding"])
        assert s["net_profit"] == pytest.approx(s["freqtrade_profit"], abs=1e-6), s
        assert s["entry_z"] is not None, "the decision candle's z from the bot's candles"
    assert report["summary"]["total"]["spreads"] == len(spreads)

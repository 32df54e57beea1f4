#!/usr/bin/env python3
"""Time from the signal candle's close to both legs acknowledged by the exchange (issue 5).

A real `freqtrade trade` (dry_run false) with the strategy against the local exchange, three
planted pairs. Before each minute's close the bench stretches every flat spread past its entry
threshold (a price shock on leg A), so the candle closes with an entry signal; after the entry
it pulls the spread back so the position closes and the pair can signal again. For every
spread opened by a SIGNAL (not a forced entry) it reads, from the exchange's own order log,
when each leg's entry order arrived, and reports the median and p90 of
`max(leg A arrival, leg B arrival) - signal candle close`.

    ./run bench/entry_latency_bench.py [--minutes 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.live_bot import PAIRS, LiveBot, start_live_bot

PAIR_IDS = ("SOL_ADA", "ETH_XRP")


def candle_close_ms(opened_at_s: int) -> int:
    return (opened_at_s + 60) * 1000


def spreads_from_log(bot: LiveBot) -> list[tuple[float, float]]:
    """(first leg, second leg) arrival after the signal close (s) per signal-opened spread."""
    entries: dict[str, dict[str, int]] = {}
    for order in bot.exchange.admin.order_log():
        cid = order.get("newClientOrderId") or ""
        parts = cid.split("-")
        if order.get("outcome") != "accepted" or len(parts) != 4 or parts[3][1:2] != "E":
            continue
        opened_s = int(parts[2], 36)
        if opened_s % 60:  # forced spreads are named to the second: not signal entries
            continue
        entries.setdefault(f"{parts[1]}-{parts[2]}", {})[parts[3][0]] = int(order["time_ms"])
    latencies = []
    for key, legs in entries.items():
        if set(legs) == {"A", "B"}:
            opened_s = int(key.split("-")[1], 36)
            first, second = sorted(legs.values())
            close_ms = candle_close_ms(opened_s)
            latencies.append(((first - close_ms) / 1000, (second - close_ms) / 1000))
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=8, help="minutes of signals to collect")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="entry-latency-") as folder:
        bot = start_live_bot(
            Path(folder),
            pair_ids=PAIR_IDS,
            statarb={"max_open_spreads": len(PAIR_IDS)},
        )
        try:
            for _ in range(args.minutes):
                now = datetime.now(UTC)
                # 8 s before the close: stretch every flat spread so this candle signals.
                time.sleep(max(0.0, 52 - now.second - now.microsecond / 1e6))
                held = bot.bot_positions()
                for pair_id in PAIR_IDS:
                    leg_a, leg_b, beta = PAIRS[pair_id]
                    if leg_a not in held:
                        bot.push_spread_z(2.8, leg_a=leg_a, leg_b=leg_b, hedge_ratio=beta)
                time.sleep(20)  # past the close: the bot enters on the new candle
                bot.undo_shocks()  # the spreads revert: they close and can signal again
            print(f"signal spreads measured: {len(spreads_from_log(bot))}")
        finally:
            latencies = spreads_from_log(bot)
            bot.stop()
            bot.exchange.stop()
    if not latencies:
        print("no signal entries were measured")
        return 1
    print(f"spreads: {len(latencies)}")
    for label, values in (
        ("signal candle close -> first leg at the exchange", [first for first, _ in latencies]),
        ("signal candle close -> both legs acknowledged", [second for _, second in latencies]),
        ("first leg -> second leg", [second - first for first, second in latencies]),
    ):
        values.sort()
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        print(
            f"{label}: median {statistics.median(values):.2f} s, "
            f"p90 {p90:.2f} s, max {values[-1]:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.live_bot import PAIRS, start_live_bot

PAIR_IDS = ("SOL_ADA", "ETH_XRP")


def candle_close_ms(opened_at_s: int) -> int:
    return (opened_at_s + 60) * 1000


@dataclass(frozen=True)
class SignalSpread:
    """One signal-opened spread: its candle close and each leg's arrival (exchange ms)."""

    pair_id: str
    close_ms: int
    first_ms: int
    second_ms: int


def signal_spreads(order_log: list[dict[str, Any]]) -> list[SignalSpread]:
    """Spreads opened by a SIGNAL, read from the exchange's order log by their client ids."""
    entries: dict[tuple[str, int], dict[str, int]] = {}
    for order in order_log:
        cid = order.get("newClientOrderId") or ""
        parts = cid.split("-")
        if order.get("outcome") != "accepted" or len(parts) != 4 or parts[3][1:2] != "E":
            continue
        opened_s = int(parts[2], 36)
        if opened_s % 60:  # forced spreads are named to the second: not signal entries
            continue
        legs = entries.setdefault((parts[1], opened_s), {})
        legs.setdefault(parts[3][0], int(order["time_ms"]))
    spreads = []
    for (pair_id, opened_s), legs in sorted(entries.items(), key=lambda kv: kv[0][1]):
        if set(legs) == {"A", "B"}:
            first, second = sorted(legs.values())
            spreads.append(SignalSpread(pair_id, candle_close_ms(opened_s), first, second))
    return spreads


def endpoint(request: dict[str, Any]) -> str:
    path = str(request["path"]).removeprefix("/fapi/")
    return f"{request['method']} {path}"


def segment_waits(
    requests: list[dict[str, Any]], after_ms: int, until_ms: int
) -> dict[str, tuple[int, float]]:
    """Per endpoint, the requests that arrived in (after, until] and the time before each one
    (since the request before it): the exchange answers in ~2 ms, so that time is the client's
    (ccxt's rate limiter and FreqTrade's own work), attributed to the request it delayed."""
    waits: dict[str, list[float]] = {}
    previous = after_ms
    for request in requests:
        at = int(request["time_ms"])
        if at <= after_ms:
            continue
        if at > until_ms:
            break
        waits.setdefault(endpoint(request), []).append(at - previous)
        previous = at
    return {name: (len(values), sum(values)) for name, values in waits.items()}


def print_breakdown(requests: list[dict[str, Any]], spreads: list[SignalSpread]) -> None:
    """Where the time from the candle close to each leg's send goes, step by step (medians)."""
    requests = sorted(requests, key=lambda r: int(r["time_ms"]))
    loop_starts = [int(r["time_ms"]) for r in requests if str(r["path"]).endswith("/klines")]
    stages: dict[str, list[dict[str, tuple[int, float]]]] = {"close": [], "a": [], "ab": []}
    totals: dict[str, list[float]] = {"close": [], "a": [], "ab": []}
    for spread in spreads:
        # FreqTrade's loop begins with the candle refresh: its first klines request after close.
        start = next((t for t in loop_starts if t >= spread.close_ms), spread.first_ms)
        start = min(start, spread.first_ms)
        totals["close"].append(start - spread.close_ms)
        stages["a"].append(segment_waits(requests, start - 1, spread.first_ms))
        totals["a"].append(spread.first_ms - start)
        stages["ab"].append(segment_waits(requests, spread.first_ms, spread.second_ms))
        totals["ab"].append(spread.second_ms - spread.first_ms)
    print("where the time goes (median over the spreads; each request's share is the time")
    print("before it since the previous request: ccxt's rate limiter spaces every request by")
    print("its endpoint's cost x rateLimit, the exchange itself answers in ~2 ms):")
    titles = {
        "close": "candle close -> FreqTrade's loop starts (its first candle request)",
        "a": "loop start -> first leg sent",
        "ab": "first leg -> second leg sent",
    }
    for key, title in titles.items():
        print(f"  {title}: {statistics.median(totals[key]) / 1000:.3f} s")
        if key == "close":
            continue
        names = sorted({name for per in stages[key] for name in per})
        rows = []
        for name in names:
            counts = [per.get(name, (0, 0.0))[0] for per in stages[key]]
            waits = [per.get(name, (0, 0.0))[1] for per in stages[key]]
            rows.append((statistics.median(waits), statistics.median(counts), name))
        for wait, count, name in sorted(rows, reverse=True):
            if wait > 0:
                print(f"      {wait:6.0f} ms  {count:>4g} x {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=8, help="minutes of signals to collect")
    parser.add_argument(
        "--dump", type=Path, help="write the exchange's request and order logs here"
    )
    parser.add_argument(
        "--from-dump", type=Path, help="print the figures of an earlier --dump, run nothing"
    )
    args = parser.parse_args()
    if args.from_dump:
        dumped = json.loads(args.from_dump.read_text())
        return report(dumped["orders"], dumped["requests"])
    with tempfile.TemporaryDirectory(prefix="entry-latency-") as folder:
        bot = start_live_bot(
            Path(folder),
            pair_ids=PAIR_IDS,
            statarb={"max_open_spreads": len(PAIR_IDS)},
            # The generated market drifts while the bench pushes and releases the spreads;
            # a z stop would raise the review flag and end the entries: this bench measures
            # entries, so the stop sits out of reach.
            pair_overrides={"stop_loss_z": 8.0},
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
        finally:
            orders = bot.exchange.admin.order_log()
            requests = bot.exchange.admin.request_log()
            if args.dump:
                args.dump.write_text(json.dumps({"requests": requests, "orders": orders}))
                shutil.copy(bot.log_path, args.dump.with_suffix(".freqtrade.log"))
            bot.stop()
            bot.exchange.stop()
    return report(orders, requests)


def report(orders: list[dict[str, Any]], requests: list[dict[str, Any]]) -> int:
    spreads = signal_spreads(orders)
    if not spreads:
        print("no signal entries were measured")
        return 1
    print(f"signal spreads: {len(spreads)}")
    latencies = [
        ((s.first_ms - s.close_ms) / 1000, (s.second_ms - s.close_ms) / 1000) for s in spreads
    ]
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
    print_breakdown(requests, spreads)
    return 0


if __name__ == "__main__":
    sys.exit(main())

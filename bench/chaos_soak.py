#!/usr/bin/env python3
"""Chaos soak (issue 16): a real `freqtrade trade` with CointPairsStrategy, maker-first as
shipped, against the local exchange under a seeded schedule of exchange and process faults,
with the six invariants of `statarb.soak.invariants` checked every few seconds and after each
restart.

    ./run bench/chaos_soak.py --minutes 60 --seed 16 --kills 20 [--report soak.json]

Each kill is followed by what the container's entrypoint does (`scripts/state_recovery.py`,
then `freqtrade trade` on the same database); the report is checked against both sides
before the restart, and the review flag is acknowledged with `scripts/review.py ack` only
once the report was true and the world has settled. Exit status 0 = no violation.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from statarb.atomic import atomic_write_json  # noqa: E402
from statarb.exchange.faults import KINDS, normalise_symbol  # noqa: E402
from statarb.execution.journal import IntentStatus  # noqa: E402
from statarb.soak import invariants as inv  # noqa: E402
from statarb.soak.schedule import Bands, PairLegs, SoakEvent, build_schedule  # noqa: E402
from support.live_bot import PAIRS, LiveBot, live_market, start_live_bot  # noqa: E402

REVIEW_SCRIPT = REPO / "scripts" / "review.py"
ORDER = "orders"  # one order or a batch carrying one (statarb.exchange.faults.ANY_ORDER)
CHECK_EVERY_S = 3.0
HOLD_MS = 15_000  # past ccxt's recvWindow: a held request is refused when it arrives
MAKER_TIMEOUT_S = 20  # the shipped default (statarb.costs.orders.DEFAULT_MAKER_TIMEOUT_S)
HEDGE_RETRIES, HEDGE_RETRY_S = 5, 2.0
TOLERANCE = 0.011  # max_hedge_error 1 % plus the lot size's rounding
PENDING_FRESH_S = 120.0  # a pending intent younger than this counts as an order in flight
EXIT_MANAGED_WITHIN_S = 120.0
THRESHOLDS = {"z_score_threshold": 2.0, "exit_z": 0.5, "stop_loss_z": 4.0}
BANDS = Bands(entry_z=2.6, exit_z=0.0, stop_z=5.0)
# The production config's unfilledtimeout (config.json): FreqTrade's backstop behind the
# strategy's maker timeout.
UNFILLED = {"entry": 60, "exit": 60, "exit_timeout_count": 1, "unit": "seconds"}


def soak_pairs() -> list[PairLegs]:
    return [PairLegs(pid, a, b, beta) for pid, (a, b, beta) in PAIRS.items()]


class WorldUnreadableError(RuntimeError):
    """One side could not be read this time (DB locked, exchange busy): skip the check."""


@dataclass
class Soak:
    bot: LiveBot
    seed: int
    minutes: float
    schedule: list[SoakEvent]
    pairs: list[PairLegs]
    budget_s: float
    log: Callable[[str], None] = print
    t0: float = field(default_factory=time.monotonic)
    violations: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    faults: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    moments: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    reviews: Counter[str] = field(default_factory=Counter)
    acks: int = 0
    clock: inv.LoneLegClock = field(default_factory=inv.LoneLegClock)
    last_quiet: inv.WorldSnapshot | None = None
    report_checks: list[bool] = field(default_factory=list)
    exit_requests: list[tuple[float, str]] = field(default_factory=list)
    exit_orders: list[tuple[float, str]] = field(default_factory=list)
    orders_seen: int = 0
    killing: bool = False

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed + 1)  # runtime choices (which resting order)

    # ---------------------------------------------------------------- time and records
    def now(self) -> float:
        return time.monotonic() - self.t0

    def record(self, violations: list[inv.Violation]) -> None:
        for violation in violations:
            if violation.key in self.seen:
                continue
            self.seen.add(violation.key)
            entry = {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "at_s": round(self.now(), 1),
                "seed": self.seed,
                **violation.to_json(),
            }
            self.violations.append(entry)
            self.log(f"VIOLATION {json.dumps(entry, default=str)}")

    # ---------------------------------------------------------------- reading both sides
    def db(self, query: str) -> list[dict[str, Any]]:
        path = self.bot.db_path
        if not path.exists():
            return []
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                conn.row_factory = sqlite3.Row
                return [dict(r) for r in conn.execute(query)]
        except sqlite3.OperationalError as exc:
            raise WorldUnreadableError(f"db: {exc}") from exc

    def snapshot(self) -> inv.WorldSnapshot:
        admin = self.bot.exchange.admin
        try:
            open_orders = [o for o in admin.orders() if o["status"] in ("NEW", "PARTIALLY_FILLED")]
            exchange = self.bot.exchange_positions()
        except OSError as exc:
            raise WorldUnreadableError(f"exchange: {exc}") from exc
        trades = self.db("select pair, amount, is_short from trades where is_open = 1")
        db_positions: dict[str, float] = {}
        for t in trades:
            qty = -float(t["amount"]) if t["is_short"] else float(t["amount"])
            db_positions[t["pair"]] = db_positions.get(t["pair"], 0.0) + qty
        open_db_orders = self.db("select count(*) as n from orders where ft_is_open = 1")
        fresh = time.time() * 1000 - PENDING_FRESH_S * 1000
        pending = sum(
            1
            for r in self.bot.intents()
            if r.status is IntentStatus.PENDING and r.created_ms > fresh
        )
        return inv.WorldSnapshot(
            at_s=self.now(),
            exchange_positions={k: v for k, v in exchange.items() if v},
            db_positions={k: v for k, v in db_positions.items() if v},
            db_open_orders=int(open_db_orders[0]["n"]) if open_db_orders else 0,
            exchange_open_orders=open_orders,
            pending_intents=pending,
            db_open_symbols=frozenset(str(t["pair"]) for t in trades),
        )

    def flag_document(self) -> dict[str, Any]:
        path = self.bot.review_flag.path
        if not path.exists():
            return {"raised": False, "reasons": [], "history": []}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {"raised": True, "reasons": [], "history": [], "unreadable": True}

    # ---------------------------------------------------------------- the continuous check
    def check(self) -> None:
        """All invariants once; a side that cannot be read this time skips the round."""
        if not self.killing and not self.bot.alive():
            code = self.bot.process.returncode if self.bot.process else None
            self.record(inv.check_process(alive=False, killed_by_soak=False, exit_code=code))
            self.log(f"the bot died by itself (exit {code}): recovering as the container would")
            self.recover_and_restart(reason="died")
            return
        try:
            orders = self.bot.exchange.admin.order_log()  # before the journal: see check_orders
            intents = self.bot.intents()
            world = self.snapshot()
        except (WorldUnreadableError, OSError) as exc:
            self.log(f"check skipped: {exc}")
            return
        self.note_exit_orders(orders)
        self.record(inv.check_orders(orders, {r.client_order_id for r in intents}))
        self.record(inv.check_positions_agree(self.last_quiet, world))
        if world.quiet:
            self.last_quiet = world
        flag = self.flag_document()
        reasons = list(flag.get("reasons") or [])
        raised = bool(flag.get("raised")) or bool(reasons)
        lone = inv.lone_legs(world.exchange_positions, self.pairs, tolerance=TOLERANCE)
        durations = self.clock.observe(lone, world.at_s)
        self.record(
            inv.check_lone_legs(
                durations,
                lone,
                self.pairs,
                budget_s=self.budget_s,
                flag_raised=raised,
                reasons=reasons,
            )
        )
        starts = inv.spread_starts(r.to_json() for r in intents)
        self.record(inv.check_no_entry_under_review(starts, inv.flag_intervals(flag)))
        self.record(
            inv.check_exits_managed(
                self.exit_requests,
                self.exit_orders,
                now_s=world.at_s,
                within_s=EXIT_MANAGED_WITHIN_S,
            )
        )
        if raised and world.quiet and not world.differences() and not lone:
            self.acknowledge(reasons)

    def note_exit_orders(self, orders: list[dict[str, Any]]) -> None:
        """Reduce-only orders that reached the exchange since the last check, by pair."""
        for order in orders[self.orders_seen :]:
            if not order.get("reduceOnly"):
                continue
            for pair in self.pairs:
                if order.get("symbol") in {normalise_symbol(leg) for leg in pair.legs}:
                    self.exit_orders.append((self.now(), pair.pair_id))
        self.orders_seen = len(orders)

    def acknowledge(self, reasons: list[dict[str, Any]]) -> None:
        """What a person does after reading the report: only when the last report checked
        was true (a false one stays up: the soak's own invariant 4 already said so)."""
        if self.report_checks and not self.report_checks[-1]:
            return
        for reason in reasons:
            self.reviews[_why(reason)] += 1
        result = subprocess.run(
            [
                sys.executable,
                str(REVIEW_SCRIPT),
                "ack",
                "--config",
                str(self.bot.config_path),
                "--by",
                "chaos-soak",
                "--note",
                f"seed {self.seed}: report checked against exchange and DB; both sides agree",
            ],
            cwd=self.bot.folder,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            self.acks += 1
            self.log(f"review acknowledged ({len(reasons)} reasons)")
        else:
            self.log(f"review ack failed: {result.stderr.strip()}")

    # ---------------------------------------------------------------- events
    def apply(self, event: SoakEvent) -> None:
        admin = self.bot.exchange.admin
        if event.kind in KINDS:
            admin.inject_fault(event.kind, **event.params)
            self.faults[event.kind] += 1
        elif event.kind == "exchange_cancel":
            resting = [
                o
                for o in admin.orders(event.params["symbol"])
                if o["status"] in ("NEW", "PARTIALLY_FILLED")
            ]
            if resting:
                victim = self.rng.choice(resting)
                admin.cancel_order(victim["symbol"], order_id=victim["orderId"])
                self.faults["exchange_cancel"] += 1
            else:
                self.faults["exchange_cancel (nothing resting)"] += 1
        elif event.kind == "price_shock":
            self.shock(event.params["pair_id"], float(event.params["z"]))
            self.faults[f"price_shock {event.params['band']}"] += 1
        elif event.kind == "kill":
            self.kill(event)

    def shock(self, pair_id: str, z: float) -> bool:
        """Move leg A so the pair's live z is about `z`; remembers an exit asked under review."""
        if not self.bot.alive():
            return False
        pair = next(p for p in self.pairs if p.pair_id == pair_id)
        try:
            self.bot.push_spread_z(z, pair.leg_a, pair.leg_b, pair.hedge_ratio)
        except Exception as exc:  # the REST API or the exchange busy under a storm
            self.log(f"shock {pair_id} z={z}: not applied ({exc})")
            return False
        if abs(z) <= BANDS.exit_z + 0.5 and self.flag_document().get("reasons"):
            held = self.snapshot_quietly()
            if held and all(held.db_positions.get(leg) for leg in pair.legs):
                self.exit_requests.append((self.now(), pair_id))
        return True

    def snapshot_quietly(self) -> inv.WorldSnapshot | None:
        try:
            return self.snapshot()
        except (WorldUnreadableError, OSError):
            return None

    def fired(self, kind: str, symbol: str) -> int:
        wanted = normalise_symbol(symbol)
        return sum(
            1
            for f in self.bot.exchange.admin.faults()["fired"]
            if f["kind"] == kind and f["symbol"] == wanted
        )

    def wait_fired(self, kind: str, symbol: str, before: int, timeout_s: float) -> bool:
        """Wait for a fault to hit, at most `timeout_s` and never past the soak's end."""
        left = self.minutes * 60.0 - self.now()
        deadline = time.monotonic() + max(1.0, min(timeout_s, left))
        while time.monotonic() < deadline:
            if self.fired(kind, symbol) > before:
                return True
            if not self.bot.alive():
                return False
            time.sleep(0.3)
        return False

    def place_moment(self, event: SoakEvent) -> str:
        """Bring the bot to the kill's moment with faults; returns the moment reached."""
        moment = event.params["moment"]
        pair = next(p for p in self.pairs if p.pair_id == event.params["pair_id"])
        admin = self.bot.exchange.admin
        sign = int(event.params["sign"])
        if moment == "mid_exit":
            held = self.snapshot_quietly()
            open_pairs = [
                p for p in self.pairs if held and all(held.db_positions.get(leg) for leg in p.legs)
            ]
            if not open_pairs:
                return "any (no spread open to exit)"
            pair = open_pairs[0]
            before = self.fired("latency", pair.leg_b)
            admin.inject_fault(
                "latency", endpoint=ORDER, symbol=pair.leg_b, reduce_only=True, latency_ms=HOLD_MS
            )
            self.shock(pair.pair_id, BANDS.exit_z)
            return "mid_exit" if self.wait_fired("latency", pair.leg_b, before, 60) else "any"
        if moment == "between_legs":
            before = self.fired("latency", pair.leg_b)
            admin.inject_fault(
                "latency", endpoint=ORDER, symbol=pair.leg_b, reduce_only=False, latency_ms=HOLD_MS
            )
            self.shock(pair.pair_id, sign * BANDS.entry_z)
            return "between_legs" if self.wait_fired("latency", pair.leg_b, before, 75) else "any"
        if moment == "mid_hedge":
            before = self.fired("partial_fill", pair.leg_b)
            admin.inject_fault(
                "partial_fill", endpoint=ORDER, symbol=pair.leg_b, reduce_only=False, ratio=0.4
            )
            self.shock(pair.pair_id, sign * BANDS.entry_z)
            if not self.wait_fired("partial_fill", pair.leg_b, before, 75):
                return "any"
            before = self.fired("latency", pair.leg_b)
            admin.inject_fault("latency", endpoint=ORDER, symbol=pair.leg_b, latency_ms=HOLD_MS)
            return "mid_hedge" if self.wait_fired("latency", pair.leg_b, before, 40) else "any"
        return "any"

    def kill(self, event: SoakEvent) -> None:
        if not self.bot.alive():
            return
        moment = self.place_moment(event)
        sig = event.params["signal"]
        self.killing = True
        if sig == "SIGKILL":
            self.bot.kill()
        else:
            self.bot.stop(signal.SIGTERM)
        self.kills[sig] += 1
        self.moments[moment] += 1
        self.log(f"{sig} at {self.now():.0f}s ({moment})")
        self.recover_and_restart(reason=sig)

    def recover_and_restart(self, *, reason: str) -> None:
        """The container's entrypoint: recovery, its report checked, then the bot again."""
        self.killing = True
        self.clock.restart()
        self.last_quiet = None
        try:
            before = self.snapshot()
            result, report = self.bot.recover()
            after = self.snapshot()
        except WorldUnreadableError as exc:
            self.log(f"report not checked: {exc}")
            result, report, before, after = None, {}, None, None
        if result is not None and before is not None and after is not None:
            if result.returncode != 0:
                self.record(
                    [
                        inv.Violation(
                            inv.REPORT,
                            {"exit_code": result.returncode, "stderr": result.stderr[-2000:]},
                            f"recovery-exit:{self.now():.0f}",
                        )
                    ]
                )
            if report.get("recovery_status") == "ERROR":
                self.log(f"recovery ERROR (not judged): {report.get('error')}")
                self.report_checks.append(True)
            else:
                found = inv.check_report(report, before, after, self.pairs, tolerance=TOLERANCE)
                self.record(found)
                self.report_checks.append(not found)
                self.log(
                    f"recovery {report.get('recovery_status')}: "
                    f"{[(f['kind'], f['symbol']) for f in report.get('findings', [])]}"
                    f" — {'true' if not found else 'UNTRUE'}"
                )
        for attempt in range(3):
            try:
                self.bot.start()
                break
            except AssertionError as exc:
                code = self.bot.process.returncode if self.bot.process else None
                self.record(
                    [
                        inv.Violation(
                            inv.PROCESS,
                            {"start_failed": str(exc)[-1500:], "exit_code": code},
                            f"start:{self.now():.0f}:{attempt}",
                        )
                    ]
                )
                self.bot.kill()
        self.restarts += 1
        self.killing = False
        self.clock.restart()

    # ---------------------------------------------------------------- the run
    def run(self) -> None:
        end_s = self.minutes * 60.0
        pending = list(self.schedule)
        next_check = 0.0
        while self.now() < end_s:
            while pending and pending[0].at_s <= self.now():
                event = pending.pop(0)
                try:
                    self.apply(event)
                except Exception as exc:  # an admin call refused: the soak goes on
                    self.log(f"event {event.to_json()} not applied: {exc}")
            if self.now() >= next_check:
                self.check()
                next_check = self.now() + CHECK_EVERY_S
            time.sleep(0.2)
        self.bot.exchange.admin.clear_faults()
        self.settle()

    def settle(self, timeout_s: float = 180.0) -> None:
        """After the schedule: faults cleared, checks go on until the world is quiet."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check()
            world = self.snapshot_quietly()
            if world and world.quiet and not world.differences():
                break
            time.sleep(CHECK_EVERY_S)
        for _ in range(3):  # the last checks on a settled world
            time.sleep(CHECK_EVERY_S)
            self.check()


def _why(reason: dict[str, Any]) -> str:
    message, source = str(reason.get("message") or ""), str(reason.get("source"))
    return message[:80] if message.startswith(f"{source}:") else f"{source}: {message[:70]}"


def summarise(soak: Soak) -> dict[str, Any]:
    intents = [r.to_json() for r in soak.bot.intents()]
    closed = soak.db("select count(*) as n from trades where is_open = 0")
    orders = soak.bot.exchange.admin.order_log()
    flag = soak.flag_document()
    for reason in flag.get("reasons") or []:
        soak.reviews[_why(reason) + " (still up)"] += 1
    by_invariant = Counter(v["invariant"] for v in soak.violations)
    return {
        "seed": soak.seed,
        "minutes": soak.minutes,
        "faults_injected": dict(sorted(soak.faults.items())),
        "faults_total": sum(n for k, n in soak.faults.items() if "nothing" not in k),
        "kills": dict(soak.kills),
        "kill_moments": dict(soak.moments),
        "restarts": soak.restarts,
        "spreads_opened": len(inv.spread_starts(intents)),
        "legs_closed": int(closed[0]["n"]) if closed else 0,
        "orders_sent": len(orders),
        "orders_accepted": sum(1 for o in orders if o.get("outcome") == "accepted"),
        "reviews_raised": dict(soak.reviews),
        "reviews_acknowledged": soak.acks,
        "longest_leg_alone_s": round(soak.clock.longest_s, 1),
        "longest_leg_alone_pair": soak.clock.longest_pair,
        "hedging_budget_s": soak.budget_s,
        "violations_by_invariant": {name: by_invariant.get(name, 0) for name in inv.INVARIANTS},
        "violations": soak.violations,
        "schedule": [e.to_json() for e in soak.schedule],
    }


def table(summary: dict[str, Any]) -> str:
    rows = [
        ("seed", summary["seed"]),
        ("minutes", summary["minutes"]),
        ("faults injected", summary["faults_total"]),
        *((f"  {k}", n) for k, n in summary["faults_injected"].items()),
        ("kills", sum(summary["kills"].values())),
        *((f"  {k}", n) for k, n in summary["kills"].items()),
        *((f"  at {k}", n) for k, n in summary["kill_moments"].items()),
        ("restarts", summary["restarts"]),
        ("spreads opened", summary["spreads_opened"]),
        ("legs closed", summary["legs_closed"]),
        ("orders sent (accepted)", f"{summary['orders_sent']} ({summary['orders_accepted']})"),
        ("reviews raised", sum(summary["reviews_raised"].values())),
        *((f"  {k}", n) for k, n in summary["reviews_raised"].items()),
        ("reviews acknowledged", summary["reviews_acknowledged"]),
        (
            "longest leg alone (s)",
            f"{summary['longest_leg_alone_s']} {summary['longest_leg_alone_pair']} "
            f"(budget {summary['hedging_budget_s']})",
        ),
        ("violations", len(summary["violations"])),
        *((f"  {k}", n) for k, n in summary["violations_by_invariant"].items()),
    ]
    width = max(len(str(k)) for k, _ in rows)
    return "\n".join(f"{k!s:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--kills", type=int, default=None, help="default: one per 3 minutes")
    parser.add_argument("--faults-per-minute", type=float, default=4.0)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--folder", type=Path, default=None, help="keep the run's files here")
    args = parser.parse_args(argv)
    kills = args.kills if args.kills is not None else max(1, int(args.minutes // 3))
    pairs = soak_pairs()
    schedule = build_schedule(
        seed=args.seed,
        minutes=args.minutes,
        kills=kills,
        pairs=pairs,
        faults_per_minute=args.faults_per_minute,
        bands=BANDS,
    )
    folder = args.folder or Path(tempfile.mkdtemp(prefix="chaos-soak-"))
    if folder.exists() and any(folder.iterdir()):
        # A soak on an earlier run's database and exchange state judges that run's leftovers.
        parser.error(f"--folder {folder} is not empty: give a new one")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"chaos soak: seed {args.seed}, {args.minutes} min, {kills} kills, files in {folder}")
    market = live_market(folder / "market")
    bot = start_live_bot(
        folder / "bot",
        market=market,
        order_mode="maker_first",
        live_hours=max(3.0, args.minutes / 60 + 1),
        pair_overrides=THRESHOLDS,
        statarb={"maker_timeout_s": MAKER_TIMEOUT_S, "cost_gate": False},
        freqtrade={"unfilledtimeout": UNFILLED},
    )
    soak = Soak(
        bot=bot,
        seed=args.seed,
        minutes=args.minutes,
        schedule=schedule,
        pairs=pairs,
        budget_s=HEDGE_RETRIES * HEDGE_RETRY_S + MAKER_TIMEOUT_S,
        log=lambda line: print(f"[{datetime.now(UTC):%H:%M:%S}] {line}", flush=True),
    )
    try:
        soak.run()
    finally:
        summary = summarise(soak)
        bot.stop()
        bot.exchange.stop()
    print(table(summary))
    if args.report:
        atomic_write_json(args.report, summary)
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""The soak's six invariants, as pure functions over plain snapshots.

Each check returns the violations it sees, with evidence a person can act on; the adapter
stamps them with the time and the seed. Nothing here reads a file or the network, so every
invariant has a unit test with a snapshot that breaks it and one that does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from statarb.soak.schedule import PairLegs

EPS = 1e-9
POSITIONS = "1 positions differ"
ORDERS = "2 order sent twice or unannounced"
LONE_LEG = "3 leg alone past the hedging budget"
REPORT = "4 recovery report untrue"
ENTRY_UNDER_REVIEW = "5 new spread while the review flag is up"
PROCESS = "6 bot process died"
INVARIANTS = (POSITIONS, ORDERS, LONE_LEG, REPORT, ENTRY_UNDER_REVIEW, PROCESS)
POSITION_KINDS = ("orphaned_position", "ghost_trade", "size_mismatch")


@dataclass(frozen=True)
class Violation:
    invariant: str
    evidence: Mapping[str, Any]
    key: str = ""  # the same breach seen again has the same key: reported once

    def to_json(self) -> dict[str, Any]:
        return {"invariant": self.invariant, "key": self.key, "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class WorldSnapshot:
    """Both sides at one moment: signed quantity per ccxt symbol, and what is in flight."""

    at_s: float
    exchange_positions: Mapping[str, float]
    db_positions: Mapping[str, float]
    db_open_orders: int = 0
    exchange_open_orders: Sequence[Mapping[str, Any]] = ()
    pending_intents: int = 0
    # Symbols with an open trade in the DB, its amount 0 included (an entry not yet seen
    # filled): recovery rightly calls the exchange's position there a size mismatch.
    db_open_symbols: frozenset[str] = frozenset()

    @property
    def quiet(self) -> bool:
        """No order in flight: none open in the DB or on the exchange, none being sent."""
        return not (self.db_open_orders or self.exchange_open_orders or self.pending_intents)

    def differences(self) -> dict[str, tuple[float, float]]:
        """(exchange, DB) per symbol where they disagree."""
        symbols = set(self.exchange_positions) | set(self.db_positions)
        out = {}
        for symbol in sorted(symbols):
            ex = float(self.exchange_positions.get(symbol, 0.0))
            db = float(self.db_positions.get(symbol, 0.0))
            if abs(ex - db) > EPS * max(1.0, abs(ex), abs(db)):
                out[symbol] = (ex, db)
        return out


# ------------------------------------------------------------------------- 1
def check_positions_agree(
    previous: WorldSnapshot | None, current: WorldSnapshot, *, settle_s: float = 5.0
) -> list[Violation]:
    """Invariant 1, judged only on quiet snapshots: a difference counts once it is the same in
    two quiet snapshots at least `settle_s` apart (FreqTrade writes a fill a moment after the
    exchange made it; a single read can fall between the two)."""
    if previous is None or not (previous.quiet and current.quiet):
        return []
    if current.at_s - previous.at_s < settle_s:
        return []
    now, before = current.differences(), previous.differences()
    held = {s: v for s, v in now.items() if before.get(s) == v}
    if not held:
        return []
    return [
        Violation(
            POSITIONS,
            {
                "differences": {s: {"exchange": ex, "db": db} for s, (ex, db) in held.items()},
                "since_s": previous.at_s,
            },
            key=f"positions:{sorted(held.items())}",
        )
    ]


# ------------------------------------------------------------------------- 2
def check_orders(
    order_log: Iterable[Mapping[str, Any]], announced_ids: Iterable[str]
) -> list[Violation]:
    """Invariant 2: no client order id accepted twice, none sent without a journal intent.
    Read the order log BEFORE the journal: an intent is written before its order is sent."""
    orders = list(order_log)
    announced = set(announced_ids)
    violations = []
    accepted = Counter(o.get("newClientOrderId") for o in orders if o.get("outcome") == "accepted")
    for cid, times in sorted(accepted.items(), key=lambda item: str(item[0])):
        if times > 1:
            violations.append(
                Violation(ORDERS, {"client_order_id": cid, "accepted": times}, f"twice:{cid}")
            )
    for order in orders:
        cid = order.get("newClientOrderId")
        if cid not in announced:
            evidence = {
                k: order.get(k)
                for k in ("time_ms", "symbol", "side", "quantity", "reduceOnly", "outcome")
            }
            violations.append(
                Violation(ORDERS, {"unannounced": cid, **evidence}, f"unannounced:{cid}")
            )
    return violations


# ------------------------------------------------------------------------- 3
def lone_legs(
    positions: Mapping[str, float], pairs: Sequence[PairLegs], *, tolerance: float
) -> dict[str, dict[str, float]]:
    """Pairs whose legs are not a hedged spread: one leg without its twin, both legs on one
    side, or B off `hedge_ratio` times A by more than `tolerance` (relative)."""
    out = {}
    for pair in pairs:
        qty_a = float(positions.get(pair.leg_a, 0.0))
        qty_b = float(positions.get(pair.leg_b, 0.0))
        if not qty_a and not qty_b:
            continue
        wanted_b = -pair.hedge_ratio * qty_a
        off = abs(qty_b - wanted_b) / max(abs(wanted_b), abs(qty_b))
        if off > tolerance:
            out[pair.pair_id] = {pair.leg_a: qty_a, pair.leg_b: qty_b, "off": round(off, 6)}
    return out


@dataclass
class LoneLegClock:
    """How long each pair has had a lone leg while the bot was up (it cannot hedge while it
    is down: a restart starts the clock again), and the longest so far."""

    since: dict[str, float] = field(default_factory=dict)
    longest_s: float = 0.0
    longest_pair: str = ""

    def observe(self, alone: Iterable[str], now_s: float) -> dict[str, float]:
        """Record this check's lone pairs; returns how long each has been alone."""
        alone = set(alone)
        for pair_id in list(self.since):
            if pair_id not in alone:
                del self.since[pair_id]
        durations = {}
        for pair_id in alone:
            started = self.since.setdefault(pair_id, now_s)
            durations[pair_id] = now_s - started
            if durations[pair_id] > self.longest_s:
                self.longest_s, self.longest_pair = durations[pair_id], pair_id
        return durations

    def restart(self) -> None:
        self.since.clear()


def flag_names(reasons: Iterable[Mapping[str, Any]], pair: PairLegs) -> bool:
    """Does a raised reason name this pair (its spread id, or a leg in its message)?"""
    for reason in reasons:
        spread = str(reason.get("spread_id") or "")
        message = str(reason.get("message") or "")
        if spread.startswith(f"{pair.pair_id}@") or spread == pair.pair_id:
            return True
        if pair.pair_id in message or any(_base(leg) in message for leg in pair.legs):
            return True
    return False


def _base(symbol: str) -> str:
    """ "SOL/USDT:USDT" → "SOL/USDT" (how logs and reasons name a leg); also matches SOLUSDT."""
    return symbol.split(":", 1)[0]


def check_lone_legs(
    durations: Mapping[str, float],
    lone: Mapping[str, Mapping[str, float]],
    pairs: Sequence[PairLegs],
    *,
    budget_s: float,
    flag_raised: bool,
    reasons: Sequence[Mapping[str, Any]],
) -> list[Violation]:
    """Invariant 3: a lone leg past `budget_s` is a violation unless the flag is up and
    names its pair."""
    by_id = {p.pair_id: p for p in pairs}
    violations = []
    for pair_id, alone_s in sorted(durations.items()):
        if alone_s <= budget_s:
            continue
        if flag_raised and flag_names(reasons, by_id[pair_id]):
            continue
        violations.append(
            Violation(
                LONE_LEG,
                {
                    "pair_id": pair_id,
                    "alone_s": round(alone_s, 1),
                    "budget_s": budget_s,
                    "legs": dict(lone.get(pair_id, {})),
                    "flag_raised": flag_raised,
                },
                key=f"lone:{pair_id}",
            )
        )
    return violations


# ------------------------------------------------------------------------- 4
def check_report(
    report: Mapping[str, Any],
    before: WorldSnapshot,
    after: WorldSnapshot,
    pairs: Sequence[PairLegs],
    *,
    tolerance: float,
) -> list[Violation]:
    """Invariant 4, against snapshots taken just before and just after the recovery run (the
    bot is down; a resting order may still fill between them): a finding is true if it holds
    in either; a difference is missing if it held in both and no finding names its symbol."""
    if not report:
        return [Violation(REPORT, {"problem": "no report written"}, "report:none")]
    findings = list(report.get("findings") or [])
    violations = []
    for finding in findings:
        problem = _untrue(finding, before, pairs, tolerance)
        if problem and _untrue(finding, after, pairs, tolerance):
            violations.append(
                Violation(
                    REPORT,
                    {"finding": _brief(finding), "problem": problem},
                    f"report:{report.get('timestamp')}:{finding.get('kind')}:{finding.get('symbol')}",
                )
            )
    named = {f.get("symbol") for f in findings if f.get("kind") in POSITION_KINDS}
    for symbol in sorted(set(before.differences()) & set(after.differences())):
        if symbol not in named:
            ex, db = before.differences()[symbol]
            violations.append(
                Violation(
                    REPORT,
                    {
                        "missing": symbol,
                        "exchange": ex,
                        "db": db,
                        "status": report.get("recovery_status"),
                    },
                    f"report:{report.get('timestamp')}:missing:{symbol}",
                )
            )
    lone = set(lone_legs(before.db_positions, pairs, tolerance=tolerance)) & set(
        lone_legs(after.db_positions, pairs, tolerance=tolerance)
    )
    broken = {
        p.pair_id
        for f in findings
        if f.get("kind") == "broken_spread"
        for p in pairs
        if f.get("symbol") in p.legs
    }
    for pair_id in sorted(lone - broken):
        violations.append(
            Violation(
                REPORT,
                {"missing_broken_spread": pair_id, "db": dict(before.db_positions)},
                f"report:{report.get('timestamp')}:broken:{pair_id}",
            )
        )
    if findings_need_review(findings) and not report.get("manual_review_required"):
        violations.append(
            Violation(
                REPORT,
                {"problem": "review findings without manual_review_required"},
                f"report:{report.get('timestamp')}:review",
            )
        )
    return violations


def findings_need_review(findings: Iterable[Mapping[str, Any]]) -> bool:
    return any(f.get("severity") == "review" for f in findings)


def _brief(finding: Mapping[str, Any]) -> dict[str, Any]:
    return {k: finding.get(k) for k in ("kind", "symbol", "side", "amount", "subject", "spread_id")}


def _untrue(
    finding: Mapping[str, Any], world: WorldSnapshot, pairs: Sequence[PairLegs], tolerance: float
) -> str:
    """Why a finding does not match `world` ("" when it does, or cannot be judged here)."""
    kind, symbol = finding.get("kind"), finding.get("symbol")
    amount = float(finding.get("amount") or 0.0)
    ex = float(world.exchange_positions.get(symbol, 0.0)) if symbol else 0.0
    db = float(world.db_positions.get(symbol, 0.0)) if symbol else 0.0
    side = finding.get("side")
    if kind == "orphaned_position":
        if not ex:
            return f"the exchange holds no {symbol}"
        if db and (db > 0) == (ex > 0) and abs(db) >= abs(ex) - EPS:
            return f"the DB holds {db} {symbol}: not an orphan"
        if side and side != ("LONG" if ex > 0 else "SHORT"):
            return f"the exchange holds {ex} {symbol}, not {side}"
        if abs(amount - abs(ex - (db if (db > 0) == (ex > 0) else 0.0))) > 1e-6 * max(1, abs(ex)):
            return f"amount {amount} but the exchange holds {ex} and the DB {db}"
        return ""
    if kind == "ghost_trade":
        if not db:
            return f"the DB holds no {symbol}"
        if ex and (ex > 0) == (db > 0):
            return f"the exchange holds {ex} {symbol}: not a ghost"
        return ""
    if kind == "size_mismatch":
        if not ex or not (db or symbol in world.db_open_symbols):
            return f"size mismatch but exchange {ex} and DB {db}"
        if abs(ex - db) <= EPS * max(1.0, abs(ex)):
            return f"size mismatch but both hold {ex}"
        return ""
    if kind == "unknown_open_order":
        subject = str(finding.get("subject") or "")
        ids = {str(o.get("orderId")) for o in world.exchange_open_orders}
        if ids and not any(i and i in subject for i in ids):
            return f"no open order on the exchange matches {subject!r}"
        return ""
    if kind == "broken_spread":
        pair_ids = {p.pair_id for p in pairs if symbol in p.legs}
        lone = set(lone_legs(world.db_positions, pairs, tolerance=tolerance)) | set(
            lone_legs(world.exchange_positions, pairs, tolerance=tolerance)
        )
        if pair_ids and not pair_ids & lone:
            return f"{symbol}'s spread is hedged on both sides"
        return ""
    return ""  # fills, margin mode and leverage: not judged from positions


# ------------------------------------------------------------------------- 5
@dataclass(frozen=True)
class FlagInterval:
    """The review flag was up from `raised_ms` until `cleared_ms` (None: still up)."""

    raised_ms: int
    cleared_ms: int | None
    reasons: tuple[str, ...] = ()


def flag_intervals(flag_document: Mapping[str, Any]) -> list[FlagInterval]:
    """When the flag was up, from the flag file itself (its reasons and its ack history)."""
    out = []
    for entry in flag_document.get("history") or []:
        reasons = entry.get("reasons") or []
        cleared = _ms(entry.get("acknowledged_at"))
        raised = [_ms(r.get("raised_at")) for r in reasons if r.get("raised_at")]
        if raised and cleared is not None:
            out.append(FlagInterval(min(raised), cleared, tuple(_why(r) for r in reasons)))
    current = flag_document.get("reasons") or []
    raised = [_ms(r.get("raised_at")) for r in current if r.get("raised_at")]
    if raised:
        out.append(FlagInterval(min(raised), None, tuple(_why(r) for r in current)))
    return out


def _why(reason: Mapping[str, Any]) -> str:
    return f"{reason.get('source')}: {reason.get('message')}"


def _ms(stamp: Any) -> int:
    return int(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() * 1000)


def spread_starts(intents: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """When each spread's first entry intent was written (epoch ms), by spread key."""
    starts: dict[str, int] = {}
    for intent in intents:
        if intent.get("purpose") != "E" or intent.get("reduce_only"):
            continue
        spread = str(intent.get("spread") or "")
        created = int(intent.get("created_ms") or 0)
        if spread and (spread not in starts or created < starts[spread]):
            starts[spread] = created
    return starts


def check_no_entry_under_review(
    starts: Mapping[str, int], intervals: Sequence[FlagInterval], *, grace_ms: int = 2_000
) -> list[Violation]:
    """Invariant 5: no spread starts while the flag is up. The flag's times have whole
    seconds, and a loop already sending when the strategy raises it finishes that send:
    `grace_ms` after the raise (plus the second the stamp drops) is not counted."""
    violations = []
    for spread, started in sorted(starts.items()):
        for interval in intervals:
            up_from = interval.raised_ms + 1_000 + grace_ms
            if started > up_from and (interval.cleared_ms is None or started < interval.cleared_ms):
                violations.append(
                    Violation(
                        ENTRY_UNDER_REVIEW,
                        {
                            "spread": spread,
                            "first_entry_ms": started,
                            "flag_raised_ms": interval.raised_ms,
                            "flag_cleared_ms": interval.cleared_ms,
                            "reasons": list(interval.reasons),
                        },
                        f"entry:{spread}",
                    )
                )
                break
    return violations


def check_exits_managed(
    exit_requests: Sequence[tuple[float, str]],
    exit_orders: Sequence[tuple[float, str]],
    *,
    now_s: float,
    within_s: float,
) -> list[Violation]:
    """Invariant 5's other half: a spread pushed into its exit band while the flag was up is
    still closed. `exit_requests` are (time, pair) when the soak moved an open spread's z to
    exit with the flag up; `exit_orders` (time, pair) the reduce-only orders sent for it."""
    violations = []
    for asked_at, pair_id in exit_requests:
        if now_s - asked_at < within_s:
            continue
        if not any(pair == pair_id and asked_at <= at for at, pair in exit_orders):
            violations.append(
                Violation(
                    ENTRY_UNDER_REVIEW,
                    {
                        "unmanaged": pair_id,
                        "exit_asked_at_s": round(asked_at, 1),
                        "within_s": within_s,
                    },
                    f"unmanaged:{pair_id}:{asked_at:.0f}",
                )
            )
    return violations


# ------------------------------------------------------------------------- 6
def check_process(*, alive: bool, killed_by_soak: bool, exit_code: int | None) -> list[Violation]:
    """Invariant 6: the bot dies only by the soak's own kills."""
    if alive or killed_by_soak:
        return []
    return [Violation(PROCESS, {"exit_code": exit_code}, f"died:{exit_code}")]

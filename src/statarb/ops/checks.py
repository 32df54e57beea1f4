"""The daily checklist (docs/design.md §5.3) as pure functions: plain inputs in, one
`CheckResult` out.

Nobody watches the bot, so each check answers one question a person would otherwise have to ask
by hand, and says how bad the answer is. Gathering the inputs (HTTP, files, psutil, docker) is
the adapter's job (`statarb.ops.daily_check`); nothing here touches the outside world, so every
verdict is tested on hand-made inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from statarb.safety.review_flag import ReviewStatus
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag, OpenLeg, group_by_spread, leg_is_short

MIB = 1024 * 1024
GIB = 1024 * MIB
# Recovery runs in the seconds before FreqTrade starts; a report older than the start by more
# than this was not written for it.
RECOVERY_BEFORE_START_S = 600


class Status(StrEnum):
    OK = "ok"
    INFO = "info"  # nothing could be checked here (e.g. no docker engine); never alarms
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def exit_code(self) -> int:
        """0 / 1 / 2 for ok / warning / critical, so cron can alert on a non-zero exit."""
        return {Status.OK: 0, Status.INFO: 0, Status.WARNING: 1, Status.CRITICAL: 2}[self]


def worst(statuses: Sequence[Status]) -> Status:
    order = [Status.OK, Status.INFO, Status.WARNING, Status.CRITICAL]
    return max(statuses, key=order.index, default=Status.OK)


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "detail": self.detail,
            "data": self.data,
        }


# ---------------------------------------------------------------------------------- API


def check_ping(answer: Mapping[str, Any] | None, error: str | None, url: str) -> CheckResult:
    """`/api/v1/ping` without credentials: proves the API thread lives, nothing more."""
    if error is not None:
        return CheckResult("api ping", Status.CRITICAL, f"API does not answer at {url}: {error}")
    if not answer or answer.get("status") != "pong":
        return CheckResult("api ping", Status.CRITICAL, f"unexpected answer from {url}: {answer}")
    return CheckResult("api ping", Status.OK, "pong")


@dataclass(frozen=True)
class LoopAgeLimits:
    """How stale FreqTrade's last loop may be. The loop runs every few seconds
    (`internals.process_throttle_secs`); minutes without one mean the bot is stuck."""

    warning: timedelta = timedelta(minutes=3)
    critical: timedelta = timedelta(minutes=10)


def check_bot_loop(
    health: Mapping[str, Any] | None,
    show_config: Mapping[str, Any] | None,
    error: str | None,
    now: datetime,
    limits: LoopAgeLimits = LoopAgeLimits(),
) -> CheckResult:
    """`/api/v1/health` (authenticated): ping answers while the strategy raises on every candle
    (docs/design.md §6.4); the time of the last completed loop tells whether the bot actually
    works."""
    name = "bot loop"
    if error is not None:
        return CheckResult(name, Status.CRITICAL, error)
    if health is None:
        return CheckResult(name, Status.CRITICAL, "no /health answer")
    state = str((show_config or {}).get("state", "unknown")).lower()
    dry_run = (show_config or {}).get("dry_run")
    data: dict[str, Any] = {"state": state, "dry_run": dry_run}
    mode = f"state {state}" + (", DRY RUN" if dry_run else "")
    last_ts = health.get("last_process_ts")
    startup_ts = health.get("bot_startup_ts")
    if last_ts is None:
        started = f"started {_age(now, startup_ts)} ago" if startup_ts else "start time unknown"
        young = (
            startup_ts is not None
            and now.timestamp() - float(startup_ts) < limits.critical.total_seconds()
        )
        status = Status.WARNING if young else Status.CRITICAL
        return CheckResult(name, status, f"no loop completed yet ({started}); {mode}", data)
    age_s = now.timestamp() - float(last_ts)
    data["last_loop_age_s"] = round(age_s, 1)
    detail = f"last loop {_age(now, last_ts)} ago; {mode}"
    if age_s > limits.critical.total_seconds():
        return CheckResult(name, Status.CRITICAL, detail + ": the bot is stuck", data)
    if age_s > limits.warning.total_seconds():
        return CheckResult(name, Status.WARNING, detail, data)
    if state != "running":
        return CheckResult(
            name, Status.WARNING, detail + " (not trading: state is not running)", data
        )
    return CheckResult(name, Status.OK, detail, data)


def _age(now: datetime, ts: float) -> str:
    seconds = max(0.0, now.timestamp() - float(ts))
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# ---------------------------------------------------------------------------- recovery


def check_recovery_report(
    report: Mapping[str, Any] | None,
    error: str | None,
    bot_startup_ts: float | None = None,
) -> CheckResult:
    """The last `recovery_report.json` (docs/design.md §3.2): an orphaned position is money
    nobody manages."""
    name = "recovery report"
    if error is not None:
        missing = error.startswith("missing")
        status = Status.WARNING if missing else Status.CRITICAL
        return CheckResult(name, status, error)
    if report is None:
        return CheckResult(name, Status.WARNING, "no report")
    status_text = str(report.get("recovery_status", "")).upper()
    orphans = report.get("orphaned_positions") or []
    if not isinstance(orphans, list):
        return CheckResult(name, Status.CRITICAL, "orphaned_positions is not a list")
    stamp = str(report.get("timestamp", "?"))
    data = {
        "recovery_status": status_text,
        "timestamp": stamp,
        "orphaned_positions": len(orphans),
        "manual_review_required": bool(report.get("manual_review_required")),
    }
    head = f"{status_text or '?'} at {stamp}"
    if orphans:
        described = ", ".join(_describe_orphan(o) for o in orphans[:5])
        return CheckResult(
            name, Status.CRITICAL, f"{head}: {len(orphans)} orphaned position(s): {described}", data
        )
    if status_text == "ERROR":
        reason = report.get("next_action") or "; ".join(map(str, report.get("warnings") or []))
        return CheckResult(name, Status.CRITICAL, f"{head}: recovery failed: {reason}", data)
    if status_text == "ALERT":
        findings = report.get("findings") or []
        warnings = report.get("warnings") or []
        what = "; ".join(_describe_finding(f) for f in findings[:3]) or "; ".join(
            map(str, warnings[:3])
        )
        return CheckResult(name, Status.WARNING, f"{head}: {what or 'see the report'}", data)
    if status_text != "SUCCESS":
        return CheckResult(name, Status.CRITICAL, f"unknown recovery_status {status_text!r}", data)
    parsed = _parse_iso(stamp)
    # Recovery runs right before every start; a report older than the start means the
    # entrypoint did not run it (the lesson of docs/design.md §6.1: a compose command that
    # never ran).
    if (
        bot_startup_ts is not None
        and parsed is not None
        and parsed.timestamp() < float(bot_startup_ts) - RECOVERY_BEFORE_START_S
    ):
        return CheckResult(
            name,
            Status.WARNING,
            f"{head}, but older than the bot's last start: did recovery run at start-up?",
            data,
        )
    return CheckResult(
        name, Status.OK, f"{head}, {report.get('open_orders', '?')} open orders", data
    )


def _describe_orphan(orphan: Any) -> str:
    if not isinstance(orphan, Mapping):
        return str(orphan)
    return (
        f"{orphan.get('symbol', '?')} {orphan.get('side', '?')} {orphan.get('amount', '?')}"
        f" (pnl {orphan.get('current_pnl', '?')})"
    )


def _describe_finding(finding: Any) -> str:
    if not isinstance(finding, Mapping):
        return str(finding)
    kind = finding.get("kind") or finding.get("type") or "finding"
    return f"{kind} {finding.get('symbol', '')}".strip()


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# ------------------------------------------------------------------------------ spreads


@dataclass(frozen=True)
class OpenTradeView:
    """What `/api/v1/status` says about one open FreqTrade trade (one leg)."""

    trade_id: int
    pair: str
    is_short: bool
    amount: float  # base quantity held
    current_rate: float
    enter_tag: str | None = None
    has_open_orders: bool = False


@dataclass(frozen=True)
class HedgeLimits:
    """How far leg B may miss `hedge_ratio × qty_a`. Rounding to the lot grid costs up to the
    strategy's `max_hedge_error` (1 %); more means a partial fill nobody repaired."""

    warning: float = 0.02
    critical: float = 0.10


def check_open_spreads(
    trades: Sequence[OpenTradeView],
    tags: Mapping[int, Mapping[str, Any]],
    error: str | None = None,
    limits: HedgeLimits = HedgeLimits(),
) -> CheckResult:
    """Open legs grouped into spreads by their `LegTag`: a lone leg or a leg on the wrong side
    is unhedged market exposure (critical); a hedge-ratio miss is a partial fill left over."""
    name = "open spreads"
    if error is not None:
        return CheckResult(name, Status.CRITICAL, f"cannot list open trades: {error}")
    if not trades:
        return CheckResult(name, Status.OK, "no open trades", {"spreads": 0, "legs": 0})
    problems: list[tuple[Status, str]] = []
    legs: list[OpenLeg] = []
    views = {t.trade_id: t for t in trades}
    for trade in trades:
        raw = tags.get(trade.trade_id)
        if raw is None:
            problems.append(
                (
                    Status.CRITICAL,
                    f"trade {trade.trade_id} {trade.pair} is not tagged as a spread leg "
                    f"(enter_tag {trade.enter_tag!r}): unhedged",
                )
            )
            continue
        try:
            tag = LegTag.from_json(dict(raw))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(
                (
                    Status.CRITICAL,
                    f"trade {trade.trade_id} {trade.pair}: unreadable leg tag ({exc})",
                )
            )
            continue
        legs.append(OpenLeg(trade.trade_id, trade.pair, trade.is_short, trade.amount, tag))
    # group_by_spread keeps one trade per (spread, leg): a second one would vanish from view.
    seen: dict[tuple[str, Leg], int] = {}
    for leg in legs:
        first = seen.setdefault((str(leg.tag.key), leg.tag.leg), leg.trade_id)
        if first != leg.trade_id:
            problems.append(
                (
                    Status.CRITICAL,
                    f"{leg.tag.key}: trades {first} and {leg.trade_id} are both leg "
                    f"{leg.tag.leg}: exposure beyond the spread",
                )
            )
    summaries: list[str] = []
    net_delta_total = 0.0
    for key, members in sorted(group_by_spread(legs).items(), key=lambda kv: str(kv[0])):
        status, text, delta = _spread_verdict(str(key), members, views, limits)
        net_delta_total += delta
        if status is not Status.OK:
            problems.append((status, text))
        else:
            summaries.append(text)
    spreads = len(group_by_spread(legs))
    data = {
        "spreads": spreads,
        "legs": len(trades),
        "net_delta_usdt": round(net_delta_total, 2),
    }
    if problems:
        status = worst([s for s, _ in problems])
        return CheckResult(
            name,
            status,
            "; ".join(t for _, t in problems + [(Status.OK, s) for s in summaries]),
            data,
        )
    return CheckResult(name, Status.OK, f"{spreads} spread(s): " + "; ".join(summaries), data)


def _spread_verdict(
    key: str,
    members: Mapping[Leg, OpenLeg],
    views: Mapping[int, OpenTradeView],
    limits: HedgeLimits,
) -> tuple[Status, str, float]:
    """(status, text, net delta in USDT) for one spread instance."""
    delta = sum(
        (-1.0 if leg.is_short else 1.0) * leg.qty_base * views[leg.trade_id].current_rate
        for leg in members.values()
    )
    if set(members) != {Leg.A, Leg.B}:
        (only,) = members.values()
        return (
            Status.CRITICAL,
            f"{key}: lone leg {only.tag.leg} {only.symbol} "
            f"{'short' if only.is_short else 'long'} {only.qty_base:g} without its twin "
            f"{only.tag.partner}: net delta {delta:+.2f} USDT",
            delta,
        )
    leg_a, leg_b = members[Leg.A], members[Leg.B]
    for leg in (leg_a, leg_b):
        if leg.is_short != leg_is_short(leg.tag.leg, leg.tag.direction):
            return (
                Status.CRITICAL,
                f"{key}: leg {leg.tag.leg} {leg.symbol} is "
                f"{'short' if leg.is_short else 'long'}, its spread direction says otherwise",
                delta,
            )
    if (leg_a.tag.direction, leg_a.tag.hedge_ratio) != (leg_b.tag.direction, leg_b.tag.hedge_ratio):
        return (
            Status.CRITICAL,
            f"{key}: the legs disagree on direction or hedge ratio",
            delta,
        )
    beta = leg_a.tag.hedge_ratio
    expected_b = beta * leg_a.qty_base
    miss = abs(leg_b.qty_base - expected_b) / expected_b if expected_b > 0 else math.inf
    gross = sum(leg.qty_base * views[leg.trade_id].current_rate for leg in (leg_a, leg_b))
    in_flight = [leg.symbol for leg in (leg_a, leg_b) if views[leg.trade_id].has_open_orders]
    text = (
        f"{key}: {_side(leg_a)} {leg_a.symbol} {leg_a.qty_base:g} / {_side(leg_b)} "
        f"{leg_b.symbol} {leg_b.qty_base:g}, hedge miss {miss:.2%}, "
        f"net delta {delta:+.2f} USDT of {gross:.2f} gross"
        + (f", order in flight on {', '.join(in_flight)}" if in_flight else "")
    )
    if miss > limits.critical:
        return Status.CRITICAL, text + f" (hedge miss above {limits.critical:.0%})", delta
    if miss > limits.warning:
        return Status.WARNING, text + f" (hedge miss above {limits.warning:.0%})", delta
    return Status.OK, text, delta


def _side(leg: OpenLeg) -> str:
    return "short" if leg.is_short else "long"


# ------------------------------------------------------------------------------- review


def check_review_flag(status: ReviewStatus) -> CheckResult:
    """A raised flag is CRITICAL: it is raised for unhedgeable fills, ghost orders, stops and
    orphans, and while it is up the bot opens no new spread — the daily check exists to bring
    exactly this to a person. An unreadable flag file counts as raised (fail safe)."""
    name = "manual review"
    if status.unreadable:
        return CheckResult(name, Status.CRITICAL, status.summary)
    if status.raised:
        return CheckResult(
            name,
            Status.CRITICAL,
            f"RAISED ({len(status.reasons)} reason(s)): {status.summary}; no new spreads until "
            "`scripts/review.py ack --by NAME --note TEXT`",
            {"reasons": len(status.reasons)},
        )
    return CheckResult(name, Status.OK, "clear")


# --------------------------------------------------------------------------------- host


@dataclass(frozen=True)
class DiskLimits:
    """Free space under `user_data/` (candles, models, logs, the trade database)."""

    warning_free_bytes: int = 5 * GIB
    critical_free_bytes: int = 1 * GIB
    warning_free_fraction: float = 0.10
    critical_free_fraction: float = 0.05


def check_disk(
    path: str,
    total_bytes: int,
    free_bytes: int,
    limits: DiskLimits = DiskLimits(),
) -> CheckResult:
    """SQLite and the log rotation fail when the disk fills: the bot then stops recording fills."""
    name = "disk free"
    fraction = free_bytes / total_bytes if total_bytes > 0 else 0.0
    data = {"free_gib": round(free_bytes / GIB, 2), "free_fraction": round(fraction, 4)}
    detail = (
        f"{free_bytes / GIB:.1f} GiB free of {total_bytes / GIB:.1f} GiB ({fraction:.0%}) at {path}"
    )
    if free_bytes < limits.critical_free_bytes or fraction < limits.critical_free_fraction:
        return CheckResult(name, Status.CRITICAL, detail, data)
    if free_bytes < limits.warning_free_bytes or fraction < limits.warning_free_fraction:
        return CheckResult(name, Status.WARNING, detail, data)
    return CheckResult(name, Status.OK, detail, data)


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    rss_bytes: int  # the process and its children
    cmdline: str


@dataclass(frozen=True)
class MemoryLimits:
    """Against the container's memory limit (compose `mem_limit: 3500M`): past it the kernel
    kills the bot mid-order."""

    limit_bytes: int = 3500 * MIB
    warning_fraction: float = 0.75
    critical_fraction: float = 0.90


def check_memory(
    processes: Sequence[ProcessMemory],
    error: str | None = None,
    limits: MemoryLimits = MemoryLimits(),
) -> CheckResult:
    name = "bot memory"
    if error is not None:
        return CheckResult(name, Status.WARNING, error)
    if not processes:
        return CheckResult(name, Status.WARNING, "no `freqtrade trade` process visible from here")
    biggest = max(processes, key=lambda p: p.rss_bytes)
    fraction = biggest.rss_bytes / limits.limit_bytes
    data = {
        "pids": [p.pid for p in processes],
        "rss_mib": round(biggest.rss_bytes / MIB, 1),
        "limit_fraction": round(fraction, 4),
    }
    detail = (
        f"pid {biggest.pid}: {biggest.rss_bytes / MIB:.0f} MiB "
        f"({fraction:.0%} of the {limits.limit_bytes / MIB:.0f} MiB limit)"
    )
    if len(processes) > 1:
        detail += f"; {len(processes)} freqtrade trade processes found"
    if fraction > limits.critical_fraction:
        return CheckResult(name, Status.CRITICAL, detail, data)
    if fraction > limits.warning_fraction:
        return CheckResult(name, Status.WARNING, detail, data)
    return CheckResult(name, Status.OK, detail, data)


def check_docker(
    container: str,
    state: Mapping[str, Any] | None,
    stats: Mapping[str, Any] | None,
    unreachable: str | None,
    missing: bool = False,
) -> CheckResult:
    """The container as docker sees it, when this host's docker CLI reaches an engine.
    Inside the container (or without docker) nothing can be asked: INFO, never an alarm."""
    name = "docker"
    if unreachable is not None:
        return CheckResult(name, Status.INFO, f"docker: not reachable ({unreachable})")
    if missing or state is None:
        return CheckResult(name, Status.CRITICAL, f"container {container} does not exist")
    running = bool(state.get("Running"))
    health = (state.get("Health") or {}).get("Status", "none")
    restarts = state.get("RestartCount")
    data = {"running": running, "health": health, "restart_count": restarts}
    detail = f"{container}: {state.get('Status', '?')}, health {health}"
    if stats:
        detail += f", memory {stats.get('MemUsage', '?')} ({stats.get('MemPerc', '?')})"
        data["mem_perc"] = stats.get("MemPerc")
    if not running or health == "unhealthy":
        return CheckResult(name, Status.CRITICAL, detail, data)
    if health in ("starting", "none") or state.get("Restarting"):
        return CheckResult(name, Status.WARNING, detail, data)
    return CheckResult(name, Status.OK, detail, data)


# ---------------------------------------------------------------------------------- logs


@dataclass(frozen=True)
class LogActivity:
    """What the log files say about the last 24 h."""

    since: datetime
    lines: int  # timestamped lines in the window (FreqTrade writes a heartbeat every minute)
    execution: int
    safety: int
    strategy: int
    errors: int
    last_safety: str | None = None
    files: tuple[str, ...] = ()


def check_log_activity(activity: LogActivity | None, error: str | None = None) -> CheckResult:
    """`[EXECUTION]` lines show trading; every `[SAFETY]` line is a stop, a rollback or a
    block a person should read; a silent log means the bot is not running at all."""
    name = "log activity (24 h)"
    if error is not None:
        return CheckResult(name, Status.WARNING, error)
    if activity is None:
        return CheckResult(name, Status.WARNING, "no log read")
    data = {
        "execution": activity.execution,
        "safety": activity.safety,
        "strategy": activity.strategy,
        "errors": activity.errors,
        "lines": activity.lines,
    }
    counts = (
        f"[EXECUTION] {activity.execution}, [SAFETY] {activity.safety}, "
        f"[STRATEGY] {activity.strategy}, ERROR lines {activity.errors}"
    )
    if activity.lines == 0:
        return CheckResult(
            name,
            Status.CRITICAL,
            f"no log line at all since {activity.since:%Y-%m-%d %H:%M}Z",
            data,
        )
    if activity.safety:
        last = (activity.last_safety or "")[:200]
        return CheckResult(name, Status.WARNING, f"{counts}; last: {last}", data)
    if activity.execution == 0:
        counts += " (no orders: normal when no spread signalled)"
    return CheckResult(name, Status.OK, counts, data)

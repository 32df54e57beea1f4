"""`scripts/daily_check.py`: docs/design.md §5.3's daily checklist as one command, for a person
or for cron.

Gathers the inputs (REST API, files under `user_data/`, psutil, the docker CLI when it reaches
an engine), hands them to the pure checks in `statarb.ops.checks`, prints a table (or JSON with
`--json`) and exits 0 / 1 / 2 for ok / warning / critical. A failure to gather an input is
itself a finding, never a traceback: the check that could not run says why.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table
from rich.text import Text

from statarb.accounting.pnl import summarise_costs
from statarb.accounting.report import print_costs
from statarb.ops.api import (
    DEFAULT_API_URL,
    PASSWORD_VAR,
    USERNAME_VAR,
    ApiError,
    ApiUnreachableError,
    Credentials,
    FreqtradeApi,
    read_env_file,
)
from statarb.ops.checks import (
    MIB,
    CheckResult,
    LoopAgeLimits,
    MemoryLimits,
    OpenTradeView,
    ProcessMemory,
    Status,
    check_bot_loop,
    check_disk,
    check_docker,
    check_log_activity,
    check_memory,
    check_open_spreads,
    check_ping,
    check_recovery_report,
    check_review_flag,
    worst,
)
from statarb.ops.logscan import scan_logs
from statarb.ops.spread_costs import live_spreads, records_json, since_hours
from statarb.safety.review_flag import ManualReviewFlag
from statarb.settings import StrategySettings
from statarb.spread.legs import TAG_KEY

DEFAULT_CONTAINER = "freqtrade_bot"  # docker-compose.production.yml's container_name
DEFAULT_MEMORY_LIMIT_MIB = MemoryLimits().limit_bytes // MIB
DEFAULT_MAX_LOOP_AGE_MIN = LoopAgeLimits().critical.total_seconds() / 60


@dataclass(frozen=True)
class Options:
    api_url: str = DEFAULT_API_URL
    user_data: Path = Path("user_data")
    review_flag: Path | None = None
    recovery_report: Path | None = None
    logfile: Path | None = None
    credentials: Credentials | None = None
    container: str = DEFAULT_CONTAINER
    pid: int | None = None
    memory_limit_mib: int = DEFAULT_MEMORY_LIMIT_MIB
    max_loop_age_min: float = DEFAULT_MAX_LOOP_AGE_MIN
    timeout_s: float = 10.0

    @property
    def flag_path(self) -> Path:
        default = StrategySettings().review_flag
        return self.review_flag or StrategySettings().resolve(default, self.user_data)

    @property
    def report_path(self) -> Path:
        return self.recovery_report or self.user_data / "logs" / "recovery_report.json"

    @property
    def log_path(self) -> Path:
        return self.logfile or self.user_data / "logs" / "freqtrade.log"


# ------------------------------------------------------------------------------ gathering


def api_checks(api: FreqtradeApi, now: datetime, options: Options) -> tuple[list[CheckResult], Any]:
    """Ping, loop health and open spreads; returns the checks and `/health` (or None)."""
    results: list[CheckResult] = []
    try:
        pong, ping_error = api.ping(), None
    except (ApiError, ApiUnreachableError) as exc:
        pong, ping_error = None, str(exc)
    results.append(check_ping(pong, ping_error, api.base_url))
    critical_age = timedelta(minutes=options.max_loop_age_min)
    limits = LoopAgeLimits(
        warning=min(LoopAgeLimits().warning, critical_age / 2), critical=critical_age
    )
    if ping_error is not None:
        skipped = "the API does not answer"
        results.append(check_bot_loop(None, None, skipped, now, limits))
        results.append(check_open_spreads([], {}, error=skipped))
        return results, None
    if api.credentials is None:
        missing = f"no API credentials: set {USERNAME_VAR} / {PASSWORD_VAR} or pass --env-file .env"
        results.append(check_bot_loop(None, None, missing, now, limits))
        results.append(check_open_spreads([], {}, error=missing))
        return results, None
    health = None
    try:
        health = api.get("health")
        show_config = api.get("show_config")
        results.append(check_bot_loop(health, show_config, None, now, limits))
    except (ApiError, ApiUnreachableError) as exc:
        results.append(check_bot_loop(None, None, _api_problem(exc), now, limits))
    try:
        trades = [_trade_view(t) for t in api.get("status")]
        tags = api.open_trade_tags(TAG_KEY) if trades else {}
        results.append(check_open_spreads(trades, tags))
    except (ApiError, ApiUnreachableError, KeyError, TypeError, ValueError) as exc:
        results.append(check_open_spreads([], {}, error=_api_problem(exc)))
    return results, health


def _api_problem(exc: Exception) -> str:
    if isinstance(exc, ApiError) and exc.status == 401:
        return "the API refused the credentials (HTTP 401): check the env file"
    return str(exc)


def _trade_view(row: Mapping[str, Any]) -> OpenTradeView:
    return OpenTradeView(
        trade_id=int(row["trade_id"]),
        pair=str(row["pair"]),
        is_short=bool(row["is_short"]),
        amount=float(row["amount"]),
        current_rate=float(row.get("current_rate") or row.get("open_rate") or 0.0),
        enter_tag=row.get("enter_tag"),
        has_open_orders=bool(row.get("has_open_orders")),
    )


def recovery_check(path: Path, bot_startup_ts: float | None) -> CheckResult:
    if not path.exists():
        return check_recovery_report(None, f"missing: no report at {path}")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return check_recovery_report(None, f"unreadable report {path}: {exc}")
    if not isinstance(report, dict):
        return check_recovery_report(None, f"unreadable report {path}: not a JSON object")
    return check_recovery_report(report, None, bot_startup_ts)


def find_bot_processes(pid: int | None = None) -> list[ProcessMemory]:
    """`freqtrade trade` processes on this host (or in this container), RSS with children."""
    found = []
    candidates = [psutil.Process(pid)] if pid is not None else psutil.process_iter()
    for process in candidates:
        try:
            cmdline = process.cmdline()
            if pid is None and not _is_freqtrade_trade(cmdline):
                continue
            rss = process.memory_info().rss
            for child in process.children(recursive=True):
                rss += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        found.append(ProcessMemory(process.pid, rss, " ".join(cmdline)[:120]))
    return found


def _is_freqtrade_trade(cmdline: Sequence[str]) -> bool:
    names = [Path(part).name for part in cmdline]
    if "freqtrade" not in names:
        return False
    return "trade" in names[names.index("freqtrade") + 1 :]


def memory_check(options: Options) -> CheckResult:
    limits = MemoryLimits(limit_bytes=options.memory_limit_mib * MIB)
    try:
        processes = find_bot_processes(options.pid)
    except psutil.NoSuchProcess:
        return check_memory([], f"process {options.pid} does not exist", limits)
    return check_memory(processes, None, limits)


def docker_check(container: str, timeout_s: float) -> CheckResult:
    """`docker inspect` / `docker stats` when the CLI reaches an engine; INFO otherwise."""
    if shutil.which("docker") is None:
        return check_docker(container, None, None, "no docker CLI")
    try:
        inspect = subprocess.run(
            ["docker", "inspect", "--format", "{{json .State}}", container],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return check_docker(container, None, None, "docker inspect timed out")
    if inspect.returncode != 0:
        message = (inspect.stderr or inspect.stdout).strip()
        if "no such object" in message.lower() or "no such container" in message.lower():
            return check_docker(container, None, None, None, missing=True)
        return check_docker(container, None, None, message.splitlines()[0] if message else "?")
    state = json.loads(inspect.stdout)
    stats = None
    try:
        result = subprocess.run(
            ["docker", "stats", "--no-stream", "--format", "{{json .}}", container],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            stats = json.loads(result.stdout.strip().splitlines()[0])
    except (subprocess.TimeoutExpired, ValueError):
        stats = None
    return check_docker(container, state, stats, None)


def disk_check(path: Path) -> CheckResult:
    target = path if path.exists() else Path(".")
    usage = shutil.disk_usage(target)
    return check_disk(str(target.resolve()), usage.total, usage.free)


def log_check(logfile: Path, now: datetime) -> CheckResult:
    try:
        activity = scan_logs(logfile, now - timedelta(hours=24))
    except OSError as exc:
        return check_log_activity(None, str(exc))
    return check_log_activity(activity)


def run_checks(options: Options, now: datetime | None = None) -> list[CheckResult]:
    now = now or datetime.now(UTC)
    api = FreqtradeApi(options.api_url, options.credentials, options.timeout_s)
    results, health = api_checks(api, now, options)
    startup_ts = (health or {}).get("bot_startup_ts")
    results.append(recovery_check(options.report_path, startup_ts))
    results.append(check_review_flag(ManualReviewFlag(options.flag_path).status()))
    results.append(disk_check(options.user_data))
    results.append(memory_check(options))
    results.append(docker_check(options.container, options.timeout_s))
    results.append(log_check(options.log_path, now))
    return results


# ------------------------------------------------------------------------------ output


def to_json(results: Sequence[CheckResult], now: datetime) -> dict[str, Any]:
    overall = worst([r.status for r in results])
    return {
        "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "status": str(overall),
        "exit_code": overall.exit_code,
        "checks": [r.to_json() for r in results],
    }


def render_table(results: Sequence[CheckResult], now: datetime) -> None:
    styles = {
        Status.OK: "green",
        Status.INFO: "cyan",
        Status.WARNING: "yellow",
        Status.CRITICAL: "bold red",
    }
    overall = worst([r.status for r in results])
    table = Table(title=f"statarb daily check — {now:%Y-%m-%d %H:%M} UTC", show_lines=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail")
    for result in results:
        # Text, not markup: details quote log lines such as "[SAFETY] ...".
        table.add_row(
            Text(result.name),
            Text(str(result.status), style=styles[result.status]),
            Text(result.detail),
        )
    console = Console(width=max(100, shutil.get_terminal_size((140, 24)).columns))
    console.print(table)
    console.print(
        Text("overall: ")
        + Text(str(overall).upper(), style=styles[overall])
        + Text(f" (exit code {overall.exit_code})")
    )


def cost_report(options: Options, now: datetime, *, hours: float, as_json: bool) -> int:
    """Where the live spreads' money went; 0 when reported, 2 when the API cannot tell."""
    api = FreqtradeApi(options.api_url, options.credentials, options.timeout_s)
    try:
        costs = live_spreads(api, since=since_hours(now, hours))
    except (ApiError, ApiUnreachableError, KeyError, TypeError, ValueError) as exc:
        print(f"daily_check --costs: {_api_problem(exc) if isinstance(exc, ApiError) else exc}",
              file=sys.stderr)  # fmt: skip
        return Status.CRITICAL.exit_code
    summary = summarise_costs(costs.records)
    if as_json:
        body = {
            "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "hours": hours,
            "spreads": records_json(costs.records),
            "summary": summary.to_json(),
            "skipped": list(costs.skipped),
        }
        print(json.dumps(body, indent=2))
        return 0
    console = Console(width=max(100, shutil.get_terminal_size((140, 24)).columns))
    console.print(f"spreads closed in the last {hours:g} h (to {now:%Y-%m-%d %H:%M} UTC)")
    print_costs(summary, console)
    for line in costs.skipped:
        console.print(Text(f"not accounted: {line}"))
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="daily_check.py",
        description=(
            "The daily health checklist: API ping and loop health, recovery report, open spreads "
            "and their delta, manual-review flag, disk, memory, docker, 24 h of log categories. "
            "Exit code 0 ok, 1 warning, 2 critical."
        ),
    )
    parser.add_argument("--api-url", default=DEFAULT_API_URL)
    parser.add_argument("--user-data", type=Path, default=Path("user_data"))
    parser.add_argument(
        "--env-file",
        type=Path,
        help="read the API credentials from this compose env file when they are not in the "
        "environment (on the host: --env-file .env)",
    )
    parser.add_argument(
        "--review-flag", type=Path, help="default: <user-data>/state/manual_review.json"
    )
    parser.add_argument(
        "--recovery-report", type=Path, help="default: <user-data>/logs/recovery_report.json"
    )
    parser.add_argument("--logfile", type=Path, help="default: <user-data>/logs/freqtrade.log")
    parser.add_argument("--container", default=DEFAULT_CONTAINER)
    parser.add_argument("--pid", type=int, help="the bot's process id (default: search)")
    parser.add_argument("--memory-limit-mib", type=int, default=DEFAULT_MEMORY_LIMIT_MIB)
    parser.add_argument(
        "--max-loop-age-min",
        type=float,
        default=DEFAULT_MAX_LOOP_AGE_MIN,
        help="a last bot loop older than this is critical",
    )
    parser.add_argument("--timeout-s", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--costs",
        action="store_true",
        help="instead of the checks: the spreads closed in the last --costs-hours, their money "
        "split into gross, fees, funding and slippage (totals, per pair, per exit reason)",
    )
    parser.add_argument("--costs-hours", type=float, default=24.0)
    return parser.parse_args(argv)


def options_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> Options:
    values = dict(env)
    if args.env_file is not None:
        file_values = read_env_file(args.env_file)
        values = {**file_values, **{k: v for k, v in env.items() if v}}
    if args.max_loop_age_min <= 0 or args.memory_limit_mib <= 0 or args.timeout_s <= 0:
        raise ValueError("--max-loop-age-min, --memory-limit-mib and --timeout-s must be > 0")
    return Options(
        api_url=args.api_url,
        user_data=args.user_data,
        review_flag=args.review_flag,
        recovery_report=args.recovery_report,
        logfile=args.logfile,
        credentials=Credentials.from_env(values),
        container=args.container,
        pid=args.pid,
        memory_limit_mib=args.memory_limit_mib,
        max_loop_age_min=args.max_loop_age_min,
        timeout_s=args.timeout_s,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = options_from_args(args, os.environ)
    except (OSError, ValueError) as exc:
        print(f"daily_check: {exc}", file=sys.stderr)
        return Status.CRITICAL.exit_code
    now = datetime.now(UTC)
    if args.costs:
        return cost_report(options, now, hours=args.costs_hours, as_json=args.json)
    results = run_checks(options, now)
    if args.json:
        print(json.dumps(to_json(results, now), indent=2))
    else:
        render_table(results, now)
    return worst([r.status for r in results]).exit_code

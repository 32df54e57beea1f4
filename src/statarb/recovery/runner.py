"""One recovery run: config → database → exchange → reconcile → report → review flag.

Shared by `scripts/state_recovery.py` and the bench. A broken configuration raises
`ConfigError` (the CLI prints it on one line and exits non-zero); every other failure —
exchange unreachable after the bounded retries, garbage answers, a corrupt database — ends in
an ERROR report and a raised review flag, because the report is how a person finds out.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from statarb.pairs_config import PairsConfigError, load_pairs_config
from statarb.recovery import ftconfig
from statarb.recovery.db_reader import DbReadError, read_db, sqlite_path
from statarb.recovery.exchange_reader import (
    ExchangeReader,
    ExchangeReadError,
    RetryPolicy,
    make_client,
)
from statarb.recovery.findings import FindingKind, Reconciliation, Severity
from statarb.recovery.flatten import flatten_orphans
from statarb.recovery.reconcile import reconcile
from statarb.recovery.report import (
    ERROR,
    ReportContext,
    error_report,
    reconciled_report,
    skipped_report,
    write_report,
)
from statarb.recovery.snapshots import DbSnapshot, ExchangeSnapshot
from statarb.safety.log import Category, log
from statarb.safety.review_flag import ManualReviewFlag

logger = logging.getLogger("statarb.recovery")

# Local clock vs exchange clock beyond this is worth a warning (docs/design.md §6.8: time-zone
# bugs).
CLOCK_SKEW_WARNING_S = 5.0
# The DB's "known order ids" cover trades closed in the last 48 h by the LOCAL clock: a
# superset of the exchange's 24 h fill window even with a day of clock error.
DB_KNOWN_WINDOW = timedelta(hours=48)


class ReportWriteError(OSError):
    """The report or the review flag could not be written (disk full, permissions)."""


@dataclass(frozen=True)
class RecoveryOptions:
    config_files: Sequence[str] | None = None
    report_path: str | None = None
    db_url: str | None = None
    user_data_dir: str | None = None
    flatten_orphans: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    keep_reports: int = 500
    cwd: Path | None = None
    environ: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RecoveryOutcome:
    report: Mapping[str, Any]
    report_path: Path
    history_path: Path | None
    flag_path: Path
    flag_raised: bool  # the review flag is up after the run (raised now or left from before)

    @property
    def status(self) -> str:
        return str(self.report["recovery_status"])


class _Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: dict[str, float] = {}
        self._last = self.start

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.marks[name] = (now - self._last) * 1000
        self._last = now

    def total(self) -> dict[str, float]:
        return {**self.marks, "total": (time.perf_counter() - self.start) * 1000}


def run_recovery(options: RecoveryOptions) -> RecoveryOutcome:
    timer = _Timer()
    cwd = options.cwd or Path.cwd()
    cfg = _load_config(options, cwd)
    timer.lap("config")
    warnings: list[str] = []
    pair_entries = _pair_entries(cfg, warnings)
    db: DbSnapshot | None = None
    exchange: ExchangeSnapshot | None = None
    reason: str | None = None
    try:
        db = _read_db(cfg, cwd, pair_entries, warnings)
    except DbReadError as exc:
        reason = f"database unreadable: {exc}"
    timer.lap("database")
    if cfg.dry_run:
        context = ReportContext(datetime.now(UTC), warnings, timer.total())
        report = skipped_report(
            "dry_run is true: the exchange holds none of this bot's positions; not reconciled",
            context,
            db,
        )
        return _finish(cfg, report, None, options)
    try:
        # Read even when the DB failed: the ERROR report then still shows what is held.
        exchange, reader = _read_exchange(
            cfg, db or DbSnapshot.empty(cfg.db_url, exists=False), pair_entries, options.retry,
            warnings,
        )  # fmt: skip
    except ExchangeReadError as exc:
        reason = reason or f"exchange unreadable: {exc}"
        if db is None:
            warnings.append(f"exchange unreadable too: {exc}")
    timer.lap("exchange")
    if reason is not None:
        context = ReportContext(datetime.now(UTC), warnings, timer.total())
        return _finish(cfg, error_report(reason, context, exchange=exchange, db=db), None, options)
    assert db is not None and exchange is not None
    exchange_now = datetime.fromtimestamp(exchange.server_time_ms / 1000, tz=UTC)
    skew = abs((datetime.now(UTC) - exchange_now).total_seconds())
    if skew > CLOCK_SKEW_WARNING_S:
        warnings.append(f"local clock differs from the exchange's by {skew:.1f} s (UTC both)")
    result = reconcile(
        exchange,
        db,
        configured_leverage=cfg.leverage,
        now=exchange_now,
        hedge_tolerance=cfg.max_hedge_error,
    )
    timer.lap("reconcile")
    actions: list[dict[str, Any]] = []
    orphans = result.of_kind(FindingKind.ORPHANED_POSITION)
    if options.flatten_orphans and orphans:
        done = flatten_orphans(reader, orphans, exchange.positions, logger)
        actions = [a.to_dict() for a in done]
        timer.lap("flatten")
    context = ReportContext(datetime.now(UTC), warnings, timer.total(), actions)
    return _finish(cfg, reconciled_report(result, exchange, db, context), result, options)


def write_error_report(options: RecoveryOptions, reason: str) -> RecoveryOutcome:
    """Last resort after an unexpected failure: an ERROR report and a raised flag, if the
    configuration can still be loaded (ConfigError otherwise)."""
    cwd = options.cwd or Path.cwd()
    cfg = _load_config(options, cwd)
    context = ReportContext(datetime.now(UTC))
    return _finish(cfg, error_report(reason, context), None, options)


def _pair_entries(cfg: ftconfig.RecoveryConfig, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """Pairs config entries by pair id, to rebuild the tag of a leg that has none."""
    if cfg.pairs_config_path is None or not cfg.pairs_config_path.exists():
        return {}
    try:
        pairs = load_pairs_config(cfg.pairs_config_path)
    except (PairsConfigError, OSError) as exc:
        first = str(exc).splitlines()[0]
        warnings.append(f"pairs config unusable ({first}); untagged legs checked by twin only")
        return {}
    return {p.pair_id: p.model_dump() for p in pairs.pairs}


def _read_db(
    cfg: ftconfig.RecoveryConfig,
    cwd: Path,
    pair_entries: Mapping[str, Mapping[str, Any]],
    warnings: list[str],
) -> DbSnapshot:
    path = sqlite_path(cfg.db_url, cwd)
    db = read_db(
        path,
        fills_since=datetime.now(UTC) - DB_KNOWN_WINDOW,
        timeframe_minutes=cfg.timeframe_minutes,
        pair_entries=pair_entries,
    )
    if path is None:
        warnings.append(
            "db_url is an in-memory database: FreqTrade keeps no trades across restarts; "
            "compared with an empty DB"
        )
    elif not db.exists:
        warnings.append(f"no database at {path}: a fresh install; compared with an empty DB")
    warnings.extend(db.notes)
    return db


def _read_exchange(
    cfg: ftconfig.RecoveryConfig,
    db: DbSnapshot,
    pair_entries: Mapping[str, Mapping[str, Any]],
    retry: RetryPolicy,
    warnings: list[str],
) -> tuple[ExchangeSnapshot, ExchangeReader]:
    reader = ExchangeReader(make_client(cfg.ccxt_params, cfg.exchange_name), retry)
    wanted = set(cfg.whitelist) | set(db.recent_pairs) | {t.pair for t in db.open_trades}
    for entry in pair_entries.values():
        wanted |= {str(entry["leg_a"]), str(entry["leg_b"])}
    known = set(db.known_order_ids)
    for trade in db.open_trades:
        known.update(o.order_id for o in trade.orders)
    snapshot = reader.read(
        sorted(wanted), lookup_order=lambda order_id: order_id not in known, warnings=warnings
    )
    return snapshot, reader


def _finish(
    cfg: ftconfig.RecoveryConfig,
    report: dict[str, Any],
    result: Reconciliation | None,
    options: RecoveryOptions,
) -> RecoveryOutcome:
    flag = ManualReviewFlag(cfg.review_flag_path)
    try:
        if report["manual_review_required"]:
            _raise_flag(flag, report, result, cfg.report_path)
        history = write_report(report, cfg.report_path, cfg.history_dir, keep=options.keep_reports)
    except OSError as exc:
        raise ReportWriteError(exc.errno, f"{exc.strerror or exc} ({exc.filename or ''})") from exc
    raised = flag.is_raised()  # raised now, or still up from an earlier, unacknowledged alert
    _log_report(report, result, cfg.report_path)
    return RecoveryOutcome(report, cfg.report_path, history, cfg.review_flag_path, raised)


def _raise_flag(
    flag: ManualReviewFlag,
    report: Mapping[str, Any],
    result: Reconciliation | None,
    report_path: Path,
) -> None:
    """One reason per finding that needs a person (stable text, so a restart does not pile up
    duplicates), or the ERROR's reason."""
    details = {"report": str(report_path), "report_timestamp": report["timestamp"]}
    if report["recovery_status"] == ERROR or result is None:
        flag.raise_flag(source="recovery", message=f"recovery ERROR: {report['error']}",
                        details=details)  # fmt: skip
    else:
        for finding in result.findings:
            if finding.severity is not Severity.REVIEW:
                continue
            amount = f" {finding.side} {finding.amount:.10g}" if finding.amount else ""
            flag.raise_flag(
                source="recovery",
                message=f"recovery: {finding.kind} {finding.symbol or ''}{amount} "
                f"({finding.subject})",
                spread_id=finding.spread_id,
                details={**details, "recommendation": finding.recommendation},
            )


def _log_report(report: Mapping[str, Any], result: Reconciliation | None, path: Path) -> None:
    if result is not None:
        for finding in result.findings:
            log(
                logger,
                Category.SAFETY,
                finding.spread_id,
                f"recovery {finding.kind} ({finding.severity})",
                symbol=finding.symbol or "-",
                side=finding.side or "-",
                amount=finding.amount if finding.amount is not None else "-",
                subject=finding.subject,
            )
    counts = ""
    if result is not None and result.findings:
        counts = f" findings={len(result.findings)}"
    status = report["recovery_status"]
    summary = (
        f"recovery {status}: orphaned={_count(report['orphaned_positions'])} "
        f"open_orders={_count(report['open_orders'])} recent_trades="
        f"{_count(report['recent_trades'])}{counts} review={report['manual_review_required']}"
        f" report={path}"
    )
    if status == ERROR:
        summary += f" error={report['error']}"
    log(logger, Category.SAFETY, None, summary)


def _count(value: Any) -> str:
    if value is None:
        return "unknown"
    return str(len(value)) if isinstance(value, list) else str(value)


def _load_config(options: RecoveryOptions, cwd: Path) -> ftconfig.RecoveryConfig:
    return ftconfig.load(
        options.config_files,
        environ=os.environ if options.environ is None else options.environ,
        cwd=cwd,
        db_url=options.db_url,
        user_data_dir=options.user_data_dir,
        report_path=options.report_path,
    )

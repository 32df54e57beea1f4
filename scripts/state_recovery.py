#!/usr/bin/env python3
"""Pre-start crash recovery: compare the exchange with FreqTrade's DB, report, raise the flag.

    python scripts/state_recovery.py --config config.json && freqtrade trade --config config.json

Reads (never writes) `trading.db`, reads the exchange with the same config FreqTrade loads
(files, FREQTRADE__* environment variables, URL overrides), writes
`<user_data>/logs/recovery_report.json` atomically plus a dated copy in
`<user_data>/logs/recovery_reports/` (newest 500 kept), logs one `[SAFETY]` line per finding
and a one-line summary, and prints the report's path. It never places or cancels an order
unless `--flatten-orphans` is given: then only reduce-only market orders that close orphaned
positions, with deterministic client order ids (a re-run never sends a second close).

Exit policy (for `state_recovery.py && freqtrade trade` under `restart: unless-stopped`):
- 0 — a report was written, whatever it says:
  SUCCESS: nothing needs a person; the bot trades normally.
  ALERT: findings need a person; the manual-review flag is raised, so the bot starts, keeps
  managing and closing its open spreads, and opens nothing new until a person acknowledges
  (`scripts/review.py ack --by NAME --note TEXT`).
  ERROR: the exchange or the DB could not be read even after the bounded retries (default: 5
  attempts per call, backoff 0.5 s doubling to 8 s, 60 s overall). The flag is raised and the
  bot still starts, in the same manage-only mode. Why not refuse to start: the open spreads'
  exits and z-stops run only inside the bot; blocking it would leave real positions
  unwatched for as long as the outage lasts, while starting it costs nothing new (the flag
  stops every new entry, and FreqTrade re-reads the orders its DB knows at start). No tight
  loop either: each cycle spends the retries first, and FreqTrade exits by itself if the
  exchange is still down, so Docker restarts at most about once a minute.
- 2 — the configuration is broken (unreadable, invalid JSON, no keys, not Binance futures,
  bad `statarb` section): one line on stderr. FreqTrade would refuse it too; a person must fix it.
- 3 — the report or the review flag could not be written (disk full, permissions): starting
  the bot would mean trading with no record and no brake, so it must not start.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback

_STARTED = time.perf_counter()  # before the heavy imports (ccxt): counted in the timing

from statarb.recovery.exchange_reader import RetryPolicy  # noqa: E402
from statarb.recovery.ftconfig import ConfigError  # noqa: E402
from statarb.recovery.runner import (  # noqa: E402
    RecoveryOptions,
    ReportWriteError,
    run_recovery,
    write_error_report,
)

EXIT_REPORTED = 0
EXIT_CONFIG = 2
EXIT_UNWRITABLE = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="state_recovery.py",
        description="Reconcile the exchange with FreqTrade's trading.db before the bot starts.",
    )
    parser.add_argument(
        "-c", "--config", action="append", default=None, metavar="PATH",
        help="FreqTrade config file(s), as given to `freqtrade trade` (default like FreqTrade: "
        "user_data/config.json if present, else config.json)",
    )  # fmt: skip
    parser.add_argument("--db-url", default=None, help="override db_url, as `freqtrade --db-url`")
    parser.add_argument(
        "--userdir", "--user-data-dir", dest="user_data_dir", default=None,
        help="user data directory, as `freqtrade --userdir`",
    )  # fmt: skip
    parser.add_argument(
        "--report", default=None, metavar="PATH",
        help="report path (default <user_data>/logs/recovery_report.json)",
    )  # fmt: skip
    parser.add_argument(
        "--flatten-orphans", action="store_true",
        help="close orphaned positions with reduce-only market orders (off by default)",
    )  # fmt: skip
    parser.add_argument("--retries", type=int, default=5, help="attempts per exchange call")
    parser.add_argument(
        "--retry-delay", type=float, default=0.5, help="first backoff delay in seconds (doubles)"
    )
    parser.add_argument(
        "--retry-deadline", type=float, default=60.0, help="give up retrying after this many s"
    )
    parser.add_argument("--keep-reports", type=int, default=500, help="dated reports kept")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.retries < 1 or args.retry_delay < 0 or args.retry_deadline <= 0:
        parser.error("--retries must be >= 1, --retry-delay >= 0 and --retry-deadline > 0")
    if args.keep_reports < 1:
        parser.error("--keep-reports must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s - %(name)s - %(levelname)s - %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("ccxt", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    options = RecoveryOptions(
        config_files=args.config,
        report_path=args.report,
        db_url=args.db_url,
        user_data_dir=args.user_data_dir,
        flatten_orphans=args.flatten_orphans,
        retry=RetryPolicy(
            attempts=args.retries, first_delay_s=args.retry_delay, deadline_s=args.retry_deadline
        ),
        keep_reports=args.keep_reports,
    )
    try:
        outcome = run_recovery(options)
    except ConfigError as exc:
        print(f"state_recovery: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ReportWriteError as exc:
        print(f"state_recovery: cannot write the report or the review flag: {exc}", file=sys.stderr)
        return EXIT_UNWRITABLE
    except Exception as exc:  # a bug must still leave a report and a raised flag behind
        traceback.print_exc()
        try:
            outcome = write_error_report(options, f"recovery crashed: {type(exc).__name__}: {exc}")
        except (ConfigError, ReportWriteError) as again:
            print(f"state_recovery: crashed and could not write a report: {again}", file=sys.stderr)
            return EXIT_UNWRITABLE
    elapsed_ms = (time.perf_counter() - _STARTED) * 1000
    print(
        f"recovery {outcome.status}: report {outcome.report_path} "
        f"(review flag {'RAISED' if outcome.flag_raised else 'clear'}, {elapsed_ms:.0f} ms)"
    )
    return EXIT_REPORTED


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The manual-review flag: see why it is up, and clear it after a person has looked.

    python scripts/review.py status [--config config.json | --flag PATH]
    python scripts/review.py ack --by NAME --note "closed the BTC orphan on Binance" [...]

While the flag is up the strategy opens no new spread (it still manages and closes open ones).
Recovery raises it after an ALERT or ERROR report (`user_data/logs/recovery_report.json` says
what and why); the strategy raises it for unhedgeable fills, ghost orders and stops. `ack`
clears it and keeps who, when, what and the cleared reasons in the flag file's history.
If the cause is still there (an orphan left open), the next recovery raises it again.

The flag file is found like the strategy finds it: `statarb.review_flag` (default
`state/manual_review.json`) relative to the user data directory of the FreqTrade config
(FreqTrade's default config file if none is given), or given directly with --flag.
Exit status: status → 0 clear, 1 raised (or unreadable); ack → 0; 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from statarb.recovery.ftconfig import ConfigError, load_freqtrade_config, review_flag_path
from statarb.safety.review_flag import ManualReviewFlag, ReviewStatus


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="review.py", description=__doc__.splitlines()[0])
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("-c", "--config", action="append", default=None, metavar="PATH")
    where.add_argument("--userdir", "--user-data-dir", dest="user_data_dir", default=None)
    where.add_argument("--flag", default=None, metavar="PATH", help="the flag file itself")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", parents=[where], help="is the flag up, and why")
    ack = commands.add_parser("ack", parents=[where], help="clear the flag after a review")
    ack.add_argument("--by", required=True, help="who reviewed")
    ack.add_argument("--note", required=True, help="what was found and done")
    return parser.parse_args(argv)


def flag_path(args: argparse.Namespace) -> Path:
    if args.flag:
        return Path(args.flag)
    cwd = Path.cwd()
    config = load_freqtrade_config(
        args.config, environ=os.environ, cwd=cwd, user_data_dir=args.user_data_dir
    )
    return review_flag_path(config, cwd)


def describe(status: ReviewStatus) -> list[str]:
    if status.unreadable:
        return [f"RAISED: the flag file is unreadable ({status.unreadable}) - counts as raised"]
    if not status.raised:
        return ["clear"]
    lines = [f"RAISED ({len(status.reasons)} reason{'s' if len(status.reasons) != 1 else ''}):"]
    for reason in status.reasons:
        spread = f" [{reason.spread_id}]" if reason.spread_id else ""
        lines.append(f"  {reason.raised_at} {reason.source}{spread}: {reason.message}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        path = flag_path(args)
    except ConfigError as exc:
        print(f"review: config error: {exc}", file=sys.stderr)
        return 2
    flag = ManualReviewFlag(path)
    if args.command == "status":
        status = flag.status()
        print(f"review flag {path}: " + "\n".join(describe(status)))
        return 1 if status.raised else 0
    try:
        before = flag.acknowledge(by=args.by, note=args.note)
    except ValueError as exc:
        print(f"review: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"review: cannot write {path}: {exc}", file=sys.stderr)
        return 2
    if not before.raised:
        print(f"review flag {path} was already clear; acknowledgement recorded")
        return 0
    print(f"review flag {path} cleared by {args.by} ({args.note}). It was:")
    print("\n".join(describe(before)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Daily backup of `user_data/` while the bot runs: a consistent trade database, state and logs.

`cp` or `tar` of `trading.db` while FreqTrade writes can capture half a transaction, and the
restored bot would then forget or invent a position. SQLite's online backup API copies a
consistent snapshot (it waits for the writer's lock). The archive mirrors `user_data/`, so a
restore is `tar -xzf ARCHIVE -C user_data` with the bot stopped; the recovery script then
reconciles whatever happened on the exchange after the backup was taken.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ARCHIVE_PREFIX = "statarb-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
ALWAYS = ("state", "logs")  # manual-review flag and history; logs and recovery reports
OPTIONAL = ("models", "data")  # FreqAI models and candles: large, and can be rebuilt
DB_PATTERNS = ("*.db", "*.sqlite")
SQLITE_LOCK_TIMEOUT_S = 30.0


class BackupError(RuntimeError):
    """The backup could not be made; nothing partial was left behind."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    databases: tuple[str, ...]
    size_bytes: int


def snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database, checked before it is trusted."""
    src = sqlite3.connect(source, timeout=SQLITE_LOCK_TIMEOUT_S)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        (verdict,) = dst.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {source}: {exc}") from exc
    finally:
        dst.close()
        src.close()
    if verdict != "ok":
        raise BackupError(f"the copy of {source} fails SQLite's integrity check: {verdict}")


def archive_name(now: datetime) -> str:
    return f"{ARCHIVE_PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}{ARCHIVE_SUFFIX}"


def backup_user_data(
    user_data: Path,
    dest_dir: Path,
    *,
    now: datetime,
    include: Sequence[str] = (),
) -> BackupResult:
    """Write `dest_dir/statarb-backup-<UTC time>.tar.gz` atomically (temp file, then rename)."""
    if not user_data.is_dir():
        raise BackupError(f"{user_data} is not a folder")
    unknown = sorted(set(include) - set(OPTIONAL))
    if unknown:
        raise BackupError(f"unknown optional part(s) {unknown}; choose from {list(OPTIONAL)}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / archive_name(now)
    databases = sorted({p for pattern in DB_PATTERNS for p in user_data.glob(pattern)})
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=dest_dir) as scratch:
        partial = Path(scratch) / final.name
        try:
            with tarfile.open(partial, "w:gz") as tar:
                for database in databases:
                    copy = Path(scratch) / database.name
                    snapshot_sqlite(database, copy)
                    tar.add(copy, arcname=database.name)
                for part in (*ALWAYS, *include):
                    folder = user_data / part
                    if folder.exists():
                        tar.add(folder, arcname=part)
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, final)
        except (OSError, sqlite3.Error, tarfile.TarError) as exc:
            raise BackupError(f"backup of {user_data} failed: {exc}") from exc
    return BackupResult(final, tuple(d.name for d in databases), final.stat().st_size)


def prune(dest_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives (names sort by time)."""
    if keep < 1:
        raise BackupError("--keep must be at least 1")
    archives = sorted(dest_dir.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}"))
    removed = archives[:-keep]
    for path in removed:
        path.unlink()
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="backup.py",
        description="Consistent backup of user_data/ (trade database, state, logs) while the "
        "bot runs. Restore: stop the bot, `tar -xzf ARCHIVE -C user_data`, start it.",
    )
    parser.add_argument("--user-data", type=Path, default=Path("user_data"))
    parser.add_argument("--dest", type=Path, default=Path("user_data/backups"))
    parser.add_argument("--keep", type=int, default=14, help="archives to keep (newest)")
    parser.add_argument(
        "--include", nargs="*", default=[], choices=OPTIONAL, help="also back up these folders"
    )
    args = parser.parse_args(argv)
    try:
        result = backup_user_data(
            args.user_data, args.dest, now=datetime.now(UTC), include=args.include
        )
        removed = prune(args.dest, args.keep)
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    print(
        f"{result.path} ({result.size_bytes / 1e6:.1f} MB; databases: "
        f"{', '.join(result.databases) or 'none'}; pruned {len(removed)})"
    )
    return 0

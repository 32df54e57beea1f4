"""Operations figures: what the daily check, the entrypoint and the backup cost on this machine.

    python bench/ops_bench.py [--repeat 5]

- log scan: a full rotation (freqtrade.log + 10 rotated files of 10 MB, FreqTrade's --logfile
  default), the worst case the daily check reads;
- entrypoint: start to `exec freqtrade` with a recovery that returns at once (the preflight and
  the interpreter are the overhead a restart pays before recovery proper);
- daily check: the whole command (interpreter, imports, every check) with the API down;
- backup: a 20,000-trade SQLite database plus state and logs.
Medians of --repeat runs. Generated data only, in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from statarb.ops.backup import backup_user_data
from statarb.ops.logscan import scan_logs

REPO = Path(__file__).resolve().parents[1]
ROTATED_FILES = 10
FILE_BYTES = 10 * 1024 * 1024


def median_s(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_rotation(folder: Path) -> Path:
    """11 files of FreqTrade-format lines, one record a second backwards from now."""
    now = datetime.now(UTC)
    messages = [
        "freqtrade.worker - INFO - Bot heartbeat. PID=1, version='2026.9', state='RUNNING'",
        "CointPairsStrategy - INFO - [STRATEGY] PAIR_001 entry refused reason=no_signal",
        "CointPairsStrategy - INFO - [EXECUTION] PAIR_001 fill pair=BTC/USDT:USDT qty=0.017",
        "freqtrade.freqtradebot - INFO - Exit for ETH/USDT:USDT detected. Reason: z_reverted",
    ]
    logfile = folder / "freqtrade.log"
    moment = now
    for index in range(ROTATED_FILES, -1, -1):
        path = logfile if index == 0 else folder / f"freqtrade.log.{index}"
        lines, size = [], 0
        while size < FILE_BYTES:
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S,000")
            line = f"{stamp} - {messages[len(lines) % len(messages)]}\n"
            lines.append(line)
            size += len(line)
            moment -= timedelta(seconds=1)
        path.write_text("".join(reversed(lines)))
    return logfile


def bench_entrypoint(folder: Path, repeat: int) -> float:
    shutil.copy(REPO / "config.json", folder / "config.json")
    (folder / "scripts").mkdir()
    (folder / "scripts" / "state_recovery.py").write_text("")
    fake = folder / "bin" / "freqtrade"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
        "FREQTRADE__API_SERVER__USERNAME": "operator",
        "FREQTRADE__API_SERVER__PASSWORD": "bench-password",
        "FREQTRADE__API_SERVER__JWT_SECRET_KEY": "Zq8tM1r0w7sJkPfXy3bVnC5aHgLd2eQu",
        "FREQTRADE__API_SERVER__WS_TOKEN": "ws-bench",
        "FREQTRADE__EXCHANGE__KEY": "benchKey",
        "FREQTRADE__EXCHANGE__SECRET": "benchSecret",
    }
    command = [
        sys.executable,
        str(REPO / "scripts" / "entrypoint.py"),
        "trade",
        "-c",
        "config.json",
    ]
    return median_s(
        lambda: subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True),
        repeat,
    )


def bench_backup(folder: Path, repeat: int) -> tuple[float, float]:
    user_data = folder / "user_data"
    (user_data / "state").mkdir(parents=True)
    (user_data / "logs").mkdir()
    (user_data / "logs" / "freqtrade.log").write_text("x" * 1_000_000)
    with sqlite3.connect(user_data / "trading.db") as db:
        db.execute("create table trades (id integer primary key, pair text, amount real, x text)")
        db.executemany(
            "insert into trades (pair, amount, x) values (?, ?, ?)",
            [("BTC/USDT:USDT", 0.5, "y" * 200) for _ in range(20_000)],
        )
    size_mb = (user_data / "trading.db").stat().st_size / 1e6
    seconds = median_s(
        lambda: backup_user_data(user_data, folder / "backups", now=datetime.now(UTC)), repeat
    )
    return seconds, size_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory(prefix="ops_bench") as scratch:
        root = Path(scratch)
        (root / "logs").mkdir()
        logfile = write_rotation(root / "logs")
        total_mb = sum(p.stat().st_size for p in (root / "logs").iterdir()) / 1e6
        since = datetime.now(UTC) - timedelta(hours=24)
        scan = median_s(lambda: scan_logs(logfile, since), repeat)
        full = median_s(lambda: scan_logs(logfile, datetime(2000, 1, 1, tzinfo=UTC)), repeat)
        print(f"log scan, last 24 h of a full rotation ({total_mb:.0f} MB on disk): {scan:.2f} s")
        print(f"log scan, every line of the rotation: {full:.2f} s ({total_mb / full:.0f} MB/s)")
        (root / "entry").mkdir()
        entry_s = bench_entrypoint(root / "entry", repeat)
        print(f"entrypoint start to exec (instant recovery): {entry_s:.2f} s")
        daily = [sys.executable, str(REPO / "scripts" / "daily_check.py"), "--json",
                 "--api-url", "http://127.0.0.1:9", "--user-data", str(root)]  # fmt: skip
        seconds = median_s(lambda: subprocess.run(daily, capture_output=True, check=False), repeat)
        print(f"daily check, whole command (API down, 120 MB of logs): {seconds:.2f} s")
        (root / "backup").mkdir()
        backup_s, db_mb = bench_backup(root / "backup", repeat)
        print(f"backup of a {db_mb:.1f} MB trade database + state + logs: {backup_s:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

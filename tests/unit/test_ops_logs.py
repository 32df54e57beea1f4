"""The three log categories reach both the console (docker logs) and the rotated log file, and
the daily check counts the last 24 h across the rotations."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from statarb.ops.logscan import count_activity, rotated_files, scan_logs

REPO = Path(__file__).resolve().parents[2]

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def line(moment: datetime, message: str, level: str = "INFO", name: str = "CointPairsStrategy"):
    return f"{stamp(moment)} - {name} - {level} - {message}\n"


def test_only_the_last_24_hours_count_and_a_traceback_is_one_record():
    lines = [
        line(T0 - timedelta(hours=25), "[SAFETY] PAIR_001 z stop: closing both legs", "WARNING"),
        line(T0 - timedelta(hours=23), "[EXECUTION] PAIR_001 sending leg pair=BTC/USDT:USDT"),
        line(T0 - timedelta(hours=2), "[SAFETY] PAIR_001 twin leg missing", "WARNING"),
        line(T0 - timedelta(hours=1), "Something failed", "ERROR", "freqtrade.freqtradebot"),
        "Traceback (most recent call last):\n",
        '  File "x.py", line 1, in <module> [SAFETY] not a record\n',
        line(T0 - timedelta(minutes=1), "[STRATEGY] PAIR_001 entry refused reason=slots"),
        line(T0, "Bot heartbeat. PID=1, state='RUNNING'", name="freqtrade.worker"),
    ]
    activity = count_activity(lines, T0 - timedelta(hours=24))
    assert (activity.execution, activity.safety, activity.strategy) == (1, 1, 1)
    assert activity.errors == 1
    assert activity.lines == 5
    assert activity.last_safety is not None and "twin leg missing" in activity.last_safety


def test_rotated_files_are_read_oldest_first_and_stale_ones_skipped(tmp_path: Path):
    now = datetime.now(UTC)
    log = tmp_path / "freqtrade.log"
    (tmp_path / "freqtrade.log.2").write_text(line(now - timedelta(hours=30), "[SAFETY] old"))
    (tmp_path / "freqtrade.log.1").write_text(line(now - timedelta(hours=3), "[SAFETY] recent"))
    log.write_text(line(now - timedelta(minutes=1), "[EXECUTION] fill"))
    stale = (now - timedelta(hours=30)).timestamp()
    os.utime(tmp_path / "freqtrade.log.2", (stale, stale))
    since = now - timedelta(hours=24)
    assert [p.name for p in rotated_files(log, since)] == ["freqtrade.log.1", "freqtrade.log"]
    activity = scan_logs(log, since)
    assert (activity.safety, activity.execution) == (1, 1)
    assert "recent" in (activity.last_safety or "")


SETUP = textwrap.dedent(
    """
    import json, logging, sys
    from freqtrade.loggers import setup_logging, setup_logging_pre
    from statarb.safety.log import Category, log
    config = json.load(open(sys.argv[2]))
    setup_logging_pre()
    setup_logging({"verbosity": 0, "logfile": sys.argv[1], "log_config": config["log_config"],
                   "ft_tests_force_logging": True})
    handler = next(h for h in logging.root.handlers if type(h).__name__ == "RotatingFileHandler")
    print("rotation", handler.maxBytes, handler.backupCount, file=sys.stderr)
    strategy = logging.getLogger("CointPairsStrategy")
    log(strategy, Category.STRATEGY, "PAIR_001", "entry approved", z=-2.31)
    log(strategy, Category.EXECUTION, "PAIR_001", "sending leg", pair="BTC/USDT:USDT", qty=0.5)
    log(strategy, Category.SAFETY, "PAIR_001", "z stop: closing both legs", z=-4.2,
        reasons="a long reason " * 12)
    """
)


def test_every_category_reaches_docker_logs_stdout_and_the_rotated_log_file(tmp_path: Path):
    """What `freqtrade trade --config config.json --logfile user_data/logs/freqtrade.log` (the
    image's CMD) sets up: config.json's log_config sends plain lines to stdout, so
    docs/design.md §5.1's `docker logs -f freqtrade_bot | grep "\\[SAFETY\\]"` works without
    `2>&1` and no line is wrapped or coloured (FreqTrade's default rich handler writes to stderr
    and wraps at 200 columns); --logfile adds a RotatingFileHandler of 10 MB x 10 beside it."""
    logfile = tmp_path / "logs" / "freqtrade.log"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run(
        [sys.executable, "-c", SETUP, str(logfile), str(REPO / "config.json")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "rotation 10485760 10" in result.stderr
    written = logfile.read_text().splitlines()
    console = result.stdout.splitlines()
    for category in ("[STRATEGY]", "[EXECUTION]", "[SAFETY]"):
        assert sum(category in row for row in written) == 1
        assert sum(category in row for row in console) == 1
    (safety,) = [row for row in console if "[SAFETY]" in row]
    assert len(safety) > 200
    assert safety.endswith("z=-4.2"), safety
    assert "\x1b[" not in result.stdout
    # Console and file carry the same lines, in the format the daily check parses.
    assert [r for r in console if "PAIR_001" in r] == [r for r in written if "PAIR_001" in r]
    activity = scan_logs(logfile, datetime.now(UTC) - timedelta(hours=1))
    assert (activity.strategy, activity.execution, activity.safety) == (1, 1, 1)

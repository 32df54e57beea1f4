"""A backup taken while the bot writes its database restores to a consistent database with
every committed trade, the manual-review flag and the logs; nothing partial is left behind."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tarfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from statarb.ops.backup import BackupError, archive_name, backup_user_data, prune
from statarb.safety.review_flag import ManualReviewFlag

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def user_data(tmp_path: Path) -> Path:
    folder = tmp_path / "user_data"
    (folder / "logs").mkdir(parents=True)
    (folder / "models").mkdir()
    (folder / "models" / "model.bin").write_bytes(b"x" * 100)
    (folder / "logs" / "recovery_report.json").write_text('{"recovery_status": "SUCCESS"}')
    ManualReviewFlag(folder / "state" / "manual_review.json").raise_flag(
        source="strategy", message="ghost order", spread_id="PAIR_001"
    )
    with sqlite3.connect(folder / "trading.db") as db:
        db.execute("create table trades (id integer primary key, pair text, amount real)")
    return folder


def test_a_backup_during_writes_restores_every_committed_trade(user_data: Path, tmp_path: Path):
    committed = threading.Event()
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:  # the bot: one commit per trade, continuously
        with sqlite3.connect(user_data / "trading.db", timeout=30) as db:
            while not stop.is_set():
                cursor = db.execute("insert into trades (pair, amount) values ('BTC', 0.5)")
                db.commit()
                written.append(int(cursor.lastrowid))
                if len(written) >= 200:
                    committed.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert committed.wait(30)
        before = len(written)
        result = backup_user_data(user_data, tmp_path / "backups", now=NOW)
    finally:
        stop.set()
        thread.join()
    restored = tmp_path / "restored"
    with tarfile.open(result.path) as tar:
        tar.extractall(restored, filter="data")
    with sqlite3.connect(restored / "trading.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        (count,) = db.execute("select count(*) from trades").fetchone()
    assert before <= count <= len(written)
    assert ManualReviewFlag(restored / "state" / "manual_review.json").is_raised()
    assert (restored / "logs" / "recovery_report.json").exists()
    assert not (restored / "models").exists()  # large and rebuildable: only when asked
    assert result.databases == ("trading.db",)


def test_models_are_included_only_when_asked(user_data: Path, tmp_path: Path):
    result = backup_user_data(user_data, tmp_path / "b", now=NOW, include=("models",))
    with tarfile.open(result.path) as tar:
        assert "models/model.bin" in tar.getnames()
    with pytest.raises(BackupError, match="unknown optional part"):
        backup_user_data(user_data, tmp_path / "b", now=NOW, include=("secrets",))


def test_a_failed_backup_leaves_no_partial_archive(user_data: Path, tmp_path: Path):
    (user_data / "trading.db").write_bytes(b"not a database at all" * 100)
    dest = tmp_path / "backups"
    with pytest.raises(BackupError, match=r"database .*trading\.db: file is not a database"):
        backup_user_data(user_data, dest, now=NOW)
    assert list(dest.iterdir()) == []


def test_old_archives_are_pruned_newest_kept(user_data: Path, tmp_path: Path):
    dest = tmp_path / "backups"
    for days in range(5):
        backup_user_data(user_data, dest, now=NOW + timedelta(days=days))
    removed = prune(dest, keep=2)
    assert [p.name for p in removed] == [archive_name(NOW + timedelta(days=d)) for d in range(3)]
    assert sorted(p.name for p in dest.iterdir()) == [
        archive_name(NOW + timedelta(days=d)) for d in (3, 4)
    ]


def test_the_cli_reports_a_missing_user_data_clearly(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "backup.py"), "--user-data",
         str(tmp_path / "nope"), "--dest", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "is not a folder" in result.stderr and "Traceback" not in result.stderr

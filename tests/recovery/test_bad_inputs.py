"""Bad inputs give a report or one clear line, never a traceback and silence: missing or corrupt
trading.db, a hot journal left by kill -9, unreadable configs, a 5xx storm, garbage JSON."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from recovery_site import BTC, ETH, Site, filled_trade

from statarb.exchange.client_config import freqtrade_exchange_config
from statarb.exchange.launcher import free_port
from statarb.recovery.tradedb import TradeSpec


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- database
def test_missing_db_is_a_fresh_install_compared_with_an_empty_db(site: Site):
    site.exchange.admin.plant_position("ETHUSDT", "0.4", leverage=2, margin_type="ISOLATED")
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ALERT"  # the orphan is still found
    assert report["database"]["exists"] is False
    assert any("fresh install" in w for w in report["warnings"])
    assert not site.db_path.exists()  # reading never creates it


def test_corrupt_db_is_an_error_report_with_the_reason_and_a_raised_flag(site: Site):
    site.exchange.admin.plant_position("SOLUSDT", "-4", leverage=2, margin_type="ISOLATED")
    site.db_path.write_bytes(os.urandom(4096))
    before = digest(site.db_path)
    result = site.cli("-c", str(site.config_path))
    assert result.returncode == 0, result.stderr
    assert "recovery ERROR" in result.stdout
    assert str(site.report_path) in result.stdout
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert report["reconciliation_status"] == "FAILED"
    assert "not a database" in report["error"]
    assert report["orphaned_positions"] is None  # unknown: nothing to compare with
    # what the exchange holds is still shown, for the person who has to sort it out
    assert [(p["symbol"], p["side"], p["amount"]) for p in report["exchange"]["positions"]] == [
        ("SOL/USDT:USDT", "SHORT", 4.0)
    ]
    assert report["manual_review_required"] is True
    assert json.loads(site.flag_path.read_text())["raised"] is True
    assert "[SAFETY]" in result.stderr and "Traceback" not in result.stderr
    assert digest(site.db_path) == before


def test_a_table_that_is_not_freqtrades_is_an_error_not_an_empty_db(site: Site):
    con = sqlite3.connect(site.db_path)
    con.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, pair TEXT)")
    con.commit()
    con.close()
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert "lacks columns" in report["error"]


def test_reading_leaves_a_freqtrade_db_byte_for_byte_unchanged(site: Site):
    site.prepare(BTC)
    order = site.market(BTC, "buy", 0.01)
    site.record(filled_trade(order, BTC, enter_tag="PAIR_001"))
    before, mtime = digest(site.db_path), site.db_path.stat().st_mtime_ns
    site.run()
    assert (digest(site.db_path), site.db_path.stat().st_mtime_ns) == (before, mtime)
    assert not Path(str(site.db_path) + "-journal").exists()


# A writer killed mid-transaction: one committed change, then an uncommitted one spilled to disk.
KILLED_WRITER = """
import os, signal, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA wal_autocheckpoint=0")  # WAL: keep the committed change in the -wal file
con.execute("PRAGMA cache_size=1")  # spill the open transaction into the files before commit
con.execute("UPDATE trades SET amount = amount * 2")  # committed
con.execute("BEGIN")
con.execute("UPDATE trades SET amount = amount * 100")  # never committed
con.execute("CREATE TABLE filler (x)")
for i in range(20000):
    con.execute("INSERT INTO filler VALUES (?)", (os.urandom(64),))
os.kill(os.getpid(), signal.SIGKILL)
"""


def kill_writer_mid_transaction(site: Site, journal_mode: str) -> None:
    site.prepare(ETH)
    order = site.market(ETH, "sell", 0.3)
    site.market(ETH, "sell", 0.3)  # the committed x2 makes the DB agree with this
    site.record(filled_trade(order, ETH, enter_tag="PAIR_001"))
    con = sqlite3.connect(site.db_path)
    assert con.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0] == journal_mode
    con.close()
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(site.db_path)], check=False)
    assert killed.returncode == -signal.SIGKILL


@pytest.mark.parametrize(("journal_mode", "sidecar"), [("wal", "-wal"), ("delete", "-journal")])
def test_db_of_a_writer_killed_mid_commit_is_read_as_freqtrade_will_see_it(
    site: Site, journal_mode: str, sidecar: str
):
    """FreqTrade's DB runs in WAL mode (committed changes may sit in -wal); a rollback-journal
    DB leaves a hot -journal that a read-only connection cannot roll back."""
    kill_writer_mid_transaction(site, journal_mode)
    side = Path(str(site.db_path) + sidecar)
    assert side.exists() and side.stat().st_size > 0
    before = (digest(site.db_path), digest(side))
    site.run()
    report = site.report()
    # committed x2 seen, uncommitted x100 not: the DB agrees with the exchange (0.6 short), so
    # no size mismatch; what remains is the untagged leg's missing twin and the unrecorded order
    assert report["recovery_status"] == "ALERT"
    assert [f["kind"] for f in report["findings"]] == ["fill_missing_from_db", "broken_spread"]
    assert report["findings"][1]["amount"] == pytest.approx(0.6)
    assert (digest(site.db_path), digest(side)) == before
    if journal_mode == "delete":
        assert any("unfinished transaction" in w for w in report["warnings"])


def test_non_sqlite_db_url_is_an_error_report(site: Site):
    site.run(db_url="postgresql://user@localhost/ft")
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert "SQLite databases only" in report["error"]


# --------------------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        (None, "not found"),
        ('{"exchange": {"name": "kraken"}, "trading_mode": "futures"}', "Binance USDT-M"),
        ('{"exchange": {"name": "binance", "key": "", "secret": ""}, "trading_mode": "futures"}',
         "FREQTRADE__EXCHANGE__KEY"),
        ('{"exchange": {"name": "binance", "key": "k", "secret": "s"}, "trading_mode": "futures",'
         ' "statarb": {"leverag": 3}}', "statarb.leverag"),
        ('["a list"]', "JSON object"),
    ],
)  # fmt: skip
def test_unreadable_config_fails_with_one_clear_line_and_a_non_zero_exit(
    site: Site, content: str | None, expected: str
):
    path = site.root / "broken.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = site.cli("-c", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("state_recovery: config error:")
    assert expected in lines[0]
    assert not site.report_path.exists()


def test_keys_from_the_environment_reach_the_exchange_like_freqtrade(site: Site):
    secret = site.config["exchange"].pop("secret")
    site.write_config()
    env = {**os.environ, "FREQTRADE__EXCHANGE__SECRET": secret}
    assert site.cli("-c", str(site.config_path)).returncode == 2  # no secret: config error
    result = site.cli("-c", str(site.config_path), env=env)
    assert result.returncode == 0, result.stderr
    assert site.report()["recovery_status"] == "SUCCESS"


def test_wrong_api_key_is_an_error_report_without_retry_storm(site: Site):
    site.config["exchange"]["secret"] = "wrong" * 8
    site.write_config()
    outcome = site.run()
    report = site.report()
    assert outcome.status == "ERROR"
    assert "refused" in report["error"] or "signature" in report["error"].lower()


# --------------------------------------------------------------------------- exchange trouble
def test_5xx_storm_is_retried_then_an_error_report(site: Site):
    fired_before = len(site.exchange.admin.faults()["fired"])
    site.exchange.admin.inject_fault(
        "http_error", status=503, endpoint="GET /fapi/v3/positionRisk", count=-1
    )
    result = site.cli("-c", str(site.config_path))
    assert result.returncode == 0, result.stderr
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert "positionRisk" in report["error"] and "3 attempts" in report["error"]
    assert len(site.exchange.admin.faults()["fired"]) == fired_before + 3
    assert report["manual_review_required"] is True


def test_a_passing_5xx_and_a_429_are_retried_to_a_complete_report(site: Site):
    site.exchange.admin.plant_position("BTCUSDT", "0.02", leverage=2, margin_type="ISOLATED")
    fired_before = len(site.exchange.admin.faults()["fired"])
    site.exchange.admin.inject_fault("http_error", status=503, endpoint="GET /fapi/v3/account")
    site.exchange.admin.inject_fault("http_error", status=429, endpoint="GET /fapi/v1/userTrades")
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ALERT"
    assert report["orphaned_positions"][0]["symbol"] == BTC
    assert len(site.exchange.admin.faults()["fired"]) == fired_before + 2


def test_unreachable_exchange_is_an_error_report(site: Site):
    dead = freqtrade_exchange_config(f"http://127.0.0.1:{free_port()}")
    site.config["exchange"].update(dead)
    site.write_config()
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert "NetworkError" in report["error"] or "ExchangeNotAvailable" in report["error"]


def test_garbage_positions_are_never_read_as_no_positions(site: Site):
    site.exchange.admin.plant_position("ETHUSDT", "-0.5", leverage=2, margin_type="ISOLATED")
    site.exchange.admin.inject_fault("garbage", endpoint="GET /fapi/v3/positionRisk", count=-1)
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert "expected a JSON list" in report["error"]
    assert report["orphaned_positions"] is None


def test_one_garbage_answer_is_retried_and_the_orphan_still_found(site: Site):
    site.exchange.admin.plant_position("ETHUSDT", "-0.5", leverage=2, margin_type="ISOLATED")
    site.exchange.admin.inject_fault("garbage", endpoint="GET /fapi/v3/positionRisk")
    site.exchange.admin.inject_fault(
        "garbage", endpoint="GET /fapi/v1/openOrders", body_text='{"code": 0}'
    )
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ALERT"
    assert report["orphaned_positions"][0]["side"] == "SHORT"


def test_an_empty_position_list_that_the_account_contradicts_is_not_trusted(site: Site):
    site.exchange.admin.plant_position("BTCUSDT", "0.01", leverage=2, margin_type="ISOLATED")
    site.exchange.admin.inject_fault(
        "garbage", endpoint="GET /fapi/v3/positionRisk", body_text="[]", count=-1
    )
    site.run()
    report = site.report()
    assert report["recovery_status"] == "ERROR"
    assert "disagree" in report["error"]


def test_dry_run_config_is_not_reconciled_against_the_exchange(site: Site):
    site.config["dry_run"] = True
    site.write_config()
    site.exchange.admin.plant_position("BTCUSDT", "0.01")
    site.run()
    report = site.report()
    assert (report["recovery_status"], report["reconciliation_status"]) == ("SUCCESS", "SKIPPED")
    assert report["open_orders"] is None
    assert not site.flag_path.exists()
    assert TradeSpec  # the dry-run DB is a different file: nothing was created
    assert not site.db_path.exists()

"""The container entrypoint: recovery runs before the bot, the bot replaces the entrypoint
(PID 1, gets SIGTERM), a failed recovery still starts the bot but blocks new spreads, and an
unsafe deployment (open API, lost database, placeholder secrets) does not start at all."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from freqtrade.configuration.environment_vars import _get_var_typed

from statarb.ops.entrypoint import (
    EX_CONFIG,
    db_problems,
    file_problems,
    parse_freqtrade_args,
    read_as_non_string,
    resolve,
    secret_problems,
    seed_pairs_file,
    writable_problems,
)
from statarb.safety.review_flag import ManualReviewFlag

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "scripts" / "entrypoint.py"

GOOD_ENV = {
    "FREQTRADE__API_SERVER__USERNAME": "operator",
    "FREQTRADE__API_SERVER__PASSWORD": "k3Jd9-long-password",
    "FREQTRADE__API_SERVER__JWT_SECRET_KEY": "Zq8tM1r0w7sJkPfXy3bVnC5aHgLd2eQu",
    "FREQTRADE__API_SERVER__WS_TOKEN": "ws-Tk4n9fQ",
    "FREQTRADE__EXCHANGE__KEY": "binanceKeyAbc123",
    "FREQTRADE__EXCHANGE__SECRET": "binanceSecretXyz789",
}


# ----------------------------------------------------------------------- arguments


def test_config_files_and_paths_are_read_from_freqtrades_own_options():
    args = parse_freqtrade_args(
        ["trade", "-c", "a.json", "--config", "b.json", "--config=c.json", "--logfile",
         "user_data/logs/freqtrade.log", "--db-url", "sqlite:///x.db", "--userdir", "ud",
         "--dry-run"]
    )  # fmt: skip
    assert args.command == "trade"
    assert args.configs == ("a.json", "b.json", "c.json")
    assert args.logfile == "user_data/logs/freqtrade.log"
    assert (args.db_url, args.user_data_dir, args.dry_run) == ("sqlite:///x.db", "ud", True)
    assert parse_freqtrade_args(["--version"]).command is None


# ------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    "value",
    ["123", "0.5", "1e5", "true", "False", "t", "abc", "12ab", "-7", "[1]", '["a"]', "{}", "nan"],
)
def test_the_number_check_agrees_with_freqtrades_env_var_loader(value: str):
    assert read_as_non_string(value) == (not isinstance(_get_var_typed(value), str))


def test_complete_secrets_pass():
    assert secret_problems(GOOD_ENV, live=True) == []


def test_an_empty_api_password_is_refused_because_the_api_would_accept_anyone():
    env = {**GOOD_ENV, "FREQTRADE__API_SERVER__PASSWORD": ""}
    problems = secret_problems(env, live=True)
    assert len(problems) == 1
    assert "FREQTRADE__API_SERVER__PASSWORD is empty" in problems[0]


def test_placeholders_from_the_example_file_are_refused():
    example = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    problems = secret_problems(example, live=True)
    assert len(problems) == 6, problems
    assert all("placeholder" in p for p in problems)


def test_a_numeric_secret_is_refused_because_freqtrade_would_read_a_number():
    env = {**GOOD_ENV, "FREQTRADE__API_SERVER__JWT_SECRET_KEY": "1" * 40}
    assert any("looks like a number" in p for p in secret_problems(env, live=True))
    # FreqTrade keeps passwords as text whatever they look like.
    digits_password = {**GOOD_ENV, "FREQTRADE__API_SERVER__PASSWORD": "12345678901234"}
    assert secret_problems(digits_password, live=True) == []


def test_a_short_jwt_secret_is_refused_like_freqtrades_schema_does():
    env = {**GOOD_ENV, "FREQTRADE__API_SERVER__JWT_SECRET_KEY": "short-secret"}
    assert any("at least 32" in p for p in secret_problems(env, live=True))


def test_exchange_keys_are_required_live_only():
    env = {k: v for k, v in GOOD_ENV.items() if "EXCHANGE" not in k}
    assert len(secret_problems(env, live=True)) == 2
    assert secret_problems(env, live=False) == []


# ------------------------------------------------------------------------ database


@pytest.mark.parametrize(
    ("db_url", "ok"),
    [
        ("sqlite:///user_data/trading.db", True),
        ("sqlite:////freqtrade/user_data/trading.db", True),
        ("sqlite:///tradesv3.sqlite", False),  # the original's mistake: outside the volume
        ("sqlite:////tmp/trading.db", False),
        ("sqlite:///user_data/../trading.db", False),
        ("sqlite://", False),  # in memory: every restart forgets the trades
        ("postgresql+psycopg://bot@db/trading", True),
        (None, False),
    ],
)
def test_the_trade_database_must_live_in_the_persistent_volume(db_url: str | None, ok: bool):
    problems = db_problems(db_url, Path("/freqtrade"), Path("/freqtrade/user_data"))
    assert (problems == []) is ok, problems


def test_the_committed_production_config_keeps_its_database_in_user_data(tmp_path: Path):
    shutil.copy(REPO / "config.json", tmp_path / "config.json")
    deployment, problems = resolve(
        parse_freqtrade_args(["trade", "-c", "config.json"]), {}, tmp_path
    )
    assert problems == []
    assert deployment.dry_run is False
    assert db_problems(deployment.db_url, tmp_path, deployment.user_data_dir) == []
    assert deployment.review_flag == tmp_path / "user_data" / "state" / "manual_review.json"
    # ... and an environment override that moves it out is caught.
    env = {"FREQTRADE__DB_URL": "sqlite:////tmp/elsewhere.db"}
    deployment, _ = resolve(parse_freqtrade_args(["trade", "-c", "config.json"]), env, tmp_path)
    assert db_problems(deployment.db_url, tmp_path, deployment.user_data_dir) != []


def test_a_config_mount_that_docker_turned_into_a_directory_is_named(tmp_path: Path):
    (tmp_path / "pairs_config.json").mkdir()
    (problem,) = file_problems([tmp_path / "pairs_config.json"])
    assert "is a directory" in problem
    assert "does not exist" in file_problems([tmp_path / "nope.json"])[0]


def test_an_unwritable_user_data_is_refused_with_the_fix(tmp_path: Path):
    blocked = tmp_path / "user_data"
    blocked.write_text("a file where the folder should be")
    problems = writable_problems(blocked)
    assert problems
    assert "chown -R 1000:1000 user_data" in problems[0]
    assert writable_problems(tmp_path / "fresh") == []


# ------------------------------------------------------------- the real entrypoint

FAKE_RECOVERY = """\
import os, sys, time
with open(os.environ["ORDER_LOG"], "a") as log:
    log.write("recovery " + str(os.getpid()) + " " + " ".join(sys.argv[1:]) + "\\n")
time.sleep(float(os.environ.get("FAKE_RECOVERY_SLEEP", "0")))
sys.exit(int(os.environ.get("FAKE_RECOVERY_RC", "0")))
"""
FAKE_FREQTRADE = """\
#!/bin/sh
echo "freqtrade $$ $*" >> "$ORDER_LOG"
"""


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """A stand-in for /freqtrade: config, recovery script, a `freqtrade` on PATH."""
    shutil.copy(REPO / "config.json", tmp_path / "config.json")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "state_recovery.py").write_text(FAKE_RECOVERY)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "freqtrade"
    fake.write_text(FAKE_FREQTRADE)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return tmp_path


TRADE_ARGS = ["trade", "--config", "config.json", "--logfile", "user_data/logs/freqtrade.log"]


def start(folder: Path, args: list[str], **env: str) -> subprocess.Popen[str]:
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")},
        **GOOD_ENV,
        "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "ORDER_LOG": str(folder / "order.log"),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, str(ENTRYPOINT), *args],
        cwd=folder,
        env={k: v for k, v in full_env.items() if v is not None},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def events(folder: Path) -> list[list[str]]:
    path = folder / "order.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_recovery_runs_first_then_freqtrade_replaces_the_entrypoint(deployment: Path):
    process = start(deployment, TRADE_ARGS)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    recovery, bot = events(deployment)
    assert recovery[0] == "recovery" and recovery[2:] == ["--config", "config.json"]
    assert bot[0] == "freqtrade" and bot[2:] == TRADE_ARGS
    # exec, not a child: the bot has the entrypoint's PID (PID 1 in the container).
    assert int(bot[1]) == process.pid
    assert not ManualReviewFlag(deployment / "user_data/state/manual_review.json").is_raised()


def test_a_failed_recovery_still_starts_the_bot_but_raises_the_review_flag(deployment: Path):
    process = start(deployment, TRADE_ARGS, FAKE_RECOVERY_RC="3")
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert [e[0] for e in events(deployment)] == ["recovery", "freqtrade"]
    status = ManualReviewFlag(deployment / "user_data/state/manual_review.json").status()
    assert status.raised
    assert "exit code 3" in status.reasons[0].message
    log = (deployment / "user_data/logs/freqtrade.log").read_text()
    safety = [line for line in log.splitlines() if "[SAFETY]" in line]
    assert len(safety) == 1 and "exit code 3" in safety[0]
    assert "[SAFETY]" in stdout  # docker logs show it too


def test_a_hanging_recovery_is_stopped_and_the_bot_starts_flagged(deployment: Path):
    process = start(
        deployment, TRADE_ARGS, FAKE_RECOVERY_SLEEP="60", STATARB_RECOVERY_TIMEOUT_S="1"
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    recovery, _ = events(deployment)
    assert not _alive(int(recovery[1]))
    status = ManualReviewFlag(deployment / "user_data/state/manual_review.json").status()
    assert "did not finish in time" in status.reasons[0].message


def test_docker_stop_during_recovery_stops_it_and_never_starts_the_bot(deployment: Path):
    process = start(deployment, TRADE_ARGS, FAKE_RECOVERY_SLEEP="60")
    deadline = time.monotonic() + 30
    while not events(deployment) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    (recovery,) = events(deployment)
    _wait_dead(int(recovery[1]))
    assert not _alive(int(recovery[1]))


def test_missing_secrets_stop_the_start_with_a_clear_reason(deployment: Path):
    process = start(deployment, TRADE_ARGS, FREQTRADE__API_SERVER__PASSWORD=None)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == EX_CONFIG
    assert "[SAFETY] - refusing to start: FREQTRADE__API_SERVER__PASSWORD is empty" in stdout
    assert events(deployment) == []  # neither recovery nor the bot ran


def test_other_freqtrade_commands_pass_straight_through(deployment: Path):
    args = ["download-data", "--config", "config.json", "--days", "2"]
    process = start(deployment, args, FREQTRADE__API_SERVER__PASSWORD=None)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    ((name, pid, *rest),) = events(deployment)
    assert (name, int(pid), rest) == ("freqtrade", process.pid, args)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pid: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_review_flag_file_is_the_strategys(deployment: Path):
    """The entrypoint raises the flag where the strategy reads it (config statarb.review_flag)."""
    config = json.loads((deployment / "config.json").read_text())
    config["statarb"]["review_flag"] = "state/custom_flag.json"
    (deployment / "config.json").write_text(json.dumps(config))
    process = start(deployment, TRADE_ARGS, FAKE_RECOVERY_RC="1")
    process.communicate(timeout=60)
    assert ManualReviewFlag(deployment / "user_data/state/custom_flag.json").is_raised()


def test_the_first_start_seeds_the_live_pairs_file_and_later_starts_keep_it(tmp_path: Path):
    (tmp_path / "pairs_config.json").write_text('{"pairs": []}')
    env = {"FREQTRADE__STATARB__PAIRS_CONFIG": "user_data/pairs_config.json"}
    assert seed_pairs_file(env, tmp_path) is not None
    live = tmp_path / "user_data" / "pairs_config.json"
    assert live.read_text() == '{"pairs": []}'
    live.write_text('{"pairs": [], "rescanned": true}')  # the re-scan's newer file
    assert seed_pairs_file(env, tmp_path) is None
    assert "rescanned" in live.read_text()
    assert seed_pairs_file({}, tmp_path) is None

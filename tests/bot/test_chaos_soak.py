"""The chaos soak of issue 16, short: three minutes of a real `freqtrade trade` (maker-first,
as shipped) under a seeded schedule of exchange faults, price shocks and two kills, each
followed by recovery and a restart, with the six invariants checked all along.

Protects against: positions that drift from the database, an order sent twice or without an
intent, a leg left alone past the hedging budget, a recovery report that is not true, a new
spread under the review flag, and a bot that dies by itself. The hour-long run is the
benchmark (`bench/chaos_soak.py --minutes 60`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.live_bot import REPO, bot_environment

pytestmark = pytest.mark.bot

SEED = 16


def test_three_minutes_of_chaos_with_two_kills_break_no_invariant(tmp_path: Path) -> None:
    report = tmp_path / "soak.json"
    env = bot_environment()
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "src"), str(REPO / "tests"), env.get("PYTHONPATH", "")]
    )
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "chaos_soak.py"),
            "--minutes",
            "3",
            "--seed",
            str(SEED),
            "--kills",
            "2",
            "--report",
            str(report),
            "--folder",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert report.exists(), result.stdout[-5000:] + result.stderr[-5000:]
    summary = json.loads(report.read_text())
    assert sum(summary["kills"].values()) == 2 and summary["restarts"] == 2, result.stdout
    assert summary["violations"] == [], result.stdout[-8000:]
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]

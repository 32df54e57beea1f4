"""Three minutes of the chaos soak (bench/chaos_soak.py) against the live bot: random exchange
faults and two kills, the six invariants checked all along, and none broken.

Protects against the cases nobody scripted: an order sent twice across a kill, a leg left
alone with nobody told, a recovery report that is untrue, an entry under the review flag, or
the bot process dying on a garbage answer (the hour soak found that one). The one-hour run is
the benchmark; this one runs the same code with a seed whose schedule holds every kind of
fault the soak injects.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bot

REPO = Path(__file__).resolve().parents[2]
SEED, MINUTES, KILLS = 22, 3, 2  # seed 22's three minutes hold every fault kind
KINDS = {"drop_response", "exchange_cancel", "garbage", "http_error", "latency",
         "partial_fill", "price_shock", "reject"}  # fmt: skip


@pytest.mark.timeout(900)
def test_three_minutes_of_faults_and_kills_break_no_invariant(tmp_path: Path) -> None:
    report = tmp_path / "soak.json"
    args = ["--minutes", MINUTES, "--seed", SEED, "--kills", KILLS, "--report", report]
    args += ["--folder", tmp_path / "soak"]
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "chaos_soak.py"), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert report.exists(), f"the soak wrote no report:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    summary = json.loads(report.read_text())
    violations = summary["violations"]
    assert not violations, (
        f"{len(violations)} invariant violations:\n"
        + "\n".join(json.dumps(v)[:600] for v in violations[:10])
        + f"\n{run.stdout[-3000:]}"
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # A soak that injected nothing or killed nothing would pass on nothing.
    injected = {kind.split()[0] for kind in summary["faults_injected"]}
    assert injected >= KINDS, summary["faults_injected"]
    assert sum(summary["kills"].values()) == KILLS
    assert summary["restarts"] >= KILLS
    assert summary["orders_sent"] > 0 and summary["spreads_opened"] > 0

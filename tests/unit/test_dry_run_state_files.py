"""A paper run and a live run may share `user_data/`; their durable state never mixes.

Protects against a paper run's z stop raising the manual review that locks the LIVE bot's
entries (or a live review silently ignored by the paper run), and against the two runs'
order-intent journals handing each other's client ids back as "already sent".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from statarb.recovery.ftconfig import review_flag_path
from statarb.safety.review_flag import ManualReviewFlag
from statarb.settings import INTENT_JOURNAL, parse_settings, state_file

REPO = Path(__file__).resolve().parents[2]


def test_a_dry_run_keeps_each_state_file_beside_the_live_one() -> None:
    live = Path("/u/state/manual_review.json")
    assert state_file(live, dry_run=False) == live
    assert state_file(live, dry_run=True) == Path("/u/state/manual_review.dry_run.json")
    assert state_file(Path("/u") / INTENT_JOURNAL, dry_run=True).name == (
        "order_intents.dry_run.json"
    )


def test_the_strategy_and_the_scripts_find_the_same_flag_for_a_config(tmp_path: Path) -> None:
    base = json.loads((REPO / "config.json").read_text())
    settings = parse_settings(base)
    for dry_run in (False, True):
        config = {**base, "dry_run": dry_run, "user_data_dir": str(tmp_path)}
        expected = settings.review_flag_path(tmp_path, dry_run=dry_run)
        assert review_flag_path(config, tmp_path) == expected
    paper = {**base, "dry_run": True, "user_data_dir": str(tmp_path)}
    live = {**base, "dry_run": False, "user_data_dir": str(tmp_path)}
    assert review_flag_path(paper, tmp_path) != review_flag_path(live, tmp_path)


def test_review_ack_on_a_paper_config_clears_the_paper_flag_and_leaves_the_live_one(
    tmp_path: Path,
) -> None:
    base = json.loads((REPO / "config.json").read_text())
    paper = tmp_path / "config.paper.json"
    paper.write_text(json.dumps({**base, "dry_run": True, "user_data_dir": str(tmp_path)}))
    live_flag = ManualReviewFlag(tmp_path / "state" / "manual_review.json")
    paper_flag = ManualReviewFlag(tmp_path / "state" / "manual_review.dry_run.json")
    live_flag.raise_flag(source="strategy", message="live orphan", spread_id=None)
    paper_flag.raise_flag(source="strategy", message="z stop at 4.10", spread_id="SOL_ADA")
    ack = ["ack", "--config", str(paper), "--by", "me", "--note", "paper stop looked at"]
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "review.py"), *ack],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert not paper_flag.is_raised()
    assert live_flag.is_raised()

"""The manual-review flag survives restarts, fails safe, and is cleared only by a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from statarb.safety.log import Category, format_line
from statarb.safety.review_flag import ManualReviewFlag


def test_a_raised_flag_survives_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "state" / "manual_review.json"
    ManualReviewFlag(path).raise_flag(source="strategy", message="leg B rejected", spread_id="P1")
    fresh = ManualReviewFlag(path)  # as after a restart
    status = fresh.status()
    assert status.raised
    assert status.reasons[0].spread_id == "P1"


def test_the_same_reason_is_not_stacked(tmp_path: Path) -> None:
    flag = ManualReviewFlag(tmp_path / "f.json")
    assert flag.raise_flag(source="s", message="m", spread_id="P1")
    assert not flag.raise_flag(source="s", message="m", spread_id="P1")
    assert len(flag.status().reasons) == 1


def test_an_unreadable_flag_file_counts_as_raised_never_as_clear(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("{not json")
    flag = ManualReviewFlag(path)
    assert flag.is_raised()
    assert "unreadable" in flag.status().summary
    # Raising again keeps the corrupt file for inspection and starts a readable one.
    flag.raise_flag(source="strategy", message="ghost order")
    assert flag.is_raised()
    assert any(p.name.startswith("f.corrupt-") for p in tmp_path.iterdir())


def test_acknowledging_needs_a_name_and_a_note_and_keeps_history(tmp_path: Path) -> None:
    flag = ManualReviewFlag(tmp_path / "f.json")
    flag.raise_flag(source="recovery", message="orphaned BTC position")
    with pytest.raises(ValueError, match="--by"):
        flag.acknowledge(by="", note="")
    before = flag.acknowledge(by="alice", note="closed the position by hand")
    assert before.raised
    assert not flag.is_raised()
    assert "history" in (tmp_path / "f.json").read_text()


def test_log_lines_start_with_their_category_and_name_the_spread() -> None:
    line = format_line(Category.SAFETY, "PAIR_001", "stop", z=-4.2123, leg="A")
    assert line == "[SAFETY] PAIR_001 stop leg=A z=-4.2123"

"""scripts/review.py: the documented way a person sees and clears the manual-review flag."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from statarb.safety.review_flag import ManualReviewFlag

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "review.py"
spec = importlib.util.spec_from_file_location("review_cli", SCRIPT)
assert spec is not None and spec.loader is not None
review = importlib.util.module_from_spec(spec)
spec.loader.exec_module(review)


def test_status_and_ack_clear_the_flag_and_keep_who_and_why(tmp_path, capsys):
    flag_path = tmp_path / "manual_review.json"
    flag = ManualReviewFlag(flag_path)
    flag.raise_flag(source="recovery", message="recovery: orphaned_position BTC", spread_id=None)
    flag.raise_flag(source="strategy", message="ghost order", spread_id="P1@2026-02-02T22:00Z")
    assert review.main(["status", "--flag", str(flag_path)]) == 1
    out = capsys.readouterr().out
    assert "RAISED (2 reasons)" in out and "[P1@2026-02-02T22:00Z]" in out
    assert review.main(["ack", "--flag", str(flag_path), "--by", "ayse", "--note", "closed"]) == 0
    out = capsys.readouterr().out
    assert "cleared by ayse (closed)" in out and "orphaned_position BTC" in out
    assert not flag.is_raised()
    history = json.loads(flag_path.read_text())["history"]
    assert [(h["by"], h["note"], len(h["reasons"])) for h in history] == [("ayse", "closed", 2)]
    assert review.main(["status", "--flag", str(flag_path)]) == 0
    assert "clear" in capsys.readouterr().out


def test_the_flag_is_found_where_the_strategy_looks_for_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = {"exchange": {"name": "binance"}, "user_data_dir": "ud",
              "statarb": {"review_flag": "flags/review.json"}}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(config))
    ManualReviewFlag(tmp_path / "ud/flags/review.json").raise_flag(source="recovery", message="x")
    assert review.main(["status"]) == 1  # FreqTrade's default config file
    assert str(tmp_path / "ud/flags/review.json") in capsys.readouterr().out


def test_an_ack_needs_a_name_and_a_note(tmp_path, capsys):
    flag_path = tmp_path / "f.json"
    ManualReviewFlag(flag_path).raise_flag(source="recovery", message="x")
    assert review.main(["ack", "--flag", str(flag_path), "--by", " ", "--note", "n"]) == 2
    assert "needs who" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        review.main(["ack", "--flag", str(flag_path), "--by", "me"])
    assert ManualReviewFlag(flag_path).is_raised()


def test_an_unreadable_flag_file_counts_as_raised(tmp_path, capsys):
    flag_path = tmp_path / "f.json"
    flag_path.write_text("{broken")
    assert review.main(["status", "--flag", str(flag_path)]) == 1
    assert "unreadable" in capsys.readouterr().out


def test_a_broken_config_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.json").write_text("{nope")
    assert review.main(["status"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not valid JSON" in err[0]

"""pairs_config.json is validated, never trusted: each bad file names its pair and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statarb.pairs_config import (
    PairsConfigError,
    load_pairs_config,
    parse_pairs_config,
    write_pairs_config,
)


def spec_entry(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "pair_id": "PAIR_001",
        "leg_a": "BTC/USDT:USDT",
        "leg_b": "ETH/USDT:USDT",
        "hedge_ratio": 16.67,
        "cointegration_stat": -4.234,
        "pvalue": 0.00123,
        "z_score_threshold": 2.0,
        "stop_loss_z": 4.0,
        "entry_size_leg_a": 0.5,
        "entry_size_leg_b": 8.3,
        "mean_reversion_window": 50,
        "last_updated": "2026-02-01T20:00:00Z",
    }
    entry.update(overrides)
    return entry


def test_the_spec_example_entry_is_valid() -> None:
    config = parse_pairs_config([spec_entry()])
    pair = config.pairs[0]
    assert pair.hedge_ratio == 16.67
    assert pair.exit_z is None  # not in the file: the strategy's (hyperoptable) default applies
    assert pair.thresholds_or(0.5, 2.0, 4.0) == (0.5, 2.0, 4.0)
    assert config.symbols == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"hedge_ratio": -1.0}, "hedge_ratio"),
        ({"hedge_ratio": 0.0}, "hedge_ratio"),
        ({"hedge_ratio": float("nan")}, "hedge_ratio"),
        ({"leg_b": "ETHUSDT"}, "leg_b"),
        ({"leg_b": "BTC/USDT:USDT"}, "same symbol"),
        ({"stop_loss_z": 1.5}, "exit_z < z_score_threshold < stop_loss_z"),
        ({"entry_size_leg_b": 1.0}, "delta-neutral"),
        ({"pvalue": 1.5}, "pvalue"),
        ({"last_updated": "2026-02-01T20:00:00"}, "time zone"),
        ({"stop_loss": 3.0}, "stop_loss"),
    ],
)
def test_a_wrong_field_is_named_with_its_pair(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(PairsConfigError) as err:
        parse_pairs_config([spec_entry(**overrides)])
    assert "PAIR_001" in str(err.value)
    assert needle in str(err.value)


def test_a_missing_field_is_named() -> None:
    entry = spec_entry()
    del entry["hedge_ratio"]
    with pytest.raises(PairsConfigError, match=r"PAIR_001.*hedge_ratio"):
        parse_pairs_config([entry])


def test_a_coin_in_two_spreads_is_refused_because_freqtrade_would_net_the_legs() -> None:
    second = spec_entry(
        pair_id="PAIR_002",
        leg_a="SOL/USDT:USDT",
        hedge_ratio=0.5,
        entry_size_leg_a=10.0,
        entry_size_leg_b=5.0,
    )
    with pytest.raises(PairsConfigError, match="ETH/USDT:USDT is in two pairs"):
        parse_pairs_config([spec_entry(), second])


def test_duplicate_pair_ids_are_refused() -> None:
    second = spec_entry(leg_a="SOL/USDT:USDT", leg_b="XRP/USDT:USDT")
    with pytest.raises(PairsConfigError, match="more than once"):
        parse_pairs_config([spec_entry(), second])


def test_unreadable_files_give_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PairsConfigError, match="not found"):
        load_pairs_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"pairs": [', encoding="utf-8")
    with pytest.raises(PairsConfigError, match="not valid JSON"):
        load_pairs_config(broken)
    broken.write_text('"hello"', encoding="utf-8")
    with pytest.raises(PairsConfigError, match="expected a JSON object"):
        load_pairs_config(broken)


def test_write_then_load_round_trips_and_leaves_no_temp_files(tmp_path: Path) -> None:
    config = parse_pairs_config(
        {
            "generated_at": "2026-02-01T20:00:00Z",
            "timeframe": "1m",
            "scan_window": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
            "pairs": [spec_entry()],
        }
    )
    target = tmp_path / "pairs_config.json"
    write_pairs_config(config, target)
    assert load_pairs_config(target) == config
    assert [p.name for p in tmp_path.iterdir()] == ["pairs_config.json"]
    assert json.loads(target.read_text())["pairs"][0]["pair_id"] == "PAIR_001"

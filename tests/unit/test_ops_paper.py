"""Paper trading's config: dry-run whatever the production config says, the pairs file's legs as
whitelist and FreqAI corr list, secrets generated per run, its own database; an empty pairs file
or an override that could trade real money is refused with what to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freqtrade.configuration.config_validation import validate_config_schema

from statarb.backtest.config import load_base_config
from statarb.ops.paper import (
    PAPER_CONFIG_NAME,
    PaperError,
    bot_environment,
    main,
    paper_config,
    refuse_live_overrides,
)
from statarb.pairs_config import PairEntry, PairsConfig, ScanWindow, write_pairs_config

NOW = datetime(2026, 3, 1, tzinfo=UTC)
LEGS = {
    "SOL_ADA": ("SOL/USDT:USDT", "ADA/USDT:USDT"),
    "ETH_XRP": ("ETH/USDT:USDT", "XRP/USDT:USDT"),
}


def pairs_file(
    path: Path, pair_ids: tuple[str, ...] = ("SOL_ADA", "ETH_XRP"), tf: str = "1m"
) -> Path:
    entries = [
        PairEntry(
            pair_id=pair_id,
            leg_a=LEGS[pair_id][0],
            leg_b=LEGS[pair_id][1],
            hedge_ratio=100.0,
            cointegration_stat=-6.0,
            pvalue=1e-6,
            entry_size_leg_a=1.0,
            entry_size_leg_b=100.0,
            last_updated=NOW,
        )
        for pair_id in pair_ids
    ]
    config = PairsConfig(
        generated_at=NOW,
        timeframe=tf,
        scan_window=ScanWindow(start=NOW - timedelta(days=2), end=NOW),
        pairs=entries,
    )
    write_pairs_config(config, path)
    return path


def test_the_paper_config_is_dry_run_on_the_pairs_legs_with_fresh_secrets(tmp_path: Path) -> None:
    base = load_base_config()
    assert base["dry_run"] is False  # production's: paper must force it
    pairs = pairs_file(tmp_path / "pairs.json")
    first = paper_config(base, pairs_path=pairs, user_data_dir=tmp_path / "ud", wallet_usdt=5000)
    second = paper_config(base, pairs_path=pairs, user_data_dir=tmp_path / "ud")
    config = first.config
    legs = ["SOL/USDT:USDT", "ADA/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT"]
    assert config["dry_run"] is True
    assert config["dry_run_wallet"] == 5000
    assert list(first.legs) == legs
    assert config["exchange"]["pair_whitelist"] == legs
    assert config["freqai"]["feature_parameters"]["include_corr_pairlist"] == legs
    assert config["statarb"]["pairs_config"] == str(pairs)
    assert config["db_url"] == f"sqlite:///{tmp_path / 'ud' / 'paper_trading.db'}"
    assert config["exchange"]["key"] == "" and config["exchange"]["secret"] == ""
    # the same strategy settings as production, but the pairs file
    assert {k: v for k, v in config["statarb"].items() if k != "pairs_config"} == {
        k: v for k, v in base["statarb"].items() if k != "pairs_config"
    }
    api = config["api_server"]
    assert api["enabled"] and api["listen_ip_address"] == "127.0.0.1"
    assert len(api["jwt_secret_key"]) >= 32 and api["password"] and api["ws_token"]
    assert first.api is not None and first.api.password == api["password"]
    for key in ("password", "jwt_secret_key", "ws_token"):
        assert api[key] != second.config["api_server"][key], f"{key} reused across runs"
    validate_config_schema(config)  # FreqTrade's own schema accepts it as written


def test_with_the_api_off_the_schema_still_gets_its_secrets(tmp_path: Path) -> None:
    built = paper_config(
        load_base_config(), pairs_path=pairs_file(tmp_path / "p.json"),
        user_data_dir=tmp_path, api=False,
    )  # fmt: skip
    assert built.api is None and built.config["api_server"]["enabled"] is False
    validate_config_schema(built.config)


def test_a_leg_in_two_pairs_is_listed_once(tmp_path: Path) -> None:
    built = paper_config(
        load_base_config(), pairs_path=pairs_file(tmp_path / "p.json", ("ETH_XRP",)),
        user_data_dir=tmp_path,
    )  # fmt: skip
    assert built.legs == ("ETH/USDT:USDT", "XRP/USDT:USDT")


def test_an_empty_pairs_file_says_to_scan_first(tmp_path: Path) -> None:
    with pytest.raises(PaperError, match=r"no pairs.*Scan first: \./run scripts/scan_pairs\.py"):
        paper_config(
            load_base_config(), pairs_path=pairs_file(tmp_path / "p.json", ()),
            user_data_dir=tmp_path,
        )  # fmt: skip


def test_pairs_scanned_on_another_timeframe_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PaperError, match="scanned on 5m candles"):
        paper_config(
            load_base_config(), pairs_path=pairs_file(tmp_path / "p.json", tf="5m"),
            user_data_dir=tmp_path,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "args"),
    [
        ({"FREQTRADE__DRY_RUN": "false"}, []),
        ({"FREQTRADE__DRY_RUN": "0"}, []),
        ({"FREQTRADE__DB_URL": "sqlite:///user_data/trading.db"}, []),
        ({}, ["--config", "config.json"]),
        ({}, ["-cconfig.json"]),
        ({}, ["--db-url=sqlite:///user_data/trading.db"]),
    ],
)
def test_overrides_that_could_trade_real_money_are_refused(
    environ: dict[str, str], args: list[str]
) -> None:
    with pytest.raises(PaperError, match=r"not allowed|never trades real money|Unset it"):
        refuse_live_overrides(environ, args)


def test_harmless_overrides_pass() -> None:
    refuse_live_overrides({"FREQTRADE__DRY_RUN": "true"}, ["--verbose"])


def test_the_cli_writes_the_config_and_prints_the_dry_run_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = pairs_file(tmp_path / "pairs.json")
    code = main(
        ["--pairs-config", str(pairs), "--user-data", str(tmp_path / "ud"), "--dry"], environ={}
    )
    out = capsys.readouterr().out
    assert code == 0
    written = json.loads((tmp_path / "ud" / PAPER_CONFIG_NAME).read_text())
    assert written["dry_run"] is True
    assert (tmp_path / "ud" / PAPER_CONFIG_NAME).stat().st_mode & 0o077 == 0  # secrets inside
    assert written["api_server"]["password"] in out  # printed once, for the user
    assert "trade --config" in out and "--dry-run" in out


def test_the_cli_refuses_dry_run_false_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = pairs_file(tmp_path / "pairs.json")
    code = main(
        ["--pairs-config", str(pairs), "--user-data", str(tmp_path / "ud"), "--dry"],
        environ={"FREQTRADE__DRY_RUN": "false"},
    )
    assert code == 2
    assert "never trades real money" in capsys.readouterr().err
    assert not (tmp_path / "ud" / PAPER_CONFIG_NAME).exists()


def test_the_bot_does_not_inherit_api_secrets_that_would_override_the_printed_ones() -> None:
    env = bot_environment(
        {"FREQTRADE__API_SERVER__PASSWORD": "live-one", "PATH": "/bin", "PYTHONPATH": "src"}
    )
    assert env == {"PATH": "/bin", "PYTHONPATH": "src"}

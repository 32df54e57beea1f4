"""Recovery reads the config exactly as `freqtrade trade` does.

For the same files, environment variables and CLI overrides, FreqTrade 2026.9's own
`Configuration` and its real `Binance` exchange object (built against the local exchange) are
compared with `statarb.recovery.ftconfig` and the ccxt client recovery builds from it. The
FreqTrade side runs in a subprocess: its configuration code sets up logging process-wide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from recovery_site import Site

from statarb.recovery import ftconfig
from statarb.recovery.exchange_reader import make_client

FREQTRADE_SIDE = r"""
import json, os, sys
from freqtrade.configuration import Configuration
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

args = json.loads(sys.argv[1])
config = Configuration(args, RunMode.LIVE).get_config()
exchange = ExchangeResolver.load_exchange(config, validate=False)
api = exchange._api
print(json.dumps({
    "config": {k: config.get(k) for k in ("exchange", "db_url", "dry_run", "statarb",
                                          "trading_mode", "margin_mode", "config_files")},
    "user_data_dir": str(config["user_data_dir"]),
    "ccxt": {"apiKey": api.apiKey, "secret": api.secret, "urls": api.urls["api"],
             "options": {k: api.options.get(k) for k in ("defaultType", "recvWindow")}},
}, default=str))
"""
KEYS = ("exchange", "db_url", "dry_run", "statarb", "trading_mode", "margin_mode", "config_files")


def freqtrade_view(cwd: Path, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", FREQTRADE_SIDE, json.dumps(args)],
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")}, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def our_view(cwd: Path, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    config = ftconfig.load_freqtrade_config(
        args["config"], environ=env, cwd=cwd, db_url=args.get("db_url"),
        user_data_dir=args.get("user_data_dir"),
    )  # fmt: skip
    resolved = ftconfig.resolve(config, cwd=cwd)
    api = make_client(resolved.ccxt_params)
    return {
        "config": json.loads(json.dumps({k: config.get(k) for k in KEYS}, default=str)),
        "user_data_dir": str(resolved.user_data_dir),
        "ccxt": {
            "apiKey": api.apiKey,
            "secret": api.secret,
            "urls": api.urls["api"],
            "options": {k: api.options.get(k) for k in ("defaultType", "recvWindow")},
        },
    }


def test_files_env_and_overrides_give_freqtrades_config_and_ccxt_client(site: Site):
    root = site.root
    key, secret = site.config["exchange"].pop("key"), site.config["exchange"].pop("secret")
    site.config["dry_run"] = True
    site.config.pop("db_url")
    site.config["add_config_files"] = ["extra/more.json"]
    site.write_config()
    (root / "extra").mkdir()
    (root / "extra" / "more.json").write_text(
        # comments and trailing commas are FreqTrade's JSON dialect
        '{"statarb": {"leverage": 3.0, "max_hedge_error": 0.02}, // more risk\n'
        ' "margin_mode": "isolated",}',
        encoding="utf-8",
    )
    (root / "late.json").write_text('{"statarb": {"max_risk_percent": 5.0}}', encoding="utf-8")
    url = site.exchange.url
    env = {
        "FREQTRADE__EXCHANGE__KEY": key,
        "FREQTRADE__EXCHANGE__SECRET": secret,
        "FREQTRADE__DRY_RUN": "false",  # env beats the file's true
        "FREQTRADE__EXCHANGE__CCXT_CONFIG__OPTIONS__recvWindow": "7000",  # case kept, typed
        "FREQTRADE__EXCHANGE__CCXT_CONFIG__URLS__API__fapiPrivate": f"{url}/fapi/v1",
        "FREQTRADE__EXCHANGE__PAIR_WHITELIST": '["BTC/USDT:USDT", "ETH/USDT:USDT"]',
        "FREQTRADE__STATARB__MAX_OPEN_SPREADS": "1",
    }
    scenarios = [
        {"config": ["config.json", "late.json"]},
        {"config": [str(root / "config.json")], "db_url": "sqlite:///other/trading.db"},
        {"config": ["config.json"], "user_data_dir": str(root / "user_data")},
    ]
    for args in scenarios:
        theirs = freqtrade_view(root, args, env)
        ours = our_view(root, args, env)
        assert ours["config"] == theirs["config"], args
        assert ours["ccxt"] == theirs["ccxt"], args
        assert Path(ours["user_data_dir"]).resolve() == Path(theirs["user_data_dir"]).resolve()
    # and the merged values are what the scenario meant
    assert ours["config"]["dry_run"] is False
    assert ours["config"]["db_url"] == "sqlite:///tradesv3.sqlite"  # FreqTrade's live default
    assert ours["config"]["statarb"]["max_hedge_error"] == 0.02  # from the included file
    assert ours["config"]["statarb"]["leverage"] == 2.0  # the including file wins (FreqTrade)
    assert ours["config"]["statarb"]["max_open_spreads"] == 1  # typed from the environment
    assert ours["ccxt"]["options"]["recvWindow"] == 7000
    assert ours["ccxt"]["options"]["defaultType"] == "swap"

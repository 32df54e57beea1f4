"""The FreqTrade config of an offline backtest: the production config, pointed at local things.

Everything that decides trading (strategy settings, FreqAI parameters, fees' source, order
types) comes from the same `config.json` production uses; only what must differ offline is
overridden: the exchange URLs (the local exchange), the whitelist (the legs of the pairs
traded), dry-run, the user-data folder, secrets the schema insists on, and FreqAI's window.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import secrets
from pathlib import Path
from typing import Any

from freqtrade.exchange import timeframe_to_minutes

from statarb.costs.orders import order_mode_config

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BASE_CONFIG = REPO_ROOT / "config.json"


def load_base_config(path: Path = DEFAULT_BASE_CONFIG) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the base FreqTrade config ({exc})") from None


def backtest_config(
    base: dict[str, Any],
    *,
    exchange_section: dict[str, Any],
    whitelist: list[str],
    timeframe: str,
    user_data_dir: Path,
    pairs_config: Path | None = None,
    pairs_schedule: Path | None = None,
    freqai: bool = True,
    train_days: float | None = None,
    identifier_seed: str = "",
    wallet_usdt: float | None = None,
    fee: float | None = None,
    statarb_overrides: dict[str, Any] | None = None,
    freqtrade_overrides: dict[str, Any] | None = None,
    order_mode: str | None = None,
) -> dict[str, Any]:
    """A complete FreqTrade config for `freqtrade backtesting` on the local exchange.

    `order_mode` ("taker" / "maker_first") replaces the base config's order types and pricing
    sides; None keeps them.
    """
    config = copy.deepcopy(base)
    config.pop("$schema", None)
    config["dry_run"] = True
    config["timeframe"] = timeframe
    config["user_data_dir"] = str(user_data_dir)
    config["db_url"] = f"sqlite:///{user_data_dir / 'backtest.db'}"
    config["exchange"] = {
        **exchange_section,
        "pair_whitelist": list(whitelist),
        "pair_blacklist": [],
    }
    config["pairlists"] = [{"method": "StaticPairList"}]
    # The schema insists on API secrets even when no server runs; a throwaway value per run.
    api = dict(config.get("api_server", {}))
    api.update(
        {
            "enabled": False,
            "jwt_secret_key": secrets.token_hex(32),
            "ws_token": secrets.token_hex(16),
            "username": "backtest",
            "password": secrets.token_hex(16),
        }
    )
    config["api_server"] = api
    config.setdefault("telegram", {})["enabled"] = False
    if wallet_usdt is not None:
        config["dry_run_wallet"] = wallet_usdt
    if fee is not None:
        config["fee"] = fee
    statarb = dict(config.get("statarb", {}))
    if pairs_schedule is not None:
        statarb["pairs_schedule"] = str(pairs_schedule)
        statarb.pop("pairs_config", None)
    elif pairs_config is not None:
        statarb["pairs_config"] = str(pairs_config)
    statarb.update(statarb_overrides or {})
    if not freqai:
        statarb["model_gate"] = False
    config["statarb"] = statarb
    section = copy.deepcopy(config.get("freqai", {}))
    section["enabled"] = freqai
    if freqai:
        features = section.setdefault("feature_parameters", {})
        features["include_corr_pairlist"] = list(whitelist)
        features["include_timeframes"] = [timeframe]
        if train_days is not None:
            section["train_period_days"] = math.ceil(train_days)  # the schema wants whole days
        # FreqAI reuses cached predictions by identifier: tie it to everything that changes
        # them, so a re-run with the same inputs is fast and a changed input retrains.
        fingerprint = json.dumps(
            {"freqai": section, "whitelist": whitelist, "tf": timeframe, "seed": identifier_seed},
            sort_keys=True,
        )
        section["identifier"] = "bt-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
    config["freqai"] = section
    if order_mode is not None:
        apply_order_mode(config, order_mode)
    candle_timeouts(config, timeframe_to_minutes(timeframe))
    for key, value in (freqtrade_overrides or {}).items():
        config[key] = value
    return config


def apply_order_mode(config: dict[str, Any], mode: str) -> None:
    """Taker (market orders, pricing side "other") or maker-first (limits at the touch)."""
    section = order_mode_config(mode)
    config["order_types"] = dict(section["order_types"])  # type: ignore[call-overload]
    for key in ("entry_pricing", "exit_pricing"):
        pricing = dict(config.get(key, {}))
        pricing["price_side"] = section["price_side"]
        config[key] = pricing


def candle_timeouts(config: dict[str, Any], timeframe_minutes: int) -> None:
    """A backtest sees one moment per candle: an unfilled order must survive to the next
    candle, where the strategy re-prices it (maker-first), instead of FreqTrade deleting it
    there because `unfilledtimeout` (seconds, sized for live) has long passed."""
    timeouts = dict(config.get("unfilledtimeout", {}))
    to_seconds = 1 if timeouts.get("unit", "minutes") == "seconds" else 60
    for side in ("entry", "exit"):
        seconds = float(timeouts.get(side, 0) or 0) * to_seconds
        timeouts[side] = int(max(seconds, 3 * timeframe_minutes * 60))
    timeouts["unit"] = "seconds"
    config["unfilledtimeout"] = timeouts

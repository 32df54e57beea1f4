"""Load the configuration exactly as `freqtrade trade` will, without importing FreqTrade.

Recovery must see the same exchange, keys, URLs and database as the bot that starts after it,
so it follows FreqTrade 2026.9's own steps (`configuration/load_config.py`,
`environment_vars.py`, `Configuration._process_trading_options` / `_process_datadir_options`):
files merged left to right with `add_config_files` resolved beside their file, JSON with
comments and trailing commas (rapidjson), then `FREQTRADE__SECTION__KEY` environment variables
over the files (typed like FreqTrade, case kept below `ccxt_config`), then the db_url and
user_data_dir defaults.

Why not call `freqtrade.configuration.Configuration` itself: importing it costs about 2 s of
the 2 s budget on this project's 2-core VPS (it pulls in pandas and all of ccxt's exchanges,
measured by bench/recovery_bench.py), and it sets up FreqTrade's logging as a side effect. The
steps above are small and stable; tests/recovery/test_config_parity.py holds this module to
FreqTrade's own result for the same files and environment, so a FreqTrade upgrade that changes
them fails a test instead of silently reading another config.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rapidjson

from statarb.settings import SettingsError, parse_settings

ENV_PREFIX = "FREQTRADE__"
DEFAULT_CONFIG = "config.json"
DEFAULT_DB_PROD_URL = "sqlite:///tradesv3.sqlite"
DEFAULT_DB_DRYRUN_URL = "sqlite:///tradesv3.dryrun.sqlite"
_PARSE_MODE = rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS
_NO_CONVERT = ("CHAT_ID", "PASSWORD")
_CCXT_KEYS = ("ccxt_config", "ccxt_sync_config", "ccxt_async_config")
_MAX_INCLUDE_DEPTH = 5
SUPPORTED_EXCHANGES = ("binance", "binanceusdm")


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line naming the problem."""


def deep_merge(source: Mapping[str, Any], destination: dict[str, Any]) -> dict[str, Any]:
    """FreqTrade's `deep_merge_dicts`: values from `source` win; `destination` is returned."""
    for key, value in source.items():
        if isinstance(value, dict):
            node = destination.setdefault(key, {})
            deep_merge(value, node)
        else:
            destination[key] = value
    return destination


def _load_file(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = rapidjson.load(handle, parse_mode=_PARSE_MODE)
    except FileNotFoundError:
        raise ConfigError(f'config file "{path}" not found') from None
    except IsADirectoryError:
        raise ConfigError(f'config file "{path}" is a directory') from None
    except PermissionError:
        raise ConfigError(f'config file "{path}" is not readable (permission denied)') from None
    except (rapidjson.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f'config file "{path}" is not valid JSON: {exc}') from None
    if not isinstance(data, dict):
        raise ConfigError(f'config file "{path}" must hold a JSON object')
    return data


def load_files(
    files: Sequence[str], *, cwd: Path, base_path: Path | None = None, level: int = 0
) -> dict[str, Any]:
    """FreqTrade's `load_from_files`: later files override earlier ones."""
    if level > _MAX_INCLUDE_DEPTH:
        raise ConfigError("config loop detected (add_config_files nested more than 5 deep)")
    config: dict[str, Any] = {}
    loaded: list[str] = []
    for name in files:
        file = Path(name)
        if base_path is not None:
            file = base_path / file
        absolute = file if file.is_absolute() else cwd / file
        part = _load_file(absolute)
        if "add_config_files" in part:
            sub = load_files(
                part["add_config_files"], cwd=cwd, base_path=absolute.resolve().parent,
                level=level + 1,
            )  # fmt: skip
            loaded.extend(sub.get("config_files", []))
            part = deep_merge(part, sub)
        loaded.insert(0, str(file))
        config = deep_merge(part, config)
    config["config_files"] = loaded
    return config


def _typed(value: str) -> Any:
    """FreqTrade's `_get_var_typed`: int, float, t/true/f/false, a JSON list, else the text."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        pass
    if value.lower() in ("t", "true"):
        return True
    if value.lower() in ("f", "false"):
        return False
    try:
        parsed = rapidjson.loads(value)
    except rapidjson.JSONDecodeError:
        return value
    return parsed if isinstance(parsed, list) else value


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """FreqTrade's `_flat_vars_to_nested_dict` over `FREQTRADE__…` variables."""
    nested: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name.replace(ENV_PREFIX, "").split("__")
        keep_case = parts[0].lower() == "exchange" and any(
            key in [p.lower() for p in parts] for key in _CCXT_KEYS
        )
        value: Any = raw
        for index, part in enumerate(reversed(parts)):
            key = part if keep_case and index == 0 else part.lower()
            value = {
                key: _typed(value) if not isinstance(value, dict) and part not in _NO_CONVERT
                else value
            }  # fmt: skip
        nested = deep_merge(value, nested)
    return nested


def default_config_files(cwd: Path, user_data_dir: str | None) -> list[str]:
    """FreqTrade's choice without --config: <userdir>/config.json if present, else config.json."""
    candidate = Path(user_data_dir or "user_data") / DEFAULT_CONFIG
    if (candidate if candidate.is_absolute() else cwd / candidate).is_file():
        return [str(candidate)]
    return [DEFAULT_CONFIG]


def load_freqtrade_config(
    files: Sequence[str] | None,
    *,
    environ: Mapping[str, str],
    cwd: Path,
    db_url: str | None = None,
    user_data_dir: str | None = None,
) -> dict[str, Any]:
    """The config dict `freqtrade trade -c FILES [--db-url] [--userdir]` works with."""
    files = list(files) if files else default_config_files(cwd, user_data_dir)
    config = load_files(files, cwd=cwd)
    config = deep_merge(env_overrides(environ), config)
    config.setdefault("internals", {})
    if db_url and db_url != DEFAULT_DB_PROD_URL:
        config["db_url"] = db_url
    if config.get("dry_run", False):
        if config.get("db_url") in (None, DEFAULT_DB_PROD_URL):
            config["db_url"] = DEFAULT_DB_DRYRUN_URL
    elif not config.get("db_url"):
        config["db_url"] = DEFAULT_DB_PROD_URL
    exchange = config.get("exchange")
    if not isinstance(exchange, dict):
        raise ConfigError("config has no 'exchange' section")
    exchange.setdefault("pair_whitelist", [])
    if user_data_dir:
        config["user_data_dir"] = user_data_dir
    elif "user_data_dir" not in config:
        config["user_data_dir"] = str(cwd / "user_data")
    return config


# --------------------------------------------------------------------------- what recovery uses
@dataclass(frozen=True)
class RecoveryConfig:
    config_files: tuple[str, ...]
    dry_run: bool
    exchange_name: str
    db_url: str
    user_data_dir: Path
    review_flag_path: Path
    report_path: Path
    history_dir: Path
    leverage: float
    max_hedge_error: float
    whitelist: tuple[str, ...]
    pairs_config_path: Path | None
    timeframe_minutes: int | None
    # What FreqTrade's Exchange._init_ccxt passes to its sync ccxt client (keys inside).
    ccxt_params: Mapping[str, Any] = field(repr=False, default_factory=dict)


_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def timeframe_minutes(timeframe: Any) -> int | None:
    """`1m` → 1, `4h` → 240; None when absent or not a FreqTrade timeframe."""
    if not isinstance(timeframe, str) or len(timeframe) < 2:
        return None
    amount, unit = timeframe[:-1], timeframe[-1]
    if not amount.isdigit() or unit not in _UNIT_MINUTES:
        return None
    return int(amount) * _UNIT_MINUTES[unit]


def _absolute(path: str | Path, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def ccxt_params(exchange: Mapping[str, Any], trading_mode: str) -> dict[str, Any]:
    """FreqTrade's sync ccxt config: keys, then ccxt_config / ccxt_sync_config over its defaults."""
    kwargs: dict[str, Any] = (
        {"options": {"defaultType": "swap"}} if trading_mode == "futures" else {}
    )
    kwargs = deep_merge(deepcopy(exchange.get("ccxt_config", {})), kwargs)
    kwargs = deep_merge(deepcopy(exchange.get("ccxt_sync_config", {})), kwargs)
    params: dict[str, Any] = {
        "apiKey": exchange.get("api_key", exchange.get("apiKey", exchange.get("key"))),
        "secret": exchange.get("secret"),
        "password": exchange.get("password"),
        "uid": exchange.get("uid"),
        "accountId": exchange.get("account_id", exchange.get("accountId")),
        "walletAddress": exchange.get("wallet_address", exchange.get("walletAddress")),
        "privateKey": exchange.get("private_key", exchange.get("privateKey")),
    }
    params.update(kwargs)
    return params


def user_data_path(config: Mapping[str, Any], cwd: Path) -> Path:
    return _absolute(config["user_data_dir"], cwd)


def review_flag_path(config: Mapping[str, Any], cwd: Path) -> Path:
    """Where the strategy looks for the manual-review flag (`statarb.review_flag`)."""
    try:
        settings = parse_settings(dict(config))
    except SettingsError as exc:
        raise ConfigError(str(exc).replace("\n", " ")) from None
    return settings.review_flag_path(
        user_data_path(config, cwd), dry_run=bool(config.get("dry_run", False))
    )


def resolve(
    config: Mapping[str, Any], *, cwd: Path, report_path: str | None = None
) -> RecoveryConfig:
    """Validate what recovery needs from a loaded config; ConfigError names the first problem."""
    exchange = config["exchange"]
    name = str(exchange.get("name", "")).lower()
    if name not in SUPPORTED_EXCHANGES:
        raise ConfigError(
            f"exchange.name is {exchange.get('name')!r}: recovery reads Binance USDT-M futures only"
        )
    trading_mode = config.get("trading_mode", "spot")
    if trading_mode != "futures":
        raise ConfigError(f"trading_mode is {trading_mode!r}: this bot trades futures")
    dry_run = bool(config.get("dry_run", False))
    params = ccxt_params(exchange, trading_mode)
    if not dry_run and not (params.get("apiKey") and params.get("secret")):
        raise ConfigError(
            "exchange.key / exchange.secret are empty: set them in the config or through "
            "FREQTRADE__EXCHANGE__KEY and FREQTRADE__EXCHANGE__SECRET"
        )
    try:
        settings = parse_settings(dict(config))
    except SettingsError as exc:
        raise ConfigError(str(exc).replace("\n", " ")) from None
    if not math.isfinite(settings.leverage):
        raise ConfigError("statarb.leverage must be a finite number")
    user_data = user_data_path(config, cwd)
    report = _absolute(report_path, cwd) if report_path else user_data / "logs/recovery_report.json"
    whitelist = exchange.get("pair_whitelist") or []
    if not isinstance(whitelist, list) or not all(isinstance(p, str) for p in whitelist):
        raise ConfigError("exchange.pair_whitelist must be a list of pair names")
    return RecoveryConfig(
        config_files=tuple(config.get("config_files", ())),
        dry_run=dry_run,
        exchange_name=name,
        db_url=str(config["db_url"]),
        user_data_dir=user_data,
        review_flag_path=settings.review_flag_path(user_data, dry_run=dry_run),
        report_path=report,
        history_dir=report.parent / "recovery_reports",
        leverage=float(settings.leverage),
        max_hedge_error=float(settings.max_hedge_error),
        whitelist=tuple(whitelist),
        pairs_config_path=_absolute(settings.pairs_config, cwd) if settings.pairs_config else None,
        timeframe_minutes=timeframe_minutes(config.get("timeframe")),
        ccxt_params=params,
    )


def load(
    files: Sequence[str] | None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    db_url: str | None = None,
    user_data_dir: str | None = None,
    report_path: str | None = None,
) -> RecoveryConfig:
    cwd = cwd or Path.cwd()
    config = load_freqtrade_config(
        files,
        environ=os.environ if environ is None else environ,
        cwd=cwd,
        db_url=db_url,
        user_data_dir=user_data_dir,
    )
    return resolve(config, cwd=cwd, report_path=report_path)
